"""TrainRequest: the Train form's fields as typed values, without Qt, and their check into a TrainConfig.

The form (gui/widgets/train_form.py) only copies its widgets into a TrainRequest; what a field means
(the validation modes, "none" pretrained under a starting checkpoint, model options as key=value text, a
time budget as "6h") and the messages that name a field as the form labels it are decided here, where a
unit test reaches them without a window. So is the way back: a run's config.json (``from_config``), the
remembered settings (``from_settings`` / ``settings_values``) and the fine-tune preset
(``fine_tune_request``) become a TrainRequest here, with config.json's key names and the defaults of keys
an older run did not write; the form only shows the request. Importing this module never imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.training.config import TrainConfig, parse_duration

VAL_SPLIT, VAL_FOLDER, VAL_TRAIN = "split", "folder", "train"  # where validation images come from
VAL_MODES = (VAL_SPLIT, VAL_FOLDER, VAL_TRAIN)
FINE_TUNE_EPOCHS = 5  # the "Fine-tune on corrections" preset: a short schedule...
FINE_TUNE_LR_FACTOR = 0.1  # ...at a tenth of the learning rate the checkpoint was trained with
FINE_TUNE_LR = 1e-4  # when the checkpoint's run options are unknown
FINE_TUNE_EDITED_WEIGHT = 3.0  # ...drawing the corrected and newly labelled images three times as often
SETTINGS_KEYS = (  # the TrainConfig options the form remembers between sessions (as text)
    "data",
    "extra_data",
    "edited_weight",
    "model",
    "model_kwargs",
    "val_data",
    "val_fraction",
    "val_on_train",
    "epochs",
    "batch_size",
    "img_size",
    "lr",
    "loss",
    "class_weighting",
    "oversample",
    "amp",
    "time_budget_s",
    "device",
    "workers",
    "seed",
    "log_every",
    "pretrained",
    "init_from",
)
_INT_KEYS = ("img_size", "batch_size", "epochs", "workers", "seed", "log_every")
_FLOAT_KEYS = ("lr", "val_fraction", "edited_weight")
_TEXT_KEYS = ("model", "pretrained", "loss", "class_weighting", "device")


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


def format_budget(seconds: float | None) -> str:
    """A time budget as the form's field shows it: 21600 -> "6h", 5400 -> "90m", None -> "" (none)."""
    if seconds is None:
        return ""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


