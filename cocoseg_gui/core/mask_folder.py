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
from cocoseg_gui.core.class_map import MAPPING_FILE
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.mask_options import MaskOptions

MASKS_DIR = "masks"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.json"
IMAGE_MAP_FILE = "image_mask_map.json"


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


def prepare_out(out: Path, digest: str, overwrite: bool) -> bool:
    """Check OUT against an earlier run; return True when resuming it. Clears it when overwriting."""
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
        what = (
            f"masks made with other options ({json.dumps(previous.get('options'))})"
            if previous
            else "masks but no readable manifest.json"
        )
        raise OptionsError(
            f"{out} already holds {what}; pass --overwrite to replace them, or choose another --out"
        )
    if overwrite:
        if masks_dir.is_dir():
            for p in masks_dir.iterdir():
                if p.suffix == ".png" or p.name.endswith(".tmp"):
                    p.unlink()
        for name in (MANIFEST_FILE, REPORT_FILE, IMAGE_MAP_FILE, MAPPING_FILE):
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
