"""Magic wand: the connected region whose colour is within a tolerance of the clicked pixel.

OpenCV's ``floodFill`` with ``FLOODFILL_MASK_ONLY | FLOODFILL_FIXED_RANGE`` compares every pixel to
the SEED colour (not to its neighbour, which creeps along gradients) per channel, visits only the
region's pixels and returns its bounding box, so a tolerance change costs the region, not the frame
(<= 33 ms on 1920x1080 is issue 11's target; benchmarks/bench_assists.py). 4-connected like the fill:
a one-pixel diagonal edge stops it.
"""

from __future__ import annotations

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.stroke import Point, pixel

MAX_TOLERANCE = 255
DEFAULT_TOLERANCE = 24


def wand_area(rgb: np.ndarray, point: Point, tolerance: int, connectivity: int = 4) -> Area:
    """Pixels connected to ``point`` whose every channel is within ``tolerance`` of the seed's
    (``rgb``: (H, W, 3) uint8 on the mask's grid). Nothing when ``point`` is outside."""
    import cv2  # here: OpenCV loads at first use, not at the window's start (ADR 0035)

    if connectivity not in (4, 8):
        raise ValueError(f"connectivity is 4 or 8, got {connectivity}")
    tolerance = int(min(MAX_TOLERANCE, max(0, tolerance)))
    x, y = pixel(point)
    h, w = rgb.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return Area.nothing()
    # OpenCV takes the image as in/out even with MASK_ONLY: a read-only array is copied (the GUI passes
    # a writable one, made once per image by ``rgb_at_mask_size``)
    src = rgb if rgb.flags.c_contiguous and rgb.flags.writeable else np.array(rgb, order="C")
    seen = np.zeros((h + 2, w + 2), dtype=np.uint8)  # calloc: pages the fill never touches stay free
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    diff = (tolerance,) * 3
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(src, seen, (x, y), 0, diff, diff, flags)
    box = Box(ry, rx, ry + rh, rx + rw)
    # the fill wrote 1 (flags bits 8-15): the box of the mask viewed as bool, no copy of the region
    return Area(box, seen[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].view(bool))
