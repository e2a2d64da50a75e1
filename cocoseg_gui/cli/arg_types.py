"""argparse types shared by the sub-commands: bad values stop at parsing, with a message and exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """A count that must be at least 1 (batch size, epochs...)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1 or more), got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """A count where 0 means none (e.g. loader worker processes: 0 = load in the main process)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _existing_file_above(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (nothing can be created below it)."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def out_dir(text: str) -> Path:
    """An output folder: it may not exist yet, but it must not be an existing file (or lie below one)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    blocker = _existing_file_above(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{blocker} is a file, not a folder, so {path} cannot be made")
    return path


def out_file(text: str) -> Path:
    """An output file: it may exist (it is replaced), but not as a folder, nor below an existing file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    blocker = _existing_file_above(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{blocker} is a file, not a folder, so {path} cannot be made")
    return path
