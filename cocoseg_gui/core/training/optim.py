"""Optimiser and per-step learning-rate schedule of a training run."""

from __future__ import annotations

import math

import torch
from torch.optim.optimizer import ParamsT

POLY_POWER = 0.9


def build_optimizer(name: str, params: ParamsT, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, or SGD with momentum 0.9 (names validated by TrainConfig)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Multiplier of the base LR after ``step`` optimiser steps: poly (power 0.9) or cosine, to 0."""
    t = min(max(step, 0) / max(total_steps, 1), 1.0)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return (1.0 - t) ** POLY_POWER


def build_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepped once per optimiser step.

    The factor is a plain function, so the scheduler's state_dict keeps only the step count and a
    resumed run may change the total (more epochs) without the old total coming back.
    """

    def factor(step: int) -> float:
        return lr_factor(schedule, step, total_steps)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
