"""Issue 19's rough edges, each seen the way a user met it in a real window."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.palette import MIN_PRESENT_DELTA_E, display_palette, min_pair_delta_e
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.qimage_utils import qimage_to_rgb
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401


@pytest.fixture(scope="module")
def generated_masks(tmp_path_factory, val_annotations, val_images) -> Path:
    out = tmp_path_factory.mktemp("rough") / "masks_val2017"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1))
    return out


def open_with_masks(qtbot, tmp_path: Path, annotations: Path, images: Path, masks: Path) -> MainWindow:
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, annotations, images)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        win.open_masks(masks)
    return win


def test_after_a_restart_in_edit_mode_the_edit_bars_stay_hidden_until_edit_mode(
    qtbot, tmp_path, val_annotations, val_images, generated_masks
) -> None:
    masks = tmp_path / "masks"
    shutil.copytree(generated_masks, masks)
    first = open_with_masks(qtbot, tmp_path, val_annotations, val_images, masks)
    qtbot.keyClick(first, Qt.Key.Key_E)
    assert first.images.editing and first.images.edit_toolbar.isVisible()
    first.close()  # the layout is saved with the edit bars showing

    second = make_window(qtbot, tmp_path)
    images = second.images
    assert not images.editing
    assert not images.edit_toolbar.isVisible()
    assert not images.proposals.bar.isVisible()
    # nothing attached yet: the class box lists no class (it read "■ 1 1")
    assert images.edit_toolbar.class_box.count() == 0
    assert images.edit_toolbar.class_box.currentText() == ""


def test_zoom_does_not_carry_over_to_another_dataset(qtbot, tmp_path, val_annotations, val_images) -> None:
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    viewer = window.images.viewer
    fit = viewer.scale_factor()
    window.images.zoom_by(3.0)
    assert viewer.scale_factor() == pytest.approx(3 * fit)
    # a second dataset whose first image has the same size (the same file): the zoom used to stay
    other = tmp_path / "other" / "instances_other.json"
    other.parent.mkdir()
    shutil.copyfile(val_annotations, other)
    open_and_wait(qtbot, window, other, val_images)
    assert viewer.auto_fit()
    shown = viewer.scale_factor()
    viewer.zoom_fit()  # the fit at the view's size now (the new dataset's docks may differ a little)
    assert shown == pytest.approx(viewer.scale_factor())
    assert shown < 1.5 * fit


def test_the_status_summary_is_whole_in_a_wide_window_and_elided_in_a_small_one(
    qtbot, tmp_path, val_annotations, val_images, generated_masks
) -> None:
    window = open_with_masks(qtbot, tmp_path, val_annotations, val_images, generated_masks)
    label = window.summary_label
    assert label.text().endswith("masks")  # the longest summary: with the mask folder's count
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: window.width() == 1920)
    qtbot.waitUntil(lambda: not label.is_elided(), timeout=WAIT_MS)
    assert label.shown_text() == label.text()
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    assert label.width() <= 440 + 2 * label.margin()  # the cap leaves the message room at 1024


def test_the_classes_of_the_shown_image_have_colours_told_apart(qtbot, tmp_path, val_annotations, val_images):
    """The sample's first image shows person with chair-like reds (delta E 14 in the palette alone)."""
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    entries = window.images.legend.entries()
    shown = [i for i, *_ in entries if i not in (0, 255)]
    assert len(shown) > 5
    assert min_pair_delta_e(display_palette(), shown) < MIN_PRESENT_DELTA_E  # look-alikes in the palette
    legend = np.zeros((256, 3), np.uint8)
    for i, _name, rgb, _share in entries:
        legend[i] = rgb
    assert min_pair_delta_e(legend, shown) >= MIN_PRESENT_DELTA_E  # told apart on screen
    # the viewer paints each class in its legend colour (outlines off: image and fill only)
    window.act_outlines.setChecked(False)
    image = window.images.current
    out = qimage_to_rgb(window.images.viewer.render_image(1.0)).astype(np.int16)
    alpha, rgb, mask = window.opacity(), image.rgb.astype(np.int16), image.mask
    expected = np.where((mask > 0)[..., None], rgb * (1 - alpha) + legend.astype(np.int16)[mask] * alpha, rgb)
    assert np.abs(out - expected).max() <= 2


def test_the_legend_opacity_slider_and_the_keys_move_together(qtbot, tmp_path, val_annotations, val_images):
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    slider = window.images.legend.opacity_slider
    assert slider.value() == 50 and window.opacity() == pytest.approx(0.5)
    viewer = window.images.viewer
    before = qimage_to_rgb(viewer.render_image(1.0))
    slider.setValue(80)  # the slider sets the overlay's opacity...
    assert window.opacity() == pytest.approx(0.8)
    assert not np.array_equal(qimage_to_rgb(viewer.render_image(1.0)), before)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)  # ...and follows the keys
    assert window.opacity() == pytest.approx(0.7) and slider.value() == 70


def test_the_drawing_options_fold_away_say_their_choices_and_stay_as_left(
    qtbot, tmp_path, val_annotations, val_images
) -> None:
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    panel = window.masks_panel
    section = panel.drawing_section
    window.show_panel("masks")
    qtbot.waitUntil(lambda: section.content().height() == 0)  # folded: the classes get the room
    assert not section.isExpanded() and panel.overlap.visibleRegion().isEmpty()
    assert section.text() == "Drawing: smaller-on-top · crowd ignore"
    qtbot.mouseClick(section.toggleButton(), Qt.MouseButton.LeftButton)
    assert section.isExpanded()
    qtbot.waitUntil(lambda: not panel.overlap.visibleRegion().isEmpty())
    panel.crowd.setCurrentText("skip")
    panel.min_area.setValue(20)
    assert section.text() == "Drawing: smaller-on-top · crowd skip · min 20 px"
    window.close()
    again = make_window(qtbot, tmp_path)  # open, as it was left
    assert again.masks_panel.drawing_section.isExpanded()


def test_a_long_output_path_shows_its_start_and_end(qtbot, tmp_path, val_annotations, val_images) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(1024, 700)
    open_and_wait(qtbot, window, val_annotations, val_images)
    window.show_panel("masks")
    panel = window.masks_panel
    long = str(tmp_path / ("a-rather-long-folder-name/" * 4) / "masks_val2017")
    panel.set_output_dir(long)
    qtbot.waitUntil(lambda: panel.out_dir.isVisible() and panel.out_dir.width() > 0)
    assert not panel.out_dir.hasFocus()
    shown = panel.out_dir.displayText()  # what the field shows
    assert "…" in shown and shown.endswith("masks_val2017") and shown.startswith(long[:4])
    assert panel.out_dir.text() == long and panel.output_dir() == Path(long)  # the whole path is used
