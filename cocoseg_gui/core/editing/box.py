"""Area: where a tool acts, a Box (``core.masks.box``, the one box type of the class map and its views)
and the tool's mask inside it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.masks.box import Box

__all__ = ["Area", "Box"]


@dataclass(frozen=True, eq=False)
class Area:
    """Where a tool acts: a box and a boolean mask of the box's shape (True = inside the shape)."""

    box: Box
    mask: np.ndarray

    @classmethod
    def nothing(cls) -> Area:
        return cls(Box.empty_box(), np.zeros((0, 0), dtype=bool))

    @property
    def empty(self) -> bool:
        return self.box.empty
