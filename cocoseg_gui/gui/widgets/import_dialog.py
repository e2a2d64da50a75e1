"""File › Import labels…: another tool's labels -> a mask folder joining the project with a role (ADR 0036).

Format, source (a file or folder, as the format says), image folder (optional where the format says where
its images are), the dataset's name and role; the mask folder goes into the project's ``masks/`` folder
(``planned_entry``). The import runs in a ``JobWorker`` with progress and Cancel; ``outcome`` holds
(project, entry) once it is made, and the caller adds the entry to the workbench, as for File › New dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QStandardItemModel
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

from cocoseg_gui.core.formats.import_job import IMAGES_FILE, ImportReport, import_labels
from cocoseg_gui.core.formats.registry import LabelFormat, importable, label_format
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.core.project.project import DatasetEntry, Project, Role, dataset_name_problem, planned_entry
from cocoseg_gui.core.project.workbench import Workbench
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import browse_row, error_text

DIALOG_MIN_WIDTH = 560


def import_summary(rep: ImportReport) -> str:
    """The import in words: what came in, what was skipped (named), what the folder lacks."""
    lines = [f"Imported {rep.images} images with {len(rep.classes)} classes into {rep.out}."]
    counts = rep.counts()
    if counts:
        parts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        lines.append(f"Skipped: {parts} (the folder's report.json names each), e.g.")
        lines += [f"  {s.subject}: {error_text(s.reason)}" for s in rep.skipped[:3]]
    lines += [f"Note: {n}" for n in rep.notes[:3]]
    return "\n".join(lines)


class ImportDialog(QDialog):
    """Format, source, image folder, name and role; Import makes the mask folder in the project."""

    def __init__(self, workbench: Workbench, parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Import labels")
        self.workbench = workbench
        self.start_dir = start_dir
        self.outcome: tuple[Project, DatasetEntry] | None = None
        self.report: ImportReport | None = None
        self.worker: JobWorker | None = None
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("import_format")
        for f in importable():
            self.format_combo.addItem(f.title if f.available else f"{f.title} (not in this build)", f.name)
            model = self.format_combo.model()
            assert isinstance(model, QStandardItemModel)  # a combo box's own model
            item = model.item(self.format_combo.count() - 1)
            item.setEnabled(f.available)
        self.format_combo.currentIndexChanged.connect(lambda _i: self._on_format_changed())
        self.source_edit = QLineEdit()
        self.source_edit.setObjectName("import_source")
        self.source_edit.textChanged.connect(self._on_source_changed)
        browse_source = QPushButton("Browse…")
        browse_source.clicked.connect(self._browse_source)
        self.images_edit = QLineEdit()
        self.images_edit.setObjectName("import_images")
        self.images_edit.textChanged.connect(lambda _t: self._update_target())
        browse_images = QPushButton("Browse…")
        browse_images.clicked.connect(self._browse_images)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("import_name")
        self.name_edit.textEdited.connect(lambda _t: self._update_target())
        self.role_combo = QComboBox()
        self.role_combo.setObjectName("import_role")
        for role in Role:
            self.role_combo.addItem(role.value, role)
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        self.target_label.setMinimumHeight(3 * self.fontMetrics().lineSpacing())
        self.summary = QLabel()
        self.summary.setObjectName("import_summary")
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Labels", browse_row(self.source_edit, browse_source))
        form.addRow("Image folder", browse_row(self.images_edit, browse_images))
        form.addRow("Dataset name", self.name_edit)
        form.addRow("Role", self.role_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button.setObjectName("import_start")
        self.import_button.setDefault(True)  # Return imports
        self.import_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self._cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.target_label)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(DIALOG_MIN_WIDTH)
        self._on_format_changed()

    # --- fields ----------------------------------------------------------------------------------------
    def label_format(self) -> LabelFormat:
        return label_format(str(self.format_combo.currentData()))

    def _on_format_changed(self) -> None:
        fmt = self.label_format()
        self.source_edit.setPlaceholderText(f"the {fmt.title} labels: a {fmt.source}")
        self.images_edit.setPlaceholderText(
            "the images (default: found beside the annotations)"
            if fmt.name == "coco"
            else "the images (default: where the labels say, e.g. VOC's JPEGImages)"
            if fmt.finds_images
            else "the folder of the images these labels are for"
        )
        self._update_target()

    def _on_source_changed(self, text: str) -> None:
        if not self.name_edit.isModified():
            path = Path(text.strip())
            self.name_edit.setText(path.stem if path.suffix else path.name)
        self._update_target()

    def _planned(self) -> tuple[Project, DatasetEntry] | None:
        source = self.source_edit.text().strip()
        if not source:
            return None
        name = self.name_edit.text().strip() or Path(source).stem or "imported"
        project = self.workbench.project_for_new_dataset(name)
        images = self.images_edit.text().strip()
        entry = planned_entry(project, Path(images or source).expanduser(), name)
        role = Role(self.role_combo.currentData())
        return project, DatasetEntry(entry.name, role, None, Path(images) if images else None, entry.masks)

    def _update_target(self) -> None:
        planned = self._planned()
        if planned is None:
            self.target_label.setText("The mask folder goes into the open project (or a new one).")
            return
        project, entry = planned
        where = "this project" if project is self.workbench.project else f"a new project {project.folder}"
        self.target_label.setText(
            f"Masks will be saved in {entry.masks} ({where}, as dataset {entry.name!r})."
        )

    def _browse_source(self) -> None:
        fmt = self.label_format()
        if fmt.source == "folder":
            path = QFileDialog.getExistingDirectory(self, f"{fmt.title} folder", self.start_dir)
        else:
            path, _ = QFileDialog.getOpenFileName(self, f"{fmt.title} file", self.start_dir)
        if path:
            self.source_edit.setText(path)

    def _browse_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Image folder", self.start_dir)
        if folder:
            self.images_edit.setText(folder)

    # --- the job -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Import (the button): check the fields, then run the import as a job."""
        if self.worker is not None:
            return
        self.summary.setStyleSheet("")
        planned = self._planned()
        if planned is None:
            self._problem("Choose the labels to import.")
            return
        typed = self.name_edit.text().strip()
        problem = dataset_name_problem(typed) if self.name_edit.isModified() and typed else None
        if problem is not None:
            self._problem(f"The name {typed!r} {problem}: choose another name.")
            return
        project, entry = planned
        if entry.images is None and not self.label_format().finds_images:
            self._problem(f"Choose the image folder: {self.label_format().title} labels do not say where "
                          "their images are.")  # fmt: skip
            return
        self.summary.setText("Importing…")
        source = Path(self.source_edit.text().strip()).expanduser()
        self.worker = JobWorker(import_labels, self.label_format(), source, entry.masks, entry.images)
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(lambda rep: self._on_made(project, entry, rep))
        self.worker.failed.connect(lambda exc: self._problem(f"Nothing was imported: {error_text(exc)}"))
        self.worker.cancelled.connect(lambda: self._problem("Import cancelled: nothing was written."))
        self.worker.done.connect(self._on_done)
        self.import_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.worker.start()

    def _problem(self, text: str) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b00020")

    def _on_progress(self, event: Any) -> None:
        if isinstance(event, Progress):
            if event.total:
                self.progress.setRange(0, event.total)
                self.progress.setValue(event.done)
            self.summary.setText(f"Importing… {event.done} images")

    def _on_made(self, project: Project, entry: DatasetEntry, rep: ImportReport) -> None:
        self.report = rep
        self.summary.setText(import_summary(rep))
        if rep.images_dir is None:
            self._problem(import_summary(rep) + "\nChoose the image folder and import again.")
            return
        annotations = entry.masks / IMAGES_FILE if entry.masks is not None else None
        if annotations is None or not annotations.is_file():  # COCO: the masks name the source JSON
            from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

            annotations = MaskDatasetFolder(rep.out, browse=True).annotations
        self.outcome = (project, DatasetEntry(entry.name, entry.role, annotations, rep.images_dir, rep.out))

    def _on_done(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.import_button.setEnabled(True)
        if self.outcome is not None:
            self.accept()

    def _cancel(self) -> None:
        """Cancel: stops a running import (it leaves nothing), else closes."""
        if self.worker is not None:
            self.worker.cancel()
            return
        self.reject()

    def busy(self) -> bool:
        return self.worker is not None
