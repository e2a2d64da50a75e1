"""A class map's connected components -> COCO segmentations (compressed RLE or one simple polygon).

Components are 8-connected (a one-pixel diagonal brush line stays one object). A polygon traces the
component's pixel edges: its vertices are pixel corners (``(x, y)`` the top-left corner of pixel
``(x, y)``), which pycocotools' polygon rasteriser fills back to exactly the component's pixels. A COCO
polygon list is a union of outer boundaries, so a component with a hole cannot be one; such a
component (or, defensively, one whose polygon does not rasterise back exactly) is written as RLE and
the reason is counted (docs/adr/0015-export-to-coco.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

FORMATS = ("rle", "polygon")
FALLBACK_REASONS = ("holes", "inexact_polygon")


@dataclass(frozen=True)
class Component:
    """One connected component of one class: its pixels as a bool crop at (x, y) of the image."""

    index: int  # class index in the mask
    x: int
    y: int
    pixels: np.ndarray  # (h, w) bool, the component's pixels inside its bounding box

    @property
    def area(self) -> int:
        return int(self.pixels.sum())

    @property
    def bbox(self) -> list[float]:
        """COCO ``[x, y, width, height]`` of the pixels (what pycocotools' ``toBbox`` gives)."""
        h, w = self.pixels.shape
        return [float(self.x), float(self.y), float(w), float(h)]


def components(label: np.ndarray, classes: Iterable[int]) -> Iterator[Component]:
    """The 8-connected components of each class index in ``classes`` (in that order), each in the
    order OpenCV labels them (raster order of their first pixel)."""
    for index in classes:
        binary = label == index
        rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
        if rows.size == 0:
            continue
        y0, x0 = int(rows[0]), int(cols[0])  # labelling only the class's bounding box is much cheaper
        crop = np.ascontiguousarray(binary[y0 : rows[-1] + 1, x0 : cols[-1] + 1]).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8, ltype=cv2.CV_32S)
        for k in range(1, n):
            x, y, w, h = (int(v) for v in stats[k, :4])
            yield Component(index, x0 + x, y0 + y, labels[y : y + h, x : x + w] == k)


def rle_of_pixels(pixels: np.ndarray, x: int, y: int, height: int, width: int) -> dict[str, Any]:
    """Compressed COCO RLE (``counts`` a str) of the bool crop ``pixels`` placed at (x, y) of a
    ``height`` x ``width`` image; the work is proportional to the crop, not the image."""
    cols, rows = np.nonzero(pixels.T)  # column-major order, like COCO RLE
    flat = (cols.astype(np.int64) + x) * height + (rows.astype(np.int64) + y)
    counts: list[int]
    if flat.size == 0:
        counts = [height * width]
    else:
        breaks = np.flatnonzero(np.diff(flat) != 1)
        starts = flat[np.concatenate(([0], breaks + 1))]
        ends = flat[np.concatenate((breaks, [flat.size - 1]))] + 1
        runs = np.empty(2 * starts.size, dtype=np.int64)
        runs[0::2] = starts - np.concatenate(([0], ends[:-1]))  # background before each run
        runs[1::2] = ends - starts
        counts = runs.tolist()
        tail = height * width - int(ends[-1])
        if tail:
            counts.append(tail)
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def component_rle(component: Component, height: int, width: int) -> dict[str, Any]:
    return rle_of_pixels(component.pixels, component.x, component.y, height, width)


def _simplify(points: np.ndarray) -> np.ndarray:
    """Drop repeated and collinear vertices of a closed polygon (integer coordinates)."""
    points = points[np.any(points != np.roll(points, 1, axis=0), axis=1)]
    if len(points) < 3:
        return points
    prev, nxt = np.roll(points, 1, axis=0), np.roll(points, -1, axis=0)
    cross = (points[:, 0] - prev[:, 0]) * (nxt[:, 1] - points[:, 1]) - (points[:, 1] - prev[:, 1]) * (
        nxt[:, 0] - points[:, 0]
    )
    return points[cross != 0]


def trace_polygon(pixels: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The pixel-edge outline of one 8-connected component (a bool crop) as (n, 2) corner coordinates
    in the crop, or (None, reason) when one simple polygon cannot hold it.

    The crop is upsampled 2x so that OpenCV's contour of boundary pixels runs along pixel edges:
    upsampled column ``u`` is the corner ``ceil(u / 2)`` of the original grid.
    """
    h, w = pixels.shape
    up = np.zeros((2 * h + 2, 2 * w + 2), dtype=np.uint8)  # a one-pixel frame: contours never touch it
    up[1:-1, 1:-1] = np.repeat(np.repeat(pixels.view(np.uint8), 2, axis=0), 2, axis=1)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return None, "inexact_polygon"
    if any(parent != -1 for parent in hierarchy[0][:, 3]):
        return None, "holes"
    if len(contours) != 1:
        return None, "inexact_polygon"
    upsampled = contours[0].reshape(-1, 2) - 1  # without the frame
    points = _simplify((upsampled + 1) // 2)  # ceil(u / 2)
    if len(points) < 3:
        return None, "inexact_polygon"
    return points, None


def component_polygon(component: Component) -> tuple[list[int] | None, str | None]:
    """A flat COCO polygon ``[x0, y0, x1, y1, ...]`` (>= 4 vertices, so never the 4-number box form)
    that pycocotools rasterises to exactly the component's pixels, or (None, fallback reason)."""
    points, reason = trace_polygon(component.pixels)
    if points is None:
        return None, reason
    h, w = component.pixels.shape
    local = points.reshape(-1).tolist()
    back = mask_utils.decode(mask_utils.frPyObjects([local], h, w))[:, :, 0].astype(bool)
    if not np.array_equal(back, component.pixels):
        return None, "inexact_polygon"
    placed = points + np.array([component.x, component.y])
    return placed.reshape(-1).tolist(), None
