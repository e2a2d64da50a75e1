"""Edit mode, the rest of issue 10: the searchable class chooser, autosave or ask on image switch (a
remembered setting), undo back to the saved state, and a double-click closing a polygon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.core.editing.editor import Tool
from cocoseg_gui.gui.widgets.class_chooser import ClassChooser
from cocoseg_gui.gui.widgets.edit_saving import AUTOSAVE_KEY
from tests.gui.test_mask_editor import (  # noqa: F401
    CTRL,
    at,
    drag,
    edit_at_centre,
    enter_edit_mode,
    generated_masks,
    labels,
    mask_file,
    polygon_expected,
    start_polygon,
    window,
)
from tests.gui.window_helpers import WAIT_MS

MANY = [(i, f"class {i:02d}" if i % 10 else f"animal {i}", (i, 2 * i % 256, 3 * i % 256)) for i in range(85)]


def test_the_class_chooser_filters_85_classes_by_any_part_of_the_name(qtbot) -> None:
    chooser = ClassChooser()
    qtbot.addWidget(chooser)
    chooser.show()
    chosen: list[int] = []
    chooser.class_chosen.connect(chosen.append)
    chooser.set_classes([*MANY, (255, "ignore (crowd)", (255, 255, 255))])
    chooser.set_active(3)
    assert chooser.currentText() == "3 class 03" and chooser.count() == 86
    assert chooser.matches("ANIMAL") == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    assert chooser.matches("ign") == [255]
    completer = chooser.completer()
    completer.setCompletionPrefix("mal 7")
    assert completer.completionCount() == 1 and completer.currentCompletion() == "70 animal 70"
    chooser.lineEdit().setFocus()
    chooser.lineEdit().selectAll()
    qtbot.keyClicks(chooser.lineEdit(), "l 4")  # "animal 40" and "class 4x"
    qtbot.keyClick(chooser.lineEdit(), Qt.Key.Key_Return)
    assert chosen and chosen[-1] == 40  # Enter takes the first match
    assert chooser.currentText() == "3 class 03"  # until the editor says so, the active class stays
    chooser.set_active(40)
    assert chooser.currentText() == "40 animal 40" and not chooser.itemIcon(40).isNull()
    chooser.lineEdit().setText("no such class")
    chooser.lineEdit().editingFinished.emit()
    assert chooser.currentText() == "40 animal 40"  # typing never adds an entry
    assert chooser.count() == 86


def test_class_chooser_keys_and_legend_stay_in_sync_and_ignore_is_a_class(qtbot, window) -> None:  # noqa: F811
    images = window.images
    box = images.edit_toolbar.class_box
    _, cx, cy = edit_at_centre(qtbot, window)
    assert box.count() == 82  # background, the 80 COCO classes, ignore
    qtbot.keyClick(window, Qt.Key.Key_Slash)  # "/": type to find a class
    assert box.lineEdit().hasFocus()
    qtbot.keyClicks(box.lineEdit(), "zebr")
    popup = box.completer().popup()
    assert popup.isVisible()  # the matches; Enter goes to it, as in a real window
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    zebra = next(i for i, n in images.editor.class_names().items() if n == "zebra")
    assert images.editor.settings.active_class == zebra and box.currentText() == f"{zebra} zebra"
    assert images.edit_toolbar.active_text() == "Brush · zebra"
    qtbot.waitUntil(lambda: not box.lineEdit().hasFocus(), timeout=5000)  # the keys are shortcuts again
    qtbot.keyClick(window, Qt.Key.Key_W)  # ...so W picks the wand instead of typing a "w"
    assert images.editor.settings.tool is Tool.WAND and box.currentText() == f"{zebra} zebra"
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert box.currentText() == f"2 {images.editor.class_name(2)}"
    item = images.legend.list.item(0)
    rect = images.legend.list.visualItemRect(item)
    qtbot.mouseClick(images.legend.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    entry = images.legend.entries()[0][0]
    assert images.editor.settings.active_class == entry and box.active() == entry
    box.activated.emit(box.findData(255))  # the list's "255 ignore (crowd)" entry
    assert images.editor.settings.active_class == 255
    drag(qtbot, window, [(cx, cy)])
    assert labels(window)[cy, cx] == 255
    images.discard_all()


def test_undo_back_to_the_saved_state_clears_the_title_star(qtbot, window) -> None:  # noqa: F811
    before = labels(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(w // 2, h // 2)])
    assert window.windowTitle().startswith("* ") and listed_name(window).startswith("* ")
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes() and not window.windowTitle().startswith("*")
    assert not window.images.has_unsaved_edits() and not listed_name(window).startswith("*")
    qtbot.keyClick(window, Qt.Key.Key_Y, CTRL)
    assert window.windowTitle().startswith("* ")
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    drag(qtbot, window, [(w // 2 + 9, h // 2)])
    assert window.windowTitle().startswith("* ")
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # back to what was saved
    assert not window.windowTitle().startswith("*")
    # saved from the editor (edited.json, watched on disk), nothing unsaved
    qtbot.waitUntil(lambda: listed_name(window).startswith("✎ "), timeout=WAIT_MS)


def listed_name(win) -> str:
    """The browser's text for the shown image (its marks and stem)."""
    browser = win.images.browser
    return browser.model.data(browser.model.index(browser.model.row_of_image(win.images.current.image_id)))


