"""A first image that cannot be shown, or too many categories: the window says so and goes on."""

from __future__ import annotations

import pytest

from cocoseg_gui.core.masks.class_map import MAX_CLASSES
from cocoseg_gui.gui.main_window import MainWindow
from tests.gui.bad_datasets import FIRST_IMAGE_PROBLEMS, tiny_dataset
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401

# what the status bar says about the first image, per problem
EXPECTED = {
    "missing": "No such file",
    "bomb": "decompression bomb",
    "zero-size": "size 0x0 (width x height) is not a valid image size: no mask drawn",
    "nul-name": "contains a NUL byte: refused",
}


def open_dataset(qtbot, window: MainWindow, annotations) -> None:
    with qtbot.waitSignal(window.dataset_loaded, timeout=WAIT_MS):
        window.open_dataset(annotations, annotations.parent / "images")


@pytest.mark.parametrize("problem", FIRST_IMAGE_PROBLEMS)
def test_a_first_image_that_cannot_be_shown_is_reported_and_the_next_one_shows(
    qtbot, tmp_path, problem: str
) -> None:
    annotations = tiny_dataset(tmp_path / "data", problem)
    window = make_window(qtbot, tmp_path)
    first_failed = problem != "zero-size"  # 0×0 in the JSON: the image shows, without a mask
    with qtbot.waitSignal(window.image_failed if first_failed else window.image_shown, timeout=WAIT_MS):
        open_dataset(qtbot, window, annotations)
    message = window.statusBar().currentMessage()
    assert EXPECTED[problem] in message, message
    if first_failed:
        assert window.images.current is None
        assert EXPECTED[problem] in window.images.viewer.message()  # the empty view says why
        assert window.images.viewer.image_size() is None  # not the previous image
    else:
        assert window.images.current is not None and window.images.current.mask is None
    # the window goes on: the next image shows with its mask (no dialog: the autouse fixture fails on one)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.images.browser.step(1)
    assert window.images.current is not None and window.images.current.mask is not None
    assert window.images.viewer.message() == ""


def test_more_categories_than_a_mask_holds_opens_with_a_notice(qtbot, tmp_path) -> None:
    annotations = tiny_dataset(tmp_path / "data", extra_categories=300 - 80)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        open_dataset(qtbot, window, annotations)
    assert window.notice_label.isVisible()
    assert "300 categories" in window.notice_label.text()
    notice = window.notice_label.toolTip()
    assert f"first {MAX_CLASSES} by id" in notice and "extra173" in notice
    assert window.images.source is not None and len(window.images.source.mapping.categories) == MAX_CLASSES
    assert (
        window.images.current is not None and window.images.current.mask is not None
    )  # the demo classes are drawn
    assert "300 categories" in window.summary_label.text()


def test_the_notice_goes_when_a_dataset_that_fits_is_opened(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        open_dataset(qtbot, window, tiny_dataset(tmp_path / "many", extra_categories=300 - 80))
    assert window.notice_label.isVisible()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        open_dataset(qtbot, window, tiny_dataset(tmp_path / "few"))
    assert not window.notice_label.isVisible() and window.notice_label.toolTip() == ""


def test_the_masks_panel_starts_from_the_classes_that_fit(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        open_dataset(qtbot, window, tiny_dataset(tmp_path / "data", extra_categories=300 - 80))
    panel = window.masks_panel
    assert len(panel.classes.checked_ids()) == MAX_CLASSES
    assert f"first {MAX_CLASSES} by id" in panel.progress_label.text()
    options = panel.options()  # a selection generating can use, not an OptionsError
    assert options.classes is not None and len(options.classes) == MAX_CLASSES
