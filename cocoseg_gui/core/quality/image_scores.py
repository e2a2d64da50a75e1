"""The image scores a label-issue ranking can sort by (higher = more likely a label error).

- ``regions`` (ADR 0020): the share of the image's valid pixels that the model confidently relabels
  (confident learning's per-class thresholds), weighted by how much it disagrees. A model's own misses
  (an object it does not see, labelled right) count exactly like a wrong label.
- ``softmin`` (Lad & Mueller, 2023, "Estimating label quality and errors in semantic segmentation
  data via any model"): 1 - the soft minimum (temperature 0.1) of p[given label] over the image's
  pixels. The worst pixels decide; a model's misses pull it down too.
- ``balanced``: the softmin per given class, compared with the same class in the other images (how
  far below that class's median over the images it lies), the largest over the classes of the image.
  A miss the model makes in every image (persons read as background) is the norm of the "person"
  class and scores near 0; an object erased to background makes that image's "background" pixels
  unusually unlikely. In [0, 1]; comparable across the images of one ranking only.

ADR docs/adr/0028-cross-fit-and-scores.md says why, with the benchmark's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.quality.pixel_quality import PixelQuality, softmin_quality

SCORES = ("regions", "softmin", "balanced")
DEFAULT_SCORE = "softmin"  # measured best with regions (benchmarks/bench_loop.py, ADR 0028)
MIN_CLASS_PIXELS = 16  # a class with fewer pixels in an image is edge noise there, not a region


def check_score(name: str) -> str:
    if name not in SCORES:
        raise OptionsError(f"unknown label-issue score {name!r}; choose from {', '.join(SCORES)}")
    return name


def softmin_scores(qualities: Sequence[PixelQuality]) -> list[float]:
    """1 - soft minimum of the self-confidence over each image's valid pixels."""
    return [1.0 - softmin_quality(_arr(q.softmin_num), _arr(q.softmin_den)) for q in qualities]


def balanced_scores(qualities: Sequence[PixelQuality], min_pixels: int = MIN_CLASS_PIXELS) -> list[float]:
    """Per image, the largest amount by which a given class's softmin self-confidence lies below that
    class's median over the images (classes of at least ``min_pixels`` pixels there); 0.0 when none
    lies below. A shift, not a z-score: where a good model agrees alike everywhere, a tiny spread
    would turn noise into large scores."""
    if not qualities:
        return []
    c = max(len(_arr(q.class_pixels)) for q in qualities)
    table = np.full((len(qualities), c), np.nan)
    for i, q in enumerate(qualities):
        num, den, pixels = _arr(q.softmin_num), _arr(q.softmin_den), _arr(q.class_pixels)
        with np.errstate(invalid="ignore", divide="ignore"):
            row = np.where((pixels >= min_pixels) & (den > 0), num / np.where(den > 0, den, 1.0), np.nan)
        table[i, : row.size] = row
    scores = np.zeros(len(qualities))
    for k in range(c):
        col = table[:, k]
        present = ~np.isnan(col)
        if not present.any():
            continue
        below = float(np.median(col[present])) - col[present]
        scores[present] = np.maximum(scores[present], below)
    return [float(s) for s in scores]


def _arr(value: np.ndarray | None) -> np.ndarray:
    return np.zeros(0) if value is None else np.asarray(value, dtype=np.float64)
