"""Typed training events: one frozen dataclass per metrics.jsonl line type, one parser, one writer.

The trainer builds these, ``EventLog`` writes ``to_json()`` to RUN/metrics.jsonl and hands the objects
to callbacks; every reader (CLI printer, Train panel, plots, run status, TensorBoard, run folder
reader) goes through ``parse_event`` for lines read back, so key names live here only
(docs/formats.md, docs/adr/0008-typed-training-events.md). The parser is tolerant: missing keys take
defaults, unknown keys are kept in ``extra`` (and written back), older lines (``batches_per_epoch``,
warnings without a ``kind``) still parse, and an unknown ``type`` becomes an ``UnknownEvent``.
"""

from __future__ import annotations

import dataclasses
import math
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

_OMIT = {"omit_none": True}  # field metadata: not written while None (the key is absent in the file)


class WarningKind:
    """What a warning is about; consumers switch on it, never on the message text."""

    SKIPPED_IMAGES = "skipped_images"  # an unreadable image or mask skipped while training
    MISSING_MASKS = "missing_masks"  # mask files named in image_mask_map.json are missing
    IMAGES_LEFT_OUT = "images_left_out"  # manifest entries leading outside the dataset
    INCOMPLETE_MASKS = "incomplete_masks"  # mask generation did not finish
    CLASSES_WITHOUT_PIXELS = "classes_without_pixels"
    NO_VALIDATION = "no_validation"  # no validation images: no mIoU, no best.pt
    VAL_ON_TRAIN = "val_on_train"
    SPLIT_LEAKAGE = "split_leakage"  # training and validation images overlap
    RESUME_MODEL = "resume_model"  # the checkpoint's model differs from the options
    INIT_MODEL = "init_model"  # --init-from: the checkpoint's model is used, not the one asked for
    RESUME_WORLD_SIZE = "resume_world_size"  # resumed on another number of processes: the global batch
    AMP_UNAVAILABLE = "amp_unavailable"
    WORKERS_CAPPED = "workers_capped"
    TENSORBOARD_MISSING = "tensorboard_missing"
    CALLBACK_FAILED = "callback_failed"
    OTHER = "other"


def _now() -> float:
    return _time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every event has; ``extra`` keeps keys this version does not know (written back as they were)."""

    TYPE: ClassVar[str] = ""
    time: float = field(default_factory=_now)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=True)

    @property
    def type(self) -> str:
        return self.TYPE

    def to_json(self) -> dict[str, Any]:
        """The metrics.jsonl object: ``{"type", "time", fields...}`` (optional fields left out while None)."""
        out: dict[str, Any] = {"type": self.type, "time": self.time}
        for f in dataclasses.fields(self):
            if f.name in ("time", "extra"):
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


@dataclass(frozen=True, kw_only=True)
class StartEvent(Event):
    """The run (or a resume of it) has set up; ``steps_per_epoch`` counts the step events' ``step``."""

    TYPE: ClassVar[str] = "start"
    config: Mapping[str, Any] = field(default_factory=dict)
    device: str = ""
    world_size: int = 1
    model: Mapping[str, Any] = field(default_factory=dict)
    img_size: int | None = field(default=None, metadata=_OMIT)
    num_train: int | None = field(default=None, metadata=_OMIT)
    num_val: int | None = field(default=None, metadata=_OMIT)
    num_classes: int | None = field(default=None, metadata=_OMIT)
    classes: list[str] = field(default_factory=list)
    amp: str = "off"
    epoch: int = 0
    global_step: int = 0
    resumed_from: str | None = None
    steps_per_epoch: int | None = None  # batches per epoch (older files: "batches_per_epoch")
    init_from: str | None = field(default=None, metadata=_OMIT)  # a fine-tune's starting checkpoint
    edited_since: int | None = field(default=None, metadata=_OMIT)  # masks edited since (run_inputs.json)
    inputs_summary: str | None = field(default=None, metadata=_OMIT)  # that count in words, for the logs


@dataclass(frozen=True, kw_only=True)
class StepEvent(Event):
    """Every ``log_every`` batches: the mean loss of the window and its speed."""

    TYPE: ClassVar[str] = "step"
    epoch: int = 0  # 0-based
    step: int = 0  # batches done in this epoch
    global_step: int = 0
    loss: float | None = None
    lr: float | None = None
    images_per_s: float | None = None
    gpu_memory_bytes: int | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True, kw_only=True)
