"""DataLoaders of a training run: per-sample augmentation seeds, skipped-image accounting, seeded workers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.training.data import collate_skip_none
from cocoseg_gui.core.training.distributed import EpochSampler


@dataclass(frozen=True)
class Skipped:
    """Stands in for an unreadable image inside a batch."""

    file: str


@dataclass
class Batch:
    """Stacked images and masks (None when every item was unreadable) and the files skipped."""

    images: torch.Tensor | None
    masks: torch.Tensor | None
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return 0 if self.images is None else int(self.images.shape[0])


def seed_all(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


class KeyedDataset(torch.utils.data.Dataset):
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
        item = self.dataset[index]
        return Skipped(self.dataset.files[index]) if item is None else item


def collate(items: Sequence[Any]) -> Batch:
    """collate_skip_none, remembering which files were skipped."""
    skipped = [it.file for it in items if isinstance(it, Skipped)]
    stacked = collate_skip_none([None if isinstance(it, Skipped) else it for it in items])
    if stacked is None:
        return Batch(None, None, skipped)
    return Batch(stacked[0], stacked[1], skipped)


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
) -> torch.utils.data.DataLoader:
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
