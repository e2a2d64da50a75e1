"""File › Export to COCO: the open mask folder -> a COCO instances JSON (ADR 0015).

The export runs in a ``JobWorker`` (it redraws every image to find the edited ones), with progress and
Cancel in the dialog; the summary that follows is in the GUI's words (``export_summary``), errors name the
file and what to do, never a command-line flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
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
from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.formats.coco_export_report import ExportReport
from cocoseg_gui.core.formats.export_request import ExportRequest
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import error_text

FORMATS = (("rle", "RLE (exact)"), ("polygon", "Polygons (objects with holes stay RLE)"))


def default_output(masks: Path) -> Path:
    """Next to the mask folder, never inside it: ``<folder>-coco.json`` (``-2``... when taken)."""
    base, n = masks.parent / f"{masks.name}-coco", 1
    while True:
        out = Path(f"{base}{'' if n == 1 else f'-{n}'}.json")
        if not out.exists():
            return out
        n += 1


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


def _browse_row(edit: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    lay.addWidget(button)
    return row


class ExportCocoDialog(QDialog):
    """Mask folder (the open one), original annotations (optional), output file, format; Export."""

    def __init__(self, masks: Path, annotations: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export to COCO")
        self.masks = Path(masks)
        self.report: ExportReport | None = None
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
        self.out_edit = QLineEdit(str(default_output(self.masks)))
        self.out_edit.setObjectName("export_out")
        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._browse_out)
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("export_format")
        for key, text in FORMATS:
            self.format_combo.addItem(text, key)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel()
        self.summary.setObjectName("export_summary")
        self.summary.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Mask folder", self.masks_label)
        form.addRow(self.use_original)
        form.addRow("Original annotations", _browse_row(self.original_edit, browse_original))
        form.addRow("Output file", _browse_row(self.out_edit, browse_out))
        form.addRow("Format", self.format_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setObjectName("export_start")
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self._close_or_cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addWidget(self.buttons)
        self.resize(620, self.sizeHint().height())

    def _browse_original(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Original COCO annotations", self.original_edit.text(), "COCO JSON (*.json)"
        )
        if path:
            self.original_edit.setText(path)

    def _browse_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.out_edit.text(), "COCO JSON (*.json)")
        if path:
            self.out_edit.setText(path)
            self._confirmed_out = Path(path)  # the save dialog asked before choosing an existing file

    def start(self, overwrite: bool = False) -> None:
        """Export (the button): validate the fields, then run the export as a job.

        The output guard runs first in the job: an existing output file is replaced only after the user
        agreed (the save dialog's question, or ours after the job refused it); inputs never are."""
        if self.worker is not None:
            return
        self.report = None
        request = self.request()
        try:
            out, original = request.checked()
        except OptionsError as exc:
            self._problem(str(exc))
            return
        self.summary.setText("Exporting…")
        self.summary.setStyleSheet("")
        self.worker = JobWorker(
            export_coco,
            self.masks,
            out,
            original,
            request.format,
            overwrite=overwrite or out == self._confirmed_out,
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
        )

    def _problem(self, text: str) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b00020")

    def _on_progress(self, event: Any) -> None:
        if isinstance(event, Progress) and event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)

    def _on_done_ok(self, rep: ExportReport) -> None:
        self.report = rep
        self.summary.setText(export_summary(rep))

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
            f"{path} already exists.\n\nReplace it with the export?",
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
