"""TrainConfig: every option of a training run, with validation and JSON round-trip."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import OptionsError

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("poly", "cosine")
AMP_MODES = ("off", "bf16", "fp16")
DEFAULT_TIME_BUDGET_S = 6 * 3600.0
DEFAULT_CHECKPOINT_EVERY_S = 600.0  # last.pt mid-epoch at most this often: a kill loses minutes, not an epoch
MIN_IMG_SIZE = 16
MAX_IMG_SIZE = 8192  # 8192^2 RGB float batch of 1 is ~0.8 GB: larger is a typo, not a model input

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([hms])")


def parse_duration(text: str | float | int) -> float:
    """Seconds from "6h", "90m", "45s", "1h30m", "1.5h" or plain seconds ("3600")."""
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().lower().replace(" ", "")
    try:
        return float(s)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"h": 3600.0, "m": 60.0, "s": 1.0}[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise OptionsError(f"invalid duration {text!r}: use e.g. 6h, 90m, 45s, 1h30m or seconds")
    return total


@dataclass
class TrainConfig:
    """Options of one training run (see docs/formats.md for the run folder it writes)."""

    data: Path
    out: Path
    model: str = "unet"
    extra_data: list[Path] = field(default_factory=list)  # more training mask folders, trained with ``data``
    val_data: Path | None = None
    val_fraction: float = 0.2
    val_on_train: bool = False
    epochs: int = 50
    batch_size: int = 8
    img_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "poly"
    loss: str = "ce"
    focal_gamma: float = 2.0
    class_weighting: str = "inverse_sqrt"
    focal_alpha: bool = False
    oversample: bool = False
    edited_weight: float = 1.0  # how much more often an edited image is drawn (the run_inputs.json list)
    amp: str | bool = "off"
    time_budget_s: float | None = DEFAULT_TIME_BUDGET_S
    checkpoint_every_s: float | None = DEFAULT_CHECKPOINT_EVERY_S  # None: last.pt only per epoch and on stop
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    resume: Path | None = None
    init_from: Path | None = None  # a new run starting from this checkpoint's weights (fine-tuning)
    pretrained: str = "none"
    grad_accum: int = 1
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    log_every: int = 10
    val_every: int = 1
    tensorboard: bool = False
    resize: str = "letterbox"
    augment: bool = True
    max_steps_per_epoch: int | None = None
    deterministic: bool = False
    follow_symlinks: bool = False  # read images/masks through links leaving their folder (ADR 0003)
    overwrite: bool = False  # a new run may replace the run already in ``out`` (see run_folder.py)

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out = Path(self.out)
        self.extra_data = [Path(p) for p in self.extra_data or []]
        self.val_data = Path(self.val_data) if self.val_data is not None else None
        self.resume = Path(self.resume) if self.resume is not None else None
        self.init_from = Path(self.init_from) if self.init_from else None  # "" (a form's empty field): none
        self.validate()

    def validate(self) -> None:
        """Raise OptionsError naming the first bad option."""
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (
                MIN_IMG_SIZE <= self.img_size <= MAX_IMG_SIZE,
                f"image size must be in [{MIN_IMG_SIZE}, {MAX_IMG_SIZE}], got {self.img_size}",
            ),
            (_finite(self.lr) and self.lr > 0, f"learning rate must be a finite number > 0, got {self.lr}"),
            (
                _finite(self.weight_decay) and self.weight_decay >= 0,
                f"weight decay must be a finite number >= 0, got {self.weight_decay}",
            ),
            (
                _finite(self.focal_gamma) and self.focal_gamma >= 0,
                f"focal gamma must be a finite number >= 0, got {self.focal_gamma}",
            ),
            (0.0 < self.val_fraction < 1.0, f"val fraction must be in (0, 1), got {self.val_fraction}"),
            (self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}"),
            (self.schedule in SCHEDULES, f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}"),
            (
                isinstance(self.amp, bool) or self.amp in AMP_MODES,
                f"unknown amp mode {self.amp!r}; choose from {AMP_MODES}",
            ),
            (
                _finite(self.edited_weight) and 1.0 <= self.edited_weight <= 100.0,
                f"edited-image weight must be in [1, 100], got {self.edited_weight}",
            ),
            (
                len({_key(p) for p in self.training_folders()}) == len(self.training_folders()),
                "the same training mask folder is given twice",
            ),
            (self.grad_accum >= 1, f"grad accumulation must be >= 1, got {self.grad_accum}"),
            (self.workers >= 0, f"workers must be >= 0, got {self.workers}"),
            (self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}"),
            (self.val_every >= 1, f"val_every must be >= 1, got {self.val_every}"),
            (
                self.time_budget_s is None or (_finite(self.time_budget_s) and self.time_budget_s > 0),
                f"time budget must be > 0 seconds (or none), got {self.time_budget_s}",
            ),
            (
                self.checkpoint_every_s is None
                or (_finite(self.checkpoint_every_s) and self.checkpoint_every_s > 0),
                f"checkpoint interval must be > 0 seconds (or none), got {self.checkpoint_every_s}",
            ),
            (
                self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1,
                f"max steps per epoch must be >= 1, got {self.max_steps_per_epoch}",
            ),
            (
                self.init_from is None or self.resume is None,
                "--init-from starts a new run from a checkpoint's weights and --resume continues a run: "
                "give one of them",
            ),
            (
                self.init_from is None or str(self.pretrained) == "none",
                f"--init-from {self.init_from} gives the initial weights; --pretrained {self.pretrained} "
                "would replace them: give one of them",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionsError(message)

    def training_folders(self) -> list[Path]:
        """Every training mask folder: ``data`` first, then ``extra_data``."""
        return [self.data, *self.extra_data]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (paths as POSIX strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list) and f.name == "extra_data":
                v = [p.as_posix() for p in v]
            out[f.name] = v.as_posix() if isinstance(v, Path) else v
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TrainConfig:
        """Inverse of to_json; unknown keys are ignored (forward compatible)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})


def _key(path: Path) -> Path:
    return Path(path).expanduser().resolve()


def _finite(value: Any) -> bool:
    """A real, finite number (``inf`` and ``nan`` pass ``> 0`` checks or fail them silently)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def resolve_amp(amp: str | bool, device_type: str) -> tuple[str, str | None]:
    """(mode, warning): AMP mode for the device; ``True`` means the device default (bf16 if supported)."""
    if amp is False or amp == "off":
        return "off", None
    if device_type != "cuda":
        return "off", (
            f"mixed precision (--amp {'auto' if amp is True else amp}) is only used on CUDA; "
            f"training in float32 on {device_type}"
        )
    if amp is True:
        import torch

        return ("bf16" if torch.cuda.is_bf16_supported() else "fp16"), None
    return str(amp), None
