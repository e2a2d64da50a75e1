"""Undo/redo of core.editing: exact bytes over long random edit sequences, one step per stroke, bounds."""

from __future__ import annotations

import numpy as np
import pytest

from cocoseg_gui.core.editing.box import Box
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.history import History, HistoryBook, step_description
from cocoseg_gui.core.editing.image_edit import Brush, ImageEdit
from cocoseg_gui.core.editing.rules import Mode, Rule
from tests.unit.editing_fixtures import first_mask, made_masks, mask_folder  # noqa: F401


def random_edit(session: ImageEdit, rng: np.random.Generator, classes: list[int]) -> None:
    h, w = session.label.shape
    point = (float(rng.integers(-20, w + 20)), float(rng.integers(-20, h + 20)))
    value = int(rng.choice(classes))
    rule = [Rule(), Rule(Mode.PRESERVE), Rule(Mode.ONLY_CLASS, int(rng.choice(classes)))][rng.integers(3)]
    kind = rng.integers(4)
    if kind == 0:
        brush = Brush(value, int(rng.integers(0, 40)), Tip(rng.choice(["round", "square"])), rule)
        session.begin_stroke(point, brush, step_description("Brush stroke", str(value)))
        for _ in range(int(rng.integers(1, 8))):
            session.stroke_to((point[0] + rng.normal(0, 60), point[1] + rng.normal(0, 60)))
        session.end_stroke()
    elif kind == 1:
        session.fill(point, value, "Fill", rule, whole_class=bool(rng.integers(2)))
    elif kind == 2:
        vertices = [(point[0] + rng.normal(0, 80), point[1] + rng.normal(0, 80)) for _ in range(5)]
        session.polygon(vertices, value, "Polygon", rule, subtract=bool(rng.integers(2)))
    else:
        session.undo() if rng.integers(2) else session.redo()


def test_undo_redo_restore_exact_bytes_over_a_long_random_sequence(mask_folder) -> None:  # noqa: F811
    _, label = first_mask(mask_folder)
    original = label.copy()
    classes = [0, 255, *[c for c in np.unique(label).tolist() if c not in (0, 255)], 7]
    session = ImageEdit(label)
    rng = np.random.default_rng(1234)
    for _ in range(120):
        random_edit(session, rng, classes)
    # walk all the way back, checking every state, then all the way forward
    n = session.history.undo_count
    assert n >= 10
    states = [label.copy()]
    while session.undo() is not None:
        states.append(label.copy())
    assert np.array_equal(label, original) and len(states) == n + 1
    for expected in reversed(states[:-1]):
        assert session.redo() is not None
        assert np.array_equal(label, expected)
    assert session.redo() is None


def test_a_stroke_is_one_step_with_the_union_box() -> None:
    label = np.zeros((300, 300), dtype=np.uint8)
    session = ImageEdit(label)
    session.begin_stroke((10, 10), Brush(5, 3), "Brush stroke (person)")
    for x in range(20, 290, 30):
        session.stroke_to((x, x))
    step = session.end_stroke()
    assert step is not None and session.history.undo_count == 1
    assert step.box == Box(7, 7, 264, 264)  # first point 10, last 260, r=3
    assert session.history.undo_description == "Brush stroke (person)" and session.dirty
    session.undo()
    assert not label.any() and session.history.redo_description == "Brush stroke (person)"


def test_a_stroke_that_changes_nothing_is_no_step_and_a_new_edit_clears_redo() -> None:
    label = np.full((50, 50), 4, dtype=np.uint8)
    session = ImageEdit(label)
    session.begin_stroke((10, 10), Brush(4, 5), "Brush stroke (car)")
    assert session.end_stroke() is None and session.history.undo_count == 0
    session.fill((1, 1), 6, "Fill (bus)")
    session.undo()
    assert session.history.redo_count == 1
    session.polygon([(0, 0), (10, 0), (0, 10)], 2, "Polygon (cat)")
    assert session.history.redo_count == 0 and session.history.undo_description == "Polygon (cat)"


def test_cancel_puts_the_stroke_back() -> None:
    label = np.zeros((100, 100), dtype=np.uint8)
    label[40:60, 40:60] = 3
    before = label.copy()
    session = ImageEdit(label)
    session.begin_stroke((0, 0), Brush(9, 10), "Brush stroke")
    session.stroke_to((99, 99))
    session.cancel_stroke()
    assert np.array_equal(label, before) and session.history.undo_count == 0


def test_history_bounds_drop_the_oldest_steps() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        History(max_steps=10)
    label = np.zeros((64, 64), dtype=np.uint8)
    session = ImageEdit(label, History(max_steps=100))
    for i in range(130):
        session.fill((0, 0), (i % 5) + 1, f"Fill {i}")
    assert session.history.undo_count == 100 and session.history.dropped == 30
    big = np.zeros((512, 512), dtype=np.uint8)
    budget = 3 * 512 * 512
    session = ImageEdit(big, History(max_steps=100, max_bytes=budget))
    for i in range(6):
        session.fill((0, 0), i + 1, f"Fill {i}")  # each step holds a full 512x512 patch
    assert session.history.undo_count == 3 and session.history.memory_bytes <= budget
    huge = ImageEdit(big, History(max_steps=100, max_bytes=1000))
    huge.fill((0, 0), 9, "Fill all")
    assert huge.history.undo_count == 1  # the newest step is kept even above the budget


def test_history_book_keeps_one_history_per_image() -> None:
    book = HistoryBook()
    a, b = np.zeros((20, 20), np.uint8), np.zeros((20, 20), np.uint8)
    ImageEdit(a, book[1]).fill((0, 0), 3, "Fill (a)")
    ImageEdit(b, book[2]).fill((0, 0), 4, "Fill (b)")
    assert book[1].undo_description == "Fill (a)" and book[2].undo_description == "Fill (b)"
    assert book.memory_bytes == 2 * 400
    book.forget(1)
    assert 1 not in book and book[1].undo_count == 0


def test_a_fill_or_polygon_is_an_unsaved_change_and_undo_back_is_too() -> None:
    """Fill and polygon changed pixels without marking them unsaved (no title star, no autosave, no quit
    question: edits could be lost); a change that paints nothing stays clean."""
    for edit in (
        lambda s: s.fill((2, 2), 3, "Fill (c)"),
        lambda s: s.polygon([(1, 1), (8, 1), (8, 8), (1, 8)], 3, "Polygon (c)"),
    ):
        session = ImageEdit(np.zeros((10, 10), np.uint8))
        edit(session)
        assert session.dirty and (session.label == 3).any()
        session.mark_saved()
        assert not session.dirty
        session.undo()
        assert session.dirty and not (session.label == 3).any()
    same = ImageEdit(np.full((10, 10), 3, np.uint8))
    same.fill((2, 2), 3, "Fill (c)")  # already that class: nothing changes
    assert not same.dirty
