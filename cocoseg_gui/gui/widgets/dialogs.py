"""Small dialogs: errors (naming the file and the problem), keyboard shortcuts help, About."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui import __version__
from cocoseg_gui.core.errors import CocoSegError, describe_os_error
from cocoseg_gui.core.jobs import Progress
from cocoseg_gui.gui.services.error_hints import gui_wording
from cocoseg_gui.gui.services.workers import JobWorker, describe_progress


def error_text(error: BaseException | str) -> str:
    """What the user reads: our errors as they are, anything else with its type; the GUI's words, no flags."""
    return gui_wording(_plain_text(error))


def _plain_text(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, CocoSegError):
        return str(error)
    if isinstance(error, OSError) and (error.filename or error.strerror):
        return describe_os_error(error)
    return f"{type(error).__name__}: {error}"


def browse_row(edit: QLineEdit, *buttons: QPushButton) -> QWidget:
    """A path field and its Browse… button (and any other, e.g. Clear) on one form row (the dialogs that
    ask for files or folders)."""
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    for button in buttons:
        lay.addWidget(button)
    return row


def show_error(parent: QWidget | None, title: str, error: BaseException | str) -> None:
    """A modal error box (tests patch ``QMessageBox.critical`` to record instead of blocking)."""
    QMessageBox.critical(parent, title, error_text(error))


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(
        parent,
        "About cocoseg",
        f"<b>cocoseg {__version__}</b><p>A workbench for COCO semantic segmentation: browse images with "
        "their masks, generate multi-class masks, train, predict and compare.</p>"
        "<p>Demo images and annotations: COCO 2017 (CC BY 4.0).</p>",
    )


class ShortcutsDialog(QDialog):
    """A two-column table of the window's keyboard shortcuts."""

    def __init__(self, shortcuts: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(shortcuts), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for row, (keys, action) in enumerate(shortcuts):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(action))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 420)


def ask_unsaved_edits(parent: QWidget | None, files: list[str]) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel before quitting with unsaved mask edits (the files named)."""
    shown = "\n".join(files[:10]) + (f"\n… and {len(files) - 10} more" if len(files) > 10 else "")
    buttons = QMessageBox.StandardButton
    return QMessageBox.question(
        parent,
        "Unsaved mask edits",
        f"The masks of these images have unsaved edits:\n\n{shown}\n\nSave them before quitting?",
        buttons.Save | buttons.Discard | buttons.Cancel,
        buttons.Save,
    )


def confirm_quit(parent: QWidget | None, jobs: list[str]) -> bool:
    """Ask before quitting while ``jobs`` run; stopped training keeps last.pt, masks resume on rerun."""
    answer = QMessageBox.question(
        parent,
        "Quit cocoseg",
        f"{' and '.join(jobs).capitalize()} still running.\n\n"
        "Quit anyway? Training stops after the current step and saves last.pt (resume it later "
        "from the Train panel); mask generation keeps the masks written so far and resumes on rerun.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def job_progress_dialog(
    parent: QWidget, text: str, title: str, job: JobWorker, unit: str = "images"
) -> QProgressDialog:
    """A non-modal busy/progress dialog that follows ``job``'s progress (counted in ``unit``) and whose
    Cancel cancels it (it stays until the job's end closes it: no auto close or reset, so a late progress
    value cannot reopen or hide it)."""
    dialog = QProgressDialog(text, "Cancel", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(job.cancel)

    def follow(event: Progress) -> None:
        dialog.setRange(0, max(event.total, 0))
        dialog.setValue(event.done)
        dialog.setLabelText(describe_progress(event, unit))

    job.progress.connect(follow)
    return dialog
