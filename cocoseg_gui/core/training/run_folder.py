"""Whether a run folder already holds a training run, and a fresh sibling for a new one.

A new (not resumed) training never replaces a run's checkpoints or log without being asked
(docs/adr/0004-run-folder-protection.md). No torch import: the CLI checks before loading torch.
"""

from __future__ import annotations

import re
from pathlib import Path

from cocoseg_gui.core.errors import OptionsError

CHECKPOINTS = ("best.pt", "last.pt")
LOG = "metrics.jsonl"
_EPOCH_MARK = b'"type":"epoch"'


class RunExistsError(OptionsError):
    """A new training would replace a run's files: front ends offer resume, another folder or overwrite."""

    def __init__(self, folder: Path, found: list[str], message: str | None = None) -> None:
        self.folder, self.found = Path(folder), list(found)
        super().__init__(
            message
            or f"{folder}: this folder already holds a run ({', '.join(found)}); resume it, "
            "choose another run folder, or overwrite it explicitly"
        )


def run_files(folder: Path | str) -> list[str]:
    """The files that make ``folder`` a run worth keeping: a checkpoint, or a log with a finished epoch.

    A log holding only a failed start (no epoch) is not worth keeping: a new run replaces it.
    """
    folder = Path(folder)
    found = [name for name in CHECKPOINTS if (folder / name).is_file()]
    log = folder / LOG
    if log.is_file() and _has_epoch(log):
        found.append(LOG)
    return found


def _has_epoch(log: Path) -> bool:
    try:
        with open(log, "rb") as fh:
            return any(_EPOCH_MARK in line for line in fh)
    except OSError:
        return True  # unreadable: assume it matters


def check_new_run_folder(folder: Path | str) -> None:
    """Raise RunExistsError when ``folder`` holds a run (see ``run_files``)."""
    found = run_files(folder)
    if found:
        raise RunExistsError(Path(folder), found)


def check_run_out(out: Path | str, data: object, val_data: object = None) -> None:
    """The output guard for a run folder: not a file, not inside the mask folders (or their image
    folders) the run reads, not inside any mask dataset folder. ``data``: a folder or several."""
    from cocoseg_gui.core.files.output_guard import check_output_folder

    reads: dict[str, Path | str | None] = {}
    for what, value in (("the training masks", data), ("the validation masks", val_data)):
        folders = value if isinstance(value, list | tuple) else [value]
        for i, folder in enumerate(folders):
            reads[what if i == 0 else f"{what} {folder}"] = folder
    check_output_folder(out, reads=reads)


def next_free_folder(folder: Path | str) -> Path:
    """``folder`` when it holds no run, else the first ``NAME-2``, ``NAME-3``... that does not exist."""
    folder = Path(folder)
    if not run_files(folder):
        return folder
    stem = re.sub(r"-\d+$", "", folder.name) or folder.name
    n = 2
    while True:
        candidate = folder.with_name(f"{stem}-{n}")
        if not candidate.exists():
            return candidate
        n += 1
