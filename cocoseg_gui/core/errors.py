"""Errors that reach the user: each message names the file and the problem."""

from __future__ import annotations

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
