"""File › New dataset from an image folder… and File › Export to COCO…: the two dialogs in the window.

App layer, beside ``project_actions``: a new dataset joins the session's project as ``unlabelled`` and is
opened like any other (``ProjectActions.switch_dataset``, handed in as ``open_project_dataset``); the
export takes the open mask folder and the annotations its manifest names (none for a folder labelled
from scratch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.new_dataset import CREATED_BY
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.window_hooks import WindowHooks

if TYPE_CHECKING:  # the dialogs (and OpenCV, pycocotools behind them) load when first opened: start-up
    from cocoseg_gui.gui.widgets.export_coco_dialog import ExportCocoDialog
    from cocoseg_gui.gui.widgets.new_dataset_dialog import NewDatasetDialog

IMAGE_FOLDERS_KEY = "datasets/image_folders"  # annotations JSON -> the image folder chosen for it


def export_annotations(masks: Path) -> Path | None:
    """The original annotations of a mask folder (its manifest's), None for images labelled from scratch."""
    folder = MaskDatasetFolder(masks, browse=True)
    if folder.manifest.get("created_by") == CREATED_BY:
        return None
    annotations = folder.annotations
    return annotations if annotations is not None and annotations.is_file() else None


class DatasetActions(QObject):
    """The New dataset and Export to COCO entries of the File menu and their dialogs."""

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
        self.act_export_coco = QAction("&Export to COCO…", window)
        self.act_export_coco.setToolTip("Write the open mask folder (edited or labelled) as a COCO JSON")
        self.act_export_coco.triggered.connect(lambda _c=False: self.export_coco_dialog())
        self.dialog: NewDatasetDialog | ExportCocoDialog | None = None  # the one open (tests reach it)

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
        file_menu.insertAction(before, self.act_export_coco)
        file_menu.insertSeparator(before)

    def new_dataset_dialog(self) -> NewDatasetDialog:
        from cocoseg_gui.gui.widgets.new_dataset_dialog import NewDatasetDialog

        dialog = NewDatasetDialog(self.workbench, self.hooks.parent, self.hooks.dialog_dir())
        dialog.accepted.connect(lambda: self._add(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add(self, dialog: NewDatasetDialog) -> None:
        if dialog.outcome is None:
            return
        project, entry = dialog.outcome
        try:
            added = self.workbench.add_dataset(project, entry)
        except OSError as exc:  # the project file could not be saved: the folder exists, say where
            show_error(self.hooks.parent, "Could not add the dataset to the project", exc)
            return
        self._open_project_dataset(added.name)
        self.hooks.show_status(f"New dataset {added.label}: masks in {added.masks}", 10000)

    def export_coco_dialog(self) -> ExportCocoDialog | None:
        masks = self.state.masks_dir
        if masks is None:
            show_error(
                self.hooks.parent,
                "Export to COCO",
                "No mask folder is open: generate masks in the Masks panel, open one (File › Open mask "
                "folder…) or make a new dataset (File › New dataset from an image folder…) first.",
            )
            return None
        from cocoseg_gui.gui.widgets.export_coco_dialog import ExportCocoDialog

        dialog = ExportCocoDialog(masks, export_annotations(masks), self.hooks.parent)
        self.dialog = dialog
        dialog.open()
        return dialog
