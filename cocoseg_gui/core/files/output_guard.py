"""The one check every writer runs before it writes: nothing a job reads or does not own is replaced.

Every command and GUI action that writes a file (``check_output_file``) or fills a folder
(``check_output_folder``) asks here first, so the rules are the same everywhere
(docs/adr/0024-output-guard.md):

- never, whatever the user says: onto a file the job reads, into a folder it reads, onto or among
  source images (an image file, anything inside an image folder), onto a COCO annotations file or a
  project file it did not write, into a mask dataset folder's files (only ``cocoseg masks`` and the
  editor write those);
- an existing file otherwise (a plain output, or one the job made earlier) is replaced only when the
  user said so (``overwrite``: the CLI's ``--overwrite``, the GUI's own question after OutputExists),
  unless ``owned`` says the job made it and may resume over it (predict's record, a GUI cache file).

Paths are compared by real path, so a symbolic link or ``..`` does not get round a rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.files.safe_paths import is_within
from cocoseg_gui.core.types import IMAGE_SUFFIXES

# a mask dataset folder's own files (core/masks/folder.py, core/masks/new_dataset.py); masks/ holds the PNGs
MASK_FOLDER_FILES = (
    "manifest.json",
    "image_mask_map.json",
    "report.json",
    "category_mapping.json",
    "edited.json",
    "images.json",
    ".save-journal.json",
)
MASKS_SUBDIR = "masks"
EXPORT_MARK = b"exported by cocoseg export-coco"  # coco_export's info.description: our own output
_SNIFF_BYTES = 1 << 16

Reads = Mapping[str, "Path | str | None"]  # what the job reads, by what it is ("the annotations file")


class OutputRefused(OptionsError):
    """A write that is never allowed (``--overwrite`` does not help): ``path`` and ``problem``."""

    def __init__(self, path: Path, problem: str, option: str | None = None) -> None:
        self.path, self.problem, self.option = Path(path), problem, option
        super().__init__(f"{option + ' ' if option else ''}{path}: {problem}")


class OutputExists(OptionsError):
    """An existing file the user may choose to replace (CLI ``--overwrite``; the GUI asks first)."""

    def __init__(self, path: Path, option: str | None = None) -> None:
        self.path, self.option = Path(path), option
        how = "choose another file"
        if option:
            how = f"pass --overwrite to replace it, or choose another {option}"
        super().__init__(f"{option + ' ' if option else ''}{path}: the file already exists; {how}")


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def is_mask_folder(folder: Path) -> bool:
    """A mask dataset folder: ``image_mask_map.json``, or ``manifest.json`` beside ``masks/``."""
    return (folder / "image_mask_map.json").is_file() or (
        (folder / "manifest.json").is_file() and (folder / MASKS_SUBDIR).is_dir()
    )


def mask_folder_above(path: Path) -> Path | None:
    """The mask dataset folder ``path`` (a real path) is, or lies inside; None when none."""
    for folder in (path, *path.parents):
        if folder.is_dir() and is_mask_folder(folder):
            return folder
    return None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except OSError:
        return b""


def _foreign_kind(path: Path) -> str | None:
    """What an existing file is, when no writer may replace it: a source image, annotations, a project."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "an image file (a source image, or someone's mask)"
    if path.suffix.lower() != ".json":
        return None
    head = _head(path)
    compact = head.replace(b" ", b"").replace(b"\n", b"").replace(b"\r", b"").replace(b"\t", b"")
    if b'"format":"cocoseg-project"' in compact:
        return "a cocoseg project file"
    if b'"images":[' in compact and EXPORT_MARK not in head:
        return "a COCO annotations file"
    return None


def _check_reads(path: Path, real: Path, reads: Reads, option: str | None) -> None:
    for what, item in reads.items():
        if item is None:
            continue
        source = _real(item)
        if real == source:
            raise OutputRefused(path, f"is {what}, which this job reads; choose another file", option)
        if Path(item).is_dir() and is_within(real, source):
            raise OutputRefused(path, f"is inside {what} ({item}), which this job reads", option)


def _check_image_dirs(
    path: Path, real: Path, image_dirs: Iterable[Path | str | None], option: str | None
) -> None:
    for folder in image_dirs:
        if folder is not None and is_within(real, _real(folder)):
            raise OutputRefused(
                path, f"is in the image folder {folder}: source images are never written over or among",
                option,
            )  # fmt: skip


def check_output_file(
    path: Path | str,
    *,
    reads: Reads | None = None,
    image_dirs: Iterable[Path | str | None] = (),
    overwrite: bool = False,
    owned: Callable[[Path], bool] | None = None,
    replace_own: bool = False,
    option: str | None = None,
) -> Path:
    """Refuse to write file ``path`` where it would destroy data; return it.

    ``reads``: files and folders the job reads, by what they are; ``image_dirs``: source image folders;
    ``owned(path)``: True when an existing file was made by this kind of job (then it may be replaced
    even in a mask folder: with ``overwrite``, or without asking when ``replace_own``, e.g. a resumed
    run or the GUI's own cache file); ``option``: the CLI option that named the path (None in the GUI:
    the message names no flag). Raises OutputRefused (never allowed) or OutputExists (allowed with
    ``overwrite``).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputRefused(path, "is a folder; give a file name", option)
    blocker = next((p for p in path.absolute().parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutputRefused(path, f"cannot be made: {blocker} is a file, not a folder", option)
    real = _real(path)
    _check_reads(path, real, reads or {}, option)
    _check_image_dirs(path, real, image_dirs, option)
    exists = os.path.lexists(path)
    mine = exists and owned is not None and owned(path)
    folder = mask_folder_above(real.parent)
    if folder is not None and not mine and (exists or is_within(real, folder / MASKS_SUBDIR)):
        raise OutputRefused(
            path, f"belongs to the mask folder {folder} (only cocoseg masks and the mask editor write its "
            "files); choose a file elsewhere", option,
        )  # fmt: skip
    if not exists or (mine and replace_own):
        return path
    kind = None if mine else _foreign_kind(real)
    if kind is not None:
        raise OutputRefused(path, f"is {kind}; it is never replaced: choose another file", option)
    if not overwrite:
        raise OutputExists(path, option)
    return path


def check_output_folder(
    out: Path | str,
    *,
    reads: Reads | None = None,
    image_dirs: Iterable[Path | str | None] = (),
    option: str | None = None,
    may_be_mask_folder: bool = False,
) -> Path:
    """Refuse an output folder that is a file, an input folder (or inside one), an image folder or
    inside one, or a mask dataset folder or inside one (``may_be_mask_folder``: a job that makes mask
    folders may write one, not inside another). Which files already in it may be replaced is each
    job's own record (a resumed run, predict's manifest, ``--overwrite``)."""
    out = Path(out)
    if os.path.lexists(out) and not out.is_dir():
        raise OutputRefused(out, "is a file, not a folder: choose a folder", option)
    real = _real(out)
    _check_reads(out, real, reads or {}, option)
    _check_image_dirs(out, real, image_dirs, option)
    folder = mask_folder_above(real.parent if may_be_mask_folder else real)
    if folder is not None:
        where = "is the mask dataset folder" if folder == real else "is inside the mask dataset folder"
        raise OutputRefused(
            out, f"{where} {folder}: its files are only written by cocoseg masks and the mask editor; "
            "choose another folder", option,
        )  # fmt: skip
    return out
