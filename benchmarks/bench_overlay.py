"""Overlay rebuild: the viewer's 256-entry ARGB lookup (one fancy-index) vs a per-class boolean-mask loop.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.bench_overlay
Both build the same ARGB overlay of the sample image's pycocotools class map scaled to 1920x1080 (and 4K);
the ratio is baseline time / lookup time, both measured in this run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _best_of(fn: Callable[[], object], repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_class_loop(mask: np.ndarray, colors: np.ndarray, alpha: int) -> np.ndarray:
    """The usual first attempt: one boolean mask per class present."""
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    for cls in np.unique(mask):
        if cls == 0:
            continue
        sel = mask == cls
        rgba[sel, :3] = colors[cls]
        rgba[sel, 3] = alpha
    return rgba


def main() -> None:
    from cocoseg_gui.core.masks.palette import voc_palette
    from cocoseg_gui.gui.widgets.qimage_utils import mask_to_argb, overlay_lut, qimage_to_rgba, resize_nearest
    from tests.gui.sample_masks import sample_mask

    src = sample_mask().mask
    colors = voc_palette()
    for w, h in ((1920, 1080), (3840, 2160)):
        mask = resize_nearest(src, h, w)
        lut = overlay_lut(colors, 0.5)
        assert np.array_equal(qimage_to_rgba(mask_to_argb(mask, lut)), per_class_loop(mask, colors, 128))
        t_lut = _best_of(lambda m=mask: mask_to_argb(m, overlay_lut(colors, 0.5)))
        t_loop = _best_of(lambda m=mask: per_class_loop(m, colors, 128))
        print(
            f"overlay {w}x{h}: lookup {t_lut * 1e3:.1f} ms, per-class loop {t_loop * 1e3:.1f} ms, "
            f"ratio {t_loop / t_lut:.1f}x ({len(np.unique(mask))} classes)"
        )


if __name__ == "__main__":
    main()
