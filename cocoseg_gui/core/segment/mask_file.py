"""``cocoseg segment``'s output: one mask as a grey PNG (0 / 255), marked as ours.

The output guard never replaces an image file it did not make (it could be a source image or someone's
mask); the PNG text chunk ``cocoseg: segment mask`` is how a later ``--overwrite`` knows the file is
an earlier output of this command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from cocoseg_gui.core.files.atomic import atomic_write_with

MARK_KEY, MARK_VALUE = "cocoseg", "segment mask"


def write_mask(path: Path, mask: np.ndarray) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text(MARK_KEY, MARK_VALUE)
    image = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L")
    atomic_write_with(path, lambda fh: image.save(fh, "PNG", pnginfo=info))


def is_segment_mask(path: Path) -> bool:
    """True when ``path`` is a PNG this command wrote (so ``--overwrite`` may replace it)."""
    try:
        with Image.open(path) as im:
            return im.format == "PNG" and getattr(im, "text", {}).get(MARK_KEY) == MARK_VALUE
    except (OSError, ValueError):
        return False
