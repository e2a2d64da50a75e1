"""core.scores: per-image IoU, the one implementation behind Predict's compare and `cocoseg evaluate`."""

from __future__ import annotations

import numpy as np
import pytest

from cocoseg_gui.core.training.scores import class_scores, image_confusion, image_scores, mean_iou
from cocoseg_gui.core.types import IGNORE_INDEX

NAMES = ["background", "cat", "dog"]


def test_iou_per_class_ignores_the_ignore_index_and_unknown_values() -> None:
    truth = np.array([[0, 0, 1, 1], [2, 2, IGNORE_INDEX, 7]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 2]], dtype=np.uint8)
    scores = {s.name: s for s in image_scores(truth, pred, NAMES)}
    assert scores["background"].iou == pytest.approx(1 / 3)  # inter 1, union 2 + 2 - 1
    assert scores["cat"].iou == pytest.approx(2 / 3)
    assert scores["dog"].iou == pytest.approx(1 / 2)
    assert (scores["dog"].truth_pixels, scores["dog"].pred_pixels) == (2, 1)  # the 255 and 7 pixels left out
    assert mean_iou(list(scores.values())) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_classes_in_neither_truth_nor_prediction_are_not_scored() -> None:
    truth = np.zeros((3, 3), dtype=np.uint8)
    assert [(s.index, s.iou) for s in image_scores(truth, truth.copy(), NAMES)] == [(0, 1.0)]
    all_ignored = np.full((2, 2), IGNORE_INDEX, dtype=np.uint8)
    assert image_scores(all_ignored, np.zeros((2, 2), np.uint8), NAMES) == []
    assert mean_iou([]) is None


def test_confusion_is_what_the_dataset_metrics_sum() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (20, 20)).astype(np.uint8)
    pred = rng.integers(0, 3, (20, 20)).astype(np.uint8)
    m = image_confusion(truth, pred, 3)
    assert m.dtype == np.int64 and m.sum() == 400 and m[1, 2] == np.sum((truth == 1) & (pred == 2))
    assert class_scores(m, NAMES) == image_scores(truth, pred, NAMES)
