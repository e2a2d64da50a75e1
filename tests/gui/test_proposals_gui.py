"""Model proposals in Edit mode, driven like a user: the session's checkpoint (a tiny random U-Net with
the mask folder's classes) proposes for the shown image with M in a worker; accepting the active class
or a dragged box changes exactly those pixels, Ctrl+S saves them, Ctrl+Z undoes in one step."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, read_image_mask_map
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from tests.gui.window_helpers import (  # noqa: F401
    WAIT_MS,
    answer_question,
    make_window,
    no_blocking_dialogs,
    open_and_wait,
)
from tests.unit.proposal_fixtures import tiny_checkpoint

CTRL = Qt.KeyboardModifier.ControlModifier
ZOOM = 2.0


@pytest.fixture(scope="module")
def few_masks(tmp_path_factory, val_annotations, val_images) -> Path:
    out = tmp_path_factory.mktemp("proposals_gui") / "masks_val2017"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=3))
    return out


@pytest.fixture
def window(qtbot, tmp_path, val_annotations, val_images, few_masks) -> MainWindow:
    import shutil

    masks = tmp_path / "masks"
    shutil.copytree(few_masks, masks)
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, val_annotations, val_images)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        win.open_masks(masks)
    names = MaskDatasetFolder(masks).mapping.class_names()
    win.state.set_checkpoint(tiny_checkpoint(tmp_path / "tiny.pt", names))  # the session's checkpoint
    win.masks_dir = masks  # type: ignore[attr-defined]
    return win


def answer_weak_model_question(qtbot, controller) -> list[str]:  # type: ignore[no-untyped-def]
    """The random tiny checkpoint is unscored: its first use asks (issue 19 item 5); Run anyway."""
    if controller.spec().label not in controller._quality_confirmed:
        return answer_question(qtbot, "weak_model_question", "Run anyway")
    return []


def labels(window: MainWindow) -> np.ndarray:
    return np.array(window.images.view_state.labels.array)


def propose(qtbot, window: MainWindow):
    qtbot.keyClick(window, Qt.Key.Key_E)
    controller = window.images.proposals
    assert window.images.editing and controller.bar.isVisible()
    answer_weak_model_question(qtbot, controller)
    qtbot.keyClick(window, Qt.Key.Key_M)
    qtbot.waitUntil(lambda: controller.proposal is not None, timeout=WAIT_MS)
    assert controller.layer.visible and controller.layer.image is not None
    return controller, controller.proposal


def saved_mask(window: MainWindow) -> np.ndarray:
    folder = window.masks_dir  # type: ignore[attr-defined]
    name = read_image_mask_map(folder)[window.images.current.file_name]
    return np.array(Image.open(folder / "masks" / name))


def test_propose_then_accept_the_active_class_saves_exactly_its_pixels(qtbot, window) -> None:
    before = labels(window)
    controller, proposal = propose(qtbot, window)
    assert controller.spec().checkpoint == window.state.checkpoint_path
    assert controller.job.thread_ident not in (None, threading.get_ident())  # never on the GUI thread
    assert proposal.shape == before.shape
    counts = proposal.class_pixels()
    cls = max((i for i in counts if i > 0), key=counts.get)
    assert window.images.editor.set_class(cls)
    controller.bar.act_accept_class.trigger()
    expected = before.copy()
    take = proposal.proposed & (proposal.labels == cls) & (before == 0)  # unlabelled pixels only
    expected[take] = cls
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(saved_mask(window), expected)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes()

    controller.bar.act_confidence.setChecked(True)  # the heat view replaces the class colours
    assert controller.layer.visible and controller.layer.image is not None
    controller.bar.act_reject.trigger()
    assert not controller.layer.visible and controller.proposal is None
    window.images.discard_all()  # the undo left an unsaved change: no quit question at teardown


def test_accept_in_a_dragged_box_changes_only_inside_and_the_source_follows_the_session(
    qtbot, window, tmp_path
) -> None:
    before = labels(window)
    h, w = before.shape
    controller, proposal = propose(qtbot, window)
    viewer = window.images.viewer
    viewer.set_view_state((ZOOM, QPointF(w / 2, h / 2)))
    controller.bar.act_accept_box.setChecked(True)
    x0, y0, x1, y1 = w // 2 - 20, h // 2 - 15, w // 2 + 25, h // 2 + 10

    def at(x: int, y: int):
        return viewer.mapFromScene(QPointF(x + 0.5, y + 0.5))

    vp = viewer.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x0, y0))
    qtbot.mouseMove(vp, at(x1, y1))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x1, y1))
    expected = before.copy()
    inside = np.zeros(before.shape, bool)
    inside[y0 : y1 + 1, x0 : x1 + 1] = True
    inside &= proposal.proposed & (before == 0)
    expected[inside] = proposal.labels[inside]
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    assert window.images.editor.undo_text == "Accept proposal in box"
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # one step
    assert labels(window).tobytes() == before.tobytes() and window.images.editor.undo_text is None

    other = tiny_checkpoint(
        tmp_path / "finetuned.pt", MaskDatasetFolder(window.masks_dir).mapping.class_names()
    )
    window.state.set_checkpoint(other)  # e.g. a fine-tune ended
    assert controller.spec().checkpoint == other
    window.images.discard_all()


def test_batch_proposals_for_unlabelled_images_then_review_accept_and_next(qtbot, window) -> None:
    from cocoseg_gui.core.proposals.batch import ACCEPTED, ProposalsFolder

    images = window.images
    controller = images.proposals
    qtbot.keyClick(window, Qt.Key.Key_E)
    asked = answer_weak_model_question(qtbot, controller)
    controller.bar.act_batch.trigger()
    assert asked and "Propose: the model is unscored" in asked[0]  # named before it ran
    assert controller.busy_job() is not None
    qtbot.waitUntil(
        lambda: controller.batch_job is not None and not controller.batch_job.is_running(),
        timeout=WAIT_MS * 3,
    )
    qtbot.waitUntil(lambda: controller.review is not None, timeout=WAIT_MS)
    labelled = set(read_image_mask_map(window.masks_dir))  # type: ignore[attr-defined]
    assert labelled and not labelled & set(controller.review.entries)  # only unlabelled images
    qtbot.keyClick(window, Qt.Key.Key_N)  # the first unreviewed image, its proposal as the layer
    qtbot.waitUntil(
        lambda: (
            images.current is not None
            and images.current.file_name in controller.review.entries
            and controller.proposal is not None
        ),
        timeout=WAIT_MS,
    )
    name = images.current.file_name
    proposal = controller.proposal
    before = labels(window)
    expected = before.copy()  # no saved mask: the editor starts from its annotations, drawn
    fill = proposal.proposed & (before == 0)  # what the annotations labelled stays
    expected[fill] = proposal.labels[fill]
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        controller.bar.act_review_accept.trigger()  # accept, save, next unreviewed
    assert images.current.file_name != name
    folder = window.masks_dir  # type: ignore[attr-defined]
    saved = np.array(Image.open(folder / "masks" / read_image_mask_map(folder)[name]))
    assert np.array_equal(saved, expected) and not np.array_equal(saved, before)
    assert ProposalsFolder(controller.review.root).entries[name].status == ACCEPTED


def test_replace_labels_is_asked_with_the_counts_and_every_accept_is_one_undo_step(
    qtbot, window, monkeypatch
) -> None:
    """Issue 18 item 2 in the window: Shift+M keeps every labelled pixel; with Replace labels on, the
    question names how many labelled pixels of which classes change, Cancel changes nothing, Yes
    replaces them; all / class / box / stroke accepts are each one Ctrl+Z."""
    images = window.images
    before = labels(window)
    controller, proposal = propose(qtbot, window)
    editor = images.editor
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)  # accept all (default: fill)
    fill = proposal.proposed & (before == 0)
    expected = before.copy()
    expected[fill] = proposal.labels[fill]
    assert np.array_equal(labels(window), expected) and not np.array_equal(expected, before)
    assert np.array_equal(labels(window)[before != 0], before[before != 0])  # every label kept
    assert editor.undo_text == "Accept proposal"
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes() and editor.undo_text is None

    replaced = proposal.proposed & (proposal.labels != before) & (before != 0)
    assert replaced.sum() > 0
    counts = np.bincount(before[replaced], minlength=256)
    top = int(counts.argmax())
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(parent, title, text, *args):
        asked.append(f"{title}: {text}")
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    controller.bar.act_replace.setChecked(True)
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    assert len(asked) == 1 and f"replaces {int(replaced.sum()):,} labelled pixels" in asked[0]
    assert f"{editor.class_name(top)} {int(counts[top]):,}" in asked[0]
    assert labels(window).tobytes() == before.tobytes() and editor.undo_text is None  # Cancel
    answer[0] = QMessageBox.StandardButton.Yes
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    everything = before.copy()
    everything[proposal.proposed] = proposal.labels[proposal.proposed]
    assert np.array_equal(labels(window), everything)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert labels(window).tobytes() == before.tobytes() and editor.undo_text is None

    controller.bar.act_replace.setChecked(False)
    h, w = before.shape
    for act, step in (
        (controller.bar.act_accept_class, "Accept proposal ("),
        (controller.bar.act_accept_stroke, "Accept proposal in stroke"),
    ):
        if act is controller.bar.act_accept_class:
            counts = proposal.class_pixels()
            assert editor.set_class(max((i for i in counts if i > 0), key=counts.get))
            act.trigger()
        else:
            act.setChecked(True)
            images.viewer.set_view_state((ZOOM, QPointF(w / 2, h / 2)))
            vp = images.viewer.viewport()
            points = [(w // 2 - 30, h // 2), (w // 2, h // 2 + 10), (w // 2 + 30, h // 2)]
            at = [images.viewer.mapFromScene(QPointF(x + 0.5, y + 0.5)) for x, y in points]
            qtbot.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
            for p in at[1:]:
                qtbot.mouseMove(vp, p)
            qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])
            act.setChecked(False)
        changed = labels(window)
        assert not np.array_equal(changed, before) and editor.undo_text.startswith(step)
        assert np.array_equal(changed[before != 0], before[before != 0])
        qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
        assert labels(window).tobytes() == before.tobytes() and editor.undo_text is None
    assert len(asked) == 2
    images.discard_all()
