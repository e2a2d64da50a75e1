"""The image an assist looks at: the shown RGB at MASK resolution (masks may be stored smaller).

Every assist returns an Area in mask pixels, so it must see the image on the mask's grid; resizing
once per image (INTER_AREA: averaging, no aliasing) keeps each tool call at the mask's size.
"""

from __future__ import annotations

import numpy as np


def rgb_at_mask_size(rgb: np.ndarray, mask_shape: tuple[int, int]) -> np.ndarray:
    """``rgb`` (H, W, 3 uint8) resized to ``mask_shape`` (h, w); the array itself when sizes match."""
    import cv2  # here: OpenCV loads at first use, not at the window's start (ADR 0035)

    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8)
    h, w = int(mask_shape[0]), int(mask_shape[1])
    if rgb.shape[:2] == (h, w):
        return rgb if rgb.flags.writeable else rgb.copy()  # OpenCV refuses read-only arrays (the view's)
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


def downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` shrunk so that its longer side is at most ``max_side``; (image, scale <= 1)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w, 1))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale
