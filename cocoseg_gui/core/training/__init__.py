"""Training: dataset, transforms, models, losses, metrics, trainer, checkpoints, predict, evaluate.

Importing this package stays light (no torch): import the sub-modules you need, e.g.
``from cocoseg_gui.core.training.data import MaskDataset``. The names of the models and
losses are importable without torch, for option menus and argument parsers.
"""

from cocoseg_gui.core.training.names import CLASS_WEIGHTINGS, LOSS_NAMES, MODEL_NAMES, PRETRAINED_CHOICES

__all__ = ["CLASS_WEIGHTINGS", "LOSS_NAMES", "MODEL_NAMES", "PRETRAINED_CHOICES"]
