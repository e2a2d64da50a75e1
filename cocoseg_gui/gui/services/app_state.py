"""The window's shared state as Qt signals: a thin relay of the Qt-free ``core.project.workbench.Workbench``.

Panels receive the one ``AppState`` and listen to its signals instead of talking to each other. Everything
open (the project, its open dataset and its loaded index, the mask folder, run and checkpoint) lives in
``self.workbench`` (ADR 0011, 0031) and changes only through its methods, each emitting one typed event;
each event becomes one signal here. AppState keeps no state of its own: its properties read the workbench.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from cocoseg_gui.core.project.workbench import (
    CheckpointChanged,
    DatasetChanged,
    DatasetLoaded,
    MasksDirChanged,
    ProjectChanged,
    RunDirChanged,
    Workbench,
    WorkbenchEvent,
)

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.project.project import DatasetEntry, Project

PROJECTS_ROOT_KEY = "project/root"  # where implicit projects are saved (default ~/cocoseg-projects)
PROJECTS_ROOT_ENV = "COCOSEG_PROJECTS_DIR"  # the default when the setting is empty (tests, kiosks)


def default_projects_root(settings: QSettings) -> Path:
    value = settings.value(PROJECTS_ROOT_KEY) or os.environ.get(PROJECTS_ROOT_ENV)
    return Path(str(value)) if value else Path.home() / "cocoseg-projects"


class AppState(QObject):
    dataset_loaded = Signal()  # the open dataset's index loaded (index, annotations, images, masks_dir)
    masks_dir_changed = Signal()  # a mask dataset folder was chosen, (re)generated or dropped
    run_dir_changed = Signal()  # a training run folder was chosen or a run just finished
    checkpoint_changed = Signal()
    project_changed = Signal(bool)  # True: another project was opened; False: the open one changed
    dataset_entry_changed = Signal()  # the project's open dataset (workbench.dataset) changed
    status_message = Signal(str)  # short text for the status bar
    open_image_requested = Signal(int)  # image id to show in the browser/viewer
    compare_requested = Signal(str)  # image path to show in the Predict panel's compare view

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("cocoseg", "cocoseg")
        self.workbench = Workbench(default_projects_root(self.settings))
        self.workbench.changed.subscribe(self._relay)

    def _relay(self, event: WorkbenchEvent) -> None:
        if isinstance(event, ProjectChanged):
            self.project_changed.emit(event.reopened)
        elif isinstance(event, DatasetChanged):
            self.dataset_entry_changed.emit()
        elif isinstance(event, DatasetLoaded):
            self.dataset_loaded.emit()
        elif isinstance(event, MasksDirChanged):
            self.masks_dir_changed.emit()
        elif isinstance(event, RunDirChanged):
            self.run_dir_changed.emit()
        elif isinstance(event, CheckpointChanged):
            self.checkpoint_changed.emit()

    # --- the workbench's state, read only: it changes through the workbench's methods -------------------
    @property
    def project(self) -> Project | None:
        return self.workbench.project

    @property
    def dataset_entry(self) -> DatasetEntry | None:
        return self.workbench.dataset

    @property
    def index(self) -> CocoIndex | None:
        """The open dataset's COCO index, None until it has loaded."""
        return self.workbench.loaded.index if self.workbench.loaded is not None else None

    @property
    def annotations_path(self) -> Path | None:
        return self.workbench.loaded.annotations if self.workbench.loaded is not None else None

    @property
    def images_dir(self) -> Path | None:
        return self.workbench.loaded.images_dir if self.workbench.loaded is not None else None

    @property
    def masks_dir(self) -> Path | None:
        return self.workbench.masks_dir

    @property
    def run_dir(self) -> Path | None:
        return self.workbench.run_dir

    @property
    def checkpoint_path(self) -> Path | None:
        return self.workbench.checkpoint

    def set_masks_dir(self, path: Path | None) -> None:
        self.workbench.set_masks_dir(path)

    def set_run_dir(self, path: Path | None) -> None:
        self.workbench.set_run_dir(path)

    def set_checkpoint(self, path: Path | None) -> None:
        self.workbench.set_checkpoint(path)

    # --- recording what was made in the project ----------------------------------------------------
    def record_masks(self, masks_dir: Path) -> None:
        """Generated or attached masks: the project remembers them for their dataset."""
        self.workbench.record_masks(masks_dir)

    def record_run(self, run_dir: Path, checkpoint: Path | None) -> None:
        self.workbench.record_run(run_dir, checkpoint)

    def ensure_project_saved(self) -> None:
        """Before the first Generate or Start: an implicit project is written (said in the status bar)."""
        was_implicit = self.workbench.implicit
        file = self.workbench.ensure_saved()
        if was_implicit and file is not None:
            self.status_message.emit(f"Project saved: {file}")
