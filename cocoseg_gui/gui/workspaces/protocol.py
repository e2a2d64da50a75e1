"""What the main window needs from a workspace tab: one small protocol instead of probing with getattr.

MainWindow assembles workspaces and talks to them only through these methods; the screenshot driver
(app layer) makes the demo data and hands it over as a ``ScreenshotDemo``, so no workspace imports it.
The Images workspace does more for the window (the viewer's menus, the editor's, the docks, the dataset
shown): ``ImagesApi`` lists all of it, and the window uses nothing else of it (a test checks, ADR 0031).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cocoseg_gui.core.project.project import Project

if TYPE_CHECKING:
    from PySide6.QtCore import QByteArray, QSettings, SignalInstance
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget

    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.errors import CocoSegError
    from cocoseg_gui.core.project.image_view_state import ShownImage
    from cocoseg_gui.gui.widgets.browser import DatasetBrowser
    from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer


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


class ImagesApi(Workspace, Protocol):
    """The Images & masks workspace as the window sees it: the Workspace protocol and this, nothing more."""

    # signals the window relays (status bar, title, summary) or waits on
    image_shown: SignalInstance  # image id
    image_failed: SignalInstance  # image id, message
    status_message: SignalInstance  # text, milliseconds
    hover_text: SignalInstance
    edit_mode_changed: SignalInstance
    edits_changed: SignalInstance
    masks_changed: SignalInstance
    rows_changed: SignalInstance  # shown, total
    # the Edit menu's actions
    act_undo: QAction
    act_redo: QAction
    act_edit: QAction
    act_save: QAction
    act_autosave: QAction
    # handed to the label-issue controller (it sorts the browser, outlines in the viewer's scene)
    browser: DatasetBrowser
    viewer: MaskViewer

    @property
    def current(self) -> ShownImage | None: ...
    @property
    def editing(self) -> bool: ...

    # the dataset shown
    def set_dataset(
        self, index: CocoIndex, images_dir: Path, masks_dir: Path | None
    ) -> CocoSegError | None: ...
    def set_masks_dir(self, masks_dir: Path | None) -> CocoSegError | None: ...
    def has_dataset(self) -> bool: ...
    def masks_dir(self) -> Path | None: ...
    def mask_count(self) -> int | None: ...
    def notices(self) -> list[str]: ...
    def shown_count(self) -> int: ...
    def select_image(self, image_id: int) -> None: ...
    def current_image_id(self) -> int | None: ...
    def wait_thumbnails(self, timeout_ms: int) -> None: ...
    def flush_thumbnails(self) -> None: ...
    def step(self, delta: int) -> None: ...
    def set_checkpoint(self, path: Path | None) -> None: ...

    # the View menu
    def zoom_fit(self) -> None: ...
    def zoom_100(self) -> None: ...
    def zoom_by(self, factor: float) -> None: ...
    def set_overlay(self, visible: bool) -> None: ...
    def set_outlines(self, visible: bool) -> None: ...
    def set_side_by_side(self, on: bool) -> None: ...
    def opacity(self) -> float: ...
    def set_opacity(self, value: float) -> None: ...

    # docks and layout
    def docks(self) -> list[QDockWidget]: ...
    def show_masks_dock(self) -> None: ...
    def isVisible(self) -> bool: ...
    def restore_layout(self, saved: object) -> bool: ...
    def save_layout(self) -> QByteArray: ...
    def default_layout(self, width: int, height: int) -> None: ...
    def layout_usable(self) -> bool: ...

    # unsaved edits (quitting) and the editor's settings
    def use_settings(self, settings: QSettings) -> None: ...
    def has_unsaved_edits(self) -> bool: ...
    def unsaved_files(self) -> list[str]: ...
    def save_all(self) -> bool: ...
    def discard_all(self) -> None: ...
