"""File › New dataset from an image folder: the folder, a name and the classes -> an empty mask folder.

The folder is made by ``core.masks.new_dataset.create_new_dataset`` in a ``JobWorker`` (image sizes are read
from every file; a COCO JSON given for its classes may be large), with progress and Cancel in the dialog.
``outcome`` holds (project, entry) once it is made; the caller adds the entry to the workbench.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback
from cocoseg_gui.core.masks import new_dataset as nd
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.project.project import DatasetEntry, Project, dataset_name_problem, planned_entry
from cocoseg_gui.core.project.workbench import Workbench
from cocoseg_gui.core.types import Category
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import browse_row, error_text

TYPED, COCO, MASKS = "typed", "coco", "masks"
SOURCES = (
    (TYPED, "Type the class names"),
    (COCO, "The categories of a COCO JSON"),
    (MASKS, "The classes of another mask folder"),
)


def categories_of(kind: str, value: str) -> list[Category]:
    """The classes from the chosen source; OptionsError / DatasetError in words naming the file."""
    if kind == TYPED:
        return nd.categories_from_names(value)
    if not value.strip():
        what = "COCO JSON" if kind == COCO else "mask folder (or its category_mapping.json)"
        raise OptionsError(f"choose the {what} to take the classes from")
    path = Path(value.strip()).expanduser()
    return nd.categories_from_coco(path) if kind == COCO else nd.categories_from_mapping(path)


def make_dataset(
    images: Path,
    kind: str,
    value: str,
    out: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> nd.NewDataset:
    """The job: the classes, then the folder (both may read large files)."""
    return nd.create_new_dataset(images, categories_of(kind, value), out, progress, cancel)


DIALOG_MIN_WIDTH = 640
TARGET_LINES = 5  # lines kept for the target text (a long project path wraps to 4 at this width)


class NewDatasetDialog(QDialog):
    """The image folder, the dataset's name and its classes; Create makes the empty mask folder."""

    def __init__(self, workbench: Workbench, parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("New dataset from an image folder")
        self.workbench = workbench
        self.start_dir = start_dir
        self.outcome: tuple[Project, DatasetEntry] | None = None
        self.worker: JobWorker | None = None
        self.images_edit = QLineEdit()
        self.images_edit.setObjectName("new_dataset_images")
        self.images_edit.setPlaceholderText("the folder of images to label")
        self.images_edit.textChanged.connect(self._on_images_changed)
        browse_images = QPushButton("Browse…")
        browse_images.clicked.connect(self._browse_images)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("new_dataset_name")
        self.name_edit.textEdited.connect(lambda _t: self._update_target())
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("new_dataset_class_source")
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
        self.source_combo.currentIndexChanged.connect(lambda _i: self._on_source_changed())
        self.classes_edit = QLineEdit()
        self.classes_edit.setObjectName("new_dataset_classes")
        self.browse_source = QPushButton("Browse…")
        self.browse_source.clicked.connect(self._browse_source)
        # the "Masks will be saved in ..." text changes with every key: a fixed room for it (and a dialog
        # wide enough) so its wrapped lines never resize the dialog or move the buttons while typing
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        self.target_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.target_label.setMinimumHeight(TARGET_LINES * self.fontMetrics().lineSpacing())
        self.setMinimumWidth(DIALOG_MIN_WIDTH)
        self.error_label = QLabel()
        self.error_label.setObjectName("new_dataset_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        form = QFormLayout()
        form.addRow("Image folder", browse_row(self.images_edit, browse_images))
        form.addRow("Dataset name", self.name_edit)
        form.addRow("Classes from", self.source_combo)
        form.addRow("Classes", browse_row(self.classes_edit, self.browse_source))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setObjectName("new_dataset_create")
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self._cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.target_label)
        lay.addWidget(self.progress)
        lay.addWidget(self.error_label)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self._on_source_changed()
        self._update_target()

    # --- fields ----------------------------------------------------------------------------------------
    def _kind(self) -> str:
        return str(self.source_combo.currentData())

    def _on_source_changed(self) -> None:
        typed = self._kind() == TYPED
        self.browse_source.setVisible(not typed)
        self.classes_edit.setPlaceholderText(
            "class names separated by commas, e.g. cat, dog"
            if typed
            else "a COCO annotations JSON"
            if self._kind() == COCO
            else f"a mask folder or its {MAPPING_FILE}"
        )

    def _on_images_changed(self, text: str) -> None:
        if not self.name_edit.isModified():
            self.name_edit.setText(Path(text.strip()).name if text.strip() else "")
        self._update_target()

    def _planned(self) -> tuple[Project, DatasetEntry] | None:
        images = self.images_edit.text().strip()
        if not images:
            return None
        name = self.name_edit.text().strip() or Path(images).name
        project = self.workbench.project_for_new_dataset(name)
        return project, planned_entry(project, Path(images).expanduser(), name)

    def _update_target(self) -> None:
        planned = self._planned()
        if planned is None:
            self.target_label.setText("The empty mask folder goes into the open project (or a new one).")
            return
        project, entry = planned
        where = "this project" if project is self.workbench.project else f"a new project {project.folder}"
        self.target_label.setText(
            f"Masks will be saved in {entry.masks} ({where}, as the unlabelled dataset {entry.name!r}). "
            "Images count as labelled once their mask is saved; only those are trained on."
        )

    def _browse_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of images to label", self.start_dir)
        if folder:
            self.images_edit.setText(folder)

    def _browse_source(self) -> None:
        if self._kind() == COCO:
            path, _ = QFileDialog.getOpenFileName(self, "COCO JSON", self.start_dir, "COCO JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Mask folder", self.start_dir)
        if path:
            self.classes_edit.setText(path)

    # --- the job -----------------------------------------------------------------------------------------
    def create(self) -> None:  # type: ignore[override]  # hides QWidget.create(), which Qt never calls
        """Start making the folder (Create)."""
        if self.worker is not None:
            return
        self.error_label.clear()
        planned = self._planned()
        if planned is None:
            self.error_label.setText("Choose the folder of images to label.")
            return
        typed = self.name_edit.text().strip()
        problem = dataset_name_problem(typed) if self.name_edit.isModified() and typed else None
        if problem is not None:  # a typed name is checked, not silently changed (issue 18 item 11)
            self.error_label.setText(f"The name {typed!r} {problem}: choose another name.")
            return
        project, entry = planned
        self.worker = JobWorker(
            make_dataset, entry.images, self._kind(), self.classes_edit.text(), entry.masks
        )
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(lambda made: self._on_made(project, entry, made))
        self.worker.failed.connect(self._on_failed)
        self.worker.done.connect(self._on_done)
        self.create_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.worker.start()

    def _on_progress(self, event: Any) -> None:
        if isinstance(event, Progress) and event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.message}: %v / %m")

    def _on_made(self, project: Project, entry: DatasetEntry, made: nd.NewDataset) -> None:
        self.outcome = (
            project,
            DatasetEntry(entry.name, entry.role, made.annotations, made.images_dir, made.folder),
        )
        skipped = f" ({len(made.unreadable)} unreadable image files left out)" if made.unreadable else ""
        if made.refused:
            skipped += f" ({len(made.refused)} links to files outside the folder left out)"
        self.target_label.setText(f"{made.num_images} images, no mask yet{skipped}: {made.folder}")

    def _on_failed(self, exc: BaseException) -> None:
        self.error_label.setText(error_text(exc))

    def _on_done(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.create_button.setEnabled(True)
        if self.outcome is not None:
            self.accept()

    def _cancel(self) -> None:
        """Cancel: stops a running job (nothing is written before the sizes are read), else closes."""
        if self.worker is not None:
            self.worker.cancel()
            return
        self.reject()

    def busy(self) -> bool:
        return self.worker is not None
