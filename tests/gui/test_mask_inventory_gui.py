"""Issue 18 item 1: a saved label is what the window shows when the user comes back to the image.

Driven like a user: a new dataset made through File › New dataset (or a COCO dataset whose mask folder
lacks the image), Edit mode, real mouse strokes on the viewer, Ctrl+S, PageDown / PageUp, then a second
stroke, a save and a fresh window. Before the fix the viewer kept its own copy of image_mask_map.json:
the saved image came back unlabelled and the next save replaced the first stroke with the second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from cocoseg_gui.core.masks.dataset import read_image_mask_map
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from tests.gui.test_mask_editor import CTRL, drag, edit_at_centre, expected_stroke, labels
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401


def saved_mask(masks: Path, file_name: str) -> np.ndarray:
    return np.array(Image.open(masks / "masks" / read_image_mask_map(masks)[file_name]))


def away_and_back(qtbot, window: MainWindow) -> None:
    """PageDown to the next image, then PageUp back (each waits until the image is shown)."""
    shown = window.images.current
    assert shown is not None
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.images.current is not None and window.images.current.image_id != shown.image_id
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert window.images.current is not None and window.images.current.image_id == shown.image_id


def stroke(qtbot, window: MainWindow, before: np.ndarray, points: list[tuple[int, int]]) -> np.ndarray:
    """A brush stroke of class 1 along ``points``; the map it must leave (checked)."""
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, points)
    expected = expected_stroke(before, points, window.images.editor.settings.brush_radius, 1)
    assert not np.array_equal(expected, before)
    assert np.array_equal(labels(window), expected)
    return expected


def marks(window: MainWindow, file_name: str) -> tuple[bool, bool]:
    """The browser's (has mask, edited) flags of an image."""
    table = window.images.browser.table
    assert table is not None
    pos = table.names.index(file_name)
    return bool(table.has_mask[pos]), bool(table.edited[pos])


def paint_save_return_paint_save(qtbot, window: MainWindow, masks: Path) -> np.ndarray:
    """The issue's flow on the shown (unlabelled) image; returns the map both strokes make."""
    images = window.images
    name = images.current.file_name
    assert marks(window, name) == (False, False)
    before, cx, cy = edit_at_centre(qtbot, window)
    first = stroke(qtbot, window, before, [(cx - 12, cy - 6), (cx + 12, cy - 6)])
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(saved_mask(masks, name), first)
    assert marks(window, name) == (True, True)  # the browser follows the save, no reopening

    away_and_back(qtbot, window)
    assert images.current.mask_source == "mask file", images.current.mask_source
    assert np.array_equal(labels(window), first)  # the saved label is shown
    assert images.act_undo.text() == "&Undo Brush stroke (person)"  # and its history kept

    both = stroke(qtbot, window, first, [(cx - 12, cy + 6), (cx + 12, cy + 6)])
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(saved_mask(masks, name), both)
    assert (both == 1).sum() > (first == 1).sum()
    return both


def show_in_fresh_window(qtbot, tmp_path: Path, annotations: Path, images: Path, masks: Path, name: str):
    """A second window opening the dataset and its mask folder, showing image ``name``."""
    window = make_window(qtbot, tmp_path, "reopened.ini")
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(annotations, images, masks)
    image_id = window.state.index.image_by_file(name).id
    if window.images.current.image_id != image_id:
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
            window.images.browser.select_image(image_id)
    return window


