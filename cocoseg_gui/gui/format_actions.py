"""File › Import labels… and File › Export labels…: the label formats (core/formats/registry.py) here.

App layer, beside ``dataset_actions``: an imported mask folder joins the workbench's project with the role
chosen in the dialog and is opened like any other dataset (``ProjectActions.switch_dataset``, handed in as
``open_project_dataset``); the export
takes the open mask folder and, for COCO, the annotations its manifest names (none for a folder labelled
from scratch or imported).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from cocoseg_gui.gui.dataset_actions import add_and_open
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.window_hooks import WindowHooks

if TYPE_CHECKING:  # the dialogs (and OpenCV, pycocotools behind them) load when first opened: start-up
    from cocoseg_gui.gui.widgets.export_dialog import ExportDialog
    from cocoseg_gui.gui.widgets.import_dialog import ImportDialog


class FormatActions(QObject):
    """The Import labels and Export labels entries of the File menu and their dialogs."""

    def __init__(
        self, state: AppState, hooks: WindowHooks, open_project_dataset: Callable[[str], None]
    ) -> None:
        super().__init__(hooks.parent)
        window = hooks.parent
        self.state = state
        self.hooks = hooks
        self.workbench = state.workbench
        self._open_project_dataset = open_project_dataset  # by name, with its recorded masks
        self.act_import = QAction("&Import labels…", window)
        self.act_import.setToolTip("A mask folder from COCO, VOC, CVAT, YOLO, labelme or class-PNG labels")
        self.act_import.triggered.connect(lambda _c=False: self.import_dialog())
        self.act_export = QAction("&Export labels…", window)
        self.act_export.setToolTip(
            "Write the open mask folder as COCO, VOC, CVAT, YOLO, labelme or class PNGs"
        )
        self.act_export.triggered.connect(lambda _c=False: self.export_dialog())
        self.dialog: ImportDialog | ExportDialog | None = None  # the one open (tests reach it)

    def install(self, file_menu: QMenu, before: QAction) -> None:
        file_menu.insertAction(before, self.act_import)
        file_menu.insertAction(before, self.act_export)
        file_menu.insertSeparator(before)

    def import_dialog(self) -> ImportDialog:
        from cocoseg_gui.gui.widgets.import_dialog import ImportDialog

        dialog = ImportDialog(self.workbench, self.hooks.parent, self.hooks.dialog_dir())
        dialog.accepted.connect(lambda: self._add(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add(self, dialog: ImportDialog) -> None:
        added = add_and_open(
            self.workbench, self.hooks, self._open_project_dataset, dialog.outcome, "the imported dataset"
        )
        if added is None:
            return
        rep = dialog.report
        skipped = f"; {len(rep.skipped)} skipped (its report.json names them)" if rep and rep.skipped else ""
        images = rep.images if rep else 0
        self.hooks.show_status(f"Imported {added.label}: {images} images{skipped}", 15000)

    def export_dialog(self) -> ExportDialog | None:
        masks = self.state.masks_dir
        if masks is None:
            show_error(
                self.hooks.parent,
                "Export labels",
                "No mask folder is open: generate masks in the Masks panel, open one (File › Open mask "
                "folder…), import labels (File › Import labels…) or make a new dataset (File › New dataset "
                "from an image folder…) first.",
            )
            return None
        from cocoseg_gui.core.formats.export_job import original_annotations
        from cocoseg_gui.gui.widgets.export_dialog import ExportDialog

        dialog = ExportDialog(masks, original_annotations(masks), self.hooks.parent)
        self.dialog = dialog
        dialog.open()
        return dialog
