"""Edit › Preferences…: the settings a user otherwise cannot find in one place, edited as a
``services.preferences.Preferences`` record; OK hands the new record back, Cancel changes nothing.

The click-to-segment weights file is recognised as soon as it is chosen (core's reader: the model's
name, or its message naming the file and the problem). That reads the whole file (2.5 GB for SAM
ViT-H), so it runs in a ``JobWorker``; OK waits for the answer and refuses a file that is not SAM
weights, so a bad file is met here rather than at the next click.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.gui.services.preferences import Preferences
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import browse_row, error_text
from cocoseg_gui.gui.widgets.segment_tool import WEIGHTS_FILTER, missing_packages, unavailable_tip

PROBLEM_STYLE = "color: #8a1010"


def recognise_weights(path: Path, **_job: Any) -> str:
    """The model ``path`` holds, in words; core's DatasetError (naming the file) if not SAM weights."""
    from cocoseg_gui.core.segment.weights import read_sam_weights

    return str(read_sam_weights(path).kind)


class PreferencesDialog(QDialog):
    """The weights file (Browse…, Clear, what it is), overlay opacity, autosave, the label-error
    outlines and the projects folder."""

    checked = Signal()  # a weights check ended and its answer is shown (tests wait on it)

    def __init__(self, current: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.current = current
        self._job: JobWorker | None = None
        self._checked_path: Path | None = None  # the weights file the shown answer is about
        self._weights_ok = True

        self.weights = QLineEdit(str(current.sam_weights or ""))
        self.weights.setPlaceholderText("none: click to segment (A) asks for one")
        self.weights.editingFinished.connect(self._check_weights)
        self.browse_weights = QPushButton("Browse…")
        self.browse_weights.clicked.connect(self._choose_weights)
        self.clear_weights = QPushButton("Clear")
        self.clear_weights.clicked.connect(lambda: self._set_weights(""))
        self.weights_info = QLabel()
        self.weights_info.setWordWrap(True)
        sam = QGroupBox("Click to segment (A in Edit mode)")
        sam_form = QFormLayout(sam)
        sam_form.addRow("Weights file", browse_row(self.weights, self.browse_weights, self.clear_weights))
        sam_form.addRow("", self.weights_info)
        if missing_packages():
            note = QLabel(unavailable_tip())
            note.setWordWrap(True)
            sam_form.addRow("", note)

        self.opacity = QSpinBox()
        self.opacity.setRange(0, 100)
        self.opacity.setSingleStep(10)
        self.opacity.setSuffix(" %")
        self.opacity.setValue(round(current.opacity * 100))
        self.opacity.setMaximumWidth(self.opacity.sizeHint().width() + 20)  # a number, not a field's width
        self.opacity.setToolTip("How opaque the mask is over the image (also [ and ] in the image view)")
        self.autosave = QCheckBox("Save edits when switching images")
        self.autosave.setChecked(current.autosave)
        self.autosave.setToolTip("Off: you are asked whether to save an edited mask before another image")
        self.outlines = QCheckBox("Outline likely label errors")
        self.outlines.setChecked(current.outline_issues)
        self.outlines.setToolTip("Boxes around the shown image's suspicious regions (Tools › Find likely…)")
        view = QGroupBox("Images && masks")
        view_form = QFormLayout(view)
        view_form.addRow("Overlay opacity", self.opacity)
        view_form.addRow("", self.autosave)
        view_form.addRow("", self.outlines)

        self.projects_root = QLineEdit(str(current.projects_root))
        self.projects_root.setToolTip("A dataset opened on its own gets its project in a folder here")
        self.browse_root = QPushButton("Browse…")
        self.browse_root.clicked.connect(self._choose_root)
        projects = QGroupBox("Projects")
        projects_form = QFormLayout(projects)
        projects_form.addRow("Projects folder", browse_row(self.projects_root, self.browse_root))

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        for part in (sam, view, projects):
            lay.addWidget(part)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())
        self._check_weights()

    # ------------------------------------------------------------------------------------ weights
    def _choose_weights(self) -> None:
        start = str(Path(self.weights.text()).parent) if self.weights.text() else ""
        path, _filter = QFileDialog.getOpenFileName(self, "SAM / MobileSAM weights", start, WEIGHTS_FILTER)
        if path:
            self._set_weights(path)

    def _set_weights(self, text: str) -> None:
        self.weights.setText(text)
        self._check_weights()

    def weights_path(self) -> Path | None:
        text = self.weights.text().strip()
        return Path(text).expanduser() if text else None

    def _check_weights(self) -> None:
        """What the chosen file is, found in the worker (a previous check's answer is dropped)."""
        path = self.weights_path()
        if path == self._checked_path and self._job is None and self.weights_info.text():
            return
        if self._job is not None:
            self._job.cancel()
        self._checked_path, self._job = path, None
        if path is None:
            self._answer(True, "No weights file: click to segment asks for one when chosen")
            return
        self._answer(None, f"Checking {path.name}…")
        job = JobWorker(recognise_weights, path)
        self._job = job

        def succeeded(kind: object) -> None:
            if self._job is job:
                self._answer(True, f"{kind}")

        def failed(exc: object) -> None:
            if self._job is job:
                self._answer(False, error_text(exc))  # type: ignore[arg-type]

        def done() -> None:
            if self._job is job:
                self._job = None
                self.checked.emit()

        job.succeeded.connect(succeeded)
        job.failed.connect(failed)
        job.done.connect(done)
        job.start()

    def _answer(self, ok: bool | None, text: str) -> None:
        """``ok`` None: still checking (OK waits)."""
        self._weights_ok = bool(ok)
        self.weights_info.setText(text)
        self.weights_info.setStyleSheet(PROBLEM_STYLE if ok is False else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(ok))
        if ok is None:
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip("Checking the weights file…")
        else:
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip("")

    # ------------------------------------------------------------------------------------ projects
    def _choose_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Projects folder", self.projects_root.text())
        if folder:
            self.projects_root.setText(folder)

    # ------------------------------------------------------------------------------------ result
    def preferences(self) -> Preferences:
        """The record the fields show (the weights as typed: check them with OK)."""
        root = self.projects_root.text().strip()
        percent = self.opacity.value()
        unchanged = percent == round(self.current.opacity * 100)  # then the exact value stays
        return Preferences(
            sam_weights=self.weights_path(),
            opacity=self.current.opacity if unchanged else percent / 100,
            autosave=self.autosave.isChecked(),
            outline_issues=self.outlines.isChecked(),
            projects_root=Path(root).expanduser() if root else self.current.projects_root,
        )

    def _accept(self) -> None:
        if self.weights_path() != self._checked_path:
            self._check_weights()  # typed and OK pressed at once: answer first
            return
        if not self._weights_ok:
            self.weights.setFocus()
            return  # the reason is shown under the field
        self.accept()

    def done(self, result: int) -> None:
        if self._job is not None:  # closed while checking: its answer is not wanted
            self._job.cancel()
            self._job = None
        super().done(result)
