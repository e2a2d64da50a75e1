"""What a save records beside the PNG: report.json's counts moved by an edit, edited.json's entry.

Shared by the save (core/editing/save.py) and the journal's repair of a save killed between the PNG and
report.json (core/editing/save_journal.py); here, so that neither imports the other (no import cycle).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cocoseg_gui.core.editing.edited_records import recover_edited, write_edited
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.dataset import read_edited
from cocoseg_gui.core.types import IGNORE_INDEX


def updated_report(
    report: dict[str, Any] | None, mapping: ClassMapping, mask_name: str, new: dict[int, int]
) -> dict[str, Any]:
    """report.json with ``mask_name``'s per-image counts replaced by ``new`` and the class totals
    (pixels, images) moved by the difference, so class weights and oversampling see the edit."""
    report = dict(report or {"version": 1})
    per_image = dict(report.get("per_image") or {})
    old = {int(k): int(v) for k, v in (per_image.get(mask_name) or {}).items()}
    per_image[mask_name] = {str(k): v for k, v in sorted(new.items())}
    report["per_image"] = per_image
    classes = [dict(c) for c in report.get("classes") or []]
    by_index = {int(c["index"]): c for c in classes if isinstance(c, dict) and "index" in c}
    for index in sorted(set(old) | set(new)):
        entry = by_index.get(index)
        if entry is None:
            name = _class_name(mapping, index)
            entry = by_index[index] = {"index": index, "name": name, "pixels": 0, "images": 0}
            classes.append(entry)
        entry["pixels"] = int(entry.get("pixels", 0)) + new.get(index, 0) - old.get(index, 0)
        entry["images"] = int(entry.get("images", 0)) + (index in new) - (index in old)
    classes.sort(key=lambda c: int(c["index"]))
    report["classes"] = classes
    return report


def _class_name(mapping: ClassMapping, index: int) -> str:
    if index == IGNORE_INDEX:
        return "ignore"
    return mapping.name_of(index) if index < mapping.num_classes else str(index)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_edited(
    folder: Path, file_name: str, mask_name: str, image_id: int | None, notes: list[str] | None = None
) -> None:
    """Add or refresh the image's entry in edited.json (atomic, with its backup), so the browser can
    mark it. A damaged edited.json is recovered (edited_records), never silently rebuilt; what was
    recovered and what is gone is appended to ``notes``."""
    try:
        images = read_edited(folder)
    except DatasetError as exc:
        recovery = recover_edited(folder, exc.problem, file_name)
        images = dict(recovery.records)
        if notes is not None:
            notes.append(recovery.message)
    entry = images.get(file_name, {})
    now = _now()
    images[file_name] = {
        "mask": mask_name,
        "image_id": image_id if image_id is not None else entry.get("image_id"),
        "first_saved": entry.get("first_saved", now),
        "saved": now,
        "saves": int(entry.get("saves", 0)) + 1,
    }
    write_edited(folder, images)
