"""Predict panel: a checkpoint on unseen images; overlay, truth | prediction, error view, IoU table."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.project.project import Project
from cocoseg_gui.core.quality.truth_compare import (
    ERROR_LEGEND,
    Comparison,
    class_table,
    compare_in_project,
    error_colors,
)
from cocoseg_gui.core.training.run_reader import run_checkpoints
from cocoseg_gui.core.training.scores import mean_iou
from cocoseg_gui.core.types import IMAGE_SUFFIXES
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.device_probe import preload_torch_modules
from cocoseg_gui.gui.services.error_hints import describe_error
from cocoseg_gui.gui.services.recent_runs import recent_runs
from cocoseg_gui.gui.services.workers import JobWorker, describe_progress
from cocoseg_gui.gui.widgets.legend import LegendWidget, legend_entries
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer
from cocoseg_gui.gui.widgets.responsive import is_narrow, orient_splitter
from cocoseg_gui.gui.widgets.side_by_side import SideBySideView
from cocoseg_gui.gui.widgets.train_form import PathField
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo

TAB_OVERLAY, TAB_COMPARE, TAB_ERRORS = 0, 1, 2
GUI_OVERWRITE_HINT = "replace them only if you agree, or choose another folder"


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def load_predictor(checkpoint: Path, device: str = "auto", progress: Any = None, cancel: Any = None) -> Any:
    from cocoseg_gui.core.training.predict import Predictor

    return Predictor.from_checkpoint(checkpoint, device=device)


class PredictPanel(QWidget):
    """Load a checkpoint, open images, view prediction overlays, compare with ground truth, export."""

    comparison_shown = Signal(object)  # the Comparison now on screen
    failed = Signal(str)  # a load, prediction or export failed (the message is shown in the panel)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.predictor: Any = None
        self.checkpoint: Path | None = None
        self.names: list[str] = []
        self.colors: np.ndarray = error_colors()
        self.comparison: Comparison | None = None
        self.last_error: str = ""
        self._job: JobWorker | None = None
        self._pending: Path | None = None
        self._export_job: JobWorker | None = None
        self._retry_export: tuple[Path, Path] | None = None

        self.checkpoint_label = QLabel("Checkpoint")
        self.checkpoint_combo = QComboBox(minimumContentsLength=16)
        self.checkpoint_combo.setPlaceholderText("recent runs")
        self.load_button = QPushButton("Load checkpoint...")
        self.open_button = QPushButton("Open images...")
        self.folder_button = QPushButton("Open folder...")
        self.export_button = QPushButton("Export folder...")
        self.export_button.setToolTip("Predict every image of a folder: palette PNG masks and overlays")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(minimum=0, maximum=100, value=0, textVisible=True)
        self.progress.setFormat("")
        self.status = QLabel("Load a checkpoint (or train one), then open images.")
        self.truth_folder = PathField(
            "Mask folder with the ground truth", placeholder="found in the project's datasets"
        )
        self.truth_folder.setToolTip(
            "Empty: the ground truth of an image is looked up in every dataset of the project (their mask "
            "folders), then in the open dataset. Or choose a mask folder."
        )
        self.status.setWordWrap(True)

        self.image_list = QListWidget()
        self.image_list.setMinimumWidth(180)
        self.overlay_view = MaskViewer()
        self.compare_view = SideBySideView(left_title="Ground truth", right_title="Prediction")
        self.error_view = MaskViewer()
        self.error_legend = QLabel(_error_legend_html())
        self.tabs = QTabWidget()
        self.tabs.addTab(self.overlay_view, "Prediction")
        self.tabs.addTab(self.compare_view, "Ground truth | prediction")
        errors = QWidget()
        err_lay = QVBoxLayout(errors)
        err_lay.setContentsMargins(0, 0, 0, 0)
        err_lay.addWidget(self.error_legend)
        err_lay.addWidget(self.error_view, 1)
        self.tabs.addTab(errors, "Errors")

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.legend = LegendWidget()
        self.score_label = QLabel("")
        self.score_table = QTableWidget(0, 4)
        self.score_table.setHorizontalHeaderLabels(["Class", "IoU", "Truth px", "Pred. px"])
        self.score_table.verticalHeader().setVisible(False)
        self.score_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.score_table.setSortingEnabled(False)
        header = self.score_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.score_table.verticalHeader().setDefaultSectionSize(20)
        self._build_layout()

        self.load_button.clicked.connect(self._choose_checkpoint)
        self.open_button.clicked.connect(self._choose_images)
        self.folder_button.clicked.connect(self._choose_folder)
        self.export_button.clicked.connect(self._choose_export)
        self.cancel_button.clicked.connect(self.cancel)
        self.checkpoint_combo.activated.connect(self._on_recent_chosen)
        self.image_list.currentItemChanged.connect(self._on_image_selected)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.legend.hidden_changed.connect(self._on_hidden)
        self.state.checkpoint_changed.connect(self._on_state_checkpoint)
        self.state.run_dir_changed.connect(self._fill_recent)
        self.state.compare_requested.connect(self.show_compare)
        self.truth_folder.edit.editingFinished.connect(self._repredict)
        self.truth_folder.button.clicked.connect(self._repredict)
        self._fill_recent()

    def _build_layout(self) -> None:
        self._toolbar = QGridLayout()
        self._toolbar_narrow: bool | None = None
        self._arrange_toolbar(narrow=False)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        right = QWidget()
        r = QVBoxLayout(right)
        r.setContentsMargins(0, 0, 0, 0)
        r.addWidget(QLabel("Overlay opacity"))
        r.addWidget(self.opacity)
        r.addWidget(self.legend, 1)
        r.addWidget(self.score_label)
        r.addWidget(self.score_table, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.image_list)
        split.addWidget(self.tabs)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([200, 900, 300])
        self._split = split
        lay = QVBoxLayout(self)
        lay.addLayout(self._toolbar)
        truth_row = QHBoxLayout()
        truth_row.addWidget(QLabel("Ground truth"))
        truth_row.addWidget(self.truth_folder, 1)
        lay.addLayout(truth_row)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)

    def _arrange_toolbar(self, narrow: bool) -> None:
        """One row when wide; checkpoint, then buttons three to a row, in a narrow dock."""
        if narrow == self._toolbar_narrow:
            return
        self._toolbar_narrow = narrow
        grid = self._toolbar
        items = [
            self.checkpoint_label,
            self.checkpoint_combo,
            self.load_button,
            self.open_button,
            self.folder_button,
            self.export_button,
            self.cancel_button,
            self.progress,
        ]
        for w in items:
            grid.removeWidget(w)
        if not narrow:
            for col, w in enumerate(items):
                grid.addWidget(w, 0, col)
            return
        grid.addWidget(self.checkpoint_label, 0, 0)
        grid.addWidget(self.checkpoint_combo, 0, 1, 1, 2)
        for i, w in enumerate(items[2:7]):
            grid.addWidget(w, 1 + i // 3, i % 3)
        grid.addWidget(self.progress, 2, 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """List | views | legend when wide; stacked (views at least 400 px high) in a narrow dock."""
        narrow = is_narrow(event.size().width())
        self._arrange_toolbar(narrow)
        orient_splitter(self._split, narrow)
        self.tabs.setMinimumHeight(400 if narrow else 0)
        super().resizeEvent(event)

    # -- checkpoint ------------------------------------------------------------------------------

    def _fill_recent(self) -> None:
        self.checkpoint_combo.blockSignals(True)
        self.checkpoint_combo.clear()
        for run in recent_runs(self.state.settings):
            for ckpt in run_checkpoints(run):  # a stopped run lists its last.pt too
                self.checkpoint_combo.addItem(f"{run.name} / {ckpt.name}", str(ckpt))
        if self.checkpoint is not None:
            i = self.checkpoint_combo.findData(str(self.checkpoint))
            if i < 0:
                self.checkpoint_combo.addItem(
                    f"{self.checkpoint.parent.name} / {self.checkpoint.name}", str(self.checkpoint)
                )
                i = self.checkpoint_combo.count() - 1
            self.checkpoint_combo.setCurrentIndex(i)
        self.checkpoint_combo.blockSignals(False)

    def _on_recent_chosen(self, i: int) -> None:
        data = self.checkpoint_combo.itemData(i)
        if data:
            self.load_checkpoint(Path(data))

    def _on_state_checkpoint(self) -> None:
        if self.state.checkpoint_path is not None:
            self.load_checkpoint(self.state.checkpoint_path)

    def _choose_checkpoint(self) -> None:
        start = str(self.checkpoint.parent if self.checkpoint else Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a checkpoint", start, "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.load_checkpoint(Path(path))

    def load_checkpoint(self, path: Path) -> None:
        """Load the model once, in a worker; the current image is predicted again when it is ready."""
        preload_torch_modules()
        self.checkpoint = Path(path)
        self.predictor = None
        self._set_status(f"loading {self.checkpoint} ...")
        job = JobWorker(load_predictor, self.checkpoint)
        job.succeeded.connect(self._on_predictor)
        job.failed.connect(self._on_failed)
        job.done.connect(self._on_job_done)
        self._start(job)

    def _on_predictor(self, predictor: Any) -> None:
        self.predictor = predictor
        self.names, self.colors = class_table(getattr(predictor, "classes", []))
        self._fill_recent()
        self._set_status(f"checkpoint {self.checkpoint} ({len(self.names)} classes)")
        item = self.image_list.currentItem()
        if item is not None:
            self.request(Path(item.data(Qt.ItemDataRole.UserRole)))

    # -- images ----------------------------------------------------------------------------------

    def _choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Open images",
            str(self.state.images_dir or Path.home()),
            "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")",
        )
        if files:
            self.open_images([Path(f) for f in files])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", str(Path.home()))
        if folder:
            self.open_images(list_images(Path(folder)))

    def open_images(self, paths: Sequence[Path]) -> None:
        """List the images and show the first."""
        self.image_list.clear()
        for p in paths:
            item = QListWidgetItem(Path(p).name)
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            item.setToolTip(str(p))
            self.image_list.addItem(item)
        if paths:
            self.image_list.setCurrentRow(0)

    def show_compare(self, image_path: str) -> None:
        """Open one image in the ground truth | prediction view (from the Evaluate panel)."""
        path = Path(image_path)
        for i in range(self.image_list.count()):
            if self.image_list.item(i).data(Qt.ItemDataRole.UserRole) == str(path):
                self.image_list.setCurrentRow(i)
                break
        else:
            item = QListWidgetItem(path.name)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            self.image_list.addItem(item)
            self.image_list.setCurrentItem(item)
        self.tabs.setCurrentIndex(TAB_COMPARE)

    def restore(self, project: Project | None) -> None:
        """Ground truth comes from every dataset of the project (looked up per image); the recent runs."""
        self._fill_recent()

    def _repredict(self) -> None:
        """Another ground-truth folder: compare the current image again."""
        item = self.image_list.currentItem()
        if item is not None:
            self.request(Path(item.data(Qt.ItemDataRole.UserRole)))

    def _on_image_selected(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is not None:
            self.request(Path(item.data(Qt.ItemDataRole.UserRole)))

    def request(self, image_path: Path) -> None:
        """Predict ``image_path`` in the worker (the latest request wins while one runs)."""
        if self.predictor is None:
            if self._job is None:
                self._set_status("load a checkpoint to predict (Load checkpoint..., or train one)")
            return
        if self._job is not None:
            self._pending = image_path
            return
        project = self.state.project
        chosen = self.truth_folder.text()
        job = JobWorker(
            compare_in_project,
            self.predictor,
            list(self.names),
            image_path,
            Path(chosen).expanduser() if chosen else None,
            Project(project.file, project.name, list(project.datasets)) if project is not None else None,
            self.state.masks_dir,
            self.state.index,
            self.state.images_dir,
        )
        job.succeeded.connect(self._on_comparison)
        job.failed.connect(self._on_failed)
        job.done.connect(self._on_job_done)
        self._set_status(f"predicting {image_path.name} ...")
        self._start(job)

    def _start(self, job: JobWorker) -> None:
        self._job = job
        self.progress.setRange(0, 0)  # busy
        job.start()

    def _on_job_done(self) -> None:
        self._job = None
        self.progress.setRange(0, 100)
        pending, self._pending = self._pending, None
        if pending is not None:
            self.request(pending)

    def _on_failed(self, exc: BaseException) -> None:
        report = describe_error(exc)
        self.last_error = report.text()
        self.failed.emit(self.last_error)
        self._set_status(
            f"<b>{html.escape(report.title)}</b>: {html.escape(report.message)}"
            + (f" <i>Hint: {html.escape(report.hint)}</i>" if report.hint else ""),
            error=True,
        )

    # -- showing ---------------------------------------------------------------------------------

    def _on_comparison(self, c: Comparison) -> None:
        self.comparison = c
        self.overlay_view.set_image(c.rgb)
        names = dict(enumerate(self.names))
        self.overlay_view.set_mask(c.pred, self.colors, names)
        if c.truth is not None:
            self.compare_view.set_titles(f"Ground truth ({c.truth_source})", "Prediction")
            self.compare_view.set_left(c.rgb, c.truth, self.colors, names)
        else:
            self.compare_view.set_titles("No ground truth for this image", "Prediction")
            self.compare_view.set_left(c.rgb, None, names=names)
        self.compare_view.set_right(c.rgb, c.pred, self.colors, names)
        self.error_view.set_image(c.rgb)
        self.error_view.set_mask(c.errors, error_colors())
        self.error_legend.setText(_error_legend_html(c))
        self.legend.set_classes(_legend_rows(c.pred, c.truth, self.names, self.colors))
        self._on_opacity(self.opacity.value())
        self._on_hidden(self.legend.hidden())
        self._fill_scores(c)
        self._set_status(
            f"{c.image_path}"
            + (
                f"  -  ground truth from the {c.truth_source}"
                if c.truth_source
                else "  -  no ground truth (not in the open dataset or masks)"
            )
        )
        self.comparison_shown.emit(c)

    def _fill_scores(self, c: Comparison) -> None:
        self.score_table.setRowCount(len(c.scores))
        for row, s in enumerate(c.scores):
            name = QTableWidgetItem(s.name)
            r, g, b = (int(v) for v in self.colors[s.index])
            name.setData(Qt.ItemDataRole.DecorationRole, QColor(r, g, b))
            cells = [
                name,
                QTableWidgetItem(f"{s.iou:.3f}" if s.iou is not None else "-"),
                QTableWidgetItem(str(s.truth_pixels)),
                QTableWidgetItem(str(s.pred_pixels)),
            ]
            for col, cell in enumerate(cells):
                if col:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.score_table.setItem(row, col, cell)
        m = mean_iou(c.scores)
        self.score_label.setText(
            f"Image mIoU {m:.3f} over {len(c.scores)} classes" if m is not None else "No ground truth: no IoU"
        )

    def _on_opacity(self, value: int) -> None:
        a = value / 100.0
        self.overlay_view.set_opacity(a)
        self.compare_view.set_opacity(a)
        self.error_view.set_opacity(a)

    def _on_hidden(self, hidden: set[int]) -> None:
        self.overlay_view.set_hidden_classes(hidden)
        self.compare_view.set_hidden_classes(hidden)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #8a1010;" if error else "")
        self.status.setText(text)

    # -- export ----------------------------------------------------------------------------------

    def _choose_export(self) -> None:
        if self.checkpoint is None:
            self._set_status("load a checkpoint first", error=True)
            return
        src = QFileDialog.getExistingDirectory(self, "Folder of images to predict", str(Path.home()))
        if not src:
            return
        # not src itself: predictions are never written into the input folder (core.predict_output)
        start = str(Path(src).parent)
        dst = QFileDialog.getExistingDirectory(self, "Where to write masks and overlays", start)
        if dst:
            self.export(Path(src), Path(dst))

    def _ground_truth_folders(self) -> list[Path]:
        """The open dataset's images and the open mask folder: never an export destination."""
        return [p for p in (self.state.images_dir, self.state.masks_dir) if p is not None]

    def export(self, inputs: Path, out: Path, overwrite: bool = False) -> JobWorker | None:
        """Predict every image of ``inputs`` into ``out`` (palette PNG masks and overlays), with progress.

        ``out`` may not hold inputs or ground truth; files there that predict did not write are
        replaced only after the user agrees (``overwrite``).
        """
        if self.checkpoint is None or self._export_job is not None:
            return None
        preload_torch_modules()
        from cocoseg_gui.core.training.predict import predict_files

        job = JobWorker(
            predict_files, self.checkpoint, [inputs], out, overlay=True, overwrite=overwrite,
            ground_truth=self._ground_truth_folders(), overwrite_hint=GUI_OVERWRITE_HINT,
        )  # fmt: skip
        job.progress.connect(self._on_export_progress)
        job.succeeded.connect(lambda _r: self._set_status(f"exported predictions to {out}"))
        job.failed.connect(lambda exc: self._on_export_failed(exc, inputs, out))
        job.cancelled.connect(lambda: self._set_status("export cancelled (finished files are kept)"))
        job.done.connect(self._on_export_done)
        self._export_job = job
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(False)
        job.start()
        return job

    def _on_export_failed(self, exc: BaseException, inputs: Path, out: Path) -> None:
        from cocoseg_gui.core.training.predict_output import ForeignFilesError

        self._on_failed(exc)
        if isinstance(exc, ForeignFilesError) and self._confirm_overwrite(exc):
            # the job's done signal comes after failed: start the overwriting export once it is clear
            self._retry_export = (inputs, out)

    def _confirm_overwrite(self, exc: BaseException) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace files?",
            f"{exc}\n\nReplace these files with predicted masks and overlays?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_export_progress(self, p: Progress) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.progress.setFormat(describe_progress(p))

    def _on_export_done(self) -> None:
        self._export_job = None
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(True)
        retry, self._retry_export = self._retry_export, None
        if retry is not None:
            self.export(*retry, overwrite=True)

    def cancel(self) -> None:
        if self._export_job is not None:
            self._export_job.cancel()

    def wait(self, msecs: int = 60000) -> None:
        for job in (self._job, self._export_job):
            if job is not None:
                job.wait(msecs)

    # -- the Workspace protocol (gui/workspaces/protocol.py) --------------------------------------

    def busy_job(self) -> str | None:
        """An export (a folder of images) is a long job; a model load or one prediction is not."""
        return "prediction export" if self._export_job is not None else None

    def stop(self) -> None:
        """Cancel an export (the Cancel button) and drop a queued prediction; a model load goes on."""
        self._pending = None
        self.cancel()

    def shutdown(self) -> None:
        """The app is closing: stop an export, let a model load or prediction end, drop what is queued."""
        self._pending = None
        for job in (self._job, self._export_job):
            if job is not None:
                job.cancel()
        self.wait(120000)

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """The compare view of a demo image predicted by the demo checkpoint."""
        if demo.masks_dir is None or demo.checkpoint is None:
            done()
            return
        paths = [p for s in MaskDatasetFolder(demo.masks_dir).samples() if (p := s.image_path) is not None]
        if not paths:
            done()
            return
        image = paths[min(3, len(paths) - 1)]
        self.comparison_shown.connect(lambda c: done() if c.image_path == image else None)
        self.failed.connect(lambda _message: done())
        self.open_images(paths)
        self.show_compare(str(image))
        if self.checkpoint != demo.checkpoint:
            self.load_checkpoint(demo.checkpoint)
        elif self.predictor is None and self._job is None:
            done()  # its load already failed (a garbage or pickled checkpoint): the problem is shown


def _legend_rows(
    pred: np.ndarray, truth: np.ndarray | None, names: list[str], colors: np.ndarray
) -> list[Any]:
    """Legend rows of the classes in the prediction or the truth, with their share of the prediction."""
    named = dict(enumerate(names))
    entries = {e[0]: e for e in legend_entries(pred, named, colors)}
    if truth is not None:
        for e in legend_entries(truth, named, colors):
            if e[0] not in entries and e[0] != 255:
                entries[e[0]] = (e[0], e[1], e[2], 0.0)
    return [entries[k] for k in sorted(entries)]


def _error_legend_html(c: Comparison | None = None) -> str:
    parts = []
    counts = None
    if c is not None and c.errors is not None:
        counts = np.bincount(c.errors.ravel(), minlength=4)
    for value, name, (r, g, b) in ERROR_LEGEND:
        share = f" {100 * counts[value] / max(counts.sum(), 1):.1f}%" if counts is not None else ""
        parts.append(f'<span style="color: rgb({r},{g},{b}); font-size: 14pt;">&#9632;</span> {name}{share}')
    if c is not None and c.errors is None:
        parts.append("<i>(no ground truth for this image)</i>")
    return "&nbsp;&nbsp;&nbsp;".join(parts)
