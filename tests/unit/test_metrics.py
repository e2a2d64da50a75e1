"""ConfusionMatrix against hand-computed values and a plain numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cocoseg_gui.core.training.metrics import ConfusionMatrix

# gt / pred with one ignored pixel (predicted 0, must not count) and, with 4 classes, one absent class (3)
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 255]]])
PRED = torch.tensor([[[0, 1, 1], [1, 1, 0]]])


def test_hand_computed_values() -> None:
    cm = ConfusionMatrix(4)
    cm.update(PRED, TARGET)
    r = cm.compute()
    # pairs (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,1)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 1] = 1, 1, 2, 1
    np.testing.assert_array_equal(r["matrix"], expected)
    # IoU: c0 = 1/(2+1-1) = 0.5, c1 = 2/(2+4-2) = 0.5, c2 = 0/(1+0-0) = 0, c3 absent
    assert r["per_class_iou"][:3] == pytest.approx([0.5, 0.5, 0.0])
    assert math.isnan(r["per_class_iou"][3])
    assert r["present"] == [True, True, True, False]
    assert r["miou"] == pytest.approx(1 / 3)
    # Dice: c0 = 2*1/(2+1) = 2/3, c1 = 2*2/(2+4) = 2/3, c2 = 0
    assert r["per_class_dice"][:3] == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert math.isnan(r["per_class_dice"][3])
    assert r["mean_dice"] == pytest.approx(4 / 9)
    assert r["pixel_acc"] == pytest.approx(3 / 5)


def test_class_only_in_prediction_counts_as_present() -> None:
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([[0, 2]]), torch.tensor([[0, 0]]))
    r = cm.compute()
    # c0: tp 1, gt 2, pred 1 -> 1/2; c2: predicted only -> IoU 0 and present; c1 absent
    assert r["present"] == [True, False, True]
    assert r["miou"] == pytest.approx(0.25)
    assert r["pixel_acc"] == pytest.approx(0.5)


def test_logits_accumulation_and_reset() -> None:
    logits = torch.nn.functional.one_hot(PRED, 4).permute(0, 3, 1, 2).float()
    a, b = ConfusionMatrix(4), ConfusionMatrix(4)
    a.update(logits, TARGET)
    a.update(PRED, TARGET)
    b.update(torch.cat([PRED, PRED]), torch.cat([TARGET, TARGET]))
    np.testing.assert_array_equal(a.compute()["matrix"], b.compute()["matrix"])
    assert a.compute()["matrix"].sum() == 10
    a.reset()
    assert a.compute()["matrix"].sum() == 0
    assert math.isnan(a.compute()["miou"])
    a.all_reduce()  # not initialised: no-op
    with pytest.raises(ValueError, match="shape"):
        a.update(torch.zeros(1, 2, 2), torch.zeros(1, 3, 3))


def test_matches_numpy_reference_on_random_maps() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 6, (3, 17, 23), generator=g)
    target[torch.rand(target.shape, generator=g) < 0.1] = 255
    pred = torch.randint(0, 6, (3, 17, 23), generator=g)
    cm = ConfusionMatrix(6)
    cm.update(pred, target)
    r = cm.compute()
    t, p = target.numpy().ravel(), pred.numpy().ravel()
    keep = t != 255
    ref = np.zeros((6, 6), dtype=np.int64)
    for gt, pr in zip(t[keep], p[keep]):
        ref[gt, pr] += 1
    np.testing.assert_array_equal(r["matrix"], ref)
    for c in range(6):
        inter = np.sum((t == c) & (p == c) & keep)
        union = np.sum(((t == c) | (p == c)) & keep)
        assert r["per_class_iou"][c] == pytest.approx(inter / union)


def test_deterministic_mode_gives_the_same_matrix() -> None:
    g = torch.Generator().manual_seed(2)
    target, pred = torch.randint(0, 4, (2, 8, 8), generator=g), torch.randint(0, 4, (2, 8, 8), generator=g)
    fast, exact = ConfusionMatrix(4), ConfusionMatrix(4)
    fast.update(pred, target)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        exact.update(pred, target)
    finally:
        torch.use_deterministic_algorithms(previous)
    np.testing.assert_array_equal(fast.compute()["matrix"], exact.compute()["matrix"])
