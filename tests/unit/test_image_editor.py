"""ImageEditor (core, no Qt): tools write through the LabelMap by box; sessions kept per image."""

from __future__ import annotations

import numpy as np

from cocoseg_gui.core.editing.editor import ImageEditor, Tool
from cocoseg_gui.core.editing.rules import Mode
from cocoseg_gui.core.masks.label_map import LabelMap, LabelsChanged

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
    assert all(e.box.bottom - e.box.top <= 3 and not e.replaced for e in events)
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


def test_polygon_fills_on_close_subtracts_only_its_class_and_is_dropped_by_a_tool_change() -> None:
    labels = make_map()
    editor = ImageEditor()
    editor.attach(3, "a.jpg", labels, None)
    editor.update(tool=Tool.POLYGON)
    for v in [(20.5, 5.5), (40.5, 5.5), (40.5, 15.5), (20.5, 15.5), (1.5, 39.5)]:
        editor.press(v)
        editor.release()
    assert not labels.array[:, :30].any()  # nothing painted while open
    assert editor.remove_vertex() and len(editor.polygon_vertices) == 4
    editor.close_polygon()
    assert (labels.array[5:16, 20:41] == 1).all() and labels.array[4, 25] == 0
    assert editor.undo_text == "Polygon (person)" and not editor.polygon_vertices
    editor.update(active_class=2)
    for v in [(25.5, 0.5), (35.5, 0.5), (35.5, 39.5), (25.5, 39.5)]:
        editor.press(v)
    editor.close_polygon(subtract=True)
    assert (labels.array[16:, 30:36] == 0).all() and (labels.array[16:, 36:] == 2).all()
    assert (labels.array[5:16, 25:36] == 1).all()  # person inside the polygon is not subtracted
    editor.press((1.5, 1.5))
    editor.update(tool=Tool.BRUSH)
    assert not editor.polygon_vertices


def test_ignore_brush_paints_255_and_fill_can_take_the_whole_class() -> None:
    labels = make_map()
    labels.apply((slice(0, 5), slice(0, 5)), 1)
    labels.apply((slice(30, 35), slice(0, 5)), 1)
    editor = ImageEditor()
    editor.attach(4, "a.jpg", labels, None)
    editor.update(tool=Tool.IGNORE, brush_radius=0)
    editor.press((10.5, 10.5))
    editor.release()
    assert labels.array[10, 10] == 255 and editor.undo_text == "Ignore stroke (ignore)"
    editor.update(tool=Tool.FILL, fill_whole_class=True, active_class=2)
    editor.press((0.5, 0.5))
    assert (labels.array[0:5, 0:5] == 2).all() and (labels.array[30:35, 0:5] == 2).all()


def test_discard_forgets_the_edits_and_history_so_a_revisit_starts_from_the_file() -> None:
    editor = ImageEditor()
    editor.attach(1, "a.jpg", make_map(), None)
    editor.press((5.5, 5.5))
    editor.release()
    assert editor.unsaved_ids() == [1] and 1 in editor.book
    editor.discard(1)
    assert editor.unsaved() == [] and editor.current_image is None and 1 not in editor.book
    fresh = make_map()  # what the loader reads from the file again
    editor.attach(1, "a.jpg", fresh, None)
    assert not editor.dirty and editor.undo_text is None
    assert np.array_equal(fresh.array, make_map().array)


def test_save_copy_writes_the_png_elsewhere_and_leaves_the_edits_unsaved(tmp_path) -> None:
    from cocoseg_gui.core.masks.png import read_mask_png

    editor = ImageEditor()
    labels = make_map()
    editor.attach(1, "sub/a.jpg", labels, None)
    editor.press((5.5, 5.5))
    editor.release()
    (tmp_path / "a.png").write_bytes(b"someone else's file")
    path = editor.save_copy(tmp_path)
    assert path == tmp_path / "a_1.png" and (tmp_path / "a.png").read_bytes() == b"someone else's file"
    assert np.array_equal(read_mask_png(path), labels.array) and editor.dirty
