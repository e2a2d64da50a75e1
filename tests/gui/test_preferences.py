"""Edit › Preferences… (Ctrl+,) driven like a user: Browse… picks a random-weights MobileSAM file, the
dialog names the model it recognised (in the worker), OK writes the settings and the open window follows
(the click-to-segment tool loads the new file with no restart, the overlay takes the new opacity); Cancel
writes nothing; a file that is not SAM weights is named with the problem and OK refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

from cocoseg_gui.core.editing.editor import Tool
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.preferences import (
    AUTOSAVE_KEY,
    OPACITY_KEY,
    OUTLINES_KEY,
    SAM_WEIGHTS_KEY,
    read_preferences,
)
from cocoseg_gui.gui.widgets.preferences_dialog import PreferencesDialog
from tests.gui import test_mask_editor as editor_tests
from tests.gui.test_mask_editor import edit_at_centre
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401
from tests.unit import segment_fixtures

generated_masks = editor_tests.generated_masks
window = editor_tests.window
mobile_state, mobile_sam_file = segment_fixtures.mobile_state, segment_fixtures.mobile_sam_file  # random
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def embedding_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def open_preferences(qtbot, win: MainWindow) -> PreferencesDialog:  # type: ignore[no-untyped-def]
    win.activateWindow()  # a dialog closed a moment ago had the focus
    qtbot.waitUntil(win.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(win, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # Edit › Preferences…
    dialog = win.preferences_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    return dialog


def browse_to(qtbot, monkeypatch, dialog: PreferencesDialog, path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.browse_weights, LEFT)


def tick(qtbot, box) -> None:  # type: ignore[no-untyped-def]
    """A click on the check box's indicator (its centre is empty form width: a click there does nothing)."""
    qtbot.mouseClick(box, LEFT, pos=QPoint(6, box.height() // 2))


def ok_button(dialog: PreferencesDialog):  # type: ignore[no-untyped-def]
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def all_settings(settings: QSettings) -> dict[str, object]:
    return {key: settings.value(key) for key in settings.allKeys()}


def test_ok_with_picked_weights_the_open_tool_loads_them_without_a_restart(
    qtbot, window, monkeypatch, mobile_sam_file
) -> None:
    images = window.images
    tool = images.assists.segment
    tool.images_ahead = list  # nothing embedded ahead: the prefetch tests cover it
    edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_A)  # the tool, with no weights yet: it asks for a file
    assert images.editor.settings.tool is Tool.SAM and tool.weights is None and tool.session is None

    dialog = open_preferences(qtbot, window)
    assert dialog.weights.text() == "" and ok_button(dialog).isEnabled()
    browse_to(qtbot, monkeypatch, dialog, mobile_sam_file)
    assert dialog.weights.text() == str(mobile_sam_file)
    assert dialog.weights_info.text() == "MobileSAM (TinyViT)"  # core's recogniser, run in the worker
    qtbot.mouseClick(dialog.opacity, LEFT)
    dialog.opacity.selectAll()
    qtbot.keyClicks(dialog.opacity, "80")
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):  # the shown image is prepared with the new file
        qtbot.mouseClick(ok_button(dialog), LEFT)
    assert not dialog.isVisible()
    settings = window.state.settings
    assert settings.value(SAM_WEIGHTS_KEY) == str(mobile_sam_file)
    assert tool.weights == mobile_sam_file and tool.segmenter.sam.path == mobile_sam_file
    assert tool.session is not None and images.editor.settings.tool is Tool.SAM
    assert float(settings.value(OPACITY_KEY)) == pytest.approx(0.8) and window.opacity() == pytest.approx(0.8)
    assert tool.act_choose.text() == "Weights: mobile_sam_random.pt"  # the toolbar's button agrees

    dialog = open_preferences(qtbot, window)  # opened again: the stored file, recognised again
    qtbot.waitUntil(lambda: dialog.weights_info.text() == "MobileSAM (TinyViT)", timeout=WAIT_MS)
    assert dialog.weights.text() == str(mobile_sam_file)
    qtbot.mouseClick(dialog.clear_weights, LEFT)  # Clear, OK: the tool has no file any more
    qtbot.mouseClick(ok_button(dialog), LEFT)
    assert settings.value(SAM_WEIGHTS_KEY) is None and tool.weights is None and tool.segmenter is None
    images.discard_all()


def test_cancel_leaves_every_setting_and_the_window_as_they_were(
    qtbot, tmp_path, monkeypatch, mobile_sam_file
) -> None:
    win = make_window(qtbot, tmp_path)
    settings = win.state.settings
    before, opacity = all_settings(settings), win.opacity()
    dialog = open_preferences(qtbot, win)
    assert dialog.width() <= 1024 and dialog.height() <= 700  # fits the smallest window we support
    assert dialog.minimumSizeHint().width() <= 1024 and dialog.minimumSizeHint().height() <= 700
    browse_to(qtbot, monkeypatch, dialog, mobile_sam_file)
    tick(qtbot, dialog.autosave)
    tick(qtbot, dialog.outlines)
    dialog.opacity.setValue(10)
    dialog.projects_root.setText(str(tmp_path / "elsewhere"))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), LEFT)
    assert not dialog.isVisible()
    assert all_settings(settings) == before
    assert win.opacity() == opacity and win.images.assists.segment.weights is None
    assert win.images.act_autosave.isChecked() and win.label_issues.act_show_outlines.isChecked()
    assert win.state.workbench.projects_root != tmp_path / "elsewhere"


def test_ok_writes_the_checkboxes_and_projects_folder_and_the_window_follows(qtbot, tmp_path) -> None:
    win = make_window(qtbot, tmp_path)
    settings = win.state.settings
    dialog = open_preferences(qtbot, win)
    tick(qtbot, dialog.autosave)
    tick(qtbot, dialog.outlines)
    dialog.projects_root.setText(str(tmp_path / "my-projects"))
    qtbot.mouseClick(ok_button(dialog), LEFT)
    assert str(settings.value(AUTOSAVE_KEY)).lower() == "false" and not win.images.act_autosave.isChecked()
    assert settings.value(OUTLINES_KEY) == "false" and not win.label_issues.act_show_outlines.isChecked()
    assert win.state.workbench.projects_root == tmp_path / "my-projects"
    assert read_preferences(settings).projects_root == tmp_path / "my-projects"


def test_a_file_that_is_not_sam_weights_is_named_and_ok_refuses_it(qtbot, tmp_path, monkeypatch) -> None:
    win = make_window(qtbot, tmp_path)
    settings = win.state.settings
    before = all_settings(settings)
    bad = tmp_path / "holiday_photo.pt"
    bad.write_text("not weights at all\n")
    dialog = open_preferences(qtbot, win)
    browse_to(qtbot, monkeypatch, dialog, bad)
    shown = dialog.weights_info.text()
    assert str(bad) in shown and "not a file written by torch.save" in shown
    assert not ok_button(dialog).isEnabled()
    qtbot.mouseClick(ok_button(dialog), LEFT)  # disabled: nothing happens
    assert dialog.isVisible() and all_settings(settings) == before
    missing = tmp_path / "gone.pth"  # typed by hand: checked when the field is left
    qtbot.mouseClick(dialog.weights, LEFT)
    dialog.weights.selectAll()
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):
        qtbot.keyClicks(dialog.weights, str(missing))
        qtbot.keyClick(dialog.weights, Qt.Key.Key_Return)
    assert str(missing) in dialog.weights_info.text() and "not found" in dialog.weights_info.text()
    assert dialog.isVisible() and all_settings(settings) == before
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), LEFT)
    assert win.images.assists.segment.weights is None
