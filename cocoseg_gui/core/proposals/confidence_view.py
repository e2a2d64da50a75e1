"""The per-pixel confidence view: max softmax or margin as a heat overlay, through one 256-entry LUT.

Unsure pixels are drawn opaque red-to-yellow and sure ones fade out, so the eye goes to where the model
hesitates (the pixels to check before accepting). Quantising to 256 levels and indexing a LUT keeps a
recolour to two numpy passes (benchmarks/bench_proposals.py measures it).
"""

from __future__ import annotations

import numpy as np

from cocoseg_gui.core.proposals.proposal import ConfidenceKind, Proposal


def heat_lut() -> np.ndarray:
    """256x4 uint8 RGBA: level 0 (no confidence) opaque red, 128 orange, 255 (certain) transparent."""
    t = np.linspace(0.0, 1.0, 256)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, 0] = 255
    lut[:, 1] = np.rint(np.clip(t * 2, 0, 1) * 220).astype(np.uint8)  # red -> yellow
    lut[:, 2] = 0
    lut[:, 3] = np.rint((1.0 - t) ** 0.7 * 220).astype(np.uint8)  # opaque where unsure
    return lut


_LUT = heat_lut()
_LUT32 = np.ascontiguousarray(_LUT).view(np.uint32).ravel()  # one 4-byte lookup per pixel, not four


def levels(values: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 0..255, rounded and saturated in one OpenCV pass."""
    import cv2

    return cv2.convertScaleAbs(np.asarray(values, dtype=np.float32), alpha=255.0)


def confidence_rgba(
    proposal: Proposal, kind: ConfidenceKind | str = ConfidenceKind.MAX_SOFTMAX
) -> np.ndarray:
    """HxWx4 uint8 RGBA heat image of ``proposal``'s confidence (pixels not proposed: transparent)."""
    lv = levels(proposal.values(kind))
    lv[~proposal.proposed] = 255  # level 255 is fully transparent
    return _LUT32[lv].view(np.uint8).reshape(*lv.shape, 4)
