"""Class colours: the PASCAL VOC palette, so a palette PNG mask is both labels and picture."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cocoseg_gui.core.types import IGNORE_INDEX

IGNORE_COLOR = (224, 224, 192)  # the VOC colour of 255 ("void")


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
    r, g, b = voc_palette()[index]
    return int(r), int(g), int(b)


def palette_bytes() -> bytes:
    """The 768-byte flat palette that ``PIL.Image.putpalette`` takes."""
    return voc_palette().tobytes()
