"""What a run started from: its datasets, its init checkpoint and the masks edited since its training.

Fine-tuning on corrections (``--init-from``) is only worth it when masks changed; RUN/run_inputs.json
records which ones did (docs/formats.md), so the user can see what a fine-tune learned from and the
count reaches the log. "Since the last training" is the end time of the init checkpoint's run (the last
``end`` event in its metrics.jsonl), else the checkpoint file's modification time. A run on several mask
folders lists each (``datasets``: its images with a mask and its edited ones). No torch import: the Train
form shows the counts before a run starts.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.masks.dataset import read_edited, read_image_mask_map
from cocoseg_gui.core.training.data_sources import sample_key
from cocoseg_gui.core.training.run_folder import LOG

RUN_INPUTS_FILE = "run_inputs.json"
VERSION = 1
SINCE_TRAINING_END = "training_end"  # the last end event of the checkpoint's run folder
SINCE_FILE_MTIME = "file_mtime"  # no readable run log beside the checkpoint
_END_MARK = '"type":"end"'
_SAVED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # edited.json's "saved" (core/editing/save.py)


@dataclass(frozen=True)
class DatasetInputs:
    """One training mask folder of a run: its images with a mask and those edited (since ``since``)."""

    data: str
    images: int = 0
    edited: list[str] = field(default_factory=list)  # image file names, sorted
    edited_total: int = 0
    problem: str | None = None
    new_to_model: bool = False  # the init checkpoint's run did not train on this folder: every edit counts

    @property
    def name(self) -> str:
        return Path(self.data).name

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "images": self.images,
            "edited_since": list(self.edited),
            "edited_since_count": len(self.edited),
            "edited_total": self.edited_total,
            "problem": self.problem,
            "new_to_model": self.new_to_model,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> DatasetInputs:
        return cls(
            data=str(obj.get("data", "")),
            images=int(obj.get("images") or 0),
            edited=[str(x) for x in obj.get("edited_since") or []],
            edited_total=int(obj.get("edited_total") or 0),
            problem=obj.get("problem"),
            new_to_model=bool(obj.get("new_to_model")),
        )

    def line(self) -> str:
        """ "train2017: 50 images, 3 edited" (the Train form's list and the log)."""
        if self.problem:
            return f"{self.name}: {self.images} images, edited masks unknown ({self.problem})"
        new = " (new to the model: every edit counts)" if self.new_to_model else ""
        return f"{self.name}: {self.images} images, {len(self.edited)} edited{new}"


@dataclass(frozen=True)
class RunInputs:
    """RUN/run_inputs.json: the init checkpoint, the reference time, and the masks edited after it.

    ``since`` is None for a run without ``init_from``: ``edited`` then lists every mask saved from the
    editor (there is no earlier training to compare with).
    """

    data: str
    init_from: str | None = None
    since: float | None = None  # seconds since the epoch (UTC)
    since_source: str | None = None  # SINCE_TRAINING_END or SINCE_FILE_MTIME
    edited: list[str] = field(default_factory=list)  # image file names, sorted
    edited_total: int = 0  # entries of edited.json, edited before or after ``since``
    problem: str | None = None  # edited.json could not be read: the lists are empty, training went on
    datasets: list[DatasetInputs] = field(default_factory=list)  # every training folder, ``data`` first

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "data": self.data,
            "init_from": self.init_from,
            "since": self.since,
            "since_utc": _utc_text(self.since),
            "since_source": self.since_source,
            "edited_since": list(self.edited),
            "edited_since_count": len(self.edited),
            "edited_total": self.edited_total,
            "problem": self.problem,
            "datasets": [d.to_json() for d in self.datasets],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RunInputs:
        since = obj.get("since")
        return cls(
            data=str(obj.get("data", "")),
            init_from=obj.get("init_from"),
            since=float(since) if isinstance(since, (int, float)) else None,
            since_source=obj.get("since_source"),
            edited=[str(x) for x in obj.get("edited_since") or []],
            edited_total=int(obj.get("edited_total") or 0),
            problem=obj.get("problem"),
            datasets=[DatasetInputs.from_json(d) for d in obj.get("datasets") or [] if isinstance(d, dict)],
        )

    def summary(self, per_dataset: bool = True) -> str:
        """The log line: "3 masks edited since the last training (…)", then each folder's counts when there
        are several (``per_dataset``; the Train form lists them on their own)."""
        n = len(self.edited)
        noun = "mask" if n == 1 else "masks"
        if self.problem:
            text = f"edited masks unknown: {self.problem}"
        elif self.since is None:
            text = f"{n} {noun} edited in the mask editor (no earlier training to compare with)"
        else:
            text = f"{n} {noun} edited since the last training (ended {_utc_text(self.since)})"
            if any(d.new_to_model for d in self.datasets):
                text += " or in folders it did not train on"
        if per_dataset and len(self.datasets) > 1:
            text += "; " + "; ".join(d.line() for d in self.datasets)
        return text


def training_end_time(checkpoint: str | Path) -> tuple[float, str]:
    """(seconds, source): when the checkpoint's training ended, else when the file was last written."""
    checkpoint = Path(checkpoint)
    end = _last_end_time(checkpoint.parent / LOG)
    if end is not None:
        return end, SINCE_TRAINING_END
    return checkpoint.stat().st_mtime, SINCE_FILE_MTIME


def _last_end_time(log: Path) -> float | None:
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in reversed(lines):
        if _END_MARK not in line.replace(" ", ""):
            continue
        try:
            value = json.loads(line).get("time")
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(value, (int, float)):
            return float(value)
    return None


def saved_time(text: Any) -> float | None:
    """edited.json's ``saved`` ("2026-12-02T00:45:00Z") as seconds since the epoch; None when unreadable."""
    try:
        return float(calendar.timegm(time.strptime(str(text), _SAVED_FORMAT)))
    except (TypeError, ValueError):
        return None


def edited_since(masks_dir: str | Path, since: float | None) -> tuple[list[str], int]:
    """(images saved after ``since``, all edited images) of a mask folder's edited.json.

    ``saved`` is kept to the second: a save within the second ``since`` falls in counts as newer (it is
    better to train on a mask twice than to miss a correction). Raises DatasetError for a damaged file.
    """
    images = read_edited(masks_dir)
    if since is None:
        return sorted(images), len(images)
    newer = []
    for name, entry in images.items():
        t = saved_time(entry.get("saved"))
        if t is None or t + 1 > since:  # unknown time: listed, never silently dropped
            newer.append(name)
    return sorted(newer), len(images)


def trained_folders(checkpoint: str | Path) -> set[Path] | None:
    """The training folders of the checkpoint's run (its config.json beside it), resolved; None when
    that cannot be read (a checkpoint outside a run folder)."""
    try:
        config = json.loads((Path(checkpoint).parent / "config.json").read_text(encoding="utf-8"))
        folders = [config["data"], *(config.get("extra_data") or [])]
        return {Path(f).expanduser().resolve() for f in folders}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def collect_dataset_inputs(
    data: str | Path, since: float | None, new_to_model: bool = False, count_images: bool = True
) -> DatasetInputs:
    """One mask folder's images with a mask (image_mask_map.json, unless not ``count_images``: 0) and those
    edited after ``since`` (every edited one when ``new_to_model``); a damaged file is the ``problem``."""
    path = Path(data).as_posix()
    if new_to_model:
        since = None
    try:
        images = len(read_image_mask_map(data, required=False)) if count_images else 0
    except DatasetError as exc:
        return DatasetInputs(path, problem=str(exc))
    try:
        edited, total = edited_since(data, since)
    except DatasetError as exc:
        return DatasetInputs(path, images, problem=str(exc), new_to_model=new_to_model)
    return DatasetInputs(path, images, edited, total, new_to_model=new_to_model)


def collect_run_inputs(
    data: str | Path,
    init_from: str | Path | None,
    extra_data: Sequence[str | Path] = (),
    count_images: bool = True,
) -> RunInputs:
    """The RunInputs of a new run on ``data`` and ``extra_data`` (mask folders), from ``init_from`` or not.

    The top-level ``edited`` names images as the trainer does across folders (data_sources.sample_key):
    plain file names for ``data``, ``<folder name>:<file>`` for the others. A folder the init checkpoint's
    run did not train on (a dataset labelled since, corrections made elsewhere) lists every edited image:
    the model has learnt none of them.
    """
    since, source = (None, None) if init_from is None else training_end_time(init_from)
    seen = trained_folders(init_from) if init_from is not None else None
    parts = [
        collect_dataset_inputs(
            d, since, seen is not None and Path(d).expanduser().resolve() not in seen, count_images
        )
        for d in (data, *extra_data)
    ]
    problems = [f"{p.name}: {p.problem}" if extra_data else p.problem for p in parts if p.problem]
    return RunInputs(
        data=Path(data).as_posix(),
        init_from=None if init_from is None else Path(init_from).as_posix(),
        since=since,
        since_source=source,
        edited=sorted(sample_key(i, p.data, f) for i, p in enumerate(parts) for f in p.edited),
        edited_total=sum(p.edited_total for p in parts),
        problem="; ".join(str(p) for p in problems) or None,
        datasets=parts,
    )


@dataclass(frozen=True)
class TrainingDataCheck:
    """What the Train form shows before Start: each training folder's counts, and why they cannot be
    trained together (``class_problem``), if so."""

    inputs: RunInputs
    class_problem: str | None = None

    def lines(self) -> list[str]:
        return [d.line() for d in self.inputs.datasets]


def check_training_data(
    folders: Sequence[str | Path],
    init_from: str | Path | None = None,
    progress: Any = None,
    cancel: Any = None,
) -> TrainingDataCheck:
    """The counts of ``folders`` (edited since ``init_from``'s training when given) and the class check of
    data_sources; a job (``progress``/``cancel`` unused: a few small JSON files per folder)."""
    from cocoseg_gui.core.training.data_sources import check_same_classes

    paths = [Path(f) for f in folders]
    init = Path(init_from) if init_from is not None and Path(init_from).is_file() else None
    inputs = collect_run_inputs(paths[0], init, paths[1:])
    problem = None
    missing = [f for f in paths if not f.is_dir()]
    if missing:
        problem = f"{missing[0]}: mask dataset folder not found"
    elif len(paths) > 1:
        try:
            check_same_classes(paths)
        except DatasetError as exc:
            problem = str(exc)
    return TrainingDataCheck(inputs, problem)


def write_run_inputs(run_dir: str | Path, inputs: RunInputs) -> None:
    atomic_write_json(Path(run_dir) / RUN_INPUTS_FILE, inputs.to_json())


def read_run_inputs(run_dir: str | Path) -> RunInputs | None:
    """The run's run_inputs.json; None for a run without one (older runs)."""
    path = Path(run_dir) / RUN_INPUTS_FILE
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(path, f"cannot be read ({exc})") from exc
    if not isinstance(obj, dict):
        raise DatasetError(path, "expected a JSON object")
    return RunInputs.from_json(obj)


def _utc_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime(_SAVED_FORMAT, time.gmtime(seconds))
