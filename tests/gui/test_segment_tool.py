"""Edit mode's click to segment (A) driven like a user: a random-weights MobileSAM chosen in the tool's
file dialog, real clicks and a drag on the viewer, V, Enter under the overwrite rule, one undo, a bad
file's message. Random weights give arbitrary masks: the tests check the mechanics (the preview is the
session's candidate, what Enter writes, undo), not the masks' quality (docs/segment.md)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cocoseg_gui.core.editing.editor import Tool
from cocoseg_gui.core.editing.rules import Mode, Rule, paint
from cocoseg_gui.gui.services.preferences import SAM_WEIGHTS_KEY
from cocoseg_gui.gui.widgets import segment_tool
from tests.gui import test_mask_editor as editor_tests
from tests.gui.test_mask_editor import at, edit_at_centre, labels
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401
from tests.unit import segment_fixtures

generated_masks = editor_tests.generated_masks
window = editor_tests.window
mobile_state, mobile_sam_file = segment_fixtures.mobile_state, segment_fixtures.mobile_sam_file  # random
NO_MOD, LEFT, RIGHT = Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


@pytest.fixture(autouse=True)
def embedding_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def choose_in_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def shown_matches_session(images) -> None:  # type: ignore[no-untyped-def]
    """The overlay shows exactly the session's chosen candidate (the area Enter would paint)."""
    session = images.assists.segment.session
    expected, shown = session.area(), images.assists.overlay.area
    assert shown is not None and shown.box == expected.box
    assert np.array_equal(shown.mask, expected.mask)


def test_click_previews_v_cycles_enter_paints_under_the_rule_and_undo_restores(
    qtbot, window, monkeypatch, mobile_sam_file
) -> None:
    images = window.images
    tool = images.assists.segment
    before, cx, cy = edit_at_centre(qtbot, window)
    choose_in_dialog(monkeypatch, mobile_sam_file)
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_A)  # the tool: no weights yet, so Weights… chooses them
        assert images.editor.settings.tool is Tool.SAM and tool.act_choose.isVisible()
        tool.act_choose.trigger()
    assert window.state.settings.value(SAM_WEIGHTS_KEY) == str(mobile_sam_file)
    assert tool.job is None and tool.session.embedding.original_size == images.view_state.image.rgb.shape[:2]

    viewport = images.viewer.viewport()
    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mouseClick(viewport, LEFT, NO_MOD, at(window, cx, cy))
        job = tool.job
        assert job is not None  # the decode runs in the worker, not in this event handler
    assert job.thread_ident is not None and job.thread_ident != threading.get_ident()
    assert tool.session.candidates == 3 and tool.session.index == 0
    shown_matches_session(images)
    assert np.array_equal(labels(window), before)  # previewed, nothing written

    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_V)
    assert tool.session.index == 1
    shown_matches_session(images)
    # the fullest candidate, so that Enter has pixels to paint whatever the random weights give
    sizes = [int(m.sum()) for m in tool.session._candidates.masks]
    while tool.session.index != int(np.argmax(sizes)):
        with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
            qtbot.keyClick(window, Qt.Key.Key_V)
    area = tool.session.area()
    assert not area.empty

    images.editor.set_rule(Mode.PRESERVE)  # only unlabelled pixels change
    qtbot.keyClick(window, Qt.Key.Key_3)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    expected = before.copy()
    paint(expected, area, 3, Rule(Mode.PRESERVE))
    after = labels(window)
    assert np.array_equal(after, expected)
    changed = after != before
    assert changed.any() and (before[changed] == 0).all() and (after[changed] == 3).all()
    assert images.act_undo.text().startswith("&Undo Click to segment")
    assert images.assists.overlay.area is None or images.assists.overlay.area.empty  # the preview went
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one step
    assert labels(window).tobytes() == before.tobytes()
    images.discard_all()


