"""The autouse guard of every GUI test: an unexpected question or an unanswered modal dialog fails at
once (a failing editor test used to hang on the unsaved-edits question when its window closed)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.gui import window_helpers


def test_a_static_question_fails_instead_of_waiting(no_blocking_dialogs: list[str]) -> None:
    buttons = QMessageBox.StandardButton
    with pytest.raises(AssertionError, match="unexpected question dialog: Unsaved mask edits"):
        QMessageBox.question(None, "Unsaved mask edits", "Save them?", buttons.Save | buttons.Cancel)
    with pytest.raises(AssertionError, match="unexpected file"):
        QFileDialog.getExistingDirectory(None, "Save elsewhere")
    assert no_blocking_dialogs == ["Save them?", ""]


def test_an_unanswered_modal_dialog_is_closed_and_fails(qtbot, monkeypatch, no_blocking_dialogs) -> None:
    monkeypatch.setattr(window_helpers, "MODAL_WAIT_MS", 50)
    box = QMessageBox(QMessageBox.Icon.Question, "Role", "Train or evaluate?")
    qtbot.addWidget(box)
    with pytest.raises(AssertionError, match="unanswered modal dialog: Role: Train or evaluate"):
        box.exec()
    assert not box.isVisible()


def test_a_modal_dialog_a_test_answers_still_works(qtbot, no_blocking_dialogs) -> None:
    box = QMessageBox(QMessageBox.Icon.Question, "Role", "Train or evaluate?")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    qtbot.addWidget(box)
    QTimer.singleShot(0, lambda: box.button(QMessageBox.StandardButton.No).click())
    assert box.exec() == QMessageBox.StandardButton.No
    assert no_blocking_dialogs == []
