"""The mask dataset folder (docs/formats.md): file names, the manifest, and checking OUT before a run."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from cocoseg_gui import __version__
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.output_guard import check_output_folder
from cocoseg_gui.core.files.safe_paths import SafeRoot, is_within
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.options import MaskOptions

MASKS_DIR = "masks"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.json"
IMAGE_MAP_FILE = "image_mask_map.json"
EDITED_FILE = "edited.json"  # images saved from the mask editor (core/editing/save.py)
EDITED_BACKUP_FILE = ".edited-backup.json"  # its copy, written with it (core/editing/edited_records.py)
SAVE_JOURNAL_FILE = ".save-journal.json"  # an editor save in progress (core/editing/save_journal.py)
IMAGES_FILE = "images.json"  # a new dataset's COCO file listing its images, no annotations (new_dataset.py)


def mask_names(file_names: Sequence[str]) -> list[str]:
    """Mask file names (``<stem>.png``), unique even on case-insensitive disks.

    Images whose stems collide get a name from their sub-folder path (``a/x.jpg`` -> ``a__x.png``),
    plus ``_1``, ``_2``... if still taken; the result depends only on the order of ``file_names``.
    """
    paths = [PurePosixPath(f.replace("\\", "/")) for f in file_names]
    stems = [p.stem for p in paths]
    seen = Counter(s.casefold() for s in stems)
    used = {s.casefold() for s in stems if seen[s.casefold()] == 1}
    names = []
    for path, stem in zip(paths, stems):
        if seen[stem.casefold()] == 1:
            names.append(stem + ".png")
            continue
        base = "__".join(path.with_suffix("").parts) or "image"
        name, k = base, 0
        while name.casefold() in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name.casefold())
        names.append(name + ".png")
    return names


def relative_path(path: Path, out: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()
    except ValueError:  # another drive
        return path.resolve().as_posix()


def check_out_apart_from_images(out: Path, images_dir: Path) -> None:
    """Refuse an OUT that is, or lies inside, the image folder, or whose masks/ holds the image folder:
    masks would be written among the source images (and --overwrite would delete them)."""
    images = os.path.realpath(images_dir)
    out_real, masks_real = os.path.realpath(out), os.path.realpath(out / MASKS_DIR)
    if out_real == images:
        where = f"is the image folder {images_dir}"
    elif is_within(out_real, images):
        where = f"is inside the image folder {images_dir}"
    elif is_within(masks_real, images):
        where = f"has its {MASKS_DIR}/ folder in the image folder {images_dir}"
    elif is_within(images, masks_real):
        where = f"holds the image folder {images_dir} in its {MASKS_DIR}/ folder"
    else:
        return
    raise OptionsError(
        f"the output folder {out} {where}: masks would be written among the images; choose a folder "
        f"outside it, e.g. {Path(images).parent / ('masks_' + Path(images).name)}"
    )


def holds_masks(folder: Path) -> bool:
    """True when ``folder`` already has a manifest or mask files (a rerun resumes or must overwrite)."""
    masks = Path(folder) / MASKS_DIR
    return (Path(folder) / MANIFEST_FILE).is_file() or (masks.is_dir() and any(masks.iterdir()))


def check_mask_folder(folder: Path | None) -> Path:
    """``folder`` when it is a mask dataset folder (it has category_mapping.json), else DatasetError naming
    it: what Train and Evaluate check before they start."""
    if folder is None or not (Path(folder) / MAPPING_FILE).is_file():
        raise DatasetError(folder, f"not a mask dataset folder (no {MAPPING_FILE}): generate masks first")
    return Path(folder)


def _masks_made_before(out: Path) -> set[str]:
    """Mask file names an earlier run in OUT listed (image_mask_map.json, report.json per_image)."""
    names: set[str] = set()
    for file, key in ((IMAGE_MAP_FILE, None), (REPORT_FILE, "per_image")):
        try:
            data = json.loads((out / file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        listed = data.get(key) if key and isinstance(data, dict) else data
        if isinstance(listed, dict):
            names.update(str(v) for v in (listed.keys() if key else listed.values()))
    return names


class MasksExistError(OptionsError):
    """OUT holds masks this run would not resume. ``what`` says what they are in plain words (another
    dataset's, other options, ...), so the GUI can ask in its own words; the message adds the CLI's flags."""

    def __init__(self, out: Path, what: str) -> None:
        self.out, self.what = Path(out), what
        super().__init__(
            f"{out} already holds {what}; pass --overwrite to replace them, or choose another --out"
        )


def _what_is_there(out: Path, previous: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    """The masks in OUT in words: whose, and which options differ (never a JSON dump)."""
    if not previous:
        return "masks but no readable manifest.json"
    if current is None:
        return "masks made with other options"
    before, now = previous.get("annotations"), current.get("annotations")
    if before and now and (out / before).resolve() != (out / now).resolve():
        return f"the masks of another dataset ({Path(before).name}, images {previous.get('images_dir')})"
    old, new = previous.get("options") or {}, current.get("options") or {}
    changed = [
        f"{k} {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    if changed:
        return f"masks made with other options ({'; '.join(changed)})"
    return "masks of another version of the annotations file (its size or date changed)"


def prepare_out(
    out: Path,
    images_dir: Path,
    digest: str,
    overwrite: bool,
    names: Sequence[str] = (),
    current: dict[str, Any] | None = None,
    annotations: Path | None = None,
) -> bool:
    """Check OUT against the image folder and an earlier run; return True when resuming that run.

    ``current``: the manifest this run will write, to say how the masks already there differ;
    ``annotations``: the file the run reads (the output guard keeps OUT off it and out of other mask
    folders).

    Overwriting deletes only the masks this job makes (``names``) and those an earlier run listed,
    never other files in ``masks/`` (docs/adr/0003-paths-outside-the-dataset.md).
    """
    check_out_apart_from_images(out, images_dir)
    check_output_folder(out, reads={"the annotations file": annotations}, may_be_mask_folder=True)
    manifest_path = out / MANIFEST_FILE
    masks_dir = out / MASKS_DIR
    previous: dict[str, Any] | None = None
    if manifest_path.exists():
        try:
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    has_masks = masks_dir.is_dir() and any(masks_dir.iterdir())
    if previous is not None and previous.get("options_hash") == digest:
        return True
    if (previous is not None or has_masks) and not overwrite:
        raise MasksExistError(out, _what_is_there(out, previous, current))
    if overwrite:
        if masks_dir.is_dir():
            masks = SafeRoot(masks_dir, what="mask file name")
            for name in _masks_made_before(out) | set(names):
                if masks.refusal(name) is None and "/" not in name.replace("\\", "/"):
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        (masks_dir / name).unlink()
        # regenerated masks replace the editor's: its edited list and save journal go with them
        for name in (
            MANIFEST_FILE,
            REPORT_FILE,
            IMAGE_MAP_FILE,
            MAPPING_FILE,
            EDITED_FILE,
            EDITED_BACKUP_FILE,
            SAVE_JOURNAL_FILE,
        ):
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()
    return False


def manifest_json(
    annotations: Path, images_dir: Path, out: Path, options: MaskOptions, digest: str, n: int, complete: bool
) -> dict[str, Any]:
    return {
        "version": 1,
        "tool": f"cocoseg {__version__}",
        "annotations": relative_path(annotations, out),
        "images_dir": relative_path(images_dir, out),
        "options": options.to_json(),
        "options_hash": digest,
        "num_images": n,
        "complete": complete,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
