"""ImageEditor (core, no Qt): tools write through the LabelMap by box; sessions kept per image."""

from __future__ import annotations

import numpy as np

from cocoseg_gui.core.editing.editor import ImageEditor, Tool
from cocoseg_gui.core.editing.rules import Mode
from cocoseg_gui.core.label_map import LabelMap, LabelsChanged

NAMES = {0: "background", 1: "person", 2: "car"}


def make_map(h: int = 40, w: int = 60) -> LabelMap:
    base = np.zeros((h, w), np.uint8)
    base[:, 30:] = 2
    return LabelMap(base, NAMES)


def test_a_stroke_notifies_only_its_box_and_is_one_step() -> None:
    labels = make_map()
    events: list[LabelsChanged] = []
    labels.changed.subscribe(events.append)
    editor = ImageEditor()
    editor.attach(7, "a.jpg", labels, (40, 60))
    editor.update(brush_radius=1)
    editor.press((5.5, 5.5))
    editor.move((10.5, 5.5))
    editor.release()
    assert all(e.region.bottom - e.region.top <= 3 and not e.replaced for e in events)
    assert labels.array[4:7, 4:12].all() and labels.array[8:].max() in (0, 2)
    assert editor.undo_text == "Brush stroke (person)" and editor.dirty
    assert editor.undo() and not labels.array[:, :30].any()


def test_preserve_mode_keeps_other_classes_and_the_eraser_still_erases() -> None:
    labels = make_map()
    editor = ImageEditor()
    editor.attach(1, "a.jpg", labels, None)
    editor.set_rule(Mode.PRESERVE)
    editor.update(brush_radius=3)
    editor.press((30.5, 10.5))
    editor.release()
    assert (labels.array[:, 30:] == 2).all() and labels.array[10, 29] == 1
    editor.update(tool=Tool.ERASER, eraser_radius=0)
    editor.press((29.5, 10.5))
    editor.release()
    assert labels.array[10, 29] == 0


def test_unsaved_edits_come_back_when_the_image_is_shown_again() -> None:
    editor = ImageEditor()
    first = make_map()
    editor.attach(1, "a.jpg", first, None)
    editor.press((3.5, 3.5))
    editor.release()
    edited = np.array(first.array)
    editor.attach(2, "b.jpg", make_map(), None)
    reloaded = make_map()  # what the file still holds
    editor.attach(1, "a.jpg", reloaded, None)
    assert np.array_equal(reloaded.array, edited)
    assert editor.unsaved() == ["a.jpg"] and editor.undo_text is not None


def test_picker_and_class_keys_refuse_unknown_classes() -> None:
    editor = ImageEditor()
    editor.attach(1, "a.jpg", make_map(), None)
    assert editor.pick((40.0, 1.0)) == 2 and editor.settings.active_class == 2
    assert not editor.set_class(9) and editor.settings.active_class == 2
    editor.update(brush_radius=999)
    assert editor.settings.brush_radius == 200
