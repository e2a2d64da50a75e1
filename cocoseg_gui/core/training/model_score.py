"""A model's validation score, what it was measured on, and what follows from it (no Qt, no torch).

Two decisions read it (ADR 0027, issue 19 items 4 and 5):

- **A model earns its place**: a finished run replaces the project's model only when it scores better on
  the *same* validation set (``val_set.id``: a hash of the val images' names and mask bytes) at the *same*
  input size and resize mode (``judge``); otherwise the window shows both scores and asks.
- **Weak or unscored models are named before they rank or propose** (``weakness``): below ``WEAK_MIOU``
  the issue measured the label-error ranking at random level (person IoU 0.16: average precision 0.080,
  random 0.10), so the jobs say so first and record the score in their output files.

The score is read from the run folder beside the checkpoint (config.json, metrics.jsonl: cheap JSON, so the
GUI thread may ask), or from a checkpoint dict already loaded (``score_of_checkpoint``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import CocoSegError

WEAK_MIOU = 0.30  # below this val mIoU a model's rankings and proposals are mostly noise (see module doc)
WEAK_CLASS_IOU = 0.30  # a class below this IoU is named in the warning (the classes it cannot find)
WEAK_CLASSES_SHOWN = 5  # at most this many weak classes are listed


@dataclass(frozen=True)
class ValSet:
    """What a score was measured on: ``id`` hashes the image names and their mask bytes."""

    id: str
    images: int
    source: str = ""  # the val mask folder (or "split of <train masks>"), for people

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "images": self.images, "source": self.source}

    @classmethod
    def from_json(cls, data: Any) -> ValSet | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            return None
        return cls(str(data["id"]), int(data.get("images") or 0), str(data.get("source") or ""))


def val_set_of(files: Sequence[str], mask_paths: Sequence[Path], source: str) -> ValSet:
    """The identity of a validation set: the same names with the same mask bytes give the same id."""
    digest = hashlib.blake2b(digest_size=12)
    for name, path in sorted(zip(files, mask_paths), key=lambda pair: pair[0]):
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0")
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
        digest.update(b"\0")
    return ValSet(digest.hexdigest(), len(files), source)


def val_set_of_dataset(ds: Any, source: str) -> ValSet | None:
    """``val_set_of`` for a MaskDataset (its ``files`` and ``mask_path(i)``); None for a stand-in."""
    if not hasattr(ds, "mask_path") or not hasattr(ds, "files"):
        return None
    files = list(ds.files)
    return val_set_of(files, [ds.mask_path(i) for i in range(len(files))], source)


@dataclass(frozen=True)
class ModelScore:
    """A checkpoint's validation mIoU (None: unscored), per class, and what and how it was measured."""

    checkpoint: str
    miou: float | None = None
    per_class_iou: Mapping[str, float | None] = field(default_factory=dict)
    img_size: int | None = None
    resize: str | None = None
    val_set: ValSet | None = None
    epoch: int | None = None  # 0-based epoch the score is from
    note: str = ""  # why unscored, or where the score comes from

    @property
    def scored(self) -> bool:
        return self.miou is not None

    def comparable(self, other: ModelScore) -> bool:
        """Both scored on the same val set at the same input size and resize mode."""
        return (
            self.scored
            and other.scored
            and self.val_set is not None
            and other.val_set is not None
            and self.val_set.id == other.val_set.id
            and self.img_size == other.img_size
            and self.resize == other.resize
        )

    def describe(self) -> str:
        """One line for people: "val mIoU 0.412 on 12 val images at 256 px (epoch 5)" or why unscored."""
        if self.miou is None:
            return "unscored" + (f" ({self.note})" if self.note else "")
        where = ""
        if self.val_set is not None:
            images = self.val_set.images
            where = f" on {images} val images" if images else f" on {self.val_set.source}"
        size = f" at {self.img_size} px" if self.img_size else ""
        epoch = f" (epoch {self.epoch + 1})" if self.epoch is not None else ""
        return f"val mIoU {self.miou:.3f}{where}{size}{epoch}"

    def to_json(self) -> dict[str, Any]:
        """What the ranking and proposal files record (docs/formats.md, "model_score")."""
        return {
            "checkpoint": self.checkpoint,
            "miou": self.miou,
            "per_class_iou": dict(self.per_class_iou),
            "img_size": self.img_size,
            "resize": self.resize,
            "val_set": self.val_set.to_json() if self.val_set else None,
            "epoch": self.epoch,
            "weak": weakness(self) is not None,
            "weak_below": WEAK_MIOU,
            "note": self.note,
        }


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        return None
    return float(value)


def score_of_run_checkpoint(checkpoint: str | Path) -> ModelScore:
    """The score of ``RUN/best.pt`` or ``RUN/last.pt`` from its run folder's JSON files (no torch).

    A checkpoint is scored by the epoch event whose epoch its last checkpoint event names; a last.pt saved
    by a stop mid-epoch (weights trained past the last validation) is unscored.
    """
    from cocoseg_gui.core.training import event_types as ev
    from cocoseg_gui.core.training.run_reader import read_config, read_events

    path = Path(checkpoint)
    run = path.parent
    if not (run / "metrics.jsonl").is_file():
        return ModelScore(str(path), note="no run folder beside it to read a score from")
    try:
        config, events = read_config(run), read_events(run, steps=False)
    except CocoSegError as exc:
        return ModelScore(str(path), note=f"its run folder cannot be read: {exc}")
    epochs: dict[int, ev.EpochEvent] = {}
    scored_by: ev.EpochEvent | None = None
    saved = False
    for e in events:
        if isinstance(e, ev.EpochEvent):
            epochs[e.epoch] = e
        elif isinstance(e, ev.CheckpointEvent) and e.path == path.name:
            saved = True
            scored_by = epochs.get(e.epoch) if e.epoch is not None else None
    size = config.get("img_size")
    score = partial(
        ModelScore,
        checkpoint=str(path),
        img_size=int(size) if isinstance(size, int) else None,
        resize=str(config["resize"]) if config.get("resize") else None,
        val_set=ValSet.from_json(config.get("val_set")),
    )
    if not saved:
        return score(note="its run never recorded saving it")
    if scored_by is None or _finite(scored_by.miou) is None:
        return score(note="saved without a validation (stopped mid-epoch?)")
    return score(
        miou=_finite(scored_by.miou),
        per_class_iou=dict(scored_by.per_class_iou or {}),
        epoch=scored_by.epoch,
    )


