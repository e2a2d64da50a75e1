"""Overwrite modes: which pixels a tool may change, applied the same way by every tool.

Silent overwriting of other classes is the most common complaint about CVAT's and napari's brushes,
so the mode is part of every paint call rather than a brush option: overwrite everything, preserve
other classes (paint only where the map is background), or paint only over one chosen class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.types import BACKGROUND


class Mode(str, Enum):
    OVERWRITE = "overwrite"  # every pixel under the tool
    PRESERVE = "preserve"  # only background pixels: other classes (and ignore) are kept
    ONLY_CLASS = "only_class"  # only pixels of ``Rule.target``


@dataclass(frozen=True)
class Rule:
    """An overwrite mode; ``target`` is the class ONLY_CLASS paints over."""

    mode: Mode = Mode.OVERWRITE
    target: int | None = None

    def __post_init__(self) -> None:
        if Mode(self.mode) is Mode.ONLY_CLASS and self.target is None:
            raise ValueError("Mode.ONLY_CLASS needs the class to paint over (target)")

    def writable(self, patch: np.ndarray) -> np.ndarray | None:
        """Where this rule lets a tool write in ``patch`` (None: everywhere)."""
        mode = Mode(self.mode)
        if mode is Mode.OVERWRITE:
            return None
        if mode is Mode.PRESERVE:
            return patch == BACKGROUND
        return patch == self.target


OVERWRITE = Rule()


def check_value(value: int) -> int:
    if not 0 <= int(value) <= 255:
        raise ValueError(f"a label value is 0..255, got {value}")
    return int(value)


def paint(label: np.ndarray, area: Area, value: int, rule: Rule | None = None) -> Box:
    """Write ``value`` into ``label`` where ``area`` and ``rule`` allow; only ``area.box`` is read or
    written. Returns the tight box of the pixels that changed (empty when none did)."""
    value = check_value(value)
    if area.empty:
        return Box.empty_box()
    patch = label[area.box.slices]  # a view: writes go to the map
    change = area.mask & (patch != value)
    allowed = (rule or OVERWRITE).writable(patch)
    if allowed is not None:
        change &= allowed
    changed = Box.of_mask(change, area.box)
    if not changed.empty:
        np.copyto(patch, np.uint8(value), where=change)
    return changed


def pick(label: np.ndarray, point: Sequence[float]) -> int | None:
    """The class at pixel (x, y) (the picker, Alt+click); None outside the map."""
    x, y = int(np.floor(point[0])), int(np.floor(point[1]))
    h, w = label.shape
    return int(label[y, x]) if 0 <= x < w and 0 <= y < h else None
