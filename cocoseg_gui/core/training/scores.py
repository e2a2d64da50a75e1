"""Per-image scores of one prediction against its ground truth (numpy only, no torch, no Qt).

The one implementation used by Predict's comparison (core.quality.truth_compare) and by ``cocoseg
evaluate`` (per-image scores); the dataset metrics sum the same per-image confusion matrices
(core.training.metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.types import IGNORE_INDEX

__all__ = ["ClassScore", "class_scores", "image_confusion", "image_scores", "mean_iou"]


@dataclass(frozen=True)
class ClassScore:
    index: int
    name: str
    iou: float | None  # None when the class is in neither truth nor prediction
    truth_pixels: int
    pred_pixels: int


def image_confusion(
    truth: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """(K, K) int64 pixel counts [truth, pred]; ignored truth pixels and values >= K are left out."""
    n = int(num_classes)
    valid = (truth != ignore_index) & (truth < n) & (pred < n)
    idx = truth[valid].astype(np.int64) * n + pred[valid].astype(np.int64)
    return np.bincount(idx, minlength=n * n).reshape(n, n)


def class_scores(matrix: np.ndarray, names: Sequence[str]) -> list[ClassScore]:
    """IoU of each class present in the truth or the prediction of a confusion matrix, by class index."""
    inter = np.diag(matrix)
    truth_px, pred_px = matrix.sum(1), matrix.sum(0)
    union = truth_px + pred_px - inter
    return [
        ClassScore(i, names[i], float(inter[i] / union[i]), int(truth_px[i]), int(pred_px[i]))
        for i in np.flatnonzero(union > 0).tolist()
    ]


def image_scores(
    truth: np.ndarray, pred: np.ndarray, names: Sequence[str], ignore_index: int = IGNORE_INDEX
) -> list[ClassScore]:
    """IoU of each class present in the truth or the prediction (ignored pixels excluded), by class index."""
    return class_scores(image_confusion(truth, pred, len(names), ignore_index), names)


def mean_iou(scores: Sequence[ClassScore]) -> float | None:
    """Mean IoU over the classes scored (present in truth or prediction); None when none is."""
    values = [s.iou for s in scores if s.iou is not None]
    return float(np.mean(values)) if values else None
