"""ImageEdit: one image's label array and history driven by tool calls, as the GUI editor uses them.

It pairs every write with its undo record in the right order (touch before paint, one step per
stroke), so a view or test never has to. The label array is owned by the caller (the view state's
label map); every call returns the box that changed, which the caller repaints and notifies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.fill import DEFAULT_CONNECTIVITY, class_area, fill_area
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.history import History, Step
from cocoseg_gui.core.editing.polygon import polygon_area
from cocoseg_gui.core.editing.rules import OVERWRITE, Mode, Rule, paint
from cocoseg_gui.core.editing.stroke import Point, pixel, segment_area
from cocoseg_gui.core.types import BACKGROUND


@dataclass(frozen=True)
class Brush:
    """What a stroke paints: ``value`` (0 for the eraser, 255 for the ignore brush) with a tip."""

    value: int
    radius: int
    tip: Tip = Tip.ROUND
    rule: Rule = OVERWRITE


class ImageEdit:
    """Edits of one label array with undo; ``saved_position`` (a History position) tells unsaved
    changes apart, so undoing back to what was saved is clean again."""

    def __init__(self, label: np.ndarray, history: History | None = None) -> None:
        if label.ndim != 2 or label.dtype != np.uint8:
            raise ValueError(f"a label map is an (H, W) uint8 array, got {label.dtype} {label.shape}")
        self.label = label
        self.history = history if history is not None else History()
        self.saved_position = self.history.position
        self._open_changed = False  # the open stroke changed pixels (not yet a step)
        self._brush: Brush | None = None
        self._last: tuple[int, int] | None = None

    @property
    def dirty(self) -> bool:
        """Unsaved changes (the title's asterisk, the question on quit)."""
        return self._open_changed or self.history.position != self.saved_position

    def mark_saved(self) -> None:
        self.saved_position = self.history.position
        self._open_changed = False

    # ---------------------------------------------------------------------------------------- strokes
    def begin_stroke(self, point: Point, brush: Brush, description: str) -> Box:
        """Mouse press: open a step and paint the tip at ``point``."""
        self.history.begin(description)
        self._brush, self._last = brush, pixel(point)
        return self._segment(point, point)

    def stroke_to(self, point: Point) -> Box:
        """Mouse move (or Shift+click: a straight line from the last point)."""
        if self._brush is None or self._last is None:
            raise RuntimeError("no stroke in progress: call begin_stroke first")
        box = self._segment(self._last, point)
        self._last = pixel(point)
        return box

    def end_stroke(self) -> Step | None:
        """Mouse release: one undo step for the whole stroke (None when it changed nothing)."""
        self._brush = None
        self._open_changed = False
        return self._commit()

    def cancel_stroke(self) -> Box:
        """Esc during a stroke: put the pixels back, record nothing."""
        self._brush = self._last = None
        self._open_changed = False
        box = self.history.cancel(self.label)
        return box

    @property
    def last_point(self) -> tuple[int, int] | None:
        """Where the last stroke ended (Shift+click draws from here)."""
        return self._last

    def _segment(self, a: Point, b: Point) -> Box:
        brush = self._brush
        assert brush is not None
        area = segment_area(a, b, brush.radius, brush.tip, self.label.shape)
        self.history.touch(self.label, area.box)
        changed = paint(self.label, area, brush.value, brush.rule)
        self._open_changed |= not changed.empty
        return changed

    # --------------------------------------------------------------------------------- one-shot tools
    def fill(
        self,
        point: Point,
        value: int,
        description: str,
        rule: Rule | None = None,
        connectivity: int = DEFAULT_CONNECTIVITY,
        whole_class: bool = False,
    ) -> Box:
        """Flood fill (or fill every pixel of the clicked class) as one step."""
        x, y = pixel(point)
        h, w = self.label.shape
        if not (0 <= x < w and 0 <= y < h):
            return Box.empty_box()
        area = (
            class_area(self.label, int(self.label[y, x]))
            if whole_class
            else fill_area(self.label, point, connectivity)
        )
        return self._one_shot(area.box, description, lambda: paint(self.label, area, value, rule))

    def polygon(
        self,
        vertices: Sequence[Point],
        value: int,
        description: str,
        rule: Rule | None = None,
        subtract: bool = False,
    ) -> Box:
        """Fill (or subtract: class ``value`` back to background) the polygon as one step."""
        area = polygon_area(vertices, self.label.shape)
        if subtract:
            value, rule = BACKGROUND, Rule(Mode.ONLY_CLASS, int(value))
        return self._one_shot(area.box, description, lambda: paint(self.label, area, value, rule))

    def apply_area(self, area: Area, value: int, description: str, rule: Rule | None = None) -> Box:
        """Write an assist's accepted ``area`` (wand, superpixels, GrabCut) as one step."""
        return self._one_shot(area.box, description, lambda: paint(self.label, area, value, rule))

    def one_shot(self, box: Box, description: str, write: Callable[[], Box]) -> Box:
        """One step from a tool outside this module (model proposals): ``write`` changes pixels of
        ``box`` only and returns the box it changed."""
        return self._one_shot(box, description, write)

    def _one_shot(self, box: Box, description: str, write: Callable[[], Box]) -> Box:
        if box.empty:
            return box
        self.history.record(self.label, box, description)
        changed = write()
        self._commit()
        return changed

    def _commit(self) -> Step | None:
        return self.history.commit(self.label)

    # -------------------------------------------------------------------------------------- undo/redo
    def undo(self) -> Box | None:
        box = self.history.undo(self.label)
        return box

    def redo(self) -> Box | None:
        box = self.history.redo(self.label)
        return box
