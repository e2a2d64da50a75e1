"""Polygon and lasso: vertices (clicked or dragged) -> the filled region, painted or subtracted.

OpenCV's ``fillPoly`` rasterises into a box-sized scratch array (the polygon's bounding box clipped
to the map), so the cost is the polygon's box. It fills the outline pixels too, so adjacent polygons
leave no unlabelled seam. A self-crossing lasso fills by the even-odd rule of scan-line filling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.rules import Mode, Rule, paint
from cocoseg_gui.core.editing.stroke import Point, pixel
from cocoseg_gui.core.types import BACKGROUND


def polygon_area(vertices: Sequence[Point], shape: tuple[int, ...]) -> Area:
    """The pixels inside (or on) the polygon through ``vertices``; nothing for fewer than 3 vertices."""
    import cv2  # here: OpenCV loads at first use, not at the window's start (ADR 0035)

    if len(vertices) < 3:
        return Area.nothing()
    pts = np.array([pixel(v) for v in vertices], dtype=np.int64)
    box = Box(
        int(pts[:, 1].min()), int(pts[:, 0].min()), int(pts[:, 1].max()) + 1, int(pts[:, 0].max()) + 1
    ).clipped(shape)
    if box.empty:
        return Area.nothing()
    scratch = np.zeros(box.shape, dtype=np.uint8)
    shifted = (pts - (box.left, box.top)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(scratch, [shifted], 1)
    return Area(box, scratch.astype(bool))


def polygon_fill(
    label: np.ndarray,
    vertices: Sequence[Point],
    value: int,
    rule: Rule | None = None,
    subtract: bool = False,
) -> Box:
    """Paint ``value`` inside the polygon under ``rule``; with ``subtract``, turn the pixels of class
    ``value`` inside it back to background instead (other classes untouched). Returns the changed box."""
    area = polygon_area(vertices, label.shape)
    if subtract:
        return paint(label, area, BACKGROUND, Rule(Mode.ONLY_CLASS, int(value)))
    return paint(label, area, value, rule)
