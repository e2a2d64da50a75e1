"""Helpers to open the workbench window in tests with temporary settings and index cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY, AppState

WAIT_MS = 60000  # a dataset load + first image on a loaded 2-core machine; a pass costs nothing


def make_window(qtbot, tmp_path: Path, settings_name: str = "settings.ini") -> MainWindow:
    """A shown window whose QSettings and index cache live under ``tmp_path`` (never the user's)."""
    settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
    settings.setValue(PROJECTS_ROOT_KEY, str(tmp_path / "projects"))  # implicit projects: never ~/
    window = MainWindow(AppState(settings), index_cache_dir=tmp_path / "index_cache")
    qtbot.addWidget(window)
    window.show()
    return window


def open_and_wait(qtbot, window: MainWindow, annotations: Path, images: Path | None = None) -> None:
    """Open a dataset and wait until it is loaded and its first image shown."""
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(annotations, images)


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch) -> list[str]:
    """An unexpected error dialog fails the test instead of blocking it (tests expecting one patch again)."""
    shown: list[str] = []

    def record(parent, title, text, *args):
        shown.append(text)
        raise AssertionError(f"unexpected error dialog: {title}: {text}")

    monkeypatch.setattr(QMessageBox, "critical", record)
    return shown