def test_new_dataset_label_is_shown_after_coming_back_and_both_strokes_are_saved(
    qtbot, tmp_path: Path, val_images: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    window.datasets.act_new_dataset.trigger()
    dialog = window.datasets.dialog
    qtbot.keyClicks(dialog.images_edit, str(val_images))
    qtbot.keyClicks(dialog.classes_edit, "person, dog")
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    window.activateWindow()  # the dialog had the keyboard; the window manager gives it back
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    entry = window.state.workbench.dataset
    masks = window.state.masks_dir
    assert entry is not None and masks == entry.masks and read_image_mask_map(masks) == {}
    name = window.images.current.file_name

    both = paint_save_return_paint_save(qtbot, window, masks)
    assert window.images.mask_count() == 1 and "1 masks" in window.summary_label.text()
    view = window.masks_panel.report_view  # the Masks panel's report follows every save too

    def person_pixels() -> int | None:
        classes = (view.report or {}).get("classes", [])
        return next((c["pixels"] for c in classes if c["index"] == 1), None)

    qtbot.waitUntil(lambda: person_pixels() == int((both == 1).sum()), timeout=WAIT_MS)
    assert view.summary.text().startswith("1 masks · 1 classes with pixels")

    again = show_in_fresh_window(qtbot, tmp_path, entry.annotations, entry.images, masks, name)
    assert again.images.current.mask_source == "mask file"
    assert np.array_equal(labels(again), both)
    assert marks(again, name) == (True, True)


@pytest.fixture
def partly_masked(tmp_path: Path, val_annotations: Path, val_images: Path) -> Path:
    """A COCO mask folder holding masks of 3 of the 50 sample images only."""
    out = tmp_path / "masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=3))
    assert len(read_image_mask_map(out)) == 3
    return out


def open_unmasked_image(qtbot, tmp_path: Path, val_annotations, val_images, masks: Path) -> MainWindow:
    """The window on the COCO dataset with ``masks``, showing the first image the folder has no mask for."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(masks)
    table = window.images.browser.table
    masked = read_image_mask_map(masks)
    image_id = next(int(i) for i, n in zip(table.ids, table.names) if n not in masked)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.images.browser.select_image(image_id)
    # the annotations' own drawing is shown until a mask is saved
    assert window.images.current.mask_source == "annotations"
    return window


def test_coco_image_without_a_mask_keeps_its_saved_label(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, partly_masked: Path
) -> None:
    window = open_unmasked_image(qtbot, tmp_path, val_annotations, val_images, partly_masked)
    name = window.images.current.file_name
    both = paint_save_return_paint_save(qtbot, window, partly_masked)
    assert len(read_image_mask_map(partly_masked)) == 4 and window.images.mask_count() == 4

    again = show_in_fresh_window(qtbot, tmp_path, val_annotations, val_images, partly_masked, name)
    assert np.array_equal(labels(again), both)


def test_an_undone_and_saved_stroke_stays_undone_after_coming_back(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, partly_masked: Path
) -> None:
    window = open_unmasked_image(qtbot, tmp_path, val_annotations, val_images, partly_masked)
    images, name = window.images, window.images.current.file_name
    before, cx, cy = edit_at_centre(qtbot, window)
    first = stroke(qtbot, window, before, [(cx - 10, cy), (cx + 10, cy)])
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    away_and_back(qtbot, window)
    assert np.array_equal(labels(window), first)

    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # the undo history survived the trip
    assert labels(window).tobytes() == before.tobytes()
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(saved_mask(partly_masked, name), before)
    away_and_back(qtbot, window)
    assert images.current.mask_source == "mask file"
    assert labels(window).tobytes() == before.tobytes()  # the undone state, not the stroke
    assert images.act_redo.text() == "&Redo Brush stroke (person)"
    qtbot.keyClick(window, Qt.Key.Key_Y, CTRL)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert np.array_equal(saved_mask(partly_masked, name), first)


def test_a_save_by_another_process_is_shown_without_reopening(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, partly_masked: Path
) -> None:
    """Another process (a second window, a script) saves a mask for an image this window showed without
    one: the browser marks it and the viewer shows the saved mask (InventoryWatch re-reads the folder)."""
    window = open_unmasked_image(qtbot, tmp_path, val_annotations, val_images, partly_masked)
    name = window.images.current.file_name
    h, w = labels(window).shape
    script = (
        "import sys, numpy as np\n"
        "from cocoseg_gui.core.editing.save import save_edited_mask\n"
        "label = np.zeros((int(sys.argv[3]), int(sys.argv[4])), np.uint8)\n"
        "label[10:30, 20:60] = 1\n"
        "save_edited_mask(sys.argv[1], sys.argv[2], label, label.shape)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run(
        [sys.executable, "-c", script, str(partly_masked), name, str(h), str(w)], check=True, env=env
    )
    qtbot.waitUntil(lambda: marks(window, name) == (True, True), timeout=WAIT_MS)
    assert window.images.mask_count() == 4
    away_and_back(qtbot, window)
    assert window.images.current.mask_source == "mask file"
    expected = np.zeros((h, w), np.uint8)
    expected[10:30, 20:60] = 1
    assert np.array_equal(labels(window), expected)
