"""Distributed data parallel helpers (torchrun: RANK / WORLD_SIZE / LOCAL_RANK in the environment).

Also the epoch sampler used with one process or many: it shards (and with oversampling, draws
weighted) a fixed permutation per ``(seed, epoch)``, so an interrupted epoch resumes at the same sample,
and gives each sample its own augmentation seed, so augmentations do not depend on worker count or order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_context() -> DistContext:
    """Read torchrun's variables; WORLD_SIZE absent or 1 means single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    return DistContext(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun: NCCL on CUDA, gloo otherwise."""
    ctx = env_context()
    if not ctx.enabled:
        return ctx
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(ctx.rank, ctx.world_size, ctx.local_rank, backend)


def cleanup(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_reduce_sum(ctx: DistContext, values: Sequence[float], device: torch.device) -> list[float]:
    """Sum a few floats over ranks (identity with one process)."""
    if not ctx.enabled:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def any_rank(ctx: DistContext, flag: bool, device: torch.device) -> bool:
    """True when ``flag`` is true on any rank (so all ranks stop together)."""
    if not ctx.enabled:
        return flag
    return all_reduce_sum(ctx, [1.0 if flag else 0.0], device)[0] > 0


def broadcast_object(ctx: DistContext, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_buffers(ctx: DistContext, module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm running stats drift apart after local forwards)."""
    if ctx.enabled:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A per-sample augmentation seed from (run seed, epoch, global position in the epoch)."""
    return (seed * 1_000_003 + epoch * 7_919 + position * 104_729 + 12_345) % (2**31 - 1)


class EpochSampler(torch.utils.data.Sampler[tuple[int, int]]):
    """Yields ``(dataset index, augmentation seed)`` for this rank's share of an epoch.

    The epoch's order is a permutation (or, with ``weights``, a weighted draw with replacement)
    from a generator seeded by ``seed + epoch``, identical on every rank; rank r takes positions
    r, r + world, ... after padding to a multiple of world (as DistributedSampler does), so every
    rank runs the same number of steps. ``set_start(k)`` skips this rank's first k samples (resume).
    """

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        weights: Sequence[float] | None = None,
        pad: bool = True,
    ) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.weights = torch.as_tensor(list(weights), dtype=torch.double) if weights is not None else None
        self.pad = pad
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.start = 0

    def set_start(self, samples: int) -> None:
        self.start = max(0, samples)

    def _order(self) -> list[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        if self.weights is not None:
            return torch.multinomial(self.weights, self.size, replacement=True, generator=g).tolist()
        if self.shuffle:
            return torch.randperm(self.size, generator=g).tolist()
        return list(range(self.size))

    def _positions(self) -> list[int]:
        if self.pad:
            total = math.ceil(self.size / self.num_replicas) * self.num_replicas
            return list(range(total))[self.rank :: self.num_replicas]
        return list(range(self.size))[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = self._order()
        for pos in self._positions()[self.start :]:
            yield order[pos % self.size], sample_seed(self.seed, self.epoch, pos)

    def __len__(self) -> int:
        return max(0, len(self._positions()) - self.start)


@dataclass(frozen=True)
class BatchPlan:
    """Per-process batch and accumulation steps of a run resumed on another number of processes."""

    batch_size: int
    grad_accum: int
    world_size: int
    global_batch: int  # the run's: batch x processes x accumulation before the resume
    kept: bool  # the global batch is the same after the resume

    def describe(self, old_world: int, old_batch: int, old_accum: int) -> str:
        now = f"{self.batch_size} x {self.world_size} processes x {self.grad_accum} accumulation steps"
        before = f"{old_batch} x {old_world} x {old_accum}"
        if self.kept:
            return (
                f"resuming a run of {old_world} processes on {self.world_size}: its global batch of "
                f"{self.global_batch} images per optimiser step is kept as {now} (was {before})"
            )
        new = self.batch_size * self.world_size * self.grad_accum
        return (
            f"resuming a run of {old_world} processes on {self.world_size}: its global batch of "
            f"{self.global_batch} images cannot be split evenly over {self.world_size} processes; it is "
            f"{new} now ({now}; was {before}); the learning rate is not rescaled"
        )


def rescale_batch(batch: int, accum: int, old_world: int, new_world: int) -> BatchPlan:
    """Keep the global batch (batch x processes x accumulation) on ``new_world`` processes: first by the
    accumulation steps (the per-process batch, and so the BatchNorm statistics, unchanged), else by the
    per-process batch; where neither divides evenly the per-process batch and accumulation stay."""
    total = batch * old_world * accum
    if total % (batch * new_world) == 0:
        return BatchPlan(batch, total // (batch * new_world), new_world, total, True)
    if total % (new_world * accum) == 0:
        return BatchPlan(total // (new_world * accum), accum, new_world, total, True)
    return BatchPlan(batch, accum, new_world, total, False)


def resumed_position(batches_done: int, batch: int, old_world: int, plan: BatchPlan) -> int:
    """Batches done per process on the new number of processes after ``batches_done`` per process on
    ``old_world`` (the epoch's samples are global positions: the same samples are done either way;
    when the global batch changed, rounded down to a whole optimiser step: a few samples are seen twice)."""
    samples = batches_done * batch * old_world
    per_batch = plan.batch_size * plan.world_size
    done = samples // per_batch
    return done - done % plan.grad_accum if samples % (per_batch * plan.grad_accum) else done
