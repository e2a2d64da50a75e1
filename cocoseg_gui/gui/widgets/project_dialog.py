"""File › New project…: a name, a folder and the datasets with their roles; and the role question.

The question before Start ("Train on the validation masks?") lives here too, so Train and Evaluate ask it
the same way, in the window's words, before anything runs (ADR 0011).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, images_dir_for, split_of
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.project.project import (
    PROJECT_FILE,
    DatasetEntry,
    Project,
    Role,
    coco_folder_datasets,
    dataset_name_problem,
    entry_for,
    new_project,
)

COL_NAME, COL_ROLE, COL_ANNOTATIONS, COL_IMAGES = range(4)


def guess_role(path: Path) -> Role:
    """train/val/test from the file or folder name (``instances_val2017.json``, ``val2017/``)."""
    name = split_of(path) or path.stem.lower()
    for role in (Role.VAL, Role.TEST, Role.TRAIN):
        if role.value in name:
            return role
    return Role.guess(name)


class NewProjectDialog(QDialog):
    """Name, folder and datasets (annotation files and/or image folders, a role each)."""

    def __init__(self, start_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self._start = start_dir
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. street scenes")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("the folder that will hold the project, its masks and runs")
        self.folder_button = QPushButton("Browse…")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "Role", "Annotations", "Images"])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_ANNOTATIONS, QHeaderView.ResizeMode.Stretch)
        self.add_json = QPushButton("Add annotations…")
        self.add_json.setToolTip("A COCO annotations file; its image folder is found next to it")
        self.add_images = QPushButton("Add image folder…")
        self.add_images.setToolTip("Images without annotations (role: unlabelled)")
        self.add_coco = QPushButton("Add COCO folder…")
        self.add_coco.setToolTip("Every split of a COCO folder (annotations/ + train2017/, val2017/…)")
        self.remove = QPushButton("Remove")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create project", QDialogButtonBox.ButtonRole.AcceptRole)

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.folder_button)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Folder", folder_row)
        add_row = QHBoxLayout()
        for button in (self.add_json, self.add_images, self.add_coco, self.remove):
            add_row.addWidget(button)
        add_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Datasets (the role says what each is for: Train trains on train, validates "
                                "and Evaluate scores on val)"))  # fmt: skip
        layout.addWidget(self.table, 1)
        layout.addLayout(add_row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(760, 420)

        self.folder_button.clicked.connect(self._choose_folder)
        self.add_json.clicked.connect(self._choose_json)
        self.add_images.clicked.connect(self._choose_images)
        self.add_coco.clicked.connect(self._choose_coco)
        self.remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

    # -- adding datasets
    def add_entry(self, entry: DatasetEntry) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, COL_NAME, QTableWidgetItem(entry.name))
        role = QComboBox()
        for r in Role:
            role.addItem(r.value, r)
        role.setCurrentIndex(list(Role).index(entry.role))
        self.table.setCellWidget(row, COL_ROLE, role)
        for col, path in ((COL_ANNOTATIONS, entry.annotations), (COL_IMAGES, entry.images)):
            item = QTableWidgetItem(str(path) if path else "")
            item.setToolTip(item.text())
            self.table.setItem(row, col, item)

    def add_annotations(self, path: Path) -> None:
        try:
            entry = entry_for(DatasetPaths(path, images_dir_for(path)))
        except DatasetError:  # no image folder found: the annotations alone
            entry = DatasetEntry(split_of(path) or path.stem, guess_role(path), path)
        self.add_entry(DatasetEntry(entry.name, guess_role(path), entry.annotations, entry.images))
        self._default_name(path.parent.parent if path.parent.name == "annotations" else path.parent)

    def add_image_folder(self, path: Path) -> None:
        role = guess_role(path)
        self.add_entry(DatasetEntry(path.name, Role.UNLABELLED if role is Role.TRAIN else role, None, path))

    def add_coco_folder(self, root: Path) -> None:
        found = coco_folder_datasets(root)
        if not found:
            self.message.setText(f"{root}: no annotations/instances_<split>.json with its image folder here")
            return
        for entry in found:
            self.add_entry(entry)
        self._default_name(root)

    def _default_name(self, root: Path) -> None:
        if not self.name.text():
            self.name.setText(root.name)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of the project", str(self._start))
        if folder:
            self.folder.setText(folder)

    def _choose_json(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add annotations", str(self._start), "COCO annotations (*.json);;All files (*)"
        )
        for f in files:
            self.add_annotations(Path(f))

    def _choose_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add an image folder", str(self._start))
        if folder:
            self.add_image_folder(Path(folder))

    def _choose_coco(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a COCO folder", str(self._start))
        if folder:
            self.add_coco_folder(Path(folder))

    # -- result
    def entries(self) -> list[DatasetEntry]:
        out = []
        for row in range(self.table.rowCount()):
            box = self.table.cellWidget(row, COL_ROLE)
            assert isinstance(box, QComboBox)  # every row's role cell
            role = Role(box.currentData())
            cols = (COL_NAME, COL_ANNOTATIONS, COL_IMAGES)
            items = [self.table.item(row, c) for c in cols]
            texts = [item.text().strip() if item is not None else "" for item in items]
            out.append(
                DatasetEntry(
                    texts[0], role, Path(texts[1]) if texts[1] else None, Path(texts[2]) if texts[2] else None
                )
            )
        return out

    def project(self) -> Project:
        """The project as filled in; DatasetError naming the field when it cannot be made."""
        name, folder = self.name.text().strip(), self.folder.text().strip()
        if not name:
            raise DatasetError(Path(folder or "."), "the Name field is empty: give the project a name")
        if not folder:
            raise DatasetError(Path(name), "the Folder field is empty: choose where the project is kept")
        file = Path(folder).expanduser() / PROJECT_FILE
        if file.exists():
            raise DatasetError(file, "this folder already holds a project: open it with File › Open project…")
        entries = self.entries()
        if not entries:
            raise DatasetError(file, "no dataset: press Add annotations… or Add COCO folder…")
        if len({e.name for e in entries}) != len(entries):
            raise DatasetError(file, "two datasets share a name: rename one in the Name column")
        for e in entries:
            problem = dataset_name_problem(e.name)
            if problem is not None:
                raise DatasetError(file, f"dataset name {e.name!r} {problem}: change it in the Name column")
        return new_project(file, entries, name=name)

    def _accept(self) -> None:
        try:
            self.result_project = self.project()
        except DatasetError as exc:
            self.message.setText(str(exc))
            return
        self.accept()


def confirm_roles(parent: QWidget, question: str, warnings: list[str], go: str) -> bool:
    """Ask before Start when the chosen data contradicts the roles; True: the user chose ``go``."""
    box = QMessageBox(QMessageBox.Icon.Warning, question, question, parent=parent)
    box.setObjectName("role_question")
    box.setInformativeText(
        "\n".join(f"• {w[0].upper()}{w[1:]}." for w in warnings)
        + "\n\nPress Cancel and choose other folders, or press "
        + f"{go} if this is what you want."
    )
    go_button = box.addButton(go, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go_button


class TextField(Protocol):
    """A field RoleDefaults fills: a QLineEdit, a PathField, a FolderList."""

    def text(self) -> str: ...

    def setText(self, text: str, /) -> None: ...


class RoleDefaults:
    """The folders a workspace took from the project's roles: when the project changes (masks generated,
    a dataset added) only a field still holding its role default moves; another project resets them all."""

    def __init__(self) -> None:
        self._file: Path | None = None
        self._applied: dict[str, str] = {}

    def begin(self, project: Project) -> bool:
        """True when ``project`` is another project than last time (every default is taken afresh)."""
        fresh = project.file != self._file
        self._file = project.file
        if fresh:
            self._applied.clear()
        return fresh

    def apply(
        self, field: TextField, key: str, path: Path | str, fresh: bool, keep_empty: bool = False
    ) -> bool:
        """Show ``path`` in ``field`` unless the user typed another folder there; True when shown.
        ``keep_empty``: a field the user emptied is a choice too (a list of extra folders), kept."""
        text, current = str(path), field.text()
        empty_counts = not current and not (keep_empty and key in self._applied)
        if fresh or empty_counts or current == self._applied.get(key):
            field.setText(text)
            self._applied[key] = text
            return True
        return False
