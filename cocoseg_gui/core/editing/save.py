"""Saving an edited label map: the palette PNG, then report.json, image_mask_map.json and edited.json.

Order and atomicity (ADR 0014): each file is replaced by rename (core/files/atomic.py), so a kill leaves
every file either old or new, never half written. The PNG goes first (it is the user's work); if a
later file cannot be written, the previous PNG bytes are put back, so the folder never holds a mask
its report.json does not count. The in-memory array is only read: on any error the caller still has
every edit and can save elsewhere. A kill (no exception to catch) between the PNG and report.json is
repaired at the next save or open from a journal written before the PNG (core/editing/save_journal.py).
The whole transaction holds the folder's inter-process lock (core/files/folder_lock.py), so two windows or
a window and a job saving into one folder never lose each other's report, map or edited.json update.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from cocoseg_gui.core.editing import save_journal
from cocoseg_gui.core.editing.edited_records import recover_edited
from cocoseg_gui.core.editing.save_records import record_edited, updated_report
from cocoseg_gui.core.errors import CocoSegError, DatasetError, describe_os_error
from cocoseg_gui.core.files.atomic import atomic_write_bytes, atomic_write_json
from cocoseg_gui.core.files.folder_lock import SAVE_TIMEOUT_S, locked
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.dataset import read_edited, read_image_mask_map, read_report, resolve_mask_entry
from cocoseg_gui.core.masks.folder import EDITED_FILE, IMAGE_MAP_FILE, MASKS_DIR, REPORT_FILE
from cocoseg_gui.core.masks.png import class_histogram, encode_mask_png
from cocoseg_gui.core.types import IGNORE_INDEX


class SaveError(CocoSegError):
    """A save that did not happen; the message names the file. ``path``: that file."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


@dataclass(frozen=True)
class SavedMask:
    mask_path: Path
    mask_name: str
    histogram: dict[int, int]  # pixels per value, nonzero only
    notes: tuple[str, ...] = ()  # what the save found and set right on the way (a journal set aside...)


def check_label(label: np.ndarray, image_size: tuple[int, int] | None, num_classes: int, where: Path) -> None:
    """DatasetError naming ``where`` for a map that does not fit its image or holds unknown values.

    ``image_size`` is (height, width); values allowed are 0..num_classes-1 and 255.
    """
    if label.ndim != 2 or label.dtype != np.uint8:
        raise DatasetError(where, f"a mask must be an (H, W) uint8 array, got {label.dtype} {label.shape}")
    if image_size is not None and tuple(label.shape) != tuple(image_size):
        h, w = image_size
        raise DatasetError(
            where,
            f"the edited mask is {label.shape[1]}x{label.shape[0]} but its image is {w}x{h}: "
            "a mask is saved at the image's size",
        )
    hist = class_histogram(label)
    bad = [v for v in np.flatnonzero(hist).tolist() if v >= num_classes and v != IGNORE_INDEX]
    if bad:
        raise DatasetError(
            where,
            f"values {bad[:5]} are not classes of this folder (0..{num_classes - 1} or 255 ignore)",
        )


def _new_mask_name(file_name: str, taken: set[str]) -> str:
    """A mask file name for an image the folder has no mask for (stem.png, _1, _2... if taken)."""
    stem = PurePosixPath(file_name.replace("\\", "/")).stem or "image"
    name, k = f"{stem}.png", 0
    while name.casefold() in taken:
        k += 1
        name = f"{stem}_{k}.png"
    return name


def _histogram_dict(label: np.ndarray) -> dict[int, int]:
    hist = class_histogram(label)
    return {int(i): int(hist[i]) for i in np.flatnonzero(hist)}


def save_edited_mask(
    folder: str | Path,
    file_name: str,
    label: np.ndarray,
    image_size: tuple[int, int] | None,
    image_id: int | None = None,
    lock_timeout: float = SAVE_TIMEOUT_S,
) -> SavedMask:
    """Save ``label`` as the mask of image ``file_name`` in the mask folder ``folder``.

    ``image_size``: the image's (height, width), checked against the map (None: not checked). Raises
    DatasetError for a map that does not fit (naming the mask file), SaveError for a file that cannot
    be written (read-only folder, full disk), FolderBusyError naming who holds the folder's lock
    after ``lock_timeout`` s, leaving the previous mask and ``label`` as they were.
    """
    try:
        with locked(folder, lock_timeout):
            return _save_locked(Path(folder), file_name, label, image_size, image_id)
    except OSError as exc:  # only the lock file's: every other write names its file as a SaveError
        path = Path(exc.filename or folder)
        raise SaveError(path, f"cannot save {describe_os_error(exc)}; the edits are kept in memory") from exc


