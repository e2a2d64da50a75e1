"""The save journal: what repairs a mask folder after a kill between the mask PNG and report.json.

An editor save replaces four files by rename, one after another (core/editing/save.py): the PNG,
report.json, image_mask_map.json, edited.json. A kill after the PNG's rename but before the others
leaves a new mask that report.json does not count (class weights and oversampling would be wrong) and,
for a new image, no map entry. So a small journal naming the image, its mask and the SHA-256 of the
new PNG is written (atomically) BEFORE the PNG and removed after the last file. Its presence at the
next save or open of the folder means a save was interrupted: the listed masks' class counts are
recomputed from the PNG on disk (right whichever PNG is there), and when the PNG is the new one its
map and edited.json entries are completed too.

The journal is a file in the folder like any other: an entry whose image name or mask name would
lead outside the folder (ADR 0003's rules: absolute, ``..``, a link leaving ``masks/``), or a
journal that cannot be read, is not trusted: the whole journal is set aside
(``.save-journal.json.refused-<time>``) with a message, nothing is repaired from it, saving goes on.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cocoseg_gui.core.editing.save_records import record_edited, updated_report
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.files.safe_paths import SafeRoot, UnsafePathError, check_relative_name
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.dataset import read_image_mask_map, read_report
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MASKS_DIR, REPORT_FILE, SAVE_JOURNAL_FILE
from cocoseg_gui.core.masks.png import class_histogram, read_mask_png

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


_SHA256 = re.compile(r"[0-9a-f]{64}")


class BadJournalError(DatasetError):
    """A journal that is not trusted (unreadable, or an entry leading outside the folder)."""


def read_entries(folder: str | Path) -> list[dict[str, Any]]:
    """The journal's entries, checked; [] when no save was interrupted. BadJournalError naming the
    journal and the entry when it cannot be trusted."""
    root = Path(folder)
    path = root / JOURNAL_FILE
    data = read_json(path, required=False)  # DatasetError: half a journal cannot be ours (atomic)
    if data is None:
        return []
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise BadJournalError(path, 'expected {"version": 1, "images": [entries]}')
    masks = SafeRoot(root / MASKS_DIR, what="mask file name")
    for entry in images:
        check_entry(path, masks, entry)
    return images


def check_entry(path: Path, masks: SafeRoot, entry: Any) -> None:
    """BadJournalError unless ``entry`` names an image and a mask inside ``masks/`` (ADR 0003)."""
    if not isinstance(entry, dict):
        raise BadJournalError(path, f"an entry is not an object: {entry!r:.80}")
    file_name, mask = entry.get("file_name"), entry.get("mask")
    try:
        reason = check_relative_name(file_name)
        if reason is not None:
            raise UnsafePathError(path, f"its image name {file_name!r}", reason, "the image folder")
        masks.resolve(mask if isinstance(mask, str) else "", path, f"its mask name {mask!r}")
    except UnsafePathError as exc:
        raise BadJournalError(path, exc.problem) from None
    if not isinstance(entry.get("sha256"), str) or not _SHA256.fullmatch(entry["sha256"]):
        raise BadJournalError(path, f"the entry of {file_name!r} has no valid sha256")
    image_id = entry.get("image_id")
    if image_id is not None and (isinstance(image_id, bool) or not isinstance(image_id, int)):
        raise BadJournalError(path, f"the entry of {file_name!r} has an image_id that is not a number")


def pending(folder: str | Path) -> list[dict[str, Any]]:
    """The journal's entries; [] when no save was interrupted or the journal is not trusted."""
    try:
        return read_entries(folder)
    except DatasetError:
        return []


def set_aside(folder: Path, problem: DatasetError) -> str:
    """Move an untrusted journal out of the way; the message for the user (OSError if it cannot)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = folder / f"{JOURNAL_FILE}.refused-{stamp}"
    os.replace(folder / JOURNAL_FILE, aside)
    return (
        f"{problem}. The save journal was not used (nothing repaired from it) and is kept as "
        f"{aside.name}; saving goes on. If a save was interrupted, check that image's mask."
    )


def repair(folder: str | Path, notes: list[str] | None = None) -> list[str]:
    """Finish an interrupted save of ``folder``; the image file names repaired ([] when none).

    An untrusted journal is set aside and its message appended to ``notes``. Raises OSError when
    the folder cannot be written (the journal stays for the next try)."""
    root = Path(folder)
    if not (root / JOURNAL_FILE).exists():
        return []
    try:
        entries = read_entries(root)
    except DatasetError as exc:
        message = set_aside(root, exc)
        if notes is not None:
            notes.append(message)
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
        record_edited(root, file_name, mask_name, image_id, notes)
    end(root)
    return repaired
