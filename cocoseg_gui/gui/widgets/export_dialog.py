"""File › Export labels…: the open mask folder -> a label format of core/formats/registry.py (ADR 0036).

COCO (ADR 0015) keeps its own rows: the original annotations (unchanged images keep their objects) and RLE
or polygons; the other formats write a folder. The export runs in a ``JobWorker`` with progress and Cancel
in the dialog; the summary that follows is in the GUI's words (``export_summary``), errors name the file
and what to do, never a command-line flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.files.output_guard import OutputExists
from cocoseg_gui.core.formats.coco_export_report import ExportReport
from cocoseg_gui.core.formats.export_job import ExportResult, export_labels
from cocoseg_gui.core.formats.export_request import ExportRequest
from cocoseg_gui.core.formats.registry import COCO, LabelFormat, exportable, label_format
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import browse_row, error_text

SEGMENTATIONS = (("rle", "RLE (exact)"), ("polygon", "Polygons (objects with holes stay RLE)"))


def default_output(masks: Path, fmt: LabelFormat | None = None) -> Path:
    """Next to the mask folder, never inside it: ``<folder>-coco.json`` for COCO, a ``<folder>-<format>``
    folder for the others (``-2``... when taken)."""
    fmt = fmt or label_format(COCO)
    suffix = ".json" if fmt.dest == "file" else ""
    base, n = masks.parent / f"{masks.name}-{fmt.name.replace('_', '-')}", 1
    while True:
        out = Path(f"{base}{'' if n == 1 else f'-{n}'}{suffix}")
        if not out.exists():
            return out
        n += 1


def result_summary(result: ExportResult) -> str:
    """COCO's report in words, or what another format wrote, left out and approximated."""
    if result.coco is not None:
        return export_summary(result.coco)
    lines = [f"Wrote {result.images} images ({result.files} files) to {result.out} as {result.format}."]
    if result.skipped:
        lines.append(
            f"{len(result.skipped)} left out, e.g. {result.skipped[0].subject}: {result.skipped[0].reason}"
        )
    lines += [f"Note: {n}" for n in result.notes[:5]]
    return "\n".join(lines)


def export_summary(rep: ExportReport) -> str:
    """The report in words: what was written, what was edited, fallbacks and the redraw check."""
    if rep.from_scratch:
        lines = [f"Wrote {rep.images} images, each from its mask, to {rep.out}."]
    else:
        lines = [
            f"Wrote {rep.images} images to {rep.out}: {rep.edited} edited (their objects come from the "
            f"masks), {rep.unchanged} unchanged (their original annotations kept as they were)"
            + (f", {rep.new_images} new" if rep.new_images else "")
            + (f", {rep.without_mask} without a mask (kept as they were)" if rep.without_mask else "")
            + "."
        ]
    lines.append(f"{rep.annotations} annotations, {rep.components} of them objects drawn from the masks.")
    if rep.format == "polygon" and rep.components:
        fallbacks = sum(rep.rle_fallbacks.values())
        lines.append(
            f"{rep.polygons} polygons; {fallbacks} objects with holes were written as RLE instead (a COCO "
            "polygon cannot hold a hole)."
            if fallbacks
            else f"{rep.polygons} polygons."
        )
    if rep.iou:
        exact = "every image redrawn exactly" if not rep.inexact else f"{len(rep.inexact)} not exactly"
        lines.append(
            f"Check: the written annotations redraw the masks with mean IoU {rep.mean_iou:.4f} "
            f"(lowest {rep.min_iou:.4f}; {exact})."
        )
    lines += [f"Note: {error_text(w)}" for w in rep.warnings[:5]]
    return "\n".join(lines)


