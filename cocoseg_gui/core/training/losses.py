"""Segmentation losses by name: loss(logits [N,C,H,W], target [N,H,W]) -> scalar, ignore excluded.

Every loss is 0 (with a gradient path) for a batch whose pixels are all ignored, instead of NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.training.names import LOSS_NAMES
from cocoseg_gui.core.types import IGNORE_INDEX

__all__ = ["LOSS_NAMES", "CrossEntropyLoss", "DiceLoss", "FocalLoss", "SumLoss", "build_loss"]


def _weight_buffer(module: nn.Module, weights: torch.Tensor | None, num_classes: int) -> None:
    if weights is not None:
        weights = torch.as_tensor(weights, dtype=torch.float32).flatten()
        if weights.numel() != num_classes:
            raise OptionsError(f"class weights have {weights.numel()} entries for {num_classes} classes")
        if not torch.isfinite(weights).all() or (weights < 0).any():
            raise OptionsError("class weights must be finite and >= 0")
    module.register_buffer("weight", weights, persistent=False)


class CrossEntropyLoss(nn.Module):
    """Cross entropy over non-ignored pixels, optionally class-weighted (== F.cross_entropy's mean)."""

    weight: torch.Tensor | None  # a buffer (moves with .to(device)), set by _weight_buffer

    def __init__(
        self, num_classes: int, ignore_index: int = IGNORE_INDEX, weight: torch.Tensor | None = None
    ):
        super().__init__()
        self.num_classes, self.ignore_index = num_classes, ignore_index
        _weight_buffer(self, weight, num_classes)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        per_pixel = F.cross_entropy(
            logits.float(), target, weight=self.weight, ignore_index=self.ignore_index, reduction="none"
        )
        valid = target != self.ignore_index
        if self.weight is None:
            denom = valid.sum()
        else:
            denom = (self.weight[torch.where(valid, target, 0)] * valid).sum()
        return per_pixel.sum() / denom.clamp_min(1e-12)


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al. 2017): -alpha_t (1 - p_t)^gamma log p_t, mean over valid pixels.

    With class weights as alpha the mean is weighted like weighted CE, so gamma=0 equals (weighted) CE.
    """

    weight: torch.Tensor | None  # alpha, a buffer like CrossEntropyLoss.weight

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = IGNORE_INDEX,
        gamma: float = 2.0,
        alpha: torch.Tensor | None = None,
    ):
        super().__init__()
        if gamma < 0:
            raise OptionsError(f"focal gamma must be >= 0, got {gamma}")
        self.num_classes, self.ignore_index, self.gamma = num_classes, ignore_index, float(gamma)
        _weight_buffer(self, alpha, num_classes)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        valid = target != self.ignore_index
        safe = torch.where(valid, target, 0).unsqueeze(1)
        logpt = F.log_softmax(logits.float(), dim=1).gather(1, safe).squeeze(1)
        loss = -logpt if self.gamma == 0 else -((1.0 - logpt.exp()).clamp_min(0) ** self.gamma) * logpt
        w = valid.float() if self.weight is None else self.weight[safe.squeeze(1)] * valid
        return (loss * w).sum() / w.sum().clamp_min(1e-12)


class DiceLoss(nn.Module):
    """Soft Dice loss: 1 - mean Dice over the classes present in the target; ignored pixels masked."""

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX, smooth: float = 1e-6):
        super().__init__()
        self.num_classes, self.ignore_index, self.smooth = num_classes, ignore_index, smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        valid = (target != self.ignore_index).unsqueeze(1)
        probs = F.softmax(logits.float(), dim=1) * valid
        onehot = F.one_hot(torch.where(valid.squeeze(1), target, 0), self.num_classes).permute(0, 3, 1, 2)
        onehot = onehot.to(probs.dtype) * valid
        dims = (0, 2, 3)
        inter = (probs * onehot).sum(dims)
        card = probs.sum(dims) + onehot.sum(dims)
        present = onehot.sum(dims) > 0
        dice = (2.0 * inter + self.smooth) / (card + self.smooth)
        n = present.sum()
        return (1.0 - dice)[present].sum() / n.clamp_min(1) + 0.0 * logits.sum()


class SumLoss(nn.Module):
    """The sum of several losses."""

    def __init__(self, *losses: nn.Module):
        super().__init__()
        self.parts = nn.ModuleList(losses)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum((part(logits, target) for part in self.parts), torch.zeros((), device=logits.device))


def build_loss(
    name: str,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    class_weights: torch.Tensor | None = None,
    focal_gamma: float = 2.0,
) -> nn.Module:
    """A loss by name (LOSS_NAMES). ``wce`` requires ``class_weights``; ``focal`` uses them as alpha."""
    if name not in LOSS_NAMES:
        raise OptionsError(f"unknown loss {name!r}; choose from {', '.join(LOSS_NAMES)}")
    if name == "ce":
        return CrossEntropyLoss(num_classes, ignore_index)
    if name == "wce":
        if class_weights is None:
            raise OptionsError("loss 'wce' needs class weights (computed from the dataset's report.json)")
        return CrossEntropyLoss(num_classes, ignore_index, class_weights)
    if name == "focal":
        return FocalLoss(num_classes, ignore_index, focal_gamma, class_weights)
    if name == "dice":
        return DiceLoss(num_classes, ignore_index)
    return SumLoss(
        CrossEntropyLoss(num_classes, ignore_index, class_weights), DiceLoss(num_classes, ignore_index)
    )
