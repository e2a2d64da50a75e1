"""At 1024x700: status bar texts elide in the middle (full text in the tooltip) and a dock layout saved at
a bigger window size is not restored squeezed (issue 9 item 6)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt

from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.elided_label import ElidedLabel
from cocoseg_gui.gui.workspaces.images_workspace import MIN_BROWSER_DOCK_W, MIN_MASKS_DOCK_W
from tests.gui.window_helpers import no_blocking_dialogs  # noqa: F401

LONG_PATH = "/home/someone/datasets/coco/2017/annotations/a_rather_long_folder_name/instances_val2017.json"


def test_elided_label_keeps_start_and_end_and_the_full_text(qtbot) -> None:
    label = ElidedLabel(LONG_PATH)
    qtbot.addWidget(label)
    label.resize(160, 20)
    label.show()
    shown = label.shown_text()
    assert label.is_elided() and "…" in shown
    assert shown.startswith("/home") and shown.endswith(".json")  # the middle goes, the ends stay
    assert label.text() == LONG_PATH and label.toolTip() == LONG_PATH
    label.resize(label.fontMetrics().horizontalAdvance(LONG_PATH) + 20, 20)
    assert not label.is_elided() and label.shown_text() == LONG_PATH
    assert label.minimumSizeHint().width() < 100  # it can shrink: the status bar never pushes it out


def _window(qtbot, tmp_path: Path, size: tuple[int, int]) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(AppState(settings), index_cache_dir=tmp_path / "index_cache")
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_status_bar_widgets_elide_at_1024_instead_of_being_cut(qtbot, tmp_path) -> None:
    window = _window(qtbot, tmp_path, (1024, 700))
    summary = f"{LONG_PATH} · 5000 of 5000 images · 36781 annotations · 80 categories"
    job = f"Loading {LONG_PATH}… indexing annotations"
    window.summary_label.setText(summary)
    window._show_job(True)
    window.job_label.setText(job)
    window.set_notice("300 categories: only the first 254 by id get a class in the masks")
    window.statusBar().showMessage(f"{LONG_PATH} (640×427) · mask from annotations")
    qtbot.waitUntil(lambda: window.summary_label.is_elided())
    bar = window.statusBar()
    for label, full in ((window.summary_label, summary), (window.job_label, job)):
        assert label.isVisible() and label.width() > 0
        right = label.mapTo(bar, label.rect().topRight()).x()
        assert right <= bar.width(), "cut off by the window edge"
        assert "…" in label.shown_text() and label.toolTip() == full
    assert window.notice_label.isVisible()
    assert window.notice_label.mapTo(bar, window.notice_label.rect().topRight()).x() <= bar.width()
    # the temporary message stops, elided, where the permanent widgets begin (Qt would cut it mid-word)
    first = min(w.x() for w in (window.notice_label, window.job_label, window.summary_label))
    assert "…" in bar.shown_message() and bar.message_width() < first
    assert bar.currentMessage().startswith(LONG_PATH) and bar.toolTip() == bar.currentMessage()


def test_a_layout_saved_at_1920_is_not_restored_squeezed_at_1024(qtbot, tmp_path) -> None:
    big = _window(qtbot, tmp_path, (1920, 1080))
    images = big.images
    images.resizeDocks([images.browser_dock, images.masks_dock], [900, 700], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: images.browser_dock.width() > 600)
    big.save_settings()
    big.close()

    small = _window(qtbot, tmp_path, (1024, 700))  # same settings: "after a restart" on a smaller screen
    qtbot.waitUntil(lambda: not small._dock_check_pending)
    images = small.images
    qtbot.waitUntil(images.layout_usable, timeout=2000)  # the layout settles over a few passes
    assert images.masks_dock.width() >= MIN_MASKS_DOCK_W
    assert images.browser_dock.width() >= MIN_BROWSER_DOCK_W
    assert images.centralWidget().width() >= 0.3 * images.width()  # the image view is not squeezed either


def test_at_1024x700_the_image_view_gets_half_the_width(qtbot, tmp_path) -> None:
    """The first window's default docks left the viewer about 300 px wide at 1024x700."""
    window = _window(qtbot, tmp_path, (1024, 700))
    images = window.images
    # the docks reach their default widths over a few layout passes
    qtbot.waitUntil(lambda: images.viewer.width() >= 0.45 * window.width(), timeout=5000)
    assert images.layout_usable()  # the docks stay above their usable minimum
    assert images.browser_dock.width() > MIN_BROWSER_DOCK_W and images.masks_dock.width() > MIN_MASKS_DOCK_W
