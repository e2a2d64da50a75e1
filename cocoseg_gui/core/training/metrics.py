"""Segmentation metrics from one confusion matrix accumulated on the device."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.types import IGNORE_INDEX

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix:
    """matrix[gt, pred] pixel counts (int64, on ``device``); ignore-index pixels are excluded.

    mIoU and mean Dice are averaged over the classes present in the ground truth or the prediction;
    a class in neither has IoU/Dice NaN and ``present`` False.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX, device: Any = None) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.matrix = torch.zeros((num_classes, num_classes), dtype=torch.int64, device=device)

    def reset(self) -> None:
        self.matrix.zero_()

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``pred`` class indices [N,H,W] (or logits [N,C,H,W]), ``target`` [N,H,W]."""
        if pred.dim() == target.dim() + 1:
            pred = pred.argmax(1)
        if pred.shape != target.shape:
            raise ValueError(
                f"prediction shape {tuple(pred.shape)} differs from target {tuple(target.shape)}"
            )
        c = self.num_classes
        pred = pred.to(self.matrix.device, torch.int64).flatten()
        target = target.to(self.matrix.device, torch.int64).flatten()
        valid = (target != self.ignore_index) & (target >= 0) & (target < c) & (pred >= 0) & (pred < c)
        idx = target[valid] * c + pred[valid]
        if torch.are_deterministic_algorithms_enabled():  # CUDA bincount has no deterministic kernel
            counts = torch.zeros(c * c, dtype=torch.int64, device=idx.device)
            counts.index_put_((idx,), torch.ones_like(idx), accumulate=True)
        else:
            counts = torch.bincount(idx, minlength=c * c)
        self.matrix += counts.view(c, c)

    def all_reduce(self) -> None:
        """Sum the matrices of all processes (torch.distributed); a no-op when not initialised."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.matrix, op=dist.ReduceOp.SUM)

    def compute(self) -> dict[str, Any]:
        """per_class_iou/per_class_dice (NaN if absent), miou, mean_dice, pixel_acc, present, matrix."""
        m = self.matrix.detach().cpu().numpy().astype(np.float64)
        tp = np.diag(m)
        gt = m.sum(1)
        pr = m.sum(0)
        union = gt + pr - tp
        present = (gt + pr) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(present, tp / union, np.nan)
            dice = np.where(present, 2 * tp / (gt + pr), np.nan)
        total = m.sum()
        return {
            "per_class_iou": [float(v) for v in iou],
            "per_class_dice": [float(v) for v in dice],
            "miou": float(iou[present].mean()) if present.any() else math.nan,
            "mean_dice": float(dice[present].mean()) if present.any() else math.nan,
            "pixel_acc": float(tp.sum() / total) if total else math.nan,
            "present": [bool(p) for p in present],
            "matrix": m.astype(np.int64),
        }