def test_a_drag_is_a_box_right_click_a_background_point_and_esc_clears(
    qtbot, window, monkeypatch, mobile_sam_file
) -> None:
    images = window.images
    tool = images.assists.segment
    tool.images_ahead = list  # nothing embedded ahead (the last tests cover it): a quicker test
    before, cx, cy = edit_at_centre(qtbot, window)
    window.state.settings.setValue(SAM_WEIGHTS_KEY, str(mobile_sam_file))  # chosen in an earlier session
    images.use_settings(window.state.settings)
    viewport = images.viewer.viewport()
    qtbot.keyClick(window, Qt.Key.Key_A)
    # a click before the embedding is ready waits for it
    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mousePress(viewport, LEFT, NO_MOD, at(window, cx - 20, cy - 15))
        for step in range(1, 5):
            qtbot.mouseMove(viewport, at(window, cx - 20 + 10 * step, cy - 15 + 8 * step))
        qtbot.mouseRelease(viewport, LEFT, NO_MOD, at(window, cx + 20, cy + 17))
    qtbot.waitUntil(lambda: tool.job is None and not tool._ops and tool._box_op is None, timeout=WAIT_MS)
    assert tool.session._box == (cx - 19.5, cy - 14.5, cx + 20.5, cy + 17.5)  # the drag's last box
    assert tool.session.candidates == 1 and tool.session._points == []
    shown_matches_session(images)

    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mouseClick(viewport, RIGHT, NO_MOD, at(window, cx, cy))
    assert tool.session._labels == [0] and tool.session._points == [(cx + 0.5, cy + 0.5)]
    shown_matches_session(images)
    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mouseClick(viewport, LEFT, Qt.KeyboardModifier.AltModifier, at(window, cx + 5, cy))
    assert tool.session._labels == [0, 0]  # Alt+click: background too (not the class picker)

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert tool.session.preview is None and not images.assists.has_proposal

    qtbot.mouseClick(viewport, LEFT, NO_MOD, at(window, cx, cy))  # Esc while it decodes: no preview after
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: tool.job is None and not tool._ops, timeout=WAIT_MS)
    assert tool.session.preview is None and not images.assists.has_proposal
    assert np.array_equal(labels(window), before)


def test_refine_uses_the_active_class_region_as_the_mask_prompt(
    qtbot, window, monkeypatch, mobile_sam_file
) -> None:
    images = window.images
    tool = images.assists.segment
    tool.images_ahead = list  # nothing embedded ahead (the last tests cover it): a quicker test
    before, cx, cy = edit_at_centre(qtbot, window)
    cls = int(np.bincount(before[before < 255].ravel())[1:].argmax()) + 1  # a class the image has
    images.editor.set_class(cls)
    tool.set_weights(mobile_sam_file)
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_A)
    calls: list[np.ndarray] = []
    original = type(tool.session).refine_with
    monkeypatch.setattr(type(tool.session), "refine_with", lambda s, r: (calls.append(r), original(s, r)))
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    qtbot.mouseClick(images.viewer.viewport(), LEFT, NO_MOD, at(window, cx, cy))
    qtbot.waitUntil(lambda: tool.session.candidates and tool.job is None, timeout=WAIT_MS)
    assert len(calls) == 1 and np.array_equal(calls[0], before == cls)
    assert tool.session.candidates == 1  # a click with a mask prompt decodes one mask
    shown_matches_session(images)


def test_a_bad_weights_file_is_named_in_a_dialog_and_the_tool_stays_off(
    qtbot, window, monkeypatch, tmp_path
) -> None:
    images = window.images
    bad = tmp_path / "not_weights.pt"
    bad.write_text("this is not a weights file\n")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, _t, text, *a: shown.append(text))
    edit_at_centre(qtbot, window)
    choose_in_dialog(monkeypatch, bad)
    qtbot.keyClick(window, Qt.Key.Key_A)
    images.assists.segment.act_choose.trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)
    assert "not_weights.pt" in shown[0]
    assert images.editor.settings.tool is Tool.BRUSH and images.assists.segment.weights is None
    assert window.state.settings.value(SAM_WEIGHTS_KEY) is None


