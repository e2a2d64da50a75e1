"""Class maps <-> the shapes that annotation tools store (polygons, boxes, bbox-cropped masks), shared by
the CVAT, YOLO segmentation and labelme codecs.

Geometry convention (the same as COCO and ``coco_components``): a vertex ``(x, y)`` is a pixel *corner*,
so pixel ``(x, y)`` spans ``[x, x+1) x [y, y+1)``; polygons are filled with pycocotools' rasteriser, which
gives back exactly the pixels that ``coco_components.trace_polygon`` traced.

Export splits a class map into *regions*: the 8-connected components of each value (classes 1..K, then
IGNORE when the format has a name for it). None of these formats' polygons has holes, so a region's
polygon is its outer contour with each hole spliced in through a zero-width cut walked both ways
(``_bridge``): an even-odd fill, as pycocotools does, leaves the hole empty, and the polygon redraws the
region exactly (checked per region; the writers fall back to a mask, or count the difference, when it
does not). Tools that also paint polygon outlines (OpenCV's ``fillPoly``, PIL) draw the cut as a
one-pixel line. Regions never overlap, but are still written in decreasing bounding-box area (a region
in another's hole has a strictly smaller box) and every reader paints its shapes in file order (CVAT: by
``z_order``, then file order), so that even outline-only polygons redraw nested regions on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from cocoseg_gui.core.formats.coco_components import _simplify, components  # one vertex simplifier
from cocoseg_gui.core.formats.interchange import IGNORE

IGNORE_LABEL = "__ignore__"  # the name CVAT and labelme files give the class map's 255 (labelme's convention)


@dataclass(frozen=True)
class Region:
    """One 8-connected component of one class-map value, as a bool crop at (x, y)."""

    value: int  # 1..K, or IGNORE
    x: int
    y: int
    pixels: np.ndarray  # (h, w) bool

    @property
    def box_area(self) -> int:
        return int(self.pixels.shape[0] * self.pixels.shape[1])


def regions(label: np.ndarray, num_classes: int, with_ignore: bool) -> list[Region]:
    """The regions of ``label`` in paint order: decreasing box area, ties in class then raster order."""
    present = np.flatnonzero(np.bincount(label.reshape(-1), minlength=256)).tolist()
    values = [v for v in present if 1 <= v <= num_classes or (with_ignore and v == IGNORE)]
    found = [Region(c.index, c.x, c.y, c.pixels) for c in components(label, values)]
    return sorted(found, key=lambda r: -r.box_area)  # stable


def _corners(contour: np.ndarray) -> np.ndarray:
    """An OpenCV contour of the 2x-upsampled, framed crop -> pixel-corner vertices of the original."""
    return _simplify((contour.reshape(-1, 2) - 1 + 1) // 2)  # frame off, then ceil(u / 2)


def _bridge(polygon: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``polygon`` with ``hole`` spliced in through a zero-width cut from its nearest vertex and back.

    The cut is walked once each way, so an even-odd fill (pycocotools, and the readers here) crosses it
    twice on every scan line and leaves the hole empty: one simple-looking polygon carries the hole.
    """
    distance = ((polygon[:, None, :] - hole[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(int(distance.argmin()), distance.shape)
    ring = np.roll(hole, -int(j), axis=0)
    return np.concatenate([polygon[: i + 1], ring, ring[:1], polygon[i:]])


def region_polygon(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """One polygon ((n, 2) int pixel corners in the crop) for a region, each hole bridged in
    (``_bridge``), and whether pycocotools fills it back to exactly ``pixels`` (on the sample: always)."""
    h, w = pixels.shape
    up = np.zeros((2 * h + 2, 2 * w + 2), dtype=np.uint8)  # a one-pixel frame: contours never touch it
    up[1:-1, 1:-1] = np.repeat(np.repeat(pixels.view(np.uint8), 2, axis=0), 2, axis=1)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return np.array([[0, 0], [w, 0], [w, h], [0, h]]), False
    parents = hierarchy[0][:, 3]
    outers = [_corners(c) for c, parent in zip(contours, parents) if parent == -1]
    polygon = max(outers, key=len)  # one 8-connected region: one outer contour
    for contour, parent in zip(contours, parents):
        ring = _corners(contour) if parent != -1 else None
        if ring is not None and len(ring) >= 3:
            polygon = _bridge(polygon, ring)
    back = mask_utils.decode(mask_utils.frPyObjects([polygon.reshape(-1).tolist()], h, w))[:, :, 0]
    return polygon, len(outers) == 1 and np.array_equal(back.astype(bool), pixels)


def fill_polygon(points: np.ndarray, height: int, width: int) -> tuple[int, int, np.ndarray] | None:
    """The pixels of the polygon ``points`` ((n, 2) float image coordinates) inside a ``height`` x ``width``
    image, as ``(x0, y0, bool crop)``; None when no pixel of it is inside the image.

    Rasterised by pycocotools on the polygon's box only (integer shifts do not change its result), so the
    cost follows the shape, not the image; parts outside the image are clipped.
    """
    x0 = max(0, math.floor(float(points[:, 0].min())))
    y0 = max(0, math.floor(float(points[:, 1].min())))
    x1 = min(width, math.ceil(float(points[:, 0].max())) + 1)
    y1 = min(height, math.ceil(float(points[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    local = (points - np.array([x0, y0], dtype=np.float64)).reshape(-1).tolist()
    crop = mask_utils.decode(mask_utils.frPyObjects([local], y1 - y0, x1 - x0))[:, :, 0].astype(bool)
    if not crop.any():
        return None
    return x0, y0, crop


def place(crop: np.ndarray, x: int, y: int, height: int, width: int) -> tuple[int, int, np.ndarray] | None:
    """A bool crop at (x, y) clipped to the image, as ``(x0, y0, crop)``; None when nothing is inside."""
    h, w = crop.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    clipped = crop[y0 - y : y1 - y, x0 - x : x1 - x]
    return (x0, y0, clipped) if clipped.any() else None


def paint(label: np.ndarray, x0: int, y0: int, crop: np.ndarray, value: int) -> None:
    """Set ``value`` where ``crop`` (at x0, y0, inside the image) is true."""
    h, w = crop.shape
    label[y0 : y0 + h, x0 : x0 + w][crop] = value


def parse_points(values: Sequence[object]) -> np.ndarray | None:
    """A flat or pair list of numbers -> (n, 2) float array; None unless finite numbers in pairs."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if array.size % 2 or not np.isfinite(array).all():
        return None
    return array.reshape(-1, 2)


def unnamed_pixels(label: np.ndarray, num_classes: int) -> str | None:
    """Why some pixels cannot be written: a class index above ``num_classes`` (not IGNORE); None if none."""
    unnamed = int(np.count_nonzero((label > num_classes) & (label != IGNORE)))
    return f"{unnamed} pixels of a class index without a name, not written" if unnamed else None


@dataclass
class PolygonLoss:
    """The pixels that written polygons do not redraw, summed over the images, for the notes."""

    pixels: int = 0
    images: int = 0

    def add(self, label: np.ndarray, redrawn: np.ndarray) -> None:
        differ = int(np.count_nonzero(label != redrawn))
        if differ:
            self.pixels += differ
            self.images += 1

    def note(self, what: str) -> list[str]:
        if not self.pixels:
            return []
        return [
            f"{what}: {self.pixels} pixels in {self.images} images do not redraw exactly (regions that no "
            "polygon fills back pixel for pixel)"
        ]


def redraw(shape: tuple[int, int], drawn: Sequence[tuple[int, np.ndarray]]) -> np.ndarray:
    """The class map that painting ``(value, (n, 2) polygon)`` in order gives (the readers' result)."""
    out = np.zeros(shape, dtype=np.uint8)
    for value, points in drawn:
        filled = fill_polygon(points.astype(np.float64), shape[0], shape[1])
        if filled is not None:
            paint(out, *filled, value)
    return out
