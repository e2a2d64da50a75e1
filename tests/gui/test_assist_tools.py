"""The Edit mode's assists driven like a user: W/R/C keys, real mouse events on the viewer, Enter/Esc,
Ctrl+S, the saved palette PNG checked against what the core computes; SLIC and GrabCut off the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from cocoseg_gui.core.assists.image import rgb_at_mask_size
from cocoseg_gui.core.assists.wand import wand_area
from cocoseg_gui.core.editing.editor import Tool
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.rules import Mode, Rule, paint
from cocoseg_gui.core.editing.stroke import segment_area
from cocoseg_gui.core.editing.tools import ASSIST_TOOLS, tool_spec
from cocoseg_gui.gui.main_window import MainWindow
from tests.gui import test_mask_editor as editor_tests
from tests.gui.test_mask_editor import CTRL, at, edit_at_centre, labels, mask_file
from tests.gui.window_helpers import WAIT_MS, no_blocking_dialogs  # noqa: F401

generated_masks = editor_tests.generated_masks  # the editor's GUI fixtures: a window on a mask folder copy
window = editor_tests.window
NO_MOD, LEFT = Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton


def shown_rgb(window: MainWindow) -> np.ndarray:
    image = window.images.view_state.image
    return rgb_at_mask_size(image.rgb, image.labels.shape)


def full_row(area, y: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Row ``y`` of the area's mask in map columns (all False outside its box)."""
    row = np.zeros(area.box.right + 200, bool)
    if area.box.top <= y < area.box.bottom:
        row[area.box.left : area.box.right] = area.mask[y - area.box.top]
    return row


