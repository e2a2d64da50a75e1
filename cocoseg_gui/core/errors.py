"""Errors that reach the user: each message names the file and the problem."""

from __future__ import annotations

import errno
from pathlib import Path


class CocoSegError(Exception):
    """Base class of errors shown to the user as they are (CLI message, GUI dialog)."""


class DatasetError(CocoSegError):
    """A dataset file that cannot be used: the message names the file and what is wrong."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class OptionsError(CocoSegError):
    """Invalid options for a job (unknown class name, bad value)."""


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run again; files already written are kept and "
    "a rerun resumes",
    errno.EDQUOT: "the disk quota is exhausted: free some space and run again",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose another folder",
}


def describe_os_error(exc: OSError) -> str:
    """``'PATH: problem (hint)'`` for a failed read or write, e.g. a full disk."""
    where = f"{exc.filename}: " if exc.filename else ""
    problem = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno or 0)
    return f"{where}{problem}" + (f" ({hint})" if hint else "")
