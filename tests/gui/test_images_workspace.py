"""The Images workspace's ImageViewState on the demo data: solo holds across images, and a LabelMap edit
repaints the viewer (and the side-by-side view) in its box only."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.masks.box import Box
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.core.project.image_view_state import ImageViewState, ShownImage
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer
from cocoseg_gui.gui.widgets.qimage_utils import qimage_to_rgb, resize_nearest, scaled_span
from cocoseg_gui.gui.widgets.side_by_side import SideBySideView
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401

NAMES = {0: "background", 1: "person", 2: "car", 3: "dog", 255: "ignore"}


@pytest.fixture
def window(qtbot, tmp_path, val_annotations, val_images) -> MainWindow:
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, val_annotations, val_images)
    return win


def share(legend, cls: int) -> float:
    return next((e[3] for e in legend.entries() if e[0] == cls), 0.0)


def test_solo_survives_switching_images(qtbot, window: MainWindow) -> None:
    images = window.images
    legend = images.legend
    solo = legend.entries()[0][0]
    row = legend.list.visualItemRect(legend.list.item(0)).center()
    with qtbot.waitSignal(legend.hidden_changed, timeout=WAIT_MS):
        qtbot.mouseClick(
            legend.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, row
        )
    assert images.view_state.display.visibility.solo == solo
    first = images.current.image_id
    for _ in range(3):  # images with other classes: only the soloed one is drawn on each
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
            qtbot.keyClick(window, Qt.Key.Key_PageDown)
        assert images.current.image_id != first
        assert legend.solo_class() == solo
        assert {e[0] for e in legend.entries()} - legend.hidden() <= {solo}
        assert images.viewer.hidden_classes() >= set(np.unique(images.current.mask).tolist()) - {solo}
    # soloing it again restores everything
    legend.solo(solo)
    assert images.viewer.hidden_classes() == set() and legend.solo_class() is None


def test_a_label_map_edit_repaints_the_viewer_and_the_side_view(qtbot, window: MainWindow) -> None:
    images = window.images
    window.act_outlines.setChecked(False)
    labels = images.current.labels
    assert labels is not None
    rgb = images.current.rgb.astype(np.int16)
    alpha = window.opacity()
    cls = sorted(labels.names.keys() - {0, 255})[0]
    colour = display_palette()[cls].astype(np.int16)
    window.act_side.setChecked(True)  # the side view is shown: it follows edits too
    before = qimage_to_rgb(images.viewer.render_image(1.0)).astype(np.int16)
    share_before = share(images.legend, cls)
    labels.apply(Box(10, 20, 30, 50), cls)
    out = qimage_to_rgb(images.viewer.render_image(1.0)).astype(np.int16)
    box = np.s_[10:30, 20:50]
    expected = rgb[box] * (1 - alpha) + colour * alpha
    assert np.abs(out[box] - expected).max() <= 2
    outside = np.ones(out.shape[:2], bool)
    outside[box] = False
    assert np.array_equal(out[outside], before[outside]), "nothing outside the box changed"
    assert (images.viewer.mask()[box] == cls).all() and images.viewer.class_at(25, 15) == cls
    assert np.array_equal(images.side.right.mask(), labels.array)
    assert share(images.legend, cls) > share_before, "the legend counts the edited pixels"


def test_scaled_span_matches_resize_nearest() -> None:
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 4, (17, 23), dtype=np.uint8)
    for target in ((40, 50), (9, 11), (17, 23)):
        big = resize_nearest(mask, *target)
        rows, src_rows = scaled_span(4, 9, 17, target[0])
        cols, src_cols = scaled_span(3, 15, 23, target[1])
        assert np.array_equal(big[rows, cols], mask[src_rows[:, None], src_cols[None, :]])
        sources = np.minimum(((np.arange(target[0]) + 0.5) * (17 / target[0])).astype(int), 16)
        assert set(np.flatnonzero((sources >= 4) & (sources < 9)).tolist()) == set(
            range(rows.start, rows.stop)
        )


def test_an_edit_of_a_mask_smaller_than_the_image_repaints_the_scaled_box(qtbot) -> None:
    """The label map stays at mask resolution; the viewer maps the changed box onto its display copy."""
    state = ImageViewState()
    viewer, side = MaskViewer(), SideBySideView()
    for widget in (viewer, side):
        qtbot.addWidget(widget)
        widget.observe(state)
    side.show()
    labels = LabelMap(np.zeros((20, 30), np.uint8), NAMES)
    state.show(ShownImage(1, "x.jpg", np.full((40, 60, 3), 100, np.uint8), labels))
    labels.apply(Box(5, 10, 10, 20), 2)
    assert labels.shape == (20, 30) and viewer.mask().shape == (40, 60)
    assert np.array_equal(viewer.mask(), resize_nearest(labels.array, 40, 60))
    assert np.array_equal(side.right.mask(), resize_nearest(labels.array, 40, 60))
    out = qimage_to_rgb(viewer.render_image(1.0)).astype(np.int16)
    colour = display_palette()[2].astype(np.int16)
    assert np.abs(out[10:20, 20:40] - (100 * 0.5 + colour * 0.5)).max() <= 2
    assert (out[:10] == 100).all() and (out[20:] == 100).all()
    # a whole new map (another shape) is drawn completely
    labels.replace(np.full((10, 15), 3, np.uint8))
    assert (viewer.mask() == 3).all() and viewer.mask().shape == (40, 60)


def test_the_workspace_follows_the_protocol(qtbot, window: MainWindow, tmp_path) -> None:
    from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo, Workspace

    images = window.images
    assert isinstance(images, Workspace) and images.busy_job() is None
    calls: list[str] = []
    demo = ScreenshotDemo(masks_dir=None, checkpoint=None, new_folder=lambda name: tmp_path / name)
    images.prepare_screenshot(demo, lambda: calls.append("done"))  # an image is shown: ready at once
    qtbot.waitUntil(lambda: calls == ["done"], timeout=WAIT_MS)
