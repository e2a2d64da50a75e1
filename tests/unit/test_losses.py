"""Losses: reference equalities, ignore handling, finite values, option errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.training.losses import LOSS_NAMES, build_loss

C = 5


@pytest.fixture()
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, C, 9, 11, generator=g)
    target = torch.randint(0, C, (2, 9, 11), generator=g)
    target[:, :3, :4] = 255
    weights = torch.tensor([0.2, 1.0, 2.5, 0.7, 1.6])
    return logits, target, weights


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_finite_and_ignored_pixels_do_not_contribute(name: str, batch) -> None:
    logits, target, weights = batch
    loss = build_loss(name, C, class_weights=weights)
    x = logits.clone().requires_grad_(True)
    value = loss(x, target)
    assert value.ndim == 0 and torch.isfinite(value) and value > 0
    value.backward()
    ignored = (target == 255).unsqueeze(1).expand_as(x)
    assert torch.all(x.grad[ignored] == 0)
    assert x.grad[~ignored].abs().sum() > 0
    changed = logits.clone()
    changed[ignored] = 100.0 * torch.randn(int(ignored.sum()))
    assert loss(changed, target).item() == pytest.approx(value.item(), rel=1e-6)


def test_ce_and_wce_equal_torch_cross_entropy(batch) -> None:
    logits, target, weights = batch
    ce = build_loss("ce", C)(logits, target)
    wce = build_loss("wce", C, class_weights=weights)(logits, target)
    assert ce.item() == pytest.approx(F.cross_entropy(logits, target, ignore_index=255).item(), rel=1e-6)
    ref = F.cross_entropy(logits, target, weight=weights, ignore_index=255)
    assert wce.item() == pytest.approx(ref.item(), rel=1e-6)
    assert wce.item() != pytest.approx(ce.item(), rel=1e-3)


def test_focal_gamma_zero_is_ce_and_gamma_down_weights(batch) -> None:
    logits, target, weights = batch
    ce = F.cross_entropy(logits, target, ignore_index=255)
    focal0 = build_loss("focal", C, focal_gamma=0.0)(logits, target)
    assert focal0.item() == pytest.approx(ce.item(), rel=1e-6)
    wce = F.cross_entropy(logits, target, weight=weights, ignore_index=255)
    focal_alpha = build_loss("focal", C, class_weights=weights, focal_gamma=0.0)(logits, target)
    assert focal_alpha.item() == pytest.approx(wce.item(), rel=1e-6)
    assert build_loss("focal", C, focal_gamma=2.0)(logits, target) < ce


def test_dice_perfect_and_wrong_predictions(batch) -> None:
    _, target, _ = batch
    perfect = 50.0 * F.one_hot(torch.where(target == 255, 0, target), C).permute(0, 3, 1, 2).float()
    perfect[:, :, :3, :4] = torch.randn(2, C, 3, 4) * 50  # garbage under the ignored pixels
    assert build_loss("dice", C)(perfect, target).item() == pytest.approx(0.0, abs=1e-5)
    wrong = 50.0 * F.one_hot((torch.where(target == 255, 0, target) + 1) % C, C).permute(0, 3, 1, 2).float()
    assert build_loss("dice", C)(wrong, target).item() == pytest.approx(1.0, abs=1e-5)


def test_ce_plus_dice_is_the_sum(batch) -> None:
    logits, target, _ = batch
    both = build_loss("ce+dice", C)(logits, target)
    parts = build_loss("ce", C)(logits, target) + build_loss("dice", C)(logits, target)
    assert both.item() == pytest.approx(parts.item(), rel=1e-6)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_all_ignored_batch_gives_zero_not_nan(name: str) -> None:
    logits = torch.randn(1, C, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), 255)
    value = build_loss(name, C, class_weights=torch.ones(C))(logits, target)
    assert value.item() == 0.0
    value.backward()
    assert torch.all(logits.grad == 0)


def test_option_errors() -> None:
    with pytest.raises(OptionsError, match="needs class weights"):
        build_loss("wce", C)
    with pytest.raises(OptionsError, match="unknown loss"):
        build_loss("l2", C)
    with pytest.raises(OptionsError, match="3 entries for 5 classes"):
        build_loss("wce", C, class_weights=torch.ones(3))
    with pytest.raises(OptionsError, match="gamma"):
        build_loss("focal", C, focal_gamma=-1.0)
