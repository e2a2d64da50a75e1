"""The save journal: what repairs a mask folder after a kill between the mask PNG and report.json.

An editor save replaces four files by rename, one after another (core/editing/save.py): the PNG,
report.json, image_mask_map.json, edited.json. A kill after the PNG's rename but before the others
leaves a new mask that report.json does not count (class weights and oversampling would be wrong) and,
for a new image, no map entry. So a small journal naming the image, its mask and the SHA-256 of the
new PNG is written (atomically) BEFORE the PNG and removed after the last file. Its presence at the
next save or open of the folder means a save was interrupted: the listed masks' class counts are
recomputed from the PNG on disk (right whichever PNG is there), and when the PNG is the new one its
map and edited.json entries are completed too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cocoseg_gui.core.atomic import atomic_write_json
from cocoseg_gui.core.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.mask_dataset import read_image_mask_map, read_json, read_report
from cocoseg_gui.core.mask_folder import IMAGE_MAP_FILE, MASKS_DIR, REPORT_FILE, SAVE_JOURNAL_FILE
from cocoseg_gui.core.mask_png import class_histogram, read_mask_png

JOURNAL_FILE = SAVE_JOURNAL_FILE


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def begin(folder: Path, file_name: str, mask_name: str, png: bytes, image_id: int | None) -> None:
    """Record the save about to happen (before the PNG is written)."""
    entry = {"file_name": file_name, "mask": mask_name, "sha256": digest(png), "image_id": image_id}
    # no fsync: the journal guards against a killed process (the OS still writes its cache), and a
    # full disk then fails at the PNG's fsync, naming the mask
    atomic_write_json(folder / JOURNAL_FILE, {"version": 1, "images": [entry]}, fsync=False)


def end(folder: Path) -> None:
    """The save finished (every file written, or the PNG put back after a failure)."""
    (folder / JOURNAL_FILE).unlink(missing_ok=True)


def pending(folder: str | Path) -> list[dict[str, Any]]:
    """The journal's entries; [] when no save was interrupted (or the journal is unreadable)."""
    try:
        data = read_json(Path(folder) / JOURNAL_FILE, required=False)
    except DatasetError:
        return []  # half a journal cannot exist (atomic); a damaged one names nothing to repair
    images = data.get("images") if isinstance(data, dict) else None
    return [e for e in images or [] if isinstance(e, dict) and e.get("file_name") and e.get("mask")]


def repair(folder: str | Path) -> list[str]:
    """Finish an interrupted save of ``folder``; the image file names repaired ([] when none).

    Raises OSError when the folder cannot be written (the journal stays for the next try)."""
    from cocoseg_gui.core.editing.save import record_edited, updated_report  # save imports this

    root = Path(folder)
    entries = pending(root)
    if not entries and not (root / JOURNAL_FILE).exists():
        return []
    mapping = ClassMapping.read(root / MAPPING_FILE)
    report = read_report(root)
    image_map = read_image_mask_map(root, required=False)
    repaired, completed = [], []
    for entry in entries:
        file_name, mask_name = str(entry["file_name"]), str(entry["mask"])
        path = root / MASKS_DIR / mask_name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # killed before a new image's PNG landed: nothing was changed
        hist = class_histogram(read_mask_png(path))
        counts = {int(i): int(hist[i]) for i in hist.nonzero()[0]}
        report = updated_report(report, mapping, mask_name, counts)
        repaired.append(file_name)
        if digest(data) == entry.get("sha256"):
            completed.append((file_name, mask_name, entry.get("image_id")))
    if repaired:
        atomic_write_json(root / REPORT_FILE, report)
    if any(f not in image_map for f, _m, _i in completed):
        image_map = {**image_map, **{f: m for f, m, _i in completed}}
        atomic_write_json(root / IMAGE_MAP_FILE, image_map)
    for file_name, mask_name, image_id in completed:
        record_edited(root, file_name, mask_name, image_id)
    end(root)
    return repaired
