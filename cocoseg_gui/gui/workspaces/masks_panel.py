"""Masks panel: the options of `cocoseg masks`, Generate/Cancel with progress, and the report."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QElidingLineEdit

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, default_masks_dir
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.core.masks.class_map import MAX_CLASSES, fitting_categories
from cocoseg_gui.core.masks.dataset import report_if_readable
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MasksExistError
from cocoseg_gui.core.masks.options import CROWD_POLICIES, OVERLAP_POLICIES, MaskOptions, default_workers
from cocoseg_gui.core.project.project import Project
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.workers import JobWorker, describe_progress
from cocoseg_gui.gui.widgets.browser.category_checklist import CategoryChecklist
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.widgets.mask_report_view import MaskReportView
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo


def _run_generate(
    annotations: Path,
    images_dir: Path,
    out: Path,
    options: MaskOptions,
    index: Any,
    overwrite: bool = False,
    progress: Any = None,
    cancel: Any = None,
) -> Any:
    from cocoseg_gui.core.masks.job import generate_masks

    return generate_masks(
        annotations,
        images_dir,
        out,
        options,
        progress=progress,
        cancel=cancel,
        index=index,
        overwrite=overwrite,
    )


def _read_report(folder: Path, **_job: object) -> dict[str, Any] | None:
    return report_if_readable(folder)


class MasksPanel(QWidget):
    """Generate a mask dataset folder from the open dataset; the browser and viewer then show it."""

    generation_finished = Signal(str)  # "finished", "cancelled" or "failed"

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.worker: JobWorker | None = None
        self._report_job: JobWorker | None = None  # report.json re-read after an editor save
        self._out_edited = False

        self.classes = CategoryChecklist("Search classes…")
        self.classes.setToolTip(
            "Categories that become classes 1..K (ascending COCO id); unchecked ones are skipped"
        )
        self.overlap = QComboBox()
        self.overlap.addItems(list(OVERLAP_POLICIES))
        self.overlap.setToolTip(
            "smaller-on-top: small objects stay visible · later: file order · "
            "priority: the order below, first on top"
        )
        self.priority = QListWidget()
        self.priority.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.priority.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.priority.setToolTip("Drag to reorder: the first class is drawn on top")
        self.priority.setMaximumHeight(110)
        self.crowd = QComboBox()
        self.crowd.addItems(list(CROWD_POLICIES))
        self.crowd.setToolTip(
            "ignore: crowd regions become 255 · class: drawn as their class · skip: dropped"
        )
        self.min_area = QDoubleSpinBox(minimum=0, maximum=1e9, decimals=0, suffix=" px")
        self.min_area.setToolTip("Skip annotations with fewer rasterised pixels")
        self.workers = QSpinBox(minimum=1, maximum=max(1, os.cpu_count() or 1), value=default_workers())
        self.max_images = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.max_images.setSpecialValueText("all")
        self.out_dir = (
            QElidingLineEdit()
        )  # a long path shows its start and end ("…" inside), whole when edited
        self.out_dir.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.out_dir.setPlaceholderText("output folder")
        self.browse = QPushButton("Browse…")
        self.generate_button = QPushButton("Generate masks")
        self.generate_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress_label = QLabel("")
        # a long output path is clipped (full text selectable and in the tooltip) instead of widening the
        # dock into a horizontal scroll bar
        self.progress_label.setWordWrap(True)
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report_view = MaskReportView()

        out_row = QHBoxLayout()
        out_row.addWidget(self.out_dir, 1)
        out_row.addWidget(self.browse)
        drawing = QWidget()
        form = self._form = QFormLayout(drawing)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Overlap", self.overlap)
        form.addRow("Priority", self.priority)
        form.addRow("Crowd", self.crowd)
        form.addRow("Min area", self.min_area)
        form.addRow("Workers", self.workers)
        form.addRow("Max images", self.max_images)
        # how masks are drawn: a collapsible section (its title says the choices), so at 700 px the
        # class list keeps its room; open or closed is remembered
        self.drawing_section = QCollapsible("")
        self.drawing_section.setDuration(0)
        self.drawing_section.addWidget(drawing)
        drawing_layout = self.drawing_section.layout()
        if drawing_layout is not None:
            drawing_layout.setContentsMargins(0, 0, 0, 0)
        for box in (self.overlap, self.crowd):
            box.currentTextChanged.connect(lambda _t: self._update_drawing_title())
        self.min_area.valueChanged.connect(lambda _v: self._update_drawing_title())
        out_form = QFormLayout()
        out_form.addRow("Output", out_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)

        options = QWidget()
        opt_layout = QVBoxLayout(options)
        opt_layout.setContentsMargins(0, 0, 0, 0)
        opt_layout.addWidget(QLabel("Classes"))
        opt_layout.addWidget(self.classes, 1)
        opt_layout.addWidget(self.drawing_section)
        opt_layout.addLayout(out_form)
        self.tabs = QTabWidget()
        self.tabs.addTab(options, "Options")
        self.tabs.addTab(self.report_view, "Report")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)

        self.overlap.currentTextChanged.connect(self._update_priority_enabled)
        self.classes.changed.connect(self._sync_priority)
        self.browse.clicked.connect(self._browse)
        self.out_dir.textEdited.connect(lambda _t: setattr(self, "_out_edited", True))
        self.generate_button.clicked.connect(lambda: self.generate())
        self.cancel_button.clicked.connect(self.cancel)
        state.dataset_loaded.connect(self._on_dataset_changed)
        state.dataset_loaded.connect(self._on_masks_dir_changed)  # it comes with its mask folder
        state.masks_dir_changed.connect(self._on_masks_dir_changed)
        state.dataset_entry_changed.connect(self._follow_dataset)
        self._restore_options()
        self._update_drawing_title()
        self._update_priority_enabled()
        self._set_running(False)
        if state.index is not None:
            self._on_dataset_changed()

    # -- options
    def _update_drawing_title(self) -> None:
        area = f" · min {self.min_area.value():.0f} px" if self.min_area.value() else ""
        self.drawing_section.setText(
            f"Drawing: {self.overlap.currentText()} · crowd {self.crowd.currentText()}{area}"
        )

    def options(self) -> MaskOptions:
        """The options as chosen (OptionsError when inconsistent, e.g. priority without classes)."""
        names = self._selected_names()
        all_selected = len(names) == len(self.classes.all_ids())
        priority = tuple(self.priority.item(i).text() for i in range(self.priority.count()))
        return MaskOptions(
            classes=None if all_selected else tuple(names),
            overlap=self.overlap.currentText(),
            priority=priority if self.overlap.currentText() == "priority" else (),
            crowd=self.crowd.currentText(),
            min_area=float(self.min_area.value()),
            max_images=self.max_images.value() or None,
            workers=self.workers.value(),
        )

    def output_dir(self) -> Path | None:
        text = self.out_dir.text().strip()
        return Path(text).expanduser() if text else None

    def set_output_dir(self, path: Path | str) -> None:
        self.out_dir.setText(str(path))
        self._out_edited = True

    def _selected_names(self) -> list[str]:
        index = self.state.index
        if index is None:
            return []
        checked = self.classes.checked_ids()
        return [c.name for c in index.categories if c.id in checked]

    def _sync_priority(self, _ids: object = None) -> None:
        """Keep the priority list to the selected classes, preserving the user's order."""
        names = self._selected_names()
        current = [self.priority.item(i).text() for i in range(self.priority.count())]
        order = [n for n in current if n in names] + [n for n in names if n not in current]
        if order != current:
            self.priority.clear()
            self.priority.addItems(order)

    def _update_priority_enabled(self, *_args: object) -> None:
        """The priority list shows only under the priority policy: in a 700 px window its room goes to
        the class list and the Generate row."""
        wanted = self.overlap.currentText() == "priority"
        self.priority.setEnabled(wanted)
        self._form.setRowVisible(self.priority, wanted)

    def _browse(self) -> None:
        start = self.out_dir.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Output folder for masks", start)
        if folder:
            self.set_output_dir(folder)

    # -- dataset / masks changes
    def _on_dataset_changed(self) -> None:
        index = self.state.index
        if self.worker is None:  # the last run's report and "Done: masks in ..." belong to the old dataset
            self.show_report(None)
            self.progress_label.setText("")
            self.progress_label.setToolTip("")
            self.progress.reset()
        if index is None:
            self.classes.set_categories([])
            return
        saved = self.state.settings.value("masks/classes", "")
        self.classes.set_categories(((c.id, c.name, None) for c in index.categories), checked=True)
        if saved:
            try:
                names = set(json.loads(str(saved)))
            except ValueError:
                names = set()
            ids = [c.id for c in index.categories if c.name in names]
            if ids:
                self.classes.set_checked(ids)
        kept, note = fitting_categories(index.categories)
        if len(self.classes.checked_ids()) > MAX_CLASSES:  # generating would fail: start from what fits
            self.classes.set_checked(c.id for c in kept)
            self.progress_label.setText(note)
        self._sync_priority()
        saved_priority = self.state.settings.value("masks/priority", "")
        if saved_priority:
            try:
                order = [n for n in json.loads(str(saved_priority)) if n in self._selected_names()]
            except ValueError:
                order = []
            rest = [n for n in self._selected_names() if n not in order]
            self.priority.clear()
            self.priority.addItems(order + rest)
        project_default = self.state.workbench.default_masks_dir()
        if not self._out_edited and project_default is not None:
            self.out_dir.setText(str(project_default))
        elif not self._out_edited and self.state.annotations_path and self.state.images_dir:
            self.out_dir.setText(
                str(default_masks_dir(DatasetPaths(self.state.annotations_path, self.state.images_dir)))
            )

    def restore(self, project: Project | None) -> None:
        """Output: the open dataset's mask folder in the project (never the dataset folder unless chosen)."""
        self._follow_dataset()

    def _follow_dataset(self) -> None:
        """Another dataset of the project is open: its masks go to its own folder, not the last one's."""
        folder = self.state.workbench.default_masks_dir()
        if self.worker is None and folder is not None:
            self._out_edited = False
            self.out_dir.setText(str(folder))

    def _on_masks_dir_changed(self) -> None:
        """A mask folder was opened or generated: show its report; generate into it by default."""
        if self.worker is not None:
            return
        if self.state.masks_dir is None:
            self.show_report(None)
            return
        self.show_report(report_if_readable(self.state.masks_dir))
        if not self._out_edited:
            self.out_dir.setText(str(self.state.masks_dir))

    def show_report(self, report: dict[str, Any] | None) -> None:
        self.report_view.set_report(report)
        self.tabs.setCurrentIndex(self.tabs.indexOf(self.report_view) if report else 0)

    def refresh_report(self) -> None:
        """The open mask folder's masks changed (an editor save): its report.json is read again in a job
        (it lists every mask) and shown, the tab left as the user chose."""
        folder = self.state.masks_dir
        if self.worker is not None or folder is None:
            return
        job = JobWorker(_read_report, folder)
        job.succeeded.connect(lambda report: self._on_report_read(folder, report))
        self._report_job = job
        job.start()

    def _on_report_read(self, folder: Path, report: dict[str, Any] | None) -> None:
        if self.worker is None and folder == self.state.masks_dir and report:
            self.report_view.set_report(report)

    # -- running
    def generate(self, overwrite: bool = False) -> None:
        """Start generating (resumes a run with the same options in the same folder)."""
        if self.worker is not None:
            return
        state = self.state
        if state.index is None or state.annotations_path is None or state.images_dir is None:
            show_error(self, "Generate masks", "Open a dataset first.")
            return
        out = self.output_dir()
        if out is None:
            show_error(self, "Generate masks", "Choose an output folder.")
            return
        try:
            if not self._selected_names():
                raise DatasetError(state.annotations_path, "no class selected: check at least one class")
            options = self.options()
        except Exception as exc:
            show_error(self, "Generate masks", exc)
            return
        self._save_options()
        self.state.ensure_project_saved()  # an implicit project is written at the first Generate
        self.progress.setRange(0, 0)
        self.progress_label.setText("Starting…")
        self.worker = JobWorker(
            _run_generate, state.annotations_path, state.images_dir, out, options, state.index, overwrite
        )
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(lambda _r: self._finish("finished", out))
        self.worker.cancelled.connect(lambda: self._finish("cancelled", out))
        self.worker.failed.connect(lambda exc: self._finish("failed", out, exc))
        self._set_running(True)
        state.status_message.emit(f"Generating masks into {out}…")
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling…")

    def is_running(self) -> bool:
        return self.worker is not None

    def _on_progress(self, event: Progress) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
        self.progress_label.setText(describe_progress(event))

    def _finish(self, outcome: str, out: Path, error: BaseException | None = None) -> None:
        worker, self.worker = self.worker, None
        self._set_running(False)
        self.progress.setRange(0, 100)
        if outcome == "finished":
            self.progress.setValue(100)
            self.progress_label.setText(f"Done: masks in {out}")
        elif outcome == "cancelled":
            self.progress_label.setText(f"Cancelled: the masks written so far are in {out}")
        else:
            self.progress_label.setText("Failed")
        if (out / IMAGE_MAP_FILE).is_file():
            self.state.set_masks_dir(out)
            self.show_report(report_if_readable(out))
        self.progress_label.setToolTip(self.progress_label.text())
        self.state.status_message.emit(self.progress_label.text())
        if worker is not None:
            worker.deleteLater()
        if isinstance(error, MasksExistError):  # asked in the panel's words, never the CLI's flags
            if ask_replace_masks(self, error):
                self.generate(overwrite=True)
                return
            outcome = "cancelled"  # the user declined: nothing failed
            self.progress_label.setText(
                f"Not generated: {out} keeps its masks. Choose another Output folder, or Generate again "
                "and answer Replace."
            )
            self.progress_label.setToolTip(self.progress_label.text())
        elif error is not None:
            show_error(self, "Generate masks", error)
        self.generation_finished.emit(outcome)

    def _set_running(self, running: bool) -> None:
        self.generate_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (
            self.classes,
            self.overlap,
            self.crowd,
            self.min_area,
            self.workers,
            self.max_images,
            self.out_dir,
            self.browse,
        ):
            w.setEnabled(not running)
        self.priority.setEnabled(not running and self.overlap.currentText() == "priority")

    # -- the Workspace protocol (gui/workspaces/protocol.py)
    def busy_job(self) -> str | None:
        return "mask generation" if self.worker is not None else None

    def stop(self) -> None:
        self.cancel()

    def shutdown(self) -> None:
        """Cancel a running generation and wait for it (window closing)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)
        if self._report_job is not None:
            self._report_job.wait(5000)

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """Generate masks of the open dataset into a fresh folder and show the report."""
        self.set_output_dir(demo.new_folder("demo-masks"))
        self.generation_finished.connect(lambda _outcome: done())
        self.generate()
        if self.worker is None:  # nothing to generate from (the problem is shown)
            done()

    # -- settings
    def _save_options(self) -> None:
        s = self.state.settings
        s.setValue("masks/classes", json.dumps(self._selected_names()))
        s.setValue(
            "masks/priority", json.dumps([self.priority.item(i).text() for i in range(self.priority.count())])
        )
        s.setValue("masks/overlap", self.overlap.currentText())
        s.setValue("masks/crowd", self.crowd.currentText())
        s.setValue("masks/min_area", float(self.min_area.value()))
        s.setValue("masks/workers", self.workers.value())
        s.setValue("masks/max_images", self.max_images.value())
        s.setValue("masks/drawing_open", self.drawing_section.isExpanded())

    def _restore_options(self) -> None:
        s = self.state.settings
        if str(s.value("masks/drawing_open", "false")).lower() == "true":
            self.drawing_section.expand(animate=False)
        overlap = str(s.value("masks/overlap", "smaller-on-top"))
        if overlap in OVERLAP_POLICIES:
            self.overlap.setCurrentText(overlap)
        crowd = str(s.value("masks/crowd", "ignore"))
        if crowd in CROWD_POLICIES:
            self.crowd.setCurrentText(crowd)
        try:
            # QSettings.value is typed object: a str from the INI file, or the default
            min_area: Any = s.value("masks/min_area", 0)
            workers: Any = s.value("masks/workers", default_workers())
            max_images: Any = s.value("masks/max_images", 0)
            self.min_area.setValue(float(min_area))
            self.workers.setValue(int(workers))
            self.max_images.setValue(int(max_images))
        except (TypeError, ValueError):
            pass

    def save_settings(self) -> None:
        self._save_options()


def ask_replace_masks(parent: QWidget, error: MasksExistError) -> bool:
    """Replace the masks already in the Output folder? (what they are, in words; tests patch this)."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Replace masks?",
        f"The Output folder {error.out} already holds {error.what}.",
        parent=parent,
    )
    box.setInformativeText(
        "Replace them with masks of the open dataset made with the current options? Only the masks "
        "cocoseg made there are deleted."
    )
    replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is replace