def test_without_the_sam_packages_the_tool_is_disabled_and_says_how_to_install(
    qtbot, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(segment_tool, "PACKAGES", ("no_such_sam_package_here",))
    win = make_window(qtbot, tmp_path)
    button = win.images.edit_toolbar.tool_actions[Tool.SAM]
    assert not button.isEnabled()
    assert "no_such_sam_package_here" in button.toolTip() and "pip install" in button.toolTip()


def test_the_next_image_is_embedded_ahead_and_showing_it_runs_no_encoder(
    qtbot, window, mobile_sam_file, embedding_cache
) -> None:
    images = window.images
    tool = images.assists.segment
    edit_at_centre(qtbot, window)
    first = images.view_state.image.image_id
    tool.set_weights(mobile_sam_file)
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_A)
    ahead_done = lambda: tool.segmenter.embeddings_computed == 2 and tool.ahead_job is None  # noqa: E731
    qtbot.waitUntil(ahead_done, timeout=WAIT_MS)
    assert tool._ahead_done == {first, images.browser.model.image_id_at(1)}  # this image and the next one
    assert len(list((embedding_cache / "segment").glob("*.npz"))) == 2
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_J)  # the next image
    assert images.view_state.image.image_id != first and tool.session is not None
    assert tool.segmenter.embeddings_computed == 2  # from the cache
    qtbot.waitUntil(lambda: tool.segmenter.embeddings_computed == 3, timeout=WAIT_MS)  # the one after it
    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mouseClick(images.viewer.viewport(), LEFT, NO_MOD, at(window, 40, 40))
    shown_matches_session(images)


def test_the_previous_image_is_embedded_ahead_after_the_next_and_going_back_runs_no_encoder(
    qtbot, window, mobile_sam_file, embedding_cache
) -> None:
    """The user goes back and forth: from the second image, the third and then the first are embedded
    ahead, one job at a time, each after a pause in the prompts; K (back) finds the first in the cache."""
    images = window.images
    tool = images.assists.segment
    edit_at_centre(qtbot, window)
    model = images.browser.model
    first, second, third = (model.image_id_at(row) for row in range(3))
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_J)  # the second image (nothing embedded yet: no tool, no weights)
    assert images.view_state.image.image_id == second
    embedded: list[int] = []  # the images whose pixels an ahead job read, in order (read in the worker)
    workspace_ahead = tool.images_ahead

    def recorded() -> list:  # type: ignore[type-arg]
        return [(i, lambda i=i, read=read: (embedded.append(i), read())[1]) for i, read in workspace_ahead()]

    tool.images_ahead = recorded
    assert [i for i, _read in workspace_ahead()] == [third, first]  # the workspace's order: next, previous
    tool.set_weights(mobile_sam_file)
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_A)
    both_done = lambda: tool.segmenter.embeddings_computed == 3 and tool.ahead_job is None  # noqa: E731
    qtbot.waitUntil(both_done, timeout=2 * WAIT_MS)
    assert embedded == [third, first]  # one after the other, never both at once (one ahead_job at a time)
    assert tool._ahead_done == {first, second, third}
    assert len(list((embedding_cache / "segment").glob("*.npz"))) == 3
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_K)  # back to the first image
    assert images.view_state.image.image_id == first and tool.session is not None
    assert tool.segmenter.embeddings_computed == 3  # from the cache
    with qtbot.waitSignal(tool.decoded, timeout=WAIT_MS):
        qtbot.mouseClick(images.viewer.viewport(), LEFT, NO_MOD, at(window, 40, 40))
    shown_matches_session(images)
    assert embedded == [third, first]  # its neighbours (the second) are embedded already: nothing more


def test_an_embedding_ahead_that_ends_after_the_window_is_gone_touches_nothing(
    qtbot, window, mobile_sam_file, request
) -> None:
    """CI saw it: the window closed and was deleted (its timers with it) while an image was being embedded
    ahead; the job's end then restarted the deleted timer (RuntimeError in the event loop)."""
    import shiboken6

    images = window.images
    tool = images.assists.segment
    edit_at_centre(qtbot, window)
    tool.set_weights(mobile_sam_file)
    with qtbot.waitSignal(tool.ready, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: tool.ahead_job is not None, timeout=WAIT_MS)  # after the pause: embedding ahead
    job = tool.ahead_job
    with qtbot.waitSignal(job.done, timeout=WAIT_MS):
        window.close()  # closeEvent: settings saved, every workspace shut down
        request.node.qt_widgets = [(w, f) for w, f in request.node.qt_widgets if w() is not window]
        shiboken6.delete(window)  # what the window's deleteLater does: its children (the timer) go too
    qtbot.wait(50)  # any slot still queued runs: an exception there fails the test (pytest-qt)
    assert tool.ahead_job is None and tool.session is None