class EpochEvent(Event):
    """An epoch is done; the validation fields are absent (None) when it was not validated."""

    TYPE: ClassVar[str] = "epoch"
    epoch: int = 0  # 0-based
    train_loss: float | None = None
    val_loss: float | None = field(default=None, metadata=_OMIT)
    miou: float | None = field(default=None, metadata=_OMIT)
    pixel_acc: float | None = field(default=None, metadata=_OMIT)
    mean_dice: float | None = field(default=None, metadata=_OMIT)
    per_class_iou: Mapping[str, float | None] | None = field(default=None, metadata=_OMIT)
    elapsed_s: float | None = field(default=None, metadata=_OMIT)
    epoch_s: float | None = field(default=None, metadata=_OMIT)
    lr: float | None = field(default=None, metadata=_OMIT)
    skipped: int | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True, kw_only=True)
class CheckpointEvent(Event):
    TYPE: ClassVar[str] = "checkpoint"
    path: str = ""  # relative to the run folder
    epoch: int | None = None
    best: bool = False


@dataclass(frozen=True, kw_only=True)
class WarningEvent(Event):
    TYPE: ClassVar[str] = "warning"
    kind: str = WarningKind.OTHER
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class EndEvent(Event):
    """Run over: ``status`` finished | cancelled | time_budget | failed (a failure may name its ``kind``)."""

    TYPE: ClassVar[str] = "end"
    status: str = ""
    reason: str = ""
    best_miou: float | None = None
    epochs_done: int | None = field(default=None, metadata=_OMIT)
    global_step: int | None = field(default=None, metadata=_OMIT)
    elapsed_s: float | None = field(default=None, metadata=_OMIT)
    skipped: int | None = field(default=None, metadata=_OMIT)
    kind: str | None = field(default=None, metadata=_OMIT)  # e.g. "non_finite_loss"


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """A line of a type this version does not know (a newer trainer): kept, shown nowhere."""

    type_name: str = ""

    @property
    def type(self) -> str:
        return self.type_name

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "time": self.time, **self.extra}


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (StartEvent, StepEvent, EpochEvent, CheckpointEvent, WarningEvent, EndEvent)
}
_RENAMED = {"batches_per_epoch": "steps_per_epoch"}  # older key -> current key (start events)
_GPU_MEMORY_KEYS = ("max_memory_allocated", "cuda_max_memory")


def _legacy_warning_kind(message: str) -> str:
    """The kind of a warning written before warnings had one (only for reading old run folders)."""
    if message.startswith("skipped unreadable image or mask"):
        return WarningKind.SKIPPED_IMAGES
    return WarningKind.OTHER


def _coerce(value: Any, default: Any) -> Any:
    """A value of the wrong JSON type takes the field's default (a damaged line still loads)."""
    if value is None:
        return None
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, str):
        return value if isinstance(value, str) else str(value)
    if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
        return default
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def parse_event(data: Mapping[str, Any]) -> Event:
    """The typed event of one metrics.jsonl object (or an event dict); never raises on odd content."""
    type_name = str(data.get("type", ""))
    fields = {k: v for k, v in data.items() if k != "type"}
    t = fields.pop("time", None)
    common: dict[str, Any] = {"time": float(t) if isinstance(t, (int, float)) else 0.0}
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        return UnknownEvent(type_name=type_name, extra=fields, **common)
    for old, new in _RENAMED.items():
        if old in fields:
            value = fields.pop(old)
            fields.setdefault(new, value)
    if cls is StepEvent and "gpu_memory_bytes" not in fields:
        for key in _GPU_MEMORY_KEYS:
            if key in fields:
                fields["gpu_memory_bytes"] = fields.pop(key)
                break
    if cls is WarningEvent and "kind" not in fields:
        fields["kind"] = _legacy_warning_kind(str(fields.get("message", "")))
    known: dict[str, Any] = {}
    defaults = {f.name: f for f in dataclasses.fields(cls) if f.name not in ("time", "extra")}
    for name, f in defaults.items():
        if name not in fields:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        value = fields.pop(name)
        known[name] = value if default is None else _coerce(value, default)
        if known[name] is None and default is not None:
            known[name] = default
    return cls(extra=fields, **common, **known)
