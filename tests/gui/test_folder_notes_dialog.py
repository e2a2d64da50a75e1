"""The repair notes' message box opens over its window (a parent was passed where Qt wants buttons)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from cocoseg_gui.gui.widgets.edit_saving import tell_notes


def test_repair_notes_open_over_their_window(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    seen: list[tuple[str, bool, str]] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append((box.objectName(), box.parent() is window, box.text()))
        box.done(0)

    QTimer.singleShot(0, answer)
    tell_notes(window, ["edited.json was damaged", "2 records recovered"])
    assert seen == [("folder_notes", True, "edited.json was damaged\n\n2 records recovered")]
