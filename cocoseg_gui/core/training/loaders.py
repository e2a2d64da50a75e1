"""DataLoaders of a training run: per-sample augmentation seeds, skipped-image accounting, seeded workers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.training.data import MaskValueError, collate_skip_none
from cocoseg_gui.core.training.distributed import EpochSampler


@dataclass(frozen=True)
class Skipped:
    """Stands in for an unreadable image inside a batch (``reason``: the file and the problem)."""

    file: str
    reason: str = ""


@dataclass(frozen=True)
class Failed:
    """Stands in for a sample that must stop training (a bad mask value): its file and problem.

    Carried back from a loader worker as data, because DataLoader re-raises a worker's exception
    as a RuntimeError holding a traceback when the exception takes more than one argument.
    """

    path: str
    problem: str


@dataclass
class Batch:
    """Stacked images and masks (None when every item was unreadable), the files skipped and failures."""

    images: torch.Tensor | None
    masks: torch.Tensor | None
    skipped: list[str] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    skip_reasons: list[str] = field(default_factory=list)  # parallel to ``skipped``

    def __len__(self) -> int:
        return 0 if self.images is None else int(self.images.shape[0])


def seed_all(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


class KeyedDataset(torch.utils.data.Dataset[Any]):
    """Wraps a MaskDataset: key ``(index, seed)`` seeds the RNGs, then loads; None becomes Skipped.

    Seeding per sample makes augmentations independent of worker count and order, so an
    interrupted epoch resumes with exactly the same samples.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        seed_all(seed)
        try:
            item = self.dataset[index]
        except MaskValueError as exc:
            return Failed(str(exc.path), exc.problem)
        if item is None:
            found = getattr(self.dataset, "skipped", None)
            return Skipped(self.dataset.files[index], found[-1][1] if found else "")
        return item


def collate(items: Sequence[Any]) -> Batch:
    """collate_skip_none, remembering which files were skipped."""
    skips = [it for it in items if isinstance(it, Skipped)]
    skipped, reasons = [it.file for it in skips], [it.reason for it in skips]
    failed = [it for it in items if isinstance(it, Failed)]
    stacked = collate_skip_none([None if isinstance(it, (Skipped, Failed)) else it for it in items])
    if stacked is None:
        return Batch(None, None, skipped, failed, reasons)
    return Batch(stacked[0], stacked[1], skipped, failed, reasons)


def worker_init(worker_id: int) -> None:
    """Seed numpy and python in a worker from torch's per-worker seed (samples reseed anyway)."""
    s = torch.initial_seed() % (2**32)
    np.random.seed(s)
    random.seed(s)


def make_loader(
    dataset: Any,
    sampler: EpochSampler,
    batch_size: int,
    workers: int,
    seed: int,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader[Any]:
    """A DataLoader yielding ``Batch`` objects in ``sampler``'s order."""
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.utils.data.DataLoader(
        KeyedDataset(dataset),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        worker_init_fn=worker_init if workers > 0 else None,
        generator=g,
        persistent_workers=False,
        prefetch_factor=2 if workers > 0 else None,
    )
