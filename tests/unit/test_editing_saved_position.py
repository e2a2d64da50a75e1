"""Unsaved state by history position (undo back to the save is clean) and the undo memory bound across
images (HistoryBook), without Qt."""

from __future__ import annotations

import numpy as np

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.history import MIN_STEPS, History, HistoryBook
from cocoseg_gui.core.editing.image_edit import Brush, ImageEdit
from cocoseg_gui.core.masks.label_map import LabelMap


def stroke(session: ImageEdit, x: float, y: float, value: int = 1, radius: int = 5) -> None:
    session.begin_stroke((x, y), Brush(value, radius), "Brush stroke")
    session.stroke_to((x + 30, y))
    session.end_stroke()


def test_undo_back_to_the_saved_state_is_clean_and_redo_makes_it_dirty_again() -> None:
    session = ImageEdit(np.zeros((100, 100), np.uint8))
    stroke(session, 10, 10)
    stroke(session, 10, 40)
    session.mark_saved()
    saved = session.label.copy()
    stroke(session, 10, 70)
    assert session.dirty
    session.undo()
    assert not session.dirty and np.array_equal(session.label, saved)
    session.undo()
    assert session.dirty  # before the save: unsaved again
    session.redo()
    assert not session.dirty
    session.redo()
    assert session.dirty


def test_a_new_edit_after_undo_never_matches_the_discarded_saved_step() -> None:
    session = ImageEdit(np.zeros((100, 100), np.uint8))
    stroke(session, 10, 10)
    session.mark_saved()
    session.undo()
    stroke(session, 10, 60, value=2)  # a different future: the saved step is gone from redo
    assert session.dirty
    session.undo()
    assert session.dirty  # the original state, which was not what was saved


def test_undo_all_the_way_back_to_an_unedited_map_is_clean() -> None:
    session = ImageEdit(np.zeros((100, 100), np.uint8))
    stroke(session, 10, 10)
    stroke(session, 10, 50)
    assert session.dirty
    session.undo()
    session.undo()
    assert not session.dirty and not session.label.any()


def test_a_stroke_in_progress_is_unsaved_and_a_cancelled_one_is_not() -> None:
    session = ImageEdit(np.zeros((100, 100), np.uint8))
    session.begin_stroke((10, 10), Brush(1, 3), "Brush stroke")
    assert session.dirty
    session.cancel_stroke()
    assert not session.dirty and not session.label.any()


def test_dropping_the_oldest_steps_keeps_the_empty_stack_distinct_from_the_start() -> None:
    session = ImageEdit(np.zeros((64, 64), np.uint8), History(max_steps=MIN_STEPS))
    for k in range(MIN_STEPS + 5):  # more steps than kept: the first ones are dropped
        session.begin_stroke((k % 60, 5), Brush(1 + k // 60, 0), "dot")  # 2nd pass: other value
        session.end_stroke()
    while session.undo() is not None:
        pass
    assert session.label.any()  # the start cannot be reached any more ...
    assert session.dirty  # ... so this state is not the (unedited) saved one


def test_the_book_bounds_the_total_dropping_other_images_oldest_steps_first() -> None:
    step_bytes = 21 * 21  # a square dot of radius 10 over background: one 21x21 uint8 patch
    book = HistoryBook(max_bytes=5 * step_bytes)
    a = ImageEdit(np.zeros((200, 200), np.uint8), book[1])
    b = ImageEdit(np.zeros((200, 200), np.uint8), book[2])

    def square(session: ImageEdit, k: int) -> None:
        session.begin_stroke((20.0, 15.0 + 30 * k), Brush(1, 10, Tip.SQUARE), "square")
        session.end_stroke()

    for k in range(3):
        square(a, k)
    for k in range(2):
        square(b, k)
    assert book.memory_bytes == 5 * step_bytes
    square(b, 2)  # above the bound: image 1's oldest step goes, not image 2's
    assert book.memory_bytes <= 5 * step_bytes
    assert a.history.undo_count == 2 and b.history.undo_count == 3
    for k in range(3, 5):
        square(b, k)
    assert a.history.undo_count == 0 and b.history.undo_count == 5
    square(a, 3)  # now image 2 is the other one: its oldest go first
    assert a.history.undo_count == 1 and b.history.undo_count == 4
    assert book.memory_bytes <= 5 * step_bytes and book.memory_by_image() == {
        1: step_bytes,
        2: 4 * step_bytes,
    }


def test_the_newest_step_is_kept_even_alone_above_the_total() -> None:
    book = HistoryBook(max_bytes=10)
    session = ImageEdit(np.zeros((100, 100), np.uint8), book[7])
    stroke(session, 10, 10)
    stroke(session, 10, 50)
    assert session.history.undo_count == 1 and book.memory_bytes > 10
    assert session.undo() is not None


def test_the_editor_reports_the_undo_memory_of_every_image() -> None:
    editor = ImageEditor()
    for image_id in (1, 2):
        labels = LabelMap(np.zeros((100, 100), np.uint8), {1: "person"}, np.zeros((256, 3), np.uint8))
        editor.attach(image_id, f"{image_id}.jpg", labels, None)
        editor.press((10.0, 10.0))
        editor.move((60.0, 10.0))
        editor.release()
    per_image = editor.book.memory_by_image()
    assert set(per_image) == {1, 2} and editor.undo_memory_bytes == sum(per_image.values()) > 0
