"""Brush, eraser and ignore-brush strokes: one segment A -> B per mouse event.

Painting the swept shape of the tip from A to B (not stamps at A and B) is what leaves no gaps when
the mouse moves fast, and the same call draws Shift+click straight lines. The shape is evaluated
only over the segment's bounding box grown by the radius, so the cost of an event is the area the
brush sweeps, whatever the size of the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.footprint import Tip, check_radius, inside_round
from cocoseg_gui.core.editing.rules import Rule, paint
from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX

Point = Sequence[float]  # (x, y) = (column, row) in mask pixels; pixel i spans [i, i + 1)

ERASE_VALUE = BACKGROUND  # the eraser paints background
IGNORE_VALUE = IGNORE_INDEX  # the ignore brush paints 255


def pixel(point: Point) -> tuple[int, int]:
    """The (x, y) pixel holding a point (floats are floored: continuous coordinates)."""
    return math.floor(point[0]), math.floor(point[1])


def segment_area(a: Point, b: Point, radius: int, tip: Tip, shape: tuple[int, ...]) -> Area:
    """The pixels a tip of ``radius`` covers moving from pixel ``a`` to pixel ``b``, clipped to ``shape``.

    Round: pixel centres closer than r + 0.5 to the segment (a capsule). Square: the segment swept by
    the (2r+1)^2 block (a hexagon). With ``a == b`` both are exactly ``footprint(radius, tip)``.
    """
    r = check_radius(radius)
    (ax, ay), (bx, by) = pixel(a), pixel(b)
    box = Box(min(ay, by) - r, min(ax, bx) - r, max(ay, by) + r + 1, max(ax, bx) + r + 1).clipped(shape)
    if box.empty:
        return Area.nothing()
    ex = np.arange(box.left, box.right, dtype=np.float64) - ax  # columns relative to A
    ey = np.arange(box.top, box.bottom, dtype=np.float64) - ay  # rows relative to A
    dx, dy = float(bx - ax), float(by - ay)
    if Tip(tip) is Tip.SQUARE:
        mask = _swept_square(ex, ey, dx, dy, r + 0.5)
    else:
        mask = inside_round(_distance2(ex, ey, dx, dy), r)
    return Area(box, mask)


def _distance2(ex: np.ndarray, ey: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Squared distance of each (row, column) pixel centre to the segment (0, 0) -> (dx, dy)."""
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return ey[:, None] ** 2 + ex[None, :] ** 2
    t = (ey[:, None] * (dy / length2)) + (ex[None, :] * (dx / length2))
    np.clip(t, 0.0, 1.0, out=t)
    px = ex[None, :] - t * dx
    py = ey[:, None] - t * dy
    return px * px + py * py


def _axis_interval(e: np.ndarray, d: float, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the open interval of t in which |e - t d| < half (empty: lo = inf, hi = -inf)."""
    if d == 0:
        inside = np.abs(e) < half
        return np.where(inside, -np.inf, np.inf), np.where(inside, np.inf, -np.inf)
    lo, hi = (e - half) / d, (e + half) / d
    return (lo, hi) if d > 0 else (hi, lo)


def _swept_square(ex: np.ndarray, ey: np.ndarray, dx: float, dy: float, half: float) -> np.ndarray:
    """True where some t in [0, 1] puts the pixel within ``half`` of (t dx, t dy) on both axes."""
    lo_x, hi_x = _axis_interval(ex, dx, half)
    lo_y, hi_y = _axis_interval(ey, dy, half)
    lo = np.maximum(lo_y[:, None], lo_x[None, :])
    hi = np.minimum(hi_y[:, None], hi_x[None, :])
    return (lo < hi) & (lo < 1.0) & (hi > 0.0)


def brush_segment(
    label: np.ndarray,
    a: Point,
    b: Point,
    radius: int,
    value: int,
    rule: Rule | None = None,
    tip: Tip = Tip.ROUND,
) -> Box:
    """Paint ``value`` along A -> B under ``rule``; return the box of the pixels that changed.

    The eraser is ``value=ERASE_VALUE`` (0), the ignore brush ``value=IGNORE_VALUE`` (255).
    """
    return paint(label, segment_area(a, b, radius, tip, label.shape), value, rule)
