"""Sharded inference under torchrun: one process's batches dealt to the ranks, results put back in order.

predict, propose, find-label-issues, rank-uncertain and evaluate cut their images into the batches one
process would run (same batch size, same order) and rank r runs batches r, r + W, r + 2W, ... (W ranks):
every batch holds the same images as with one process, so the model sees the same tensors and the
outputs are the same bytes. Results travel as Python objects keyed by their place in one process's order
and come back in that order (``gather``); counts are summed as int64 (``sum_exact``). The group is gloo
even on CUDA: only small objects and CPU counts cross it, never model tensors. See docs/adr/0037.
torch is imported where a group is used: the proposals batch imports this module without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from cocoseg_gui.core.jobs import Cancelled, CancelToken

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """This process's place in a sharded job; ``Shard()`` is one process doing everything."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, name: str) -> str:
        """``name`` for this rank: "auto" or "cuda" under torchrun with CUDA -> this rank's GPU."""
        if not self.enabled or name not in ("auto", "cuda"):
            return name
        import torch

        if torch.cuda.is_available():
            return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return name

    def rounds(self, num_batches: int, cancel: CancelToken | None = None) -> Iterator[tuple[int, int | None]]:
        """(round, this rank's batch index or None when none is left for it) for every round of W batches.

        Every rank runs every round, so collectives inside a round pair up; a cancel on any rank stops
        all of them at the same round (Cancelled)."""
        for r in range(math.ceil(num_batches / self.world_size)):
            stop = cancel is not None and cancel.cancelled
            if self.any(stop):
                raise Cancelled()
            b = r * self.world_size + self.rank
            yield r, (b if b < num_batches else None)

    def round_batches(self, r: int, num_batches: int) -> range:
        """The batch indices all ranks run in round ``r``."""
        return range(r * self.world_size, min((r + 1) * self.world_size, num_batches))

    def any(self, flag: bool) -> bool:
        """True when ``flag`` is true on any rank."""
        if not self.enabled:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, keyed: Sequence[tuple[Any, T]]) -> list[T]:
        """Every rank's ``(key, item)`` pairs, on every rank, as items sorted by key (one process's order)."""
        if not self.enabled:
            return [item for _, item in sorted(keyed, key=lambda kv: kv[0])]
        import torch.distributed as dist

        parts: list[Any] = [None] * self.world_size
        dist.all_gather_object(parts, list(keyed))
        merged = [kv for part in parts for kv in part]
        return [item for _, item in sorted(merged, key=lambda kv: kv[0])]

    def sum_exact(self, counts: np.ndarray) -> np.ndarray:
        """An int64 array summed over the ranks (integers: the same total in any order)."""
        if not self.enabled:
            return counts
        import torch
        import torch.distributed as dist

        t = torch.from_numpy(np.ascontiguousarray(counts, dtype=np.int64)).clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.numpy()


def progress_done(shard: Shard, r: int, num_batches: int, batch_size: int, total: int) -> int:
    """Images done (all ranks) after round ``r``: what a rank reports as the job's progress."""
    end = shard.round_batches(r, num_batches).stop
    return min(end * batch_size, total)


@contextmanager
def sharded_job() -> Iterator[Shard]:
    """This process's Shard: torchrun's (WORLD_SIZE > 1: joins a gloo group, left on exit) or one process."""
    from cocoseg_gui.core.training.distributed import env_context

    env = env_context()
    if not env.enabled:
        yield Shard()
        return
    import torch.distributed as dist

    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend="gloo")
    finished = False
    try:
        yield Shard(env.rank, env.world_size, env.local_rank)
        finished = True
    finally:
        if created and dist.is_initialized():
            if finished:  # every rank past its last collective before the group goes (not after a failure:
                dist.barrier()  # a rank that failed never arrives); a rank left early was aborted once on CI
            dist.destroy_process_group()