def _run_defaults() -> dict[str, Any]:
    """What a run used for a key its config.json lacks (an older run): TrainConfig's defaults, e.g.
    ``extra_data`` [] (one training folder) and ``edited_weight`` 1.0 (edited images drawn alike)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _typed(key: str, value: Any, cast: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OptionsError(f"{key}: expected a number, got {value!r}")
    try:
        return cast(value)
    except ValueError:
        raise OptionsError(f"{key}: expected a number, got {value!r}") from None


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

    @classmethod
    def from_config(cls, config: Mapping[str, Any], base: TrainRequest | None = None) -> TrainRequest:
        """The request that shows ``config`` (a run's config.json, TrainConfig's keys) in the form.

        Without ``base``, a key the config lacks takes what the run used for it (TrainConfig's default:
        an older run's config.json loads); with ``base``, only the keys given change ``base`` (a preset,
        remembered settings). An empty ``data`` or ``out`` keeps the field. OptionsError naming the key
        for a value of the wrong kind (a hand-edited file)."""
        v: dict[str, Any] = dict(config) if base is not None else {**_run_defaults(), **config}
        r = dataclasses.replace(base) if base is not None else cls()
        r.extra_data = list(r.extra_data)
        for key in ("data", "out"):
            if v.get(key):
                setattr(r, key, str(v[key]))
        if "extra_data" in v:
            extra = v["extra_data"] or []
            if not isinstance(extra, (list, tuple)):
                raise OptionsError(f"extra_data: expected a list of folders, got {extra!r}")
            r.extra_data = [Path(str(p)) for p in extra]
        if v.get("val_on_train"):
            r.val_mode = VAL_TRAIN
        elif v.get("val_data"):
            r.val_mode, r.val_data = VAL_FOLDER, str(v["val_data"])
        elif "val_fraction" in v or "val_data" in v:
            r.val_mode = VAL_SPLIT
        for key in _INT_KEYS:
            if v.get(key) is not None:
                setattr(r, key, _typed(key, v[key], int))
        for key in _FLOAT_KEYS:
            if v.get(key) is not None:
                setattr(r, key, _typed(key, v[key], float))
        for key in _TEXT_KEYS:
            if v.get(key) is not None:
                setattr(r, key, str(v[key]))
        kwargs = v.get("model_kwargs")
        if isinstance(kwargs, dict):
            r.model_options = format_model_options(kwargs)
        elif isinstance(kwargs, str):
            r.model_options = kwargs
        if "init_from" in v:
            r.init_from = "" if v["init_from"] in (None, "None") else str(v["init_from"])
        if "oversample" in v:
            r.oversample = bool(v["oversample"])
        if "amp" in v:  # True: the device's default (the form offers bf16); False/None: off
            amp = v["amp"]
            r.amp = "bf16" if amp is True else "off" if amp in (False, None) else str(amp)
        if "time_budget_s" in v:
            budget = v["time_budget_s"]
            r.time_budget = "" if budget is None else format_budget(_typed("time_budget_s", budget, float))
        return r

    @classmethod
    def from_settings(cls, saved: Mapping[str, Any], base: TrainRequest) -> TrainRequest | None:
        """``base`` with the remembered options (``settings_values``' text, read back from QSettings);
        None when nothing was saved. A value that does not read (an empty number) keeps the field: the
        settings are a convenience, never a reason the panel fails to open."""
        text = {k: "" if saved[k] is None else str(saved[k]) for k in SETTINGS_KEYS if k in saved}
        if "model" not in text:
            return None
        v: dict[str, Any] = {}
        for key, value in text.items():
            if key in _INT_KEYS:
                if value.isdigit():
                    v[key] = int(value)
            elif key in _FLOAT_KEYS or key == "time_budget_s":
                try:
                    v[key] = float(value)
                except ValueError:  # "" (a time budget: none), or a settings file edited by hand
                    if key == "time_budget_s" and not value:
                        v[key] = None
            elif key in ("oversample", "val_on_train"):
                v[key] = value.lower() == "true"
            elif key == "extra_data":
                v[key] = value.splitlines()
            elif key == "val_data":
                v[key] = value or None
            else:
                v[key] = value
        return cls.from_config(v, base)

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


def settings_values(config: TrainConfig) -> dict[str, str]:
    """The options worth remembering for the next session, as text (``TrainRequest.from_settings`` reads
    them back)."""
    out: dict[str, str] = {}
    for key in SETTINGS_KEYS:
        value = getattr(config, key)
        if key == "model_kwargs":
            value = format_model_options(value)
        elif key == "extra_data":
            value = "\n".join(str(p) for p in value)
        out[key] = "" if value is None else str(value)
    return out


def fine_tune_request(
    base: TrainRequest, run_config: Mapping[str, Any], checkpoint: Path, out: Path
) -> TrainRequest:
    """``base`` set for a short fine-tune from ``checkpoint`` (its run's config.json in ``run_config``, {}
    when unknown): the checkpoint's model, input size, batch size and loss, FINE_TUNE_EPOCHS epochs at a
    tenth of its learning rate, edited images drawn FINE_TUNE_EDITED_WEIGHT times as often, into ``out``.
    Its training folders stay the form's; the checkpoint's own when the form has none."""
    keep = {
        k: run_config[k]
        for k in ("model", "model_kwargs", "img_size", "batch_size", "loss")
        if k in run_config
    }
    lr = run_config.get("lr")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0:
        lr = float(lr) * FINE_TUNE_LR_FACTOR
    else:
        lr = FINE_TUNE_LR
    keep |= {
        "epochs": FINE_TUNE_EPOCHS,
        "lr": lr,
        "pretrained": "none",
        "edited_weight": FINE_TUNE_EDITED_WEIGHT,
        "out": str(out),
        "init_from": str(checkpoint),
    }
    if not base.data.strip() and run_config.get("data"):
        keep["data"] = run_config["data"]  # no current masks: those the checkpoint was trained on
    return TrainRequest.from_config(keep, base)