class ExportDialog(QDialog):
    """Mask folder (the open one), format, output; for COCO the original annotations (optional) and RLE or
    polygons; Export, with progress and Cancel."""

    def __init__(
        self, masks: Path, annotations: Path | None, parent: QWidget | None = None, fmt: str = COCO
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self.masks = Path(masks)
        self.report: ExportReport | None = None  # COCO's report
        self.result: ExportResult | None = None  # type: ignore[assignment]  # hides QDialog.result()
        self.worker: JobWorker | None = None
        self._confirmed_out: Path | None = None  # a file the user agreed to replace (the file dialog asked)
        self._retry = False
        self.masks_label = QLabel(str(self.masks))
        self.masks_label.setWordWrap(True)
        self.use_original = QCheckBox("Keep the annotations of unchanged images from")
        self.use_original.setObjectName("export_use_original")
        self.use_original.setToolTip(
            "Images whose mask still equals what their original annotations draw keep those annotations; "
            "edited images get one object per connected region per class. Untick for images labelled from "
            "scratch: every image is written from its mask."
        )
        self.original_edit = QLineEdit(str(annotations) if annotations is not None else "")
        self.original_edit.setObjectName("export_original")
        self.use_original.setChecked(annotations is not None)
        self.use_original.toggled.connect(self.original_edit.setEnabled)
        self.original_edit.setEnabled(annotations is not None)
        browse_original = QPushButton("Browse…")
        browse_original.clicked.connect(self._browse_original)
        self.label_format_combo = QComboBox()
        self.label_format_combo.setObjectName("export_label_format")
        for f in exportable():
            self.label_format_combo.addItem(
                f.title if f.available else f"{f.title} (not in this build)", f.name
            )
            model = self.label_format_combo.model()
            assert isinstance(model, QStandardItemModel)  # a combo box's own model
            item = model.item(self.label_format_combo.count() - 1)
            item.setEnabled(f.available)
            item.setToolTip(f"Loses: {f.loses}")
        self.label_format_combo.setCurrentIndex(
            max(0, self.label_format_combo.findData(label_format(fmt).name))
        )
        self.loses_label = QLabel()
        self.loses_label.setWordWrap(True)
        self.out_edit = QLineEdit(str(default_output(self.masks, self.label_format())))
        self.out_edit.setObjectName("export_out")
        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._browse_out)
        self.format_combo = QComboBox()  # COCO's segmentations
        self.format_combo.setObjectName("export_format")
        for key, text in SEGMENTATIONS:
            self.format_combo.addItem(text, key)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel()
        self.summary.setObjectName("export_summary")
        self.summary.setWordWrap(True)
        form = QFormLayout()
        self.form = form
        form.addRow("Mask folder", self.masks_label)
        form.addRow("Format", self.label_format_combo)
        form.addRow("", self.loses_label)
        form.addRow(self.use_original)
        self._original_row = browse_row(self.original_edit, browse_original)
        form.addRow("Original annotations", self._original_row)
        self.out_label = QLabel("Output file")
        form.addRow(self.out_label, browse_row(self.out_edit, browse_out))
        form.addRow("Objects as", self.format_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setObjectName("export_start")
        self.export_button.setDefault(True)  # Return exports
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self._close_or_cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addWidget(self.buttons)
        self.label_format_combo.currentIndexChanged.connect(lambda _i: self._on_format_changed())
        self._on_format_changed()
        self.resize(620, self.sizeHint().height())

    def label_format(self) -> LabelFormat:
        return label_format(str(self.label_format_combo.currentData()))

    def _on_format_changed(self) -> None:
        """COCO's rows only for COCO; a file or a folder as output; the default output follows the format
        until the user typed one."""
        fmt = self.label_format()
        coco = fmt.name == COCO
        for widget in (self.use_original, self._original_row, self.format_combo):
            self.form.setRowVisible(widget, coco)
        self.out_label.setText("Output file" if fmt.dest == "file" else "Output folder")
        self.loses_label.setText(f"Loses: {fmt.loses}")
        if not self.out_edit.isModified():
            self.out_edit.setText(str(default_output(self.masks, fmt)))
        if self.isVisible():  # the rows hidden or shown: no empty room left behind
            self.resize(self.width(), self.sizeHint().height())

    def _browse_original(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Original COCO annotations", self.original_edit.text(), "COCO JSON (*.json)"
        )
        if path:
            self.original_edit.setText(path)

    def _browse_out(self) -> None:
        if self.label_format().dest != "file":
            path = QFileDialog.getExistingDirectory(
                self, "Export into", str(Path(self.out_edit.text()).parent)
            )
            if path:
                self.out_edit.setText(path)
                self.out_edit.setModified(True)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.out_edit.text(), "COCO JSON (*.json)")
        if path:
            self.out_edit.setText(path)
            self.out_edit.setModified(True)
            self._confirmed_out = Path(path)  # the save dialog asked before choosing an existing file

    def start(self, overwrite: bool = False) -> None:
        """Export (the button): validate the fields, then run the export as a job.

        The output guard runs first in the job: an existing output file is replaced only after the user
        agreed (the save dialog's question, or ours after the job refused it); inputs never are."""
        if self.worker is not None:
            return
        self.report = self.result = None
        fmt = self.label_format()
        request = self.request()
        try:
            out, original = request.checked()
        except OptionsError as exc:
            self._problem(str(exc))
            return
        self.summary.setText("Exporting…")
        self.summary.setStyleSheet("")
        self.worker = JobWorker(
            export_labels,
            self.masks,
            fmt,
            out,
            original,
            request.segmentation,
            overwrite=overwrite or (request.coco and out == self._confirmed_out),
        )
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_done_ok)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(lambda: self._problem("Export cancelled: nothing was written."))
        self.worker.done.connect(self._on_done)
        self.export_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("Cancel")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.worker.start()

    def request(self) -> ExportRequest:
        """The fields as they are now (``ExportRequest.checked()`` checks them)."""
        return ExportRequest(
            self.out_edit.text(),
            self.use_original.isChecked(),
            self.original_edit.text(),
            str(self.format_combo.currentData()),
            self.label_format().name,
        )

    def _problem(self, text: str) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b00020")

    def _on_progress(self, event: Any) -> None:
        if isinstance(event, Progress) and event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)

    def _on_done_ok(self, result: ExportResult) -> None:
        self.result, self.report = result, result.coco
        self.summary.setText(result_summary(result))

    def _on_failed(self, exc: BaseException) -> None:
        if isinstance(exc, OutputExists):
            self._problem(f"Nothing was exported: {exc.path} already exists.")
            self._retry = self._confirm_replace(exc.path)
            return
        self._problem(f"Nothing was exported: {error_text(exc)}")

    def _confirm_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace the file?",
            f"{path} already exists.\n\nReplace it (and any other file an earlier export wrote there) with "
            "the export?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_done(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("Close")
        retry, self._retry = self._retry, False
        if retry:  # the job's done signal comes after failed: start the replacing export now
            self.start(overwrite=True)

    def _close_or_cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            return
        self.reject()

    def busy(self) -> bool:
        return self.worker is not None