def switch_answer(monkeypatch, button: QMessageBox.StandardButton) -> list[str]:
    asked: list[str] = []

    def ask(parent, title, text, *args):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", ask)
    return asked


def test_autosave_off_asks_cancel_stays_discard_drops_save_saves(
    qtbot,
    window,  # noqa: F811
    monkeypatch,
    tmp_path,
) -> None:
    images = window.images
    assert images.act_autosave.isChecked()  # default on
    assert images.act_autosave in window.menuBar().actions()[1].menu().actions()  # Edit menu
    images.act_autosave.setChecked(False)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert str(settings.value(AUTOSAVE_KEY)).lower() == "false"  # remembered at once

    first = images.current.image_id
    png_before = mask_file(window).read_bytes()
    before = labels(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(w // 2, h // 2)])
    edited = labels(window)

    asked = switch_answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert asked and images.current.file_name in asked[0]
    assert images.browser.current_image_id() == first and images.current.image_id == first
    assert np.array_equal(labels(window), edited) and window.windowTitle().startswith("* ")
    # the same by a mouse click in the list: the question comes from inside the view's press handler,
    # which selected the clicked row after Cancel (seen in a real window: one image shown, another selected)
    view, model = images.browser.view, images.browser.model
    other = model.index(1 if model.row_of_image(first) != 1 else 0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(other).center())
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=WAIT_MS)
    first_index = model.index(model.row_of_image(first))
    qtbot.waitUntil(lambda: view.selectionModel().selectedIndexes() == [first_index], timeout=WAIT_MS)
    assert images.browser.current_image_id() == first and images.current.image_id == first

    switch_answer(monkeypatch, QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert images.current.image_id != first and not window.windowTitle().startswith("*")
    assert mask_file_of(window, first).read_bytes() == png_before
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert labels(window).tobytes() == before.tobytes()  # read from its file again

    drag(qtbot, window, [(w // 2, h // 2)])
    switch_answer(monkeypatch, QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert np.array_equal(np.array(Image.open(mask_file_of(window, first))), edited)
    assert not window.windowTitle().startswith("*")


def mask_file_of(win, image_id: int) -> Path:
    from cocoseg_gui.core.masks.dataset import read_image_mask_map

    folder = win.masks_dir
    file_name = win.state.index.image(image_id).file_name
    return folder / "masks" / read_image_mask_map(folder)[file_name]


def test_double_click_closes_the_polygon_like_enter(qtbot, window) -> None:  # noqa: F811
    images = window.images
    before, vertices = start_polygon(qtbot, window)
    for v in vertices[:-1]:
        drag(qtbot, window, [v])
    viewport = images.viewer.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at(window, *vertices[-1]))
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=at(window, *vertices[-1]))
    assert not images.editor.polygon_vertices and not images.polygon_overlay.visible()
    assert np.array_equal(labels(window), polygon_expected(before, vertices, 2))
    assert images.act_undo.text().startswith("&Undo Polygon (")
    table = window.shortcut_table()  # Help > Keyboard shortcuts
    assert ("Double-click", "Close polygon (fill), like Enter") in table and ("/", "Find class") in table
    images.discard_all()


def test_after_a_choice_focus_returning_to_the_class_box_goes_on_to_the_canvas(qtbot) -> None:
    # in a real window the completer's popup closing and the window's re-activation focus the box again
    # after Enter, so the next key (W) was typed into it instead of picking the wand
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    host = QWidget()
    canvas, chooser = QLineEdit(), ClassChooser()
    layout = QVBoxLayout(host)
    layout.addWidget(chooser)
    layout.addWidget(canvas)
    qtbot.addWidget(host)
    host.show()
    chooser.keys_go_to = canvas
    chooser.set_classes(MANY)
    chooser.lineEdit().setFocus()
    qtbot.keyClicks(chooser.lineEdit(), "animal 20")
    qtbot.keyClick(chooser.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(canvas.hasFocus, timeout=5000)
    chooser.setFocus(Qt.FocusReason.ActiveWindowFocusReason)  # what the re-activation does
    qtbot.waitUntil(canvas.hasFocus, timeout=5000)


def test_the_only_over_class_is_found_by_typing_part_of_its_name(qtbot, window) -> None:  # noqa: F811
    from cocoseg_gui.core.editing.rules import Mode

    bar = window.images.edit_toolbar
    edit_at_centre(qtbot, window)
    bar.mode_box.setCurrentIndex(bar.mode_box.findData(Mode.ONLY_CLASS.value))
    qtbot.waitUntil(bar.target_box.isVisible)  # the bar lays it out on its next pass
    bar.target_box.setFocus()
    bar.target_box.lineEdit().selectAll()
    qtbot.keyClicks(bar.target_box.lineEdit(), "icycl")  # matches inside the name, among 80 classes
    qtbot.keyClick(bar.target_box.completer().popup(), Qt.Key.Key_Down)
    qtbot.keyClick(bar.target_box.completer().popup(), Qt.Key.Key_Return)
    assert bar.target_box.currentText() == "2 bicycle"
    assert window.images.editor.settings.rule.mode is Mode.ONLY_CLASS
    assert window.images.editor.settings.rule.target == 2
