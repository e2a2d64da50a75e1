"""The Images workspace's Edit mode driven like a user: keys, real mouse strokes on the viewer, Ctrl+S,
the saved palette PNG checked pixel by pixel against the footprint the core computes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.core.editing.editor import Tool
from cocoseg_gui.core.editing.fill import fill_area
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.polygon import polygon_area
from cocoseg_gui.core.editing.rules import Mode, Rule, paint
from cocoseg_gui.core.editing.stroke import segment_area
from cocoseg_gui.core.masks.dataset import read_image_mask_map
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets import edit_saving
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401

ZOOM = 4.0  # screen pixels per image pixel: every viewport point maps to one known mask pixel
CTRL, SHIFT, ALT = (
    Qt.KeyboardModifier.ControlModifier,
    Qt.KeyboardModifier.ShiftModifier,
    Qt.KeyboardModifier.AltModifier,
)


@pytest.fixture(scope="module")
def generated_masks(tmp_path_factory, val_annotations, val_images) -> Path:
    out = tmp_path_factory.mktemp("editor") / "masks_val2017"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1))
    return out


@pytest.fixture
def window(qtbot, tmp_path, val_annotations, val_images, generated_masks) -> MainWindow:
    masks = tmp_path / "masks"
    shutil.copytree(generated_masks, masks)
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, val_annotations, val_images)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        win.open_masks(masks)
    win.masks_dir = masks  # type: ignore[attr-defined]
    return win


def mask_file(window: MainWindow) -> Path:
    folder = window.masks_dir  # type: ignore[attr-defined]
    name = read_image_mask_map(folder)[window.images.current.file_name]
    return folder / "masks" / name


def labels(window: MainWindow) -> np.ndarray:
    return np.array(window.images.view_state.labels.array)


def enter_edit_mode(qtbot, window: MainWindow, centre: tuple[int, int]) -> None:
    qtbot.keyClick(window, Qt.Key.Key_E)
    assert window.images.editing and window.images.edit_toolbar.isVisible()
    window.images.viewer.set_view_state((ZOOM, QPointF(*centre)))


def edit_at_centre(qtbot, window: MainWindow) -> tuple[np.ndarray, int, int]:
    """Edit mode on, zoomed at the mask's centre: the map before any edit and that centre (mask px)."""
    before = labels(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    return before, w // 2, h // 2


def at(window: MainWindow, x: int, y: int) -> QPoint:
    """The viewport point over mask pixel (x, y) (the sample's masks are at image size)."""
    return window.images.viewer.mapFromScene(QPointF(x + 0.5, y + 0.5))


def drag(qtbot, window: MainWindow, points: list[tuple[int, int]], modifier=Qt.KeyboardModifier.NoModifier):
    viewport = window.images.viewer.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, modifier, at(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(viewport, at(window, *p))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifier, at(window, *points[-1]))


def expected_stroke(before: np.ndarray, points: list[tuple[int, int]], radius: int, value: int) -> np.ndarray:
    out = before.copy()
    for a, b in zip(points[:1] + points[:-1], points, strict=True):
        paint(out, segment_area(a, b, radius, Tip.ROUND, out.shape), value)
    return out


def test_a_brush_stroke_saves_exactly_its_footprint_and_undo_restores_the_bytes(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)  # person
    radius = images.editor.settings.brush_radius
    assert images.edit_toolbar.active_text() == "Brush · person"
    points = [(cx - 10, cy), (cx, cy + 3), (cx + 12, cy + 5)]
    drag(qtbot, window, points)

    expected = expected_stroke(before, points, radius, 1)
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    assert window.windowTitle().startswith("* ")
    assert images.act_undo.text() == "&Undo Brush stroke (person)"
    # the viewer's display copy was repainted in the stroke's box
    assert np.array_equal(images.viewer.mask(), expected)

    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    saved = np.array(Image.open(mask_file(window)))
    assert np.array_equal(saved, expected)
    assert not window.windowTitle().startswith("*")

    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes()
    assert images.act_redo.text() == "&Redo Brush stroke (person)"
    qtbot.keyClick(window, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(labels(window), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(np.array(Image.open(mask_file(window))), before)


def test_eraser_shift_line_and_bracket_sizes(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    radius = images.editor.settings.brush_radius
    drag(qtbot, window, [(cx - 8, cy - 8)])
    drag(qtbot, window, [(cx + 8, cy - 8)], SHIFT)  # Shift+click: a straight line from the last point
    expected = expected_stroke(before, [(cx - 8, cy - 8)], radius, 2)
    expected = expected_stroke(expected, [(cx - 8, cy - 8), (cx + 8, cy - 8)], radius, 2)
    assert np.array_equal(labels(window), expected)

    qtbot.keyClick(window, Qt.Key.Key_X)  # eraser, its own size
    assert images.editor.settings.tool is Tool.ERASER
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    eraser = images.editor.settings.eraser_radius
    assert eraser != radius and images.edit_toolbar.size_box.value() == eraser
    drag(qtbot, window, [(cx, cy - 8), (cx, cy - 2)])
    expected = expected_stroke(expected, [(cx, cy - 8), (cx, cy - 2)], eraser, 0)
    assert np.array_equal(labels(window), expected)
    # the cursor outline is the footprint, scaled to the zoom: its bounding box is (2r+1) image pixels
    rect = images.brush_cursor.path().boundingRect()
    assert rect.width() == pytest.approx(2 * eraser + 1)
    images.discard_all()


def test_picker_and_fill(qtbot, window) -> None:
    images = window.images
    before = labels(window)
    ys, xs = np.nonzero((before > 0) & (before < 255))
    px, py = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    picked = int(before[py, px])
    enter_edit_mode(qtbot, window, (px, py))
    drag(qtbot, window, [(px, py)], ALT)  # Alt+click: the picker
    assert images.editor.settings.active_class == picked
    assert np.array_equal(labels(window), before)  # picking paints nothing

    by, bx = (int(v[0]) for v in np.nonzero(before == 0))  # the first background pixel
    images.viewer.set_view_state((ZOOM, QPointF(bx, by)))
    qtbot.keyClick(window, Qt.Key.Key_G)
    drag(qtbot, window, [(bx, by)])
    expected = before.copy()
    paint(expected, fill_area(before, (bx, by)), picked)
    assert np.array_equal(labels(window), expected)
    assert images.act_undo.text().startswith("&Undo Fill (")
    images.discard_all()


def test_legend_click_picks_the_class_in_edit_mode(qtbot, window) -> None:
    images = window.images
    enter_edit_mode(qtbot, window, (10, 10))
    hidden = images.view_state.display.visibility
    entry = images.legend.entries()[0][0]
    item = images.legend.list.item(0)
    rect = images.legend.list.visualItemRect(item)
    qtbot.mouseClick(images.legend.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert images.editor.settings.active_class == entry
    assert images.view_state.display.visibility == hidden  # not hidden as outside Edit mode


def test_switching_images_autosaves_and_history_survives(qtbot, window) -> None:
    images = window.images
    before = labels(window)
    first = mask_file(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    qtbot.keyClick(window, Qt.Key.Key_3)
    drag(qtbot, window, [(w // 2, h // 2), (w // 2 + 6, h // 2)])
    edited = labels(window)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert np.array_equal(np.array(Image.open(first)), edited)
    assert not window.windowTitle().startswith("* ")
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert images.act_undo.text().startswith("&Undo Brush stroke")
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes()
    assert window.windowTitle().startswith("* ")
    images.discard_all()


def test_quitting_with_unsaved_edits_asks(qtbot, window, monkeypatch) -> None:
    before = labels(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(w // 2, h // 2)])
    edited = labels(window)
    asked: list[str] = []

    def answer(button):
        def ask(parent, title, text, *args):
            asked.append(text)
            return button

        return ask

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    window.close()
    assert window.isVisible() and asked and window.images.current.file_name in asked[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Save))
    window.close()
    assert not window.isVisible()
    assert np.array_equal(np.array(Image.open(mask_file(window))), edited)


def test_a_failed_save_names_the_file_keeps_the_edits_and_saves_elsewhere(
    qtbot, window, monkeypatch, tmp_path
) -> None:
    folder: Path = window.masks_dir  # type: ignore[attr-defined]
    png_before = mask_file(window).read_bytes()
    (folder / "report.json").unlink()
    (folder / "report.json").mkdir()  # the report cannot be read or replaced: the save fails
    errors: list[str] = []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def failed(parent, message):
        errors.append(message)
        return True  # the user presses "Save elsewhere…"

    monkeypatch.setattr(edit_saving, "ask_save_failed", failed)
    monkeypatch.setattr(edit_saving, "choose_folder", lambda parent: elsewhere)
    before = labels(window)
    h, w = before.shape
    enter_edit_mode(qtbot, window, (w // 2, h // 2))
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(w // 2, h // 2)])
    edited = labels(window)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert errors and "report.json" in errors[0]
    assert mask_file(window).read_bytes() == png_before  # the previous mask is untouched
    assert window.windowTitle().startswith("* ") and np.array_equal(labels(window), edited)
    stem = Path(window.images.current.file_name).stem
    assert np.array_equal(np.array(Image.open(elsewhere / f"{stem}.png")), edited)  # a copy, exact
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)  # again: never replaces the first copy
    assert (elsewhere / f"{stem}_1.png").is_file() and len(errors) == 2
    window.images.discard_all()


def polygon_expected(before: np.ndarray, vertices: list[tuple[int, int]], value: int, subtract=False):
    out = before.copy()
    area = polygon_area([(x + 0.5, y + 0.5) for x, y in vertices], out.shape)
    if subtract:
        paint(out, area, 0, Rule(Mode.ONLY_CLASS, value))
    else:
        paint(out, area, value)
    return out


def start_polygon(qtbot, window: MainWindow) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Edit mode, class 2, the polygon tool: the map before and four vertices around the centre."""
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert window.images.editor.settings.tool is Tool.POLYGON
    return before, [(cx - 20, cy - 15), (cx + 18, cy - 12), (cx + 10, cy + 16), (cx - 14, cy + 9)]


def test_polygon_clicks_backspace_enter_fill_and_one_undo_step(qtbot, window) -> None:
    images = window.images
    before, vertices = start_polygon(qtbot, window)
    cx, cy = before.shape[1] // 2, before.shape[0] // 2
    listed = set(dict(window.shortcut_table()).values())  # Help > Keyboard shortcuts lists the new keys
    assert {"Polygon", "Ignore brush", "Close polygon (fill)", "Remove last vertex"} <= listed
    for v in [*vertices, (cx + 30, cy + 30)]:
        drag(qtbot, window, [v])  # a click: one vertex each
    assert labels(window).tobytes() == before.tobytes()  # nothing painted while the polygon is open
    assert images.polygon_overlay.visible()
    qtbot.keyClick(window, Qt.Key.Key_Backspace)  # the stray last vertex goes
    assert len(images.editor.polygon_vertices) == len(vertices)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    expected = polygon_expected(before, vertices, 2)
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    assert not images.polygon_overlay.visible()
    assert images.act_undo.text().startswith("&Undo Polygon (")
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(np.array(Image.open(mask_file(window))), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # one step undoes the whole polygon
    assert labels(window).tobytes() == before.tobytes()
    images.discard_all()


def test_lasso_drag_ctrl_enter_subtracts_and_esc_cancels(qtbot, window) -> None:
    images = window.images
    _, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    for _ in range(5):
        qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    drag(qtbot, window, [(cx - 12, cy), (cx + 12, cy)])  # a thick stroke of person to cut into
    painted = labels(window)
    qtbot.keyClick(window, Qt.Key.Key_P)
    lasso = [(cx - 4, cy - 20), (cx + 2, cy - 20), (cx + 4, cy), (cx + 2, cy + 20), (cx - 4, cy + 20)]
    drag(qtbot, window, lasso)  # freehand: one press, moves, one release
    assert [tuple(map(int, v)) for v in images.editor.polygon_vertices] == lasso
    qtbot.keyClick(window, Qt.Key.Key_Return, CTRL)
    expected = polygon_expected(painted, lasso, 1, subtract=True)
    assert np.array_equal(labels(window), expected)
    assert (expected[cy, cx - 2 : cx + 3] == 0).all()  # the person pixels inside went to background
    assert np.array_equal(expected != painted, (painted == 1) & (expected == 0))  # other classes kept
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == painted.tobytes()

    drag(qtbot, window, [(cx - 9, cy - 9)])
    drag(qtbot, window, [(cx + 9, cy - 9)])
    drag(qtbot, window, [(cx, cy + 9)])
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # cancelled: nothing painted, no step
    assert not images.editor.polygon_vertices and not images.polygon_overlay.visible()
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert labels(window).tobytes() == painted.tobytes()
    images.discard_all()


def test_ignore_brush_paints_255_with_the_brush_footprint(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_U)
    assert images.editor.settings.tool is Tool.IGNORE
    assert images.edit_toolbar.active_text() == f"Ignore · {images.editor.class_name(255)}"
    assert "ignore" in images.edit_toolbar.active_text()
    radius = images.editor.settings.brush_radius
    points = [(cx - 6, cy - 4), (cx + 7, cy + 2)]
    drag(qtbot, window, points)
    expected = expected_stroke(before, points, radius, 255)
    assert np.array_equal(labels(window), expected)
    assert images.brush_cursor.path().boundingRect().width() == pytest.approx(2 * radius + 1)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(np.array(Image.open(mask_file(window))), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes()
    images.discard_all()


def test_fill_every_pixel_of_the_clicked_class(qtbot, window, monkeypatch) -> None:
    images = window.images
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)
    _, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_3)
    # two separate blobs of class 3, so "every pixel" differs from the connected region
    drag(qtbot, window, [(cx - 15, cy)])
    drag(qtbot, window, [(cx + 15, cy)])
    two_blobs = labels(window)
    assert not images.edit_toolbar.whole_class_action.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_G)
    assert images.edit_toolbar.whole_class_action.isVisible()
    images.edit_toolbar.whole_class_box.click()  # the toolbar may put it in its overflow menu offscreen
    assert images.editor.settings.fill_whole_class
    qtbot.keyClick(window, Qt.Key.Key_4)
    drag(qtbot, window, [(cx - 15, cy)])
    expected = two_blobs.copy()
    expected[two_blobs == 3] = 4
    assert np.array_equal(labels(window), expected)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(np.array(Image.open(mask_file(window))), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == two_blobs.tobytes()
    images.discard_all()


def test_at_1024x700_the_edit_toolbars_show_the_overwrite_mode_and_the_batch_button(qtbot, window) -> None:
    # a real window at 1024x700 had the overwrite mode and "Propose unlabelled…" behind the toolbars' »
    window.resize(1024, 700)
    qtbot.keyClick(window, Qt.Key.Key_E)
    images = window.images
    bar = images.proposals.bar
    qtbot.waitUntil(lambda: images.edit_toolbar.isVisible() and bar.isVisible(), timeout=WAIT_MS)
    qtbot.wait(50)  # the toolbars' layout
    toolbar = images.edit_toolbar
    assert toolbar.mode_box.isVisible() and toolbar.class_box.isVisible()
    assert all(toolbar.widgetForAction(a).isVisible() for a in toolbar.tool_actions.values())
    assert bar.widgetForAction(bar.act_batch).isVisible()
    assert bar.widgetForAction(bar.act_replace).isVisible()  # the proposals' Replace labels toggle
    assert bar.widgetForAction(images.proposals.act_next).isVisible()
    qtbot.keyClick(window, Qt.Key.Key_G)  # the fill's "whole class" box appears: still room for the mode
    qtbot.wait(50)
    assert toolbar.whole_class_box.isVisible() and toolbar.mode_box.isVisible()


def test_outlines_follow_an_edit(qtbot, window) -> None:
    """The instance outlines came from the annotations and stayed as they were after an edit."""
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    cls = next(c for c in range(2, 10) if c not in set(np.unique(before).tolist()))
    assert images.viewer.outline_path(cls) is None
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{cls}"))
    points = [(cx - 10, cy), (cx + 10, cy)]
    with qtbot.waitSignal(images.outlines_redrawn, timeout=WAIT_MS):
        drag(qtbot, window, points)
    painted = np.argwhere(labels(window) == cls)
    (y0, x0), (y1, x1) = painted.min(axis=0), painted.max(axis=0)
    rect = images.viewer.outline_path(cls).boundingRect()
    assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == (x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5)
    with qtbot.waitSignal(images.outlines_redrawn, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # undone: its outline goes too
    assert images.viewer.outline_path(cls) is None

    # saved, and shown again later: still the outlines of its mask, not of its annotations
    with qtbot.waitSignal(images.outlines_redrawn, timeout=WAIT_MS):
        drag(qtbot, window, points)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    name = images.current.file_name
    qtbot.waitUntil(lambda: images.browser.is_edited(name), timeout=WAIT_MS)  # edited.json seen
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    with qtbot.waitSignals([window.image_shown, images.outlines_redrawn], timeout=WAIT_MS, order="strict"):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert images.current.file_name == name and images.viewer.outline_path(cls) is not None
