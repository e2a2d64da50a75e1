"""Names of the models, losses and class weightings, importable without torch."""

from __future__ import annotations

MODEL_NAMES: tuple[str, ...] = (
    "unet",
    "deeplabv3_resnet50",
    "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
    "fcn_resnet50",
)
LOSS_NAMES: tuple[str, ...] = ("ce", "wce", "focal", "dice", "ce+dice")
CLASS_WEIGHTINGS: tuple[str, ...] = ("inverse_sqrt", "inverse", "median_freq", "log")
PRETRAINED_CHOICES: tuple[str, ...] = ("none", "imagenet", "coco")  # or a path to a weights file
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
