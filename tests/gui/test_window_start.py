"""The window is on screen before its workspaces load (ADR 0041): ``show_starting`` paints "Starting…" at the
remembered place, then builds; a window closed while starting never builds."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QLabel

from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY, AppState
from tests.conftest import SAMPLE
from tests.gui.window_helpers import WAIT_MS, open_and_wait


def settings_in(tmp_path: Path) -> QSettings:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(PROJECTS_ROOT_KEY, str(tmp_path / "projects"))
    return settings


def test_the_window_shows_starting_then_builds_after_its_first_paint(qtbot, tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    before = MainWindow(AppState(settings), index_cache_dir=tmp_path / "cache")  # a window of an earlier run
    qtbot.addWidget(before)
    before.setGeometry(QRect(40, 50, 700, 500))
    before.save_settings()
    before.shutdown()

    window = MainWindow(index_cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    built: list[MainWindow] = []

    def then(w: MainWindow) -> None:
        w.build(AppState(settings))
        built.append(w)

    window.show_starting(settings, then)
    starting = window.centralWidget()
    assert window.isVisible() and isinstance(starting, QLabel) and starting.text() == "Starting cocoseg…"
    assert window.size() == before.size()  # at its remembered place from the first paint: no jump
    assert built == []  # nothing heavy before the window has painted

    qtbot.waitUntil(lambda: built == [window], timeout=WAIT_MS)
    assert window.centralWidget() is window.panel_tabs
    assert [a.text() for a in window.menuBar().actions()][:2] == ["&File", "&Edit"]
    assert window.size() == before.size()  # build() left it where it was
    open_and_wait(qtbot, window, SAMPLE / "annotations" / "instances_val2017.json")
    assert window.images.current is not None  # a working window: the first image is shown


def test_a_window_closed_while_starting_never_builds(qtbot, tmp_path: Path) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    called: list[MainWindow] = []
    window.show_starting(settings_in(tmp_path), called.append)
    window.close()  # before any event ran: the paint and the fallback timer come after
    qtbot.wait(1500)  # past the fallback (1 s) that builds a window that never painted
    assert called == [] and not window.isVisible()
    window.shutdown()  # an unbuilt window has nothing to stop
