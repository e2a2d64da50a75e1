"""Helpers to open the workbench window in tests with temporary settings and index cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from cocoseg_gui.gui.main_window import DEFAULT_WINDOW_SIZE, MainWindow
from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY, AppState

WAIT_MS = 60000  # a dataset load + first image on a loaded 2-core machine; a pass costs nothing


def make_window(qtbot, tmp_path: Path, settings_name: str = "settings.ini") -> MainWindow:
    """A shown window whose QSettings and index cache live under ``tmp_path`` (never the user's)."""
    settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
    settings.setValue(PROJECTS_ROOT_KEY, str(tmp_path / "projects"))  # implicit projects: never ~/
    window = MainWindow(AppState(settings), index_cache_dir=tmp_path / "index_cache")
    if settings.value("window/geometry") is None:  # offscreen's 800x800 screen would bound the default
        window.resize(DEFAULT_WINDOW_SIZE)
    qtbot.addWidget(window)
    window.show()
    return window


def open_and_wait(qtbot, window: MainWindow, annotations: Path, images: Path | None = None) -> None:
    """Open a dataset and wait until it is loaded and its first image shown."""
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(annotations, images)


MODAL_WAIT_MS = WAIT_MS  # a modal dialog nobody answers within this is closed and fails the test


def _describe(dialog: QDialog) -> str:
    text = dialog.text() if isinstance(dialog, QMessageBox) else ""
    return f"{dialog.windowTitle()}: {text}".strip(": ")


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch) -> list[str]:
    """An unexpected dialog fails the test at once instead of blocking it (tests expecting one patch again).

    A static question, warning, information, error or file dialog raises AssertionError (e.g. the unsaved
    edits question when a failing editor test closes its window); a modal ``exec()`` that nobody answers
    (tests answer theirs from a timer) is closed after MODAL_WAIT_MS and then fails the same way."""
    shown: list[str] = []

    def refuse(kind: str):  # type: ignore[no-untyped-def]
        def record(parent, title, text="", *args, **kwargs):  # type: ignore[no-untyped-def]
            shown.append(text)
            raise AssertionError(f"unexpected {kind} dialog: {title}: {text}")

        return record

    for kind in ("critical", "question", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, refuse(kind))
    for kind in ("getExistingDirectory", "getOpenFileName", "getOpenFileNames", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, kind, refuse(f"file ({kind})"))

    def guarded(real):  # type: ignore[no-untyped-def]
        def exec_(self):  # type: ignore[no-untyped-def]
            unanswered: list[str] = []

            def give_up() -> None:
                unanswered.append(_describe(self))
                self.done(0)

            watchdog = QTimer(singleShot=True, interval=MODAL_WAIT_MS)
            watchdog.timeout.connect(give_up)
            watchdog.start()
            try:
                result = real(self)
            finally:
                watchdog.stop()
            if unanswered:
                shown.append(unanswered[0])
                raise AssertionError(f"unanswered modal dialog: {unanswered[0]}")
            return result

        return exec_

    real_dialog_exec, real_box_exec = QDialog.exec, QMessageBox.__dict__.get("exec")
    monkeypatch.setattr(QDialog, "exec", guarded(real_dialog_exec))
    if real_box_exec is not None:  # QMessageBox's own exec (else it inherits the guarded one)
        monkeypatch.setattr(QMessageBox, "exec", guarded(real_box_exec))
    return shown


def answer_question(qtbot, name: str, button: str) -> list[str]:
    """Press ``button`` in the modal message box named ``name`` once it shows (polled for MODAL_WAIT_MS at
    most); the list gets the box's text and informative text, so a test asserts it was asked."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    seen: list[str] = []
    tries = [MODAL_WAIT_MS // 20]

    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != name:
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(20, press)
            return
        seen.extend([box.text(), box.informativeText()])
        target = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press)
    return seen
