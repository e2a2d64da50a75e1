"""LabelMap: the class map of one image at mask resolution, changed only through methods that say where.

The mask editor (brush, fill, undo) changes label maps; views must repaint only what changed, so every
change notifies observers with its bounding box (``core.masks.box.Box``) and bumps a revision counter.
Views get read-only arrays: an accidental write raises instead of silently diverging from what is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.masks.box import Box
from cocoseg_gui.core.masks.palette import voc_palette
from cocoseg_gui.core.observers import Observers
from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX


@dataclass(frozen=True)
class LabelsChanged:
    """``box`` of the map changed; ``replaced``: the whole map was swapped (its shape may differ)."""

    box: Box
    revision: int
    replaced: bool = False


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that raises on writes (the owner keeps its writable array)."""
    view = array.view()
    view.flags.writeable = False
    return view


class LabelMap:
    """An HxW uint8 class map (0 background, 1..K classes, 255 ignore) with its class names and colours.

    ``apply`` writes a box (the editor's brush and fill), ``replace`` swaps the whole map (undo of a load,
    a reread file); both notify ``changed`` with a ``LabelsChanged``. ``apply`` returns what it
    overwrote, so an undo stack can keep bounding-box patches instead of whole maps.
    """

    def __init__(
        self,
        labels: np.ndarray,
        names: Mapping[int, str] | None = None,
        colors: np.ndarray | None = None,
    ) -> None:
        self._labels = self._checked(labels)
        self.names: dict[int, str] = dict(names or {})
        pal = voc_palette() if colors is None else np.asarray(colors, dtype=np.uint8)
        if pal.shape != (256, 3):
            raise ValueError(f"colors must be a 256x3 table, got shape {pal.shape}")
        self.colors = read_only(pal.copy())
        self.revision = 0
        self.changed: Observers[LabelsChanged] = Observers()

    @staticmethod
    def _checked(labels: np.ndarray) -> np.ndarray:
        arr = np.asarray(labels)
        if arr.ndim != 2:
            raise ValueError(f"expected an HxW class map, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 class map, got dtype {arr.dtype}")
        return np.array(arr, dtype=np.uint8, copy=True)  # owned: nobody else can write it

    # ------------------------------------------------------------------------------------------ reading
    @property
    def array(self) -> np.ndarray:
        """The map as a read-only view (it follows later edits; copy it to keep a snapshot)."""
        return read_only(self._labels)

    @property
    def shape(self) -> tuple[int, int]:
        return self._labels.shape

    def class_at(self, x: int, y: int) -> int:
        """The class at pixel (x, y); -1 outside the map."""
        h, w = self._labels.shape
        return int(self._labels[y, x]) if 0 <= x < w and 0 <= y < h else -1

    def present(self) -> set[int]:
        """The class indices that occur in the map (background included)."""
        return set(np.flatnonzero(np.bincount(self._labels.ravel(), minlength=256)).tolist())

    def allowed(self, value: int) -> bool:
        """A value an edit may write: background, ignore, or a named class."""
        return value in (BACKGROUND, IGNORE_INDEX) or value in self.names

    # ----------------------------------------------------------------------------------------- changing
    def apply(self, where: Box | tuple[slice, slice], values: np.ndarray | int) -> np.ndarray:
        """Write ``values`` (a class index, or an array of the box's shape) into a box; returns the
        overwritten patch (for undo). Values must be allowed classes; nothing changes on a refusal."""
        box = Box.from_slices(where, self._labels.shape)
        patch = np.array(self._labels[box.slices], copy=True)
        if box.empty:
            return patch
        new = np.asarray(values)
        if new.ndim and new.shape != box.shape:
            raise ValueError(f"values of shape {new.shape} do not fit the box {box.shape}")
        bad = sorted(v for v in np.unique(new).tolist() if not (0 <= v <= 255 and self.allowed(int(v))))
        if bad:
            raise ValueError(f"not a class of this map: {bad[:5]}")
        self._labels[box.slices] = new.astype(np.uint8, copy=False)
        self._notify(LabelsChanged(box, self.revision + 1))
        return patch

    def replace(self, labels: np.ndarray) -> None:
        """Swap the whole map (any shape); views redraw it completely."""
        self._labels = self._checked(labels)
        self._notify(LabelsChanged(Box.full(self._labels.shape), self.revision + 1, replaced=True))

    def _notify(self, event: LabelsChanged) -> None:
        self.revision = event.revision
        self.changed.emit(event)
