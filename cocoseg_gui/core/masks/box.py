"""Box: a half-open bounding box in mask pixels, the unit every edit, patch, notification and repaint is
sized by (LabelMap tells its views which Box changed; the editing tools, assists and proposals act in one).

It lives with the class map (masks/) so the map and everything above it share one box type.
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

    @classmethod
    def full(cls, shape: tuple[int, ...]) -> Box:
        """The whole of an array of ``shape``."""
        return cls(0, 0, int(shape[0]), int(shape[1]))

    @classmethod
    def from_slices(cls, where: Box | tuple[slice, slice], shape: tuple[int, ...]) -> Box:
        """A box from a (rows, cols) pair of slices (step 1), or a box, clipped to ``shape``."""
        rows, cols = where.slices if isinstance(where, Box) else where
        r0, r1, rs = rows.indices(int(shape[0]))
        c0, c1, cs = cols.indices(int(shape[1]))
        if rs != 1 or cs != 1:
            raise ValueError("a box takes slices with step 1")
        return cls(r0, c0, max(r0, r1), max(c0, c1))

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
