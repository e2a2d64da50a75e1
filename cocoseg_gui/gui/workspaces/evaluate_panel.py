"""Evaluate panel: a checkpoint's metrics on a mask dataset (per-class IoU, confusion, worst images)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.project.project import Project, Role
from cocoseg_gui.core.quality.truth_compare import class_table
from cocoseg_gui.core.training.evaluate_request import EvaluateRequest
from cocoseg_gui.core.training.run_reader import run_checkpoints
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.device_probe import preload_torch_modules
from cocoseg_gui.gui.services.error_hints import describe_error
from cocoseg_gui.gui.services.recent_runs import recent_runs
from cocoseg_gui.gui.services.workers import JobWorker, describe_progress
from cocoseg_gui.gui.widgets.confusion_plot import ConfusionPlot
from cocoseg_gui.gui.widgets.project_dialog import RoleDefaults, confirm_roles
from cocoseg_gui.gui.widgets.responsive import is_narrow, orient_splitter
from cocoseg_gui.gui.widgets.train_form import PathField
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo

if TYPE_CHECKING:
    from cocoseg_gui.core.training.evaluate import EvalResult  # imports torch: only for the types

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def scored_classes(result: EvalResult, names: Sequence[str]) -> list[tuple[int, str, float]]:
    """(index in ``names``, -1 when absent; name; IoU) of each class the evaluation scored."""
    where = {n: i for i, n in enumerate(names)}
    return [(where.get(name, -1), name, iou) for name, iou in result.scored_classes()]


def run_evaluation(
    checkpoint: Path, data: Path, device: str, batch_size: int, progress: Any = None, cancel: Any = None
) -> Any:
    """Worker body: ``core.training.evaluate.evaluate`` (torch is already imported on the GUI thread)."""
    from cocoseg_gui.core.training.evaluate import evaluate

    return evaluate(checkpoint, data, device=device, batch_size=batch_size, progress=progress, cancel=cancel)


class EvaluatePanel(QWidget):
    """Evaluate a checkpoint in a worker: mIoU, pixel accuracy, Dice, per-class IoU, confusion, worst images
    (double-click one to compare it in the Predict panel)."""

    evaluated = Signal(object)  # the EvalResult

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: EvalResult | None = None
        self.names: list[str] = []
        self.colors = class_table([])[1]
        self.last_error = ""
        self._job: JobWorker | None = None
        self._image_paths: dict[str, Path] = {}
        self._devices_listed = False
        self._defaults = RoleDefaults()

        self.checkpoint = QComboBox(editable=True, minimumContentsLength=16)
        self.checkpoint.setToolTip("A checkpoint (.pt): a recent run's, or browse")
        self.browse_checkpoint = QPushButton("Browse...")
        self.data = PathField("Mask dataset folder", placeholder="a folder made by cocoseg masks")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])
        self.batch_size = QSpinBox(minimum=1, maximum=256, value=4)
        self.run_button = QPushButton("Evaluate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(minimum=0, maximum=100, value=0, textVisible=True)
        self.progress.setFormat("")
        self.summary = QLabel("Choose a checkpoint and a mask dataset, then Evaluate.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.class_table = QTableWidget(0, 2)
        self.class_table.setHorizontalHeaderLabels(["Class", "IoU"])
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.confusion = ConfusionPlot()
        self.image_table = QTableWidget(0, 2)
        self.image_table.setHorizontalHeaderLabels(["Image (worst first)", "mIoU"])
        self.image_table.verticalHeader().setVisible(False)
        self.image_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.image_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.image_table.setToolTip("Double-click (or press Enter) to open the image in the compare view")
        for table in (self.class_table, self.image_table):
            table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
            table.verticalHeader().setDefaultSectionSize(20)
        self._build_layout()

        self.browse_checkpoint.clicked.connect(self._choose_checkpoint)
        self.run_button.clicked.connect(lambda: self.start())  # not clicked(checked) as ask_roles
        self.cancel_button.clicked.connect(self.cancel)
        self.image_table.cellDoubleClicked.connect(self._open_row)
        self.image_table.cellActivated.connect(self._open_row)
        self.state.checkpoint_changed.connect(self._on_state_checkpoint)
        self.state.run_dir_changed.connect(self._fill_recent)
        self.state.masks_dir_changed.connect(self._on_masks_dir)
        self.state.dataset_loaded.connect(self._on_masks_dir)  # a dataset comes with its masks
        self.state.project_changed.connect(lambda _reopened: self.restore(self.state.project))
        self._fill_recent()
        self._on_masks_dir()
        if self.state.checkpoint_path is not None:
            self._on_state_checkpoint()

    def _build_layout(self) -> None:
        form = QFormLayout()
        ck = QHBoxLayout()
        ck.addWidget(self.checkpoint, 1)
        ck.addWidget(self.browse_checkpoint)
        form.addRow("Checkpoint", ck)
        form.addRow("Mask dataset", self.data)
        options = QHBoxLayout()
        options.addWidget(self.device)
        options.addWidget(QLabel("Batch size"))
        options.addWidget(self.batch_size)
        options.addStretch(1)
        form.addRow("Device", options)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        form.addRow(row)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.class_table)
        left.addWidget(self.image_table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.confusion)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 800])
        self._split = split
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)

    def showEvent(self, event: QShowEvent) -> None:
        """List the devices (in a background thread) once, after the panel first shows."""
        super().showEvent(event)
        if not self._devices_listed:
            self._devices_listed = True
            QTimer.singleShot(0, self._list_devices)

    def _list_devices(self) -> None:
        from cocoseg_gui.gui.services.device_probe import device_probe

        device_probe().request(self._add_devices)

    def _add_devices(self, devices: list) -> None:
        current = self.device.currentText()
        for d in devices:
            if self.device.findText(d.name) < 0:
                self.device.addItem(d.name)
        self.device.setCurrentText(current)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Tables beside the heat map when wide; stacked in a narrow dock."""
        narrow = is_narrow(event.size().width())
        orient_splitter(self._split, narrow)
        self.confusion.setMinimumHeight(380 if narrow else 0)
        super().resizeEvent(event)

    # -- inputs ----------------------------------------------------------------------------------

    def _fill_recent(self) -> None:
        current = self.checkpoint.currentText()
        self.checkpoint.clear()
        for run in recent_runs(self.state.settings):
            for ckpt in run_checkpoints(run):  # a stopped run lists its last.pt too
                self.checkpoint.addItem(str(ckpt))
        self.checkpoint.setCurrentText(current)

    def _on_state_checkpoint(self) -> None:
        if self.state.checkpoint_path is not None and self._job is None:
            self.checkpoint.setCurrentText(str(self.state.checkpoint_path))

    def restore(self, project: Project | None) -> None:
        """Evaluate on the val dataset's masks (a folder the user chose stays until another project opens)."""
        val = project.first(Role.VAL) if project is not None else None
        if project is not None and self._job is None:
            fresh = self._defaults.begin(project)
            if val is not None:
                self._defaults.apply(self.data, "data", project.masks_dir(val), fresh)

    def _on_masks_dir(self) -> None:
        if self.state.project is not None:
            return  # the project's roles choose the data (restore), not the last folder attached
        if self.state.masks_dir is not None and self._job is None:
            self.data.setText(str(self.state.masks_dir))

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Checkpoint to evaluate",
            self.checkpoint.currentText() or str(Path.home()),
            "Checkpoints (*.pt);;All files (*)",
        )
        if path:
            self.checkpoint.setCurrentText(path)

    # -- running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self, *, ask_roles: bool = True) -> bool:
        """Evaluate in a worker; False (with a message) when the inputs are missing. ``ask_roles``:
        ask before evaluating on the training masks (an unattended window asks nobody)."""
        if self._job is not None:
            return False
        request = self.request()
        try:
            ckpt, data = request.checked()
        except CocoSegError as exc:
            self._show_error(exc)
            return False
        project = self.state.project
        warnings = project.evaluation_warnings(data) if project is not None else []
        if (
            warnings
            and ask_roles
            and not confirm_roles(self, "Evaluate on the training images?", warnings, "Evaluate anyway")
        ):
            self.summary.setText("Not started: choose the validation masks, or Evaluate anyway.")
            return False
        preload_torch_modules()
        self._image_paths = _image_paths_of(data)
        self.summary.setText(f"evaluating {ckpt.name} on {data} ...")
        self.summary.setStyleSheet("")
        job = JobWorker(run_evaluation, ckpt, data, request.device, request.batch_size)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_result)
        job.failed.connect(self._show_error)
        job.cancelled.connect(lambda: self.summary.setText("evaluation cancelled"))
        job.done.connect(self._on_done)
        self._job = job
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        job.start()
        return True

    def request(self) -> EvaluateRequest:
        """The fields as they are now (``EvaluateRequest.checked()`` checks them)."""
        return EvaluateRequest(
            self.checkpoint.currentText(),
            self.data.text(),
            self.device.currentText(),
            self.batch_size.value(),
        )

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def wait(self, msecs: int = 120000) -> None:
        if self._job is not None:
            self._job.wait(msecs)

    # -- the Workspace protocol (gui/workspaces/protocol.py) --------------------------------------

    def busy_job(self) -> str | None:
        return "evaluation" if self._job is not None else None

    def stop(self) -> None:
        self.cancel()

    def shutdown(self) -> None:
        """The app is closing: cancel a running evaluation and wait for its thread."""
        self.cancel()
        self.wait()

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """An evaluation of the demo checkpoint on the demo masks."""
        if demo.checkpoint is None or demo.masks_dir is None:
            done()
            return
        self.checkpoint.setCurrentText(str(demo.checkpoint))
        if not (Path(self.data.text()) / MAPPING_FILE).is_file():  # the project's val masks stay
            self.data.setText(str(demo.masks_dir))
        self.evaluated.connect(lambda _result: done())
        # unattended: a role question would wait for nobody (a bad checkpoint fails in the job: shown)
        if not self.start(ask_roles=False) or self._job is None:
            done()
            return
        self._job.failed.connect(lambda _exc: done())
        self._job.cancelled.connect(done)

    def _on_progress(self, p: Progress) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.progress.setFormat(describe_progress(p))

    def _on_done(self) -> None:
        self._job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 100)

    def _show_error(self, exc: BaseException) -> None:
        report = describe_error(exc)
        self.last_error = report.text()
        hint = f"<br><i>Hint: {html.escape(report.hint)}</i>" if report.hint else ""
        self.summary.setStyleSheet("color: #8a1010;")
        self.summary.setText(f"<b>{html.escape(report.title)}</b>: {html.escape(report.message)}{hint}")

    # -- results ---------------------------------------------------------------------------------

    def _on_result(self, result: EvalResult) -> None:
        self.result = result
        classes = _mapping_classes(Path(self.data.text())) if self.data.text() else None
        self.names, self.colors = class_table(classes or result.class_names)
        self.summary.setStyleSheet("")
        parts = [
            f"<b>mIoU {float(result.miou):.4f}</b>",
            f"pixel accuracy {float(result.pixel_acc):.4f}",
            f"mean Dice {float(result.mean_dice):.4f}",
        ]
        n_images = result.num_images
        if n_images:
            parts.append(f"{n_images} images")
        self.summary.setText(" &nbsp;·&nbsp; ".join(parts))
        self.progress.setFormat(f"done: {n_images} images" if n_images else "done")
        self._fill_classes(result)
        self.confusion.set_confusion(np.asarray(result.confusion), self.names)
        self._fill_images(result)
        self.evaluated.emit(result)

    def _fill_classes(self, result: EvalResult) -> None:
        rows = scored_classes(result, self.names)
        self.class_table.setRowCount(len(rows))
        for row, (index, name, iou) in enumerate(rows):
            cell = QTableWidgetItem(name)
            if 0 <= index < 256:
                r, g, b = (int(v) for v in self.colors[index])
                cell.setData(Qt.ItemDataRole.DecorationRole, QColor(r, g, b))
            value = QTableWidgetItem(f"{iou:.4f}")
            value.setData(Qt.ItemDataRole.UserRole, iou)
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.class_table.setItem(row, 0, cell)
            self.class_table.setItem(row, 1, value)

    def _fill_images(self, result: EvalResult) -> None:
        self.image_table.setRowCount(len(result.per_image))
        for row, score in enumerate(result.per_image):
            file, miou = score.file, score.finite_miou
            cell = QTableWidgetItem(file)
            path = self._image_paths.get(file) or self._image_paths.get(Path(file).name)
            if path is not None:
                cell.setData(PATH_ROLE, str(path))
                cell.setToolTip(str(path))
            value = QTableWidgetItem(f"{miou:.4f}" if miou is not None else "-")
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.image_table.setItem(row, 0, cell)
            self.image_table.setItem(row, 1, value)

    def _open_row(self, row: int, _column: int = 0) -> None:
        item = self.image_table.item(row, 0)
        path = item.data(PATH_ROLE) if item is not None else None
        if path:
            self.state.compare_requested.emit(str(path))
        elif item is not None:
            self.summary.setText(f"{html.escape(item.text())}: image file not found (see the mask manifest)")


def _mapping_classes(data: Path) -> list[dict[str, Any]] | None:
    try:
        mapping = ClassMapping.read(data / MAPPING_FILE)
        return mapping.to_json()["classes"]
    except (CocoSegError, OSError, KeyError):
        return None


def _image_paths_of(data: Path) -> dict[str, Path]:
    """Image path by COCO file name, by mask file name and by base name, from the mask dataset folder."""
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    try:
        folder = MaskDatasetFolder(data)
        samples = folder.samples()
    except CocoSegError:
        return {}
    out: dict[str, Path] = {}
    for s in samples:
        if s.image_path is not None:
            out[s.file_name] = s.image_path
            out[Path(s.file_name).name] = s.image_path
            out[s.mask_path.name] = s.image_path
    return out
