"""Names of the models, losses and class weightings, importable without torch."""

from __future__ import annotations

from cocoseg_gui.core.training.model_registry import MODEL_NAMES  # the models' registry

__all__ = [
    "CLASS_WEIGHTINGS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LOSS_NAMES",
    "MODEL_NAMES",
    "PRETRAINED_CHOICES",
]
LOSS_NAMES: tuple[str, ...] = ("ce", "wce", "focal", "dice", "ce+dice")
CLASS_WEIGHTINGS: tuple[str, ...] = ("inverse_sqrt", "inverse", "median_freq", "log")
PRETRAINED_CHOICES: tuple[str, ...] = ("none", "imagenet", "coco")  # or a path to a weights file
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
