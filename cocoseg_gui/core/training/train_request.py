"""TrainRequest: the Train form's fields as typed values, without Qt, and their check into a TrainConfig.

The form (gui/widgets/train_form.py) only copies its widgets into a TrainRequest; what a field means
(the validation modes, "none" pretrained under a starting checkpoint, model options as key=value text, a
time budget as "6h") and the messages that name a field as the form labels it are decided here, where a
unit test reaches them without a window. Importing this module never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.training.config import TrainConfig, parse_duration

VAL_SPLIT, VAL_FOLDER, VAL_TRAIN = "split", "folder", "train"  # where validation images come from
VAL_MODES = (VAL_SPLIT, VAL_FOLDER, VAL_TRAIN)


def parse_model_options(text: str) -> dict[str, Any]:
    """``"width=16 depth=3"`` -> ``{"width": 16, "depth": 3}`` (ints, floats, true/false, else strings)."""
    out: dict[str, Any] = {}
    for item in text.replace(",", " ").split():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise OptionsError(f"model options: {item!r} is not key=value (e.g. width=16)")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        out[key] = value
    return out


def format_model_options(kwargs: dict[str, Any]) -> str:
    """The inverse of ``parse_model_options`` (what the form shows for a run's ``model_kwargs``)."""
    return " ".join(f"{k}={v}" for k, v in kwargs.items())


@dataclass
class TrainRequest:
    """What the user asked for in the Train form, as typed as the widgets hold it (paths as typed text,
    "" for an empty field); ``config()`` turns it into the run's TrainConfig or says which field is wrong."""

    data: str = ""
    extra_data: list[Path] = field(default_factory=list)
    out: str = ""
    val_mode: str = VAL_SPLIT
    val_fraction: float = 0.2
    val_data: str = ""
    model: str = "unet"
    model_options: str = ""
    pretrained: str = "none"
    init_from: str = ""
    img_size: int = 192
    batch_size: int = 4
    epochs: int = 20
    lr: float = 1e-3
    loss: str = "ce"
    class_weighting: str = "inverse_sqrt"
    oversample: bool = False
    edited_weight: float = 1.0
    amp: str = "off"
    time_budget: str = "6h"
    device: str = "auto"
    workers: int = 0
    seed: int = 0
    log_every: int = 1

    def time_budget_s(self) -> float | None:
        """Seconds of the time budget, None when the field is empty; OptionsError for a bad duration."""
        text = self.time_budget.strip()
        return parse_duration(text) if text else None

    def config(self, resume: Path | None = None) -> TrainConfig:
        """The TrainConfig of this request (``resume``: continue that run instead; its start checkpoint is
        in its run_inputs.json, so the form's is not used). OptionsError naming the field as labelled for
        a missing folder, a starting checkpoint that is no file, bad model options or a bad duration; the
        TrainConfig's own checks (ranges, the same folder twice) after those."""
        data, out = self.data.strip(), self.out.strip()
        if not data:
            raise OptionsError(
                "Mask dataset: no folder chosen; generate masks first (Masks panel, Generate masks) or "
                "choose a mask dataset folder"
            )
        if not out:
            raise OptionsError("Run folder: no folder chosen; choose where the run is written")
        if self.val_mode not in VAL_MODES:
            raise OptionsError(f"Validation: unknown mode {self.val_mode!r}; choose from {VAL_MODES}")
        val_data = self.val_data.strip()
        if self.val_mode == VAL_FOLDER and not val_data:
            raise OptionsError("Val. folder: no folder chosen; choose the mask folder to validate on")
        pretrained = self.pretrained.strip() or "none"
        init_from = self.init_from.strip()
        if init_from and not Path(init_from).is_file():
            raise OptionsError(
                f"Start from checkpoint: {init_from} is not a file; choose a checkpoint (a .pt file of a run "
                "folder) or clear the field to train from scratch"
            )
        if init_from:
            pretrained = "none"  # the checkpoint gives the initial weights (the form disables the field)
        for folder in self.extra_data:
            if not Path(folder).is_dir():
                raise OptionsError(
                    f"Also train on: {folder} is not a folder; remove it or generate its masks first"
                )
        return TrainConfig(
            data=Path(data),
            extra_data=[Path(p) for p in self.extra_data],
            edited_weight=float(self.edited_weight),
            out=Path(out),
            model=self.model,
            model_kwargs=parse_model_options(self.model_options),
            val_data=Path(val_data) if self.val_mode == VAL_FOLDER else None,
            val_fraction=float(self.val_fraction),
            val_on_train=self.val_mode == VAL_TRAIN,
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            img_size=int(self.img_size),
            lr=float(self.lr),
            loss=self.loss,
            class_weighting=self.class_weighting,
            oversample=bool(self.oversample),
            amp=self.amp,
            time_budget_s=self.time_budget_s(),
            device=self.device or "auto",
            workers=int(self.workers),
            seed=int(self.seed),
            log_every=int(self.log_every),
            pretrained=pretrained,
            init_from=Path(init_from) if init_from and resume is None else None,
            resume=resume,
        )