def test_wand_click_previews_enter_accepts_and_the_png_has_exactly_its_pixels(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_W)
    assert images.editor.settings.tool is Tool.WAND
    assert images.assists._controls[Tool.WAND][1].isVisible()  # the slider shows with its tool
    qtbot.keyClick(window, Qt.Key.Key_2)
    viewport = images.viewer.viewport()
    qtbot.mouseClick(viewport, LEFT, NO_MOD, at(window, cx, cy))
    proposal = wand_area(shown_rgb(window), (cx + 0.5, cy + 0.5), images.assists.tolerance)
    assert images.assists.has_proposal and images.assists.overlay.area.box == proposal.box
    assert np.array_equal(labels(window), before)  # previewed, not written

    images.assists.tolerance_slider.setValue(images.assists.tolerance + 10)  # the slider re-runs it
    proposal = wand_area(shown_rgb(window), (cx + 0.5, cy + 0.5), images.assists.tolerance)
    assert np.array_equal(images.assists.overlay.area.mask, proposal.mask)

    qtbot.keyClick(window, Qt.Key.Key_3)  # another class: the preview takes its colour
    assert images.assists.overlay.colour == images.editor.class_color(3)
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    expected = before.copy()
    paint(expected, proposal, 2)
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    assert images.act_undo.text().startswith("&Undo Magic wand")
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(np.array(Image.open(mask_file(window))), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # one step
    assert labels(window).tobytes() == before.tobytes()
    images.discard_all()  # closing would ask about unsaved edits


def test_wand_drag_sets_the_tolerance_live_and_release_accepts_under_the_rule(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_W)
    qtbot.keyClick(window, Qt.Key.Key_3)
    images.editor.set_rule(Mode.PRESERVE)
    base = images.assists.tolerance
    viewport = images.viewer.viewport()
    start = at(window, cx, cy)
    qtbot.mousePress(viewport, LEFT, NO_MOD, start)
    qtbot.mouseMove(viewport, start + QPoint(20, 0))
    assert images.assists.tolerance == base + 10
    qtbot.mouseMove(viewport, start + QPoint(40, 3))
    assert images.assists.tolerance == base + 20 and images.assists.tolerance_slider.value() == base + 20
    qtbot.mouseRelease(viewport, LEFT, NO_MOD, start + QPoint(40, 3))
    expected = before.copy()
    paint(expected, wand_area(shown_rgb(window), (cx + 0.5, cy + 0.5), base + 20), 3, Rule(Mode.PRESERVE))
    assert np.array_equal(labels(window), expected)
    assert not images.assists.has_proposal
    images.discard_all()  # closing would ask about unsaved edits


def test_superpixel_brush_computes_off_the_gui_thread_and_a_stroke_is_one_step(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert images.editor.settings.tool is Tool.SUPERPIXEL
    job = images.assists.job
    assert job is not None  # SLIC runs in a JobWorker
    qtbot.waitUntil(lambda: images.assists.superpixels is not None, timeout=WAIT_MS)
    assert job.thread_ident is not None and job.thread_ident != threading.get_ident()
    sp = images.assists.superpixels
    radius = images.editor.settings.brush_radius
    points = [(cx - 15, cy), (cx + 15, cy + 4)]
    viewport = images.viewer.viewport()
    qtbot.mousePress(viewport, LEFT, NO_MOD, at(window, *points[0]))
    qtbot.mouseMove(viewport, at(window, *points[1]))
    ids: set[int] = set()
    shape = before.shape
    for a, b in [(points[0], points[0]), (points[0], points[1])]:
        area = segment_area((a[0] + 0.5, a[1] + 0.5), (b[0] + 0.5, b[1] + 0.5), radius, Tip.ROUND, shape)
        ids |= set(sp.ids_under(area).tolist())
    assert images.assists.overlay.area.box == sp.area_of(ids).box  # highlighted before release
    assert np.array_equal(labels(window), before)
    qtbot.mouseRelease(viewport, LEFT, NO_MOD, at(window, *points[1]))
    expected = before.copy()
    paint(expected, sp.area_of(ids), 1)
    assert np.array_equal(labels(window), expected) and not np.array_equal(expected, before)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes()
    # cached per image and size: back to the tool, no new job; another size computes again
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert images.assists.job is None and images.assists.superpixels is sp
    images.assists.segments_box.setValue(sp.n_segments + 100)
    assert images.assists.superpixels is None and images.assists.job is not None
    qtbot.waitUntil(lambda: images.assists.superpixels is not None, timeout=WAIT_MS)
    assert images.assists.superpixels.n_segments == sp.n_segments + 100
    images.discard_all()  # closing would ask about unsaved edits


def test_grabcut_box_runs_in_a_worker_esc_rejects_and_enter_accepts(qtbot, window) -> None:
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert images.editor.settings.tool is Tool.GRABCUT
    viewport = images.viewer.viewport()

    def drag_box() -> None:
        a, b = at(window, cx - 40, cy - 30), at(window, cx + 40, cy + 30)
        qtbot.mousePress(viewport, LEFT, NO_MOD, a)
        qtbot.mouseMove(viewport, b)
        qtbot.mouseRelease(viewport, LEFT, NO_MOD, b)

    drag_box()
    job = images.assists.job
    assert job is not None
    qtbot.waitUntil(lambda: images.assists.has_proposal, timeout=WAIT_MS)
    assert job.thread_ident != threading.get_ident()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not images.assists.has_proposal and np.array_equal(labels(window), before)

    drag_box()
    qtbot.waitUntil(lambda: images.assists.has_proposal, timeout=WAIT_MS)
    first = images.assists.overlay.area
    # a right-drag (background scribble) re-runs the cut from the previous result in a worker
    right = Qt.MouseButton.RightButton
    qtbot.mousePress(viewport, right, NO_MOD, at(window, cx - 35, cy))
    qtbot.mouseMove(viewport, at(window, cx + 35, cy))
    qtbot.mouseRelease(viewport, right, NO_MOD, at(window, cx + 35, cy))
    assert images.assists.job is not None and images.assists.pending.strokes[0][1] is False
    qtbot.waitUntil(lambda: images.assists.overlay.area is not first, timeout=WAIT_MS)
    proposal = images.assists.overlay.area
    assert not full_row(proposal, cy)[cx - 30 : cx + 30].any()  # the scribbled row is background now
    assert proposal.box.top >= cy - 30 and proposal.box.bottom <= cy + 31  # inside the box
    qtbot.keyClick(window, Qt.Key.Key_Return)
    expected = before.copy()
    paint(expected, proposal, 1)
    assert np.array_equal(labels(window), expected)
    assert images.act_undo.text().startswith("&Undo GrabCut")
    images.discard_all()  # closing would ask about unsaved edits


def test_the_shortcuts_dialog_lists_the_assists(qtbot, window) -> None:
    rows = dict((action, keys) for keys, action in window.shortcut_table())
    assert rows["Magic wand"] == "W" and rows["Superpixels"] == "R" and rows["GrabCut"] == "C"
    assert "Return" in rows["Accept the assist's proposal"]
    assert rows["Side by side (image | mask)"] == "S"  # not taken by the superpixels


def test_previews_go_when_the_tool_changes(qtbot, window) -> None:
    """The wand's proposal and the superpixel brush's footprint are not left on the image by another tool."""
    images = window.images
    _before, cx, cy = edit_at_centre(qtbot, window)
    viewport = images.viewer.viewport()
    qtbot.keyClick(window, Qt.Key.Key_W)
    qtbot.mouseClick(viewport, LEFT, NO_MOD, at(window, cx, cy))
    assert images.assists.overlay.item.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_R)  # superpixels: the wand's proposal goes, the footprint follows
    assert not images.assists.overlay.item.isVisible()
    qtbot.mouseMove(viewport, at(window, cx + 3, cy))
    assert images.brush_cursor.visible()
    qtbot.keyClick(window, Qt.Key.Key_G)  # fill has no footprint
    assert not images.brush_cursor.visible()
    qtbot.keyClick(window, Qt.Key.Key_B)  # the brush has one again, where the pointer is
    assert images.brush_cursor.visible()


def test_a_superpixel_stroke_made_while_they_compute_is_applied_when_they_are_ready(qtbot, window) -> None:
    """The first stroke used to do nothing (a status message, easily missed) while SLIC still ran."""
    images = window.images
    before, cx, cy = edit_at_centre(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert images.assists.superpixels is None and images.assists.job is not None  # still computing
    points = [(cx - 15, cy), (cx + 15, cy + 4)]
    viewport = images.viewer.viewport()
    qtbot.mousePress(viewport, LEFT, NO_MOD, at(window, *points[0]))
    assert "applied when ready" in window.statusBar().currentMessage()
    qtbot.mouseMove(viewport, at(window, *points[1]))
    qtbot.mouseRelease(viewport, LEFT, NO_MOD, at(window, *points[1]))
    qtbot.waitUntil(lambda: images.act_undo.text().startswith("&Undo Superpixel"), timeout=WAIT_MS)
    sp, radius = images.assists.superpixels, images.editor.settings.brush_radius
    ids: set[int] = set()
    for a, b in [(points[0], points[0]), (points[0], points[1])]:
        a, b = (a[0] + 0.5, a[1] + 0.5), (b[0] + 0.5, b[1] + 0.5)
        ids |= set(sp.ids_under(segment_area(a, b, radius, Tip.ROUND, before.shape)).tolist())
    expected = before.copy()
    paint(expected, sp.area_of(ids), 1)
    assert np.array_equal(labels(window), expected) and not np.array_equal(expected, before)
    images.discard_all()  # closing would ask about unsaved edits


def test_every_assist_tool_of_the_registry_has_its_interaction(qtbot, window) -> None:
    """The GUI side of the tools' registry: each ASSIST tool's mouse handling, and a per-image job
    started when the tool is chosen exactly for the tools whose entry names one (SLIC)."""
    assists = window.images.assists
    assert set(assists.interactions) == set(ASSIST_TOOLS)
    for tool, interaction in assists.interactions.items():
        assert (interaction.prepare is not None) == (tool_spec(tool).image_job is not None)
