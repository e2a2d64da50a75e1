"""Brush tips: the exact set of pixels a brush of a radius covers, shared by painting and the cursor.

Hard edges, no antialiasing: a class map has no partial labels. A round tip of radius r covers the
pixels whose centre lies closer than r + 0.5 to the brush centre (so r=0 is one pixel, r=1 a 3x3
block, r=2 a 5x5 block without its corners): the disc through the outer edges of the 2r+1 pixels
across, which looks round at every size. A square tip covers the (2r+1)^2 block. The footprint is
the swept shape of a zero-length stroke (``stroke.segment_area(a, a, ...)``), so a click and a drag
paint the same pixels, and the GUI draws ``footprint_outline`` as the cursor: what you see is what
gets painted.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

import numpy as np

MAX_RADIUS = 2048


class Tip(str, Enum):
    ROUND = "round"
    SQUARE = "square"


def check_radius(radius: int) -> int:
    """The radius as an int in 0..MAX_RADIUS; ValueError otherwise (a GUI bug, not a user's input)."""
    r = int(radius)
    if not 0 <= r <= MAX_RADIUS:
        raise ValueError(f"brush radius must be 0..{MAX_RADIUS}, got {radius}")
    return r


def inside_round(dist2: np.ndarray, radius: int) -> np.ndarray:
    """True where a squared distance from the stroke is inside a round tip of ``radius``."""
    return dist2 < (radius + 0.5) ** 2


@lru_cache(maxsize=64)
def footprint(radius: int, tip: Tip = Tip.ROUND) -> np.ndarray:
    """The (2r+1, 2r+1) read-only boolean mask of a tip, centred on the middle pixel."""
    r = check_radius(radius)
    if Tip(tip) is Tip.SQUARE:
        mask = np.ones((2 * r + 1, 2 * r + 1), dtype=bool)
    else:
        d = np.arange(-r, r + 1, dtype=np.int64)
        mask = inside_round(d[:, None] ** 2 + d[None, :] ** 2, r)
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=64)
def footprint_outline(radius: int, tip: Tip = Tip.ROUND) -> np.ndarray:
    """The footprint's boundary as (N, 2, 2) unit segments ((x0, y0), (x1, y1)) along pixel edges,
    relative to the centre pixel's centre, so the GUI can draw the exact cursor at any zoom."""
    mask = footprint(radius, tip)
    r = mask.shape[0] // 2
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1]
    segments = []
    # for each side: pixels whose neighbour on that side is outside; the edge's two corners
    for dy, dx, corners in (
        (-1, 0, ((-0.5, -0.5), (0.5, -0.5))),  # top edge
        (1, 0, ((-0.5, 0.5), (0.5, 0.5))),  # bottom edge
        (0, -1, ((-0.5, -0.5), (-0.5, 0.5))),  # left edge
        (0, 1, ((0.5, -0.5), (0.5, 0.5))),  # right edge
    ):
        neighbour = padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
        ys, xs = np.nonzero(inner & ~neighbour)
        centres = np.stack([xs - r, ys - r], axis=1).astype(np.float64)
        c = np.asarray(corners, dtype=np.float64)
        segments.append(centres[:, None, :] + c[None, :, :])
    out = np.concatenate(segments, axis=0)
    out.setflags(write=False)
    return out