def _save_locked(
    root: Path, file_name: str, label: np.ndarray, image_size: tuple[int, int] | None, image_id: int | None
) -> SavedMask:
    notes: list[str] = []
    repair_interrupted_save(root, notes)
    mapping = ClassMapping.read(root / MAPPING_FILE)
    image_map = read_image_mask_map(root, required=False)
    masks = SafeRoot(root / MASKS_DIR, what="mask file name")
    mask_name = image_map.get(file_name) or _new_mask_name(
        file_name, {v.casefold() for v in image_map.values()}
    )
    mask_path = resolve_mask_entry(masks, root, file_name, mask_name)
    check_label(label, image_size, mapping.num_classes, mask_path)
    hist = _histogram_dict(label)
    png = encode_mask_png(label)
    report = updated_report(read_report(root), mapping, mask_name, hist)
    old_png = _read_previous(mask_path)
    try:
        save_journal.begin(root, file_name, mask_name, png, image_id)
    except OSError as exc:
        raise SaveError(
            mask_path,
            f"cannot save {mask_path}: the folder cannot be written ({describe_os_error(exc)}); "
            "the edits are kept in memory",
        ) from exc
    try:
        _write(mask_path, lambda: atomic_write_bytes(mask_path, png))
    except SaveError:
        _end_journal(root)
        raise
    try:
        _write(root / REPORT_FILE, lambda: atomic_write_json(root / REPORT_FILE, report))
        if file_name not in image_map:
            new_map = {**image_map, file_name: mask_name}
            _write(root / IMAGE_MAP_FILE, lambda: atomic_write_json(root / IMAGE_MAP_FILE, new_map))
        _write(root / EDITED_FILE, lambda: record_edited(root, file_name, mask_name, image_id, notes))
    except SaveError:
        _restore(mask_path, old_png)
        _end_journal(root)
        raise
    _end_journal(root)  # not in a finally: a kill (KeyboardInterrupt, SystemExit) must leave it
    return SavedMask(mask_path, mask_name, hist, tuple(notes))


def _end_journal(root: Path) -> None:
    """Remove the journal once the files agree (an unwritable folder keeps it: harmless, repaired)."""
    with contextlib.suppress(OSError):
        save_journal.end(root)


def repair_interrupted_save(
    folder: str | Path, notes: list[str] | None = None, lock_timeout: float = SAVE_TIMEOUT_S
) -> list[str]:
    """Finish a save a kill interrupted (save_journal), under the folder's lock; the image file names
    repaired. What it set right on the way (a journal set aside, edited.json recovered) is appended
    to ``notes``. SaveError naming report.json when the folder cannot be written, FolderBusyError
    naming who holds its lock after ``lock_timeout`` s."""
    if not (Path(folder) / save_journal.JOURNAL_FILE).exists():
        return []  # nothing interrupted: no lock taken (a folder only looked at gets no lock file)
    try:
        with locked(folder, lock_timeout):
            return save_journal.repair(folder, notes)
    except OSError as exc:
        path = Path(folder) / REPORT_FILE
        raise SaveError(path, f"cannot repair an interrupted save: {describe_os_error(exc)}") from exc


def _read_previous(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SaveError(path, f"cannot read the previous mask: {describe_os_error(exc)}") from exc


def _restore(path: Path, data: bytes | None) -> None:
    """Put the previous mask back after a later file failed (best effort: it may fail the same way)."""
    try:
        if data is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(path, data)
    except OSError:
        pass


def _write(path: Path, write: Any) -> None:
    try:
        write()
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise SaveError(path, f"cannot save {describe_os_error(exc)}; the edits are kept in memory") from exc


# --------------------------------------------------------------------------------------- edited.json
def recover_damaged_edited(
    folder: str | Path, notes: list[str], lock_timeout: float = SAVE_TIMEOUT_S
) -> bool:
    """Opening a folder: a damaged edited.json is recovered now, under the lock (edited_records), so
    the browser's marks come back before the next save; its message is appended to ``notes``.
    True when it was. OSError when the folder cannot be written, FolderBusyError when held."""
    root = Path(folder)
    try:
        read_edited(root)
        return False
    except DatasetError:
        pass
    with locked(root, lock_timeout):
        try:
            read_edited(root)  # another process may have recovered it meanwhile
            return False
        except DatasetError as exc:
            notes.append(recover_edited(root, exc.problem).message)
    return True


# ------------------------------------------------------------------------------------- save elsewhere
def save_mask_copy(folder: str | Path, file_name: str, label: np.ndarray) -> Path:
    """Write ``label`` as a palette PNG named after the image into ``folder`` (any folder the user
    chose after the mask folder refused the save); never replaces a file there (``stem_1.png``...).

    Only the PNG: report.json and the maps stay the mask folder's business. SaveError naming the file
    when it cannot be written."""
    root = Path(folder)
    try:
        taken = {p.name.casefold() for p in root.iterdir()}
    except OSError as exc:
        raise SaveError(root, f"cannot save into {describe_os_error(exc)}") from exc
    path = root / _new_mask_name(file_name, taken)
    from cocoseg_gui.core.files.output_guard import check_output_file  # never into a mask folder's masks/

    check_output_file(path)
    png = encode_mask_png(label)
    _write(path, lambda: atomic_write_bytes(path, png))
    return path
