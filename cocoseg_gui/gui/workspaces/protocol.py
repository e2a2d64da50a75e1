"""What the main window needs from a workspace tab: one small protocol instead of probing with getattr.

MainWindow assembles workspaces and talks to them only through these methods; the screenshot driver
(app layer) makes the demo data and hands it over as a ``ScreenshotDemo``, so no workspace imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cocoseg_gui.core.project.project import Project


@dataclass(frozen=True)
class ScreenshotDemo:
    """What the screenshot driver prepared on the demo data for a workspace to show."""

    masks_dir: Path | None  # demo masks (generated into a temporary folder when none were open)
    checkpoint: Path | None  # a freshly trained tiny model, for Predict and Evaluate
    new_folder: Callable[[str], Path]  # a fresh temporary folder for a workspace's outputs


@runtime_checkable
class Workspace(Protocol):
    def busy_job(self) -> str | None:
        """The long job that quitting would stop ("training", "mask generation"...), or None."""

    def stop(self) -> None:
        """Cancel running jobs without waiting (the workspace's Stop/Cancel)."""

    def shutdown(self) -> None:
        """Cancel running jobs and wait for them (window closing): no thread is left running."""

    def restore(self, project: Project | None) -> None:
        """Take the defaults (data folders, runs) from the project's roles; None: no project open."""

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """Reach a state worth a picture using ``demo`` (background jobs allowed), then call ``done``."""
