"""edited.json written with a backup, and recovered, never silently rebuilt, when it is damaged.

edited.json says which images the user saved from the editor (the browser's marks, a fine-tune's
"edited since" list). It is replaced atomically, so a damaged one comes from outside (a disk error,
a sync tool, a hand edit); rebuilding it empty would drop every record without a word. So each save
also writes ``.edited-backup.json`` with the same records, and a damaged edited.json is kept aside
(``edited.json.damaged-<time>``) and rebuilt from, in order: the backup, the complete records still
readable in the damaged file, and the masks written after the folder was made (a mask PNG newer than
manifest.json was saved by the editor: the generator and new-dataset write the manifest last).
The message names every record that could not be recovered.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.masks.dataset import read_image_mask_map
from cocoseg_gui.core.masks.folder import EDITED_BACKUP_FILE, EDITED_FILE, MANIFEST_FILE, MASKS_DIR

BACKUP_FILE = EDITED_BACKUP_FILE
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*\{')  # a record's key, also in a cut-off tail


@dataclass(frozen=True)
class EditedRecovery:
    """What recovering a damaged edited.json did; ``message`` says it in full."""

    kept_aside: Path
    records: dict[str, dict[str, Any]]
    from_backup: int
    from_damaged: int
    from_masks: int
    gone: tuple[str, ...]  # records the damaged file or the backup named that none of the sources had
    message: str


def write_edited(folder: Path, images: dict[str, dict[str, Any]]) -> None:
    """edited.json and its backup (the backup first: a kill between them leaves edited.json old)."""
    data = {"version": 1, "images": images}
    atomic_write_json(folder / BACKUP_FILE, data, fsync=False)
    atomic_write_json(folder / EDITED_FILE, data)


def _images_of(data: Any) -> dict[str, dict[str, Any]] | None:
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        return None
    return {str(k): dict(v) for k, v in images.items() if isinstance(v, dict)}


def read_backup(folder: Path) -> dict[str, dict[str, Any]] | None:
    try:
        return _images_of(json.loads((folder / BACKUP_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def salvage(text: str) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The complete records still readable in a damaged edited.json, and every record key it names
    (a cut-off record's name is often still there)."""
    named = {_unescape(m.group(1)) for m in _KEY.finditer(text)} - {"images"}
    records: dict[str, dict[str, Any]] = {}
    start = text.find('"images"')
    start = text.find("{", start) + 1 if start >= 0 else 0
    if start <= 0:
        return records, named
    decoder, pos = json.JSONDecoder(), start
    while True:
        pos = _skip(text, pos, " \t\r\n,")
        try:
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, pos, " \t\r\n")
            if not isinstance(key, str) or text[pos : pos + 1] != ":":
                break
            value, pos = decoder.raw_decode(text, _skip(text, pos + 1, " \t\r\n"))
        except ValueError:
            break
        if isinstance(value, dict):
            records[key] = value
    return records, named


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _unescape(key: str) -> str:
    try:
        return str(json.loads(f'"{key}"'))
    except ValueError:
        return key


def records_from_masks(folder: Path) -> dict[str, dict[str, Any]]:
    """Records for the mapped masks written after manifest.json (so by the editor); {} without one."""
    try:
        made = (folder / MANIFEST_FILE).stat().st_mtime
        image_map = read_image_mask_map(folder, required=False)
    except (OSError, CocoSegError):  # no manifest or no readable map: nothing to compare with
        return {}
    masks = SafeRoot(folder / MASKS_DIR, what="mask file name")
    records: dict[str, dict[str, Any]] = {}
    for file_name, mask in image_map.items():
        if masks.refusal(mask) is not None:
            continue
        try:
            written = (folder / MASKS_DIR / mask).stat().st_mtime
        except OSError:
            continue
        if written > made:
            when = datetime.fromtimestamp(written, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            records[file_name] = {"mask": mask, "image_id": None, "first_saved": when, "saved": when}
            records[file_name]["saves"] = 1
    return records


def recover_edited(folder: Path, problem: str, saving: str | None = None) -> EditedRecovery:
    """Keep the damaged edited.json aside, rebuild it from the backup, its readable records and the
    masks, and write it (atomic); ``problem``: why it could not be read; ``saving``: the image whose
    save found it (its new mask is not a recovered record). OSError when the folder cannot be written."""
    damaged = folder / EDITED_FILE
    text = damaged.read_bytes().decode("utf-8", errors="replace")
    salvaged, named = salvage(text)
    backup = read_backup(folder) or {}
    from_masks = records_from_masks(folder)
    if saving is not None:
        from_masks.pop(saving, None)
    records = dict(from_masks)
    records.update(salvaged)
    for name, entry in backup.items():  # the backup unless the damaged file has a later save
        if int(salvaged.get(name, {}).get("saves", 0) or 0) <= int(entry.get("saves", 0) or 0):
            records[name] = entry
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = folder / f"{EDITED_FILE}.damaged-{stamp}"
    os.replace(damaged, aside)
    write_edited(folder, records)
    gone = tuple(sorted((named | set(backup)) - set(records)))
    n_backup = len(backup)
    n_damaged = len(set(salvaged) - set(backup))
    n_masks = len(set(from_masks) - set(salvaged) - set(backup))
    parts = [
        f"{damaged} was damaged ({problem}); it is kept as {aside.name}.",
        f"{len(records)} records of edited images were recovered: {n_backup} from the backup "
        f"{BACKUP_FILE}, {n_damaged} still readable in the damaged file, {n_masks} from masks saved "
        "after the folder was made (their save count and image id are unknown).",
    ]
    if gone:
        parts.append(f"{len(gone)} records could not be recovered: {', '.join(gone)}.")
    elif not backup:
        parts.append("There was no backup: a record cut off before its name is recovered only from its mask.")
    else:
        parts.append("No record was lost.")
    return EditedRecovery(aside, records, n_backup, n_damaged, n_masks, gone, " ".join(parts))
