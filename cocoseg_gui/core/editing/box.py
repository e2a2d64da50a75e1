"""Box: a half-open bounding box in mask pixels, the unit every tool, patch and repaint is sized by.

Fields are ordered like ``core.masks.label_map.Region`` (top, left, bottom, right), so the two convert
field for field (``Box(*region)`` style) when the GUI ties the editor to the view state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """Rows ``top:bottom``, columns ``left:right`` (half-open)."""

    top: int
    left: int
    bottom: int
    right: int

    @classmethod
    def empty_box(cls) -> Box:
        return cls(0, 0, 0, 0)

    @property
    def empty(self) -> bool:
        return self.bottom <= self.top or self.right <= self.left

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    @property
    def shape(self) -> tuple[int, int]:
        return max(0, self.bottom - self.top), max(0, self.right - self.left)

    @property
    def area(self) -> int:
        h, w = self.shape
        return h * w

    def clipped(self, shape: tuple[int, ...]) -> Box:
        """This box cut to an array of ``shape`` (an empty box when they do not overlap)."""
        top, left = max(0, self.top), max(0, self.left)
        bottom, right = min(int(shape[0]), self.bottom), min(int(shape[1]), self.right)
        if bottom <= top or right <= left:
            return Box.empty_box()
        return Box(top, left, bottom, right)

    def union(self, other: Box) -> Box:
        if self.empty:
            return other
        if other.empty:
            return self
        return Box(
            min(self.top, other.top),
            min(self.left, other.left),
            max(self.bottom, other.bottom),
            max(self.right, other.right),
        )

    def intersection(self, other: Box) -> Box:
        top, left = max(self.top, other.top), max(self.left, other.left)
        bottom, right = min(self.bottom, other.bottom), min(self.right, other.right)
        return Box(top, left, bottom, right) if bottom > top and right > left else Box.empty_box()

    def relative_to(self, outer: Box) -> tuple[slice, slice]:
        """Slices of this box inside an array that holds ``outer`` (this box must lie within it)."""
        return (
            slice(self.top - outer.top, self.bottom - outer.top),
            slice(self.left - outer.left, self.right - outer.left),
        )

    @staticmethod
    def of_mask(mask: np.ndarray, origin: Box | None = None) -> Box:
        """The tight box of the True pixels of ``mask`` (whose (0, 0) is ``origin``'s corner)."""
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return Box.empty_box()
        cols = np.flatnonzero(mask.any(axis=0))
        dy, dx = (origin.top, origin.left) if origin is not None else (0, 0)
        return Box(int(rows[0]) + dy, int(cols[0]) + dx, int(rows[-1]) + 1 + dy, int(cols[-1]) + 1 + dx)


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
