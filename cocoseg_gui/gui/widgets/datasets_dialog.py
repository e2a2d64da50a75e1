"""File › Project datasets…: rename a dataset, change its role, give it an existing mask folder, or take it
out of the project (its files stay). Each change goes through ``core.project.workbench.Workbench`` at once
(saved, the workspaces follow their roles); a change that cannot be made is said in the dialog and undone
in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.project.project import Role
from cocoseg_gui.core.project.workbench import Workbench

COL_NAME, COL_ROLE, COL_IMAGES, COL_MASKS = range(4)
ROLE_HELP = (
    "Train trains on every train dataset and validates on val; Evaluate scores val. A dataset made from an "
    "image folder can be train or val once it has a saved mask."
)


class DatasetsDialog(QDialog):
    """The open project's datasets, editable in place."""

    removed = Signal(str, bool)  # a dataset's name after it left the project, and whether it was open

    def __init__(self, workbench: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.setWindowTitle("Project datasets")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "Role", "Images", "Masks"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_MASKS, QHeaderView.ResizeMode.Stretch)
        self.add_masks_button = QPushButton("Add mask folder…")
        self.add_masks_button.setToolTip(
            "An existing mask dataset folder (corrections made elsewhere, a dataset labelled from a folder) "
            "as a dataset of this project: train when it has saved masks"
        )
        self.masks_button = QPushButton("Use mask folder…")
        self.masks_button.setToolTip("Read the selected dataset's masks from an existing mask dataset folder")
        self.remove_button = QPushButton("Remove from project")
        self.remove_button.setToolTip("Take the selected dataset out of the project; no file is deleted")
        self.message = QLabel("", wordWrap=True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)

        row = QHBoxLayout()
        row.addWidget(self.add_masks_button)
        row.addWidget(self.masks_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        help_label = QLabel(ROLE_HELP, wordWrap=True)
        layout.addWidget(help_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(820, 380)

        self.add_masks_button.clicked.connect(self._choose_new_masks)
        self.masks_button.clicked.connect(self._choose_masks)
        self.remove_button.clicked.connect(self.remove_selected)
        self.buttons.rejected.connect(self.reject)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.fill()

    # -- table
    def fill(self) -> None:
        """The project's datasets, one a row (again after every change: names and roles as saved)."""
        selected = self.selected_name()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        project = self.workbench.project
        for entry in project.datasets if project is not None else []:
            r = self.table.rowCount()
            self.table.insertRow(r)
            name = QTableWidgetItem(entry.name)
            name.setData(Qt.ItemDataRole.UserRole, entry.name)
            name.setToolTip("Double-click to rename")
            self.table.setItem(r, COL_NAME, name)
            role = QComboBox()
            for choice in Role:
                role.addItem(choice.value, choice.value)  # a str Enum comes back from Qt as a str
            role.setCurrentIndex(list(Role).index(entry.role))
            role.activated.connect(
                lambda _i, n=entry.name, box=role: self.set_role(n, Role(box.currentData()))
            )
            self.table.setCellWidget(r, COL_ROLE, role)
            masks = project.masks_dir(entry) if project is not None else entry.masks
            for col, path in ((COL_IMAGES, entry.images), (COL_MASKS, masks)):
                item = QTableWidgetItem(str(path) if path else "")
                item.setToolTip(item.text())
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, col, item)
        self.table.blockSignals(False)
        if selected is not None:
            self.select(selected)
        self._update_buttons()

    def _name_at(self, row: int) -> object:
        item = self.table.item(row, COL_NAME)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, name: str) -> None:
        for r in range(self.table.rowCount()):
            if self._name_at(r) == name:
                self.table.selectRow(r)
                return

    def selected_name(self) -> str | None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        item = self.table.item(rows.pop(), COL_NAME)
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def role_box(self, name: str) -> QComboBox:
        for r in range(self.table.rowCount()):
            if self._name_at(r) == name:
                box = self.table.cellWidget(r, COL_ROLE)
                assert isinstance(box, QComboBox)  # every row's role cell
                return box
        raise KeyError(name)

    # -- changes
    def set_role(self, name: str, role: Role) -> bool:
        return self._apply(lambda: self.workbench.set_role(name, role), name)

    def rename(self, name: str, new_name: str) -> bool:
        return self._apply(lambda: self.workbench.rename_dataset(name, new_name), new_name.strip() or name)

    def set_masks(self, name: str, folder: Path) -> bool:
        return self._apply(lambda: self.workbench.set_dataset_masks(name, folder), name)

    def add_mask_folder(self, folder: Path) -> bool:
        added: list[str] = []
        ok = self._apply(lambda: added.append(self.workbench.add_mask_folder(folder).name), None)
        if ok:
            self.select(added[0])
        return ok

    def remove_selected(self) -> bool:
        """Remove the selected dataset after a question that says its files are kept."""
        name = self.selected_name()
        if name is None:
            return False
        answer = QMessageBox.question(
            self,
            "Remove from project",
            f"Take {name} out of the project? Its images, annotations and masks stay on disk.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        was_open = self.workbench.dataset is not None and self.workbench.dataset.name == name
        if not self._apply(lambda: self.workbench.remove_dataset(name), None):
            return False
        self.removed.emit(name, was_open)
        return True

    def _apply(self, change: Callable[[], object], select: str | None) -> bool:
        try:
            change()
        except (CocoSegError, OSError) as exc:
            self.message.setText(str(exc))
            self.fill()  # the table shows what the project holds: the refused change undone
            return False
        self.message.setText("")
        self.fill()
        if select is not None:
            self.select(select)
        return True

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == COL_NAME:
            self.rename(str(item.data(Qt.ItemDataRole.UserRole)), item.text())

    def _choose_masks(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        folder = QFileDialog.getExistingDirectory(self, f"Mask folder of {name}", str(Path.home()))
        if folder:
            self.set_masks(name, Path(folder))

    def _choose_new_masks(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a mask dataset folder", str(Path.home()))
        if folder:
            self.add_mask_folder(Path(folder))

    def _update_buttons(self) -> None:
        chosen = self.selected_name() is not None
        self.masks_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