def score_of_checkpoint(checkpoint: str | Path, loaded: Mapping[str, Any] | None = None) -> ModelScore:
    """The run folder's score, else (when ``loaded``, the checkpoint dict) the metrics saved in the file."""
    found = score_of_run_checkpoint(checkpoint) if str(checkpoint) else ModelScore("", note="no file")
    if found.scored or loaded is None:
        return found
    metrics: Mapping[str, Any] = loaded["metrics"] if isinstance(loaded.get("metrics"), Mapping) else {}
    spec: Mapping[str, Any] = loaded["input"] if isinstance(loaded.get("input"), Mapping) else {}
    miou = _finite(metrics.get("miou")) if metrics else None
    epoch = metrics.get("epoch") if metrics else None
    return ModelScore(
        str(checkpoint),
        miou=miou,
        per_class_iou=dict(metrics.get("per_class_iou") or {}) if miou is not None else {},
        img_size=int(spec["img_size"]) if isinstance(spec.get("img_size"), int) else None,
        resize=str(spec.get("resize")) if spec.get("resize") else None,
        val_set=ValSet.from_json(loaded.get("val_set")),
        epoch=int(epoch) if isinstance(epoch, int) and miou is not None else None,
        note="" if miou is not None else "the checkpoint holds no validation score",
    )


def predictor_score(predictor: Any) -> ModelScore:
    """The score of a loaded ``core.training.predict.Predictor`` (its run folder's, else its file's)."""
    loaded = {
        "metrics": predictor.metrics,
        "input": {"img_size": predictor.img_size, "resize": predictor.resize},
        "val_set": predictor.val_set,
    }
    return score_of_checkpoint(predictor.source or "", loaded)


def weak_classes(score: ModelScore) -> list[tuple[str, float]]:
    """Classes (background left out) whose IoU is below WEAK_CLASS_IOU, weakest first."""
    low = [
        (name, float(iou))
        for name, iou in score.per_class_iou.items()
        if name != "background" and iou is not None and float(iou) < WEAK_CLASS_IOU
    ]
    return sorted(low, key=lambda pair: (pair[1], pair[0]))


def weakness(score: ModelScore) -> str | None:
    """Why the model's output should not be trusted yet (weak or unscored), None when it scores well.

    A model at or above WEAK_MIOU with some weak classes is not weak overall: those classes are named by
    ``describe_quality`` but do not make the jobs ask.
    """
    if score.miou is None:
        return (
            "the model is unscored" + (f" ({score.note})" if score.note else "") + ": its output may be noise"
        )
    if score.miou < WEAK_MIOU:
        return f"the model is weak: {score.describe()}, below {WEAK_MIOU:.2f}; its output is likely noise"
    return None


def describe_weak_classes(score: ModelScore) -> str:
    """ "IoU below 0.30 for person 0.04, cat 0.10" (the classes it hardly finds), "" when none."""
    low = weak_classes(score)
    if not low:
        return ""
    shown = ", ".join(f"{name} {iou:.2f}" for name, iou in low[:WEAK_CLASSES_SHOWN])
    more = f" and {len(low) - WEAK_CLASSES_SHOWN} more" if len(low) > WEAK_CLASSES_SHOWN else ""
    return f"IoU below {WEAK_CLASS_IOU:.2f} for {shown}{more}"


def describe_quality(score: ModelScore) -> str:
    """The score, and the classes the model hardly finds ("where it matters")."""
    low = describe_weak_classes(score)
    return f"{score.describe()}; {low}" if low else score.describe()


@dataclass(frozen=True)
class Verdict:
    """Whether a new model replaces the current one without asking, and why."""

    replace: bool
    reason: str


def judge(new: ModelScore, current: ModelScore | None) -> Verdict:
    """Replace only when ``new`` scores better than ``current`` on the same val set at the same size."""
    if current is None:
        return Verdict(True, "the project had no model")
    if Path(new.checkpoint).resolve() == Path(current.checkpoint).resolve():
        return Verdict(True, "the same checkpoint file")
    if not new.scored:
        return Verdict(
            False, f"the new model is unscored ({new.note})" if new.note else "the new model is unscored"
        )
    if not current.scored:
        return Verdict(
            False,
            "the current model has no score to compare with" + (f" ({current.note})" if current.note else ""),
        )
    if not new.comparable(current):
        return Verdict(False, "the two scores were measured on different validation sets or input sizes")
    assert new.miou is not None and current.miou is not None
    if new.miou > current.miou:
        return Verdict(True, f"it scores better ({new.miou:.3f} > {current.miou:.3f}) on the same val set")
    return Verdict(
        False, f"it does not score better ({new.miou:.3f} ≤ {current.miou:.3f}) on the same val set"
    )
