"""File › New dataset from an image folder…: its dialog in the window (Export labels… is format_actions').

App layer, beside ``project_actions``: a new dataset joins the workbench's project as ``unlabelled`` and is
opened like any other (``ProjectActions.switch_dataset``, handed in as ``open_project_dataset``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from cocoseg_gui.core.project.project import DatasetEntry, Project
from cocoseg_gui.core.project.workbench import Workbench
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.window_hooks import WindowHooks

if TYPE_CHECKING:  # the dialogs (and OpenCV, pycocotools behind them) load when first opened: start-up
    from cocoseg_gui.gui.widgets.new_dataset_dialog import NewDatasetDialog

IMAGE_FOLDERS_KEY = "datasets/image_folders"  # annotations JSON -> the image folder chosen for it


class DatasetActions(QObject):
    """The New dataset entry of the File menu and its dialog."""

    def __init__(
        self, state: AppState, hooks: WindowHooks, open_project_dataset: Callable[[str], None]
    ) -> None:
        super().__init__(hooks.parent)
        window = hooks.parent
        self.state = state
        self.hooks = hooks
        self.workbench = state.workbench
        self._open_project_dataset = open_project_dataset  # by name, with its recorded masks
        self.act_new_dataset = QAction("&New dataset from an image folder…", window)
        self.act_new_dataset.setToolTip("An empty mask folder for images to label, in the project")
        self.act_new_dataset.triggered.connect(lambda _c=False: self.new_dataset_dialog())
        self.dialog: NewDatasetDialog | None = None  # the one open (tests reach it)

    # ------------------------------------------------------------------- image folders chosen by hand
    def remembered_images_dir(self, annotations: Path) -> Path | None:
        """The image folder the user chose for ``annotations`` (a JSON with no image folder beside it,
        e.g. one exported by Export to COCO), if it still exists."""
        folder = self._chosen_folders().get(str(annotations.resolve()))
        return Path(folder) if folder and Path(folder).is_dir() else None

    def remember_images_dir(self, annotations: Path, images_dir: Path) -> None:
        chosen = self._chosen_folders()
        chosen[str(annotations.resolve())] = str(images_dir.resolve())
        self.state.settings.setValue(IMAGE_FOLDERS_KEY, json.dumps(chosen))

    def _chosen_folders(self) -> dict[str, str]:
        try:
            chosen = json.loads(str(self.state.settings.value(IMAGE_FOLDERS_KEY, "{}")))
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in chosen.items()} if isinstance(chosen, dict) else {}

    def install(self, file_menu: QMenu, before: QAction) -> None:
        file_menu.insertAction(before, self.act_new_dataset)

    def new_dataset_dialog(self) -> NewDatasetDialog:
        from cocoseg_gui.gui.widgets.new_dataset_dialog import NewDatasetDialog

        dialog = NewDatasetDialog(self.workbench, self.hooks.parent, self.hooks.dialog_dir())
        dialog.accepted.connect(lambda: self._add(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add(self, dialog: NewDatasetDialog) -> None:
        added = add_and_open(
            self.workbench, self.hooks, self._open_project_dataset, dialog.outcome, "the dataset"
        )
        if added is not None:
            self.hooks.show_status(f"New dataset {added.label}: masks in {added.masks}", 10000)


def add_and_open(
    workbench: Workbench,
    hooks: WindowHooks,
    open_project_dataset: Callable[[str], None],
    outcome: tuple[Project, DatasetEntry] | None,
    what: str,
) -> DatasetEntry | None:
    """A dialog's new dataset (its mask folder already made) added to the project and opened; None when the
    dialog made none, or when the project file could not be saved (said in a dialog naming ``what``)."""
    if outcome is None:
        return None
    project, entry = outcome
    try:
        added = workbench.add_dataset(project, entry)
    except OSError as exc:  # the project file could not be saved: the folder exists, say where
        show_error(hooks.parent, f"Could not add {what} to the project", exc)
        return None
    open_project_dataset(added.name)
    return added
