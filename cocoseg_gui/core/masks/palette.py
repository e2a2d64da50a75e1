"""Class colours: the PASCAL VOC palette on disk, and a lifted copy of it for drawing on screen.

The VOC palette goes into every mask PNG so a palette PNG is both labels and picture, and other tools read
it; it is never changed. Many of its colours are too dark to see over a dark photo ((64, 0, 0) has a
relative luminance of 0.01), so the GUI draws with :func:`display_palette`: the same colours, except that
each class colour below :data:`MIN_LUMINANCE` is replaced by the nearest readable colour that stays apart
from all others (docs/adr/0013-display-colours.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from cocoseg_gui.core.types import IGNORE_INDEX

IGNORE_COLOR = (224, 224, 192)  # the VOC colour of 255 ("void")

MIN_LUMINANCE = 0.10
"""Relative luminance floor of an on-screen class colour: contrast >= 3:1 against black (WCAG 2 non-text)."""

MIN_DELTA_E = 10.0
"""CIELAB distance a lifted colour keeps from every other class colour (VOC's own closest pair is 1.3)."""

_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


@lru_cache(maxsize=1)
def voc_palette() -> np.ndarray:
    """256x3 uint8 array: colour of each class index (0 black, 255 the VOC void colour)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    pal[IGNORE_INDEX] = IGNORE_COLOR
    pal.setflags(write=False)
    return pal


def class_color(index: int) -> tuple[int, int, int]:
    """The VOC (on-disk) colour of a class index."""
    r, g, b = voc_palette()[index]
    return int(r), int(g), int(b)


def palette_bytes() -> bytes:
    """The 768-byte flat palette that ``PIL.Image.putpalette`` takes."""
    return voc_palette().tobytes()


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance (0 black .. 1 white) of sRGB uint8 colours (..., 3)."""
    return _linear(rgb) @ _SRGB_TO_XYZ[1]


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB uint8 colours (..., 3): Euclidean distance there is delta E 1976."""
    xyz = (_linear(rgb) @ _SRGB_TO_XYZ.T) / _SRGB_TO_XYZ.sum(axis=1)
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@lru_cache(maxsize=1)
def display_palette() -> np.ndarray:
    """256x3 uint8: the VOC palette with every dark class colour (1..254) lifted above MIN_LUMINANCE.

    Classes are lifted in index order (the low, common ones get the colours nearest their VOC colour): each
    takes the readable colour of a 4096-colour grid nearest (delta E) to its VOC colour among those at least
    MIN_DELTA_E from every colour already placed, so no pair closer than VOC's closest appears. Background
    (black) and ignore keep their colours. Deterministic, computed once (~0.1 s).
    """
    pal = voc_palette().copy()
    dark = [i for i in range(1, IGNORE_INDEX) if relative_luminance(pal[i]) < MIN_LUMINANCE]
    levels = np.arange(0, 256, 17)  # 16 levels per channel, 0..255
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[relative_luminance(grid) >= MIN_LUMINANCE]
    grid_lab = lab(grid)
    placed = lab(np.delete(pal, dark, axis=0))  # background, ignore and the already readable classes
    nearest = _delta_e(grid_lab[:, None], placed[None]).min(axis=1)
    for i in dark:
        to_voc = _delta_e(grid_lab, lab(pal[i]))
        ok = nearest >= MIN_DELTA_E
        pick = int(np.argmin(np.where(ok, to_voc, np.inf))) if ok.any() else int(np.argmax(nearest))
        pal[i] = grid[pick]
        nearest = np.minimum(nearest, _delta_e(grid_lab, grid_lab[pick]))
    pal.setflags(write=False)
    return pal


def _delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(a - b, axis=-1)`` of Lab colours, bit for bit (the same sums in the same order),
    channel by channel: ~10x faster than norm's reduction over a length-3 axis, which made the window's
    start-up wait ~0.1 s for ``display_palette`` (ADR 0035)."""
    d0, d1, d2 = (a[..., k] - b[..., k] for k in range(3))
    return np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)


def display_color(index: int) -> tuple[int, int, int]:
    """The on-screen colour of a class index (see display_palette)."""
    r, g, b = display_palette()[index]
    return int(r), int(g), int(b)


def display_colors(colors: np.ndarray) -> np.ndarray:
    """A 256x3 class colour table for drawing: entries still at their VOC colour take the lifted colour.

    Colours a mapping or checkpoint sets on purpose (anything but the VOC colour of that index) are kept.
    """
    table = np.asarray(colors, dtype=np.uint8)
    at_voc = np.all(table == voc_palette(), axis=1)[:, None]
    return np.where(at_voc, display_palette(), table).astype(np.uint8)


MIN_PRESENT_DELTA_E = 35.0
"""CIELAB distance kept between the classes shown together: the palette's 80 COCO colours cannot all be
this far apart (cat / remote are two dark greens 26 apart, chair / person two reds 12 apart), the few
classes of one image can."""


@lru_cache(maxsize=1)
def _readable_grid() -> tuple[np.ndarray, np.ndarray]:
    levels = np.arange(0, 256, 17)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[relative_luminance(grid) >= MIN_LUMINANCE]
    return grid, lab(grid)


def distinct_colors(
    colors: np.ndarray, present: Iterable[int], min_delta_e: float = MIN_PRESENT_DELTA_E
) -> np.ndarray:
    """A copy of the 256x3 class table in which the classes ``present`` (shown together) stay apart.

    In index order (common, low classes first) each present class keeps its colour when it is at least
    ``min_delta_e`` from every one kept so far; otherwise it takes the readable colour nearest its own
    among those that far from all (or, when none is, the farthest one). Background and ignore are left
    alone. Deterministic: the same classes present get the same colours, and a class is recoloured only
    in the company of one it is confused with (docs/adr/0029-distinct-colours.md).
    """
    table = np.array(colors, dtype=np.uint8, copy=True)
    classes = sorted({int(i) for i in present} - {0, IGNORE_INDEX})
    if len(classes) < 2:
        return table
    grid, grid_lab = _readable_grid()
    placed: list[np.ndarray] = []
    for i in classes:
        own = lab(table[i])
        if not placed or min(float(np.linalg.norm(own - p)) for p in placed) >= min_delta_e:
            placed.append(own)
            continue
        nearest = np.linalg.norm(grid_lab[:, None] - np.array(placed)[None], axis=-1).min(axis=1)
        ok = nearest >= min_delta_e
        pick = (
            int(np.argmin(np.where(ok, np.linalg.norm(grid_lab - own, axis=-1), np.inf)))
            if ok.any()
            else (int(np.argmax(nearest)))
        )
        table[i] = grid[pick]
        placed.append(grid_lab[pick])
    return table


def min_pair_delta_e(colors: np.ndarray, classes: Iterable[int]) -> float:
    """The smallest CIELAB distance between two of ``classes``' colours (inf for fewer than two)."""
    idx = sorted(set(int(i) for i in classes))
    if len(idx) < 2:
        return float("inf")
    c = lab(np.asarray(colors)[idx])
    d = np.linalg.norm(c[:, None] - c[None], axis=-1)
    return float(d[~np.eye(len(idx), dtype=bool)].min())
