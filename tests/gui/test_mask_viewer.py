"""MaskViewer, SideBySideView and the QImage helpers on a real COCO image and its pycocotools class map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from cocoseg_gui.core.masks.palette import IGNORE_COLOR, display_palette
from cocoseg_gui.gui.widgets.mask_viewer import MAX_SCALE, MaskViewer
from cocoseg_gui.gui.widgets.qimage_utils import (
    blend,
    mask_to_argb,
    mask_to_indexed8,
    overlay_lut,
    qimage_to_rgb,
    qimage_to_rgba,
    resize_nearest,
    rgb_to_qimage,
)
from cocoseg_gui.gui.widgets.side_by_side import SideBySideView
from tests.gui.sample_masks import sample_mask

PERSON, CAR, MOTORCYCLE = 1, 3, 4
TOL = 2  # Qt's 8-bit opacity blend vs the float reference


@pytest.fixture
def sample():
    return sample_mask()


@pytest.fixture
def viewer(qtbot, sample) -> MaskViewer:
    v = MaskViewer()
    qtbot.addWidget(v)
    v.resize(500, 400)
    v.show()
    v.set_image(sample.rgb)
    v.set_mask(sample.mask)
    return v


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


def _rendered(v: MaskViewer) -> np.ndarray:
    return qimage_to_rgb(v.render_image())


def _move(v: MaskViewer, pos: QPoint, button=Qt.MouseButton.NoButton, kind=QEvent.Type.MouseMove) -> None:
    buttons = button if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    ev = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(v.viewport().mapToGlobal(pos)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(v.viewport(), ev)


def _view_pos(v: MaskViewer, x: float, y: float) -> QPoint:
    """The viewport pixel showing the centre of image pixel (x, y) (mapFromScene rounds; this floors)."""
    p = v.viewportTransform().map(QPointF(x + 0.5, y + 0.5))
    return QPoint(int(np.floor(p.x())), int(np.floor(p.y())))


def _wheel(v: MaskViewer, pos: QPoint, notches: int) -> None:
    ev = QWheelEvent(
        QPointF(pos),
        QPointF(v.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(v.viewport(), ev)


# ------------------------------------------------------------------------------------------ qimage_utils
def test_numpy_qimage_round_trip(sample) -> None:
    assert np.array_equal(qimage_to_rgb(rgb_to_qimage(sample.rgb)), sample.rgb)
    odd = np.ascontiguousarray(sample.rgb[:101, :77])  # bytes per line not a multiple of 4
    assert np.array_equal(qimage_to_rgb(rgb_to_qimage(odd)), odd)
    grey = sample.rgb[..., 1].copy()
    assert np.array_equal(qimage_to_rgb(rgb_to_qimage(grey))[..., 0], grey)
    with pytest.raises(ValueError, match="uint8"):
        rgb_to_qimage(sample.rgb.astype(np.float32))


def test_overlay_lut_and_argb_image_follow_the_palette(sample) -> None:
    lut = overlay_lut(None, 1.0, hidden={CAR})
    pal = display_palette()
    assert lut[0] == 0 and lut[CAR] == 0  # background and hidden classes transparent
    rgba = qimage_to_rgba(mask_to_argb(sample.mask, lut))
    person = sample.mask == PERSON
    assert np.all(rgba[person][:, :3] == pal[PERSON]) and np.all(rgba[person][:, 3] == 255)
    assert np.all(rgba[sample.mask == 255][:, :3] == IGNORE_COLOR)
    assert np.all(rgba[sample.mask == 0][:, 3] == 0) and np.all(rgba[sample.mask == CAR][:, 3] == 0)
    assert overlay_lut(None, 0.5, show_background=True)[0] >> 24 == 128
    indexed = qimage_to_rgba(mask_to_indexed8(sample.mask, lut))
    assert np.array_equal(indexed, rgba)


def test_resize_nearest_matches_pil(sample) -> None:
    from PIL import Image

    small = np.asarray(Image.fromarray(sample.mask).resize((160, 107), Image.NEAREST))
    assert np.array_equal(resize_nearest(sample.mask, 107, 160), small)
    back = np.asarray(Image.fromarray(small).resize((640, 427), Image.NEAREST))
    assert np.array_equal(resize_nearest(small, 427, 640), back)


# ---------------------------------------------------------------------------------------------- pixels
def test_overlay_pixels_are_the_blend_of_image_and_class_colour(viewer, sample) -> None:
    viewer.set_opacity(0.5)
    out = _rendered(viewer)
    ref = blend(sample.rgb, sample.mask, overlay_lut(None, 0.5))
    assert _diff(out, ref).max() <= TOL
    bg = sample.mask == 0
    assert np.array_equal(out[bg], sample.rgb[bg])  # background is transparent: the image pixel exactly
    inside = sample.mask == PERSON
    assert _diff(out[inside], sample.rgb[inside]).mean() > 20  # the person is visibly coloured
    ignore = sample.mask == 255
    expected = sample.rgb[ignore] * 0.5 + np.array(IGNORE_COLOR) * 0.5
    assert np.abs(out[ignore] - expected).max() <= TOL  # 255 drawn in its palette colour


def test_opacity_changes_the_blend(viewer, sample) -> None:
    inside = sample.mask == MOTORCYCLE
    results = {}
    for alpha in (0.2, 0.8, 1.0):
        viewer.set_opacity(alpha)
        assert viewer.opacity() == alpha
        out = _rendered(viewer)
        ref = blend(sample.rgb, sample.mask, overlay_lut(None, alpha))
        assert _diff(out, ref).max() <= TOL
        results[alpha] = out[inside]
    assert _diff(results[0.2], results[0.8]).mean() > 10
    assert np.all(results[1.0] == display_palette()[MOTORCYCLE])


def test_hidden_classes_and_overlay_toggle_show_the_image(viewer, sample) -> None:
    viewer.set_hidden_classes({PERSON, CAR})
    out = _rendered(viewer)
    for cls in (PERSON, CAR):
        region = sample.mask == cls
        assert np.array_equal(out[region], sample.rgb[region])
    moto = sample.mask == MOTORCYCLE
    assert _diff(out[moto], sample.rgb[moto]).mean() > 20  # still drawn
    viewer.set_hidden_classes(set())
    viewer.set_overlay_visible(False)
    assert not viewer.overlay_visible()
    assert np.array_equal(_rendered(viewer), sample.rgb)
    viewer.set_overlay_visible(True)
    assert not np.array_equal(_rendered(viewer), sample.rgb)
    viewer.set_image(rgb_to_qimage(sample.rgb[::-1].copy()))  # a QImage works too and keeps the mask
    flipped = _rendered(viewer)
    assert np.array_equal(flipped[sample.mask == 0], sample.rgb[::-1][sample.mask == 0])


def test_viewport_at_100_percent_shows_the_blend(viewer, sample, qtbot) -> None:
    viewer.set_opacity(0.6)
    viewer.zoom_100()
    assert viewer.scale_factor() == 1.0
    qtbot.waitUntil(lambda: viewer.horizontalScrollBar().isVisible(), timeout=30000)  # viewport shrinks
    QApplication.processEvents()
    grab = qimage_to_rgb(viewer.viewport().grab().toImage())
    ref = blend(sample.rgb, sample.mask, overlay_lut(None, 0.6))
    ys, xs = np.nonzero(sample.mask == PERSON)
    checked = 0
    for x, y in zip(xs[::97], ys[::97]):
        p = _view_pos(viewer, x, y)
        if 0 <= p.x() < grab.shape[1] and 0 <= p.y() < grab.shape[0]:
            assert _diff(grab[p.y(), p.x()], ref[y, x]).max() <= TOL
            checked += 1
    assert checked > 5


def test_mask_of_another_size_is_scaled_to_the_image(viewer, sample) -> None:
    half = np.ascontiguousarray(sample.mask[::2, ::2])
    viewer.set_mask(half)
    assert viewer.mask().shape == sample.mask.shape
    assert np.array_equal(viewer.mask(), resize_nearest(half, *sample.mask.shape))
    assert viewer.class_at(101, 201) == half[100, 50]
    viewer.set_opacity(1.0)
    out = _rendered(viewer)
    assert np.array_equal(out[viewer.mask() == MOTORCYCLE][0], display_palette()[MOTORCYCLE])


def test_custom_colours_and_mask_only_background(viewer, sample) -> None:
    colors = np.zeros((256, 3), np.uint8)
    colors[0] = (10, 20, 30)
    colors[PERSON] = (0, 255, 0)
    viewer.set_image(None)
    viewer.set_mask(sample.mask, colors)
    viewer.set_show_background(True)
    viewer.set_opacity(1.0)
    out = _rendered(viewer)
    assert np.all(out[sample.mask == PERSON] == (0, 255, 0))
    assert np.all(out[sample.mask == 0] == (10, 20, 30))
    with pytest.raises(ValueError, match="256x3"):
        viewer.set_mask(sample.mask, colors[:10])


def test_outlines_are_drawn_and_follow_visibility(viewer, sample) -> None:
    viewer.set_overlay_visible(False)
    viewer.set_outlines(sample.outlines)
    with_outlines = _rendered(viewer)
    changed = np.any(with_outlines != sample.rgb, axis=2)
    assert changed.sum() > 500
    near = np.pad(sample.mask > 0, 2)  # outline pixels lie on instance boundaries: within 2 px of a label
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    near = np.any([np.roll(near, shift, axis=(0, 1)) for shift in shifts], axis=0)
    assert np.mean(near[2:-2, 2:-2][changed]) > 0.97
    viewer.set_hidden_classes({PERSON, CAR, MOTORCYCLE, 2, 8, 15})
    assert np.array_equal(_rendered(viewer), sample.rgb)
    viewer.set_hidden_classes(set())
    viewer.set_outlines_visible(False)
    assert np.array_equal(_rendered(viewer), sample.rgb)


# -------------------------------------------------------------------------------------------- zoom/pan
def test_first_image_is_fitted_and_refitted_on_resize(viewer, qtbot) -> None:
    w, h = viewer.image_size()
    assert viewer.auto_fit()
    vp = viewer.viewport().size()
    assert viewer.scale_factor() == pytest.approx(min(vp.width() / w, vp.height() / h), rel=1e-3)
    viewer.resize(900, 700)
    qtbot.waitUntil(lambda: viewer.viewport().width() > 800)
    vp = viewer.viewport().size()
    assert viewer.scale_factor() == pytest.approx(min(vp.width() / w, vp.height() / h), rel=1e-3)
    viewer.zoom_by(2.0)
    before = viewer.scale_factor()
    viewer.resize(600, 500)
    qtbot.waitUntil(lambda: viewer.viewport().width() < 700)
    assert viewer.scale_factor() == before  # the user zoomed: no refit


def test_wheel_zoom_keeps_the_point_under_the_cursor(viewer) -> None:
    steps = ((QPoint(120, 90), 3), (QPoint(400, 300), 2), (QPoint(60, 330), -1), (QPoint(250, 50), 4))
    for pos, notches in steps:
        before = viewer.mapToScene(pos)
        scale = viewer.scale_factor()
        _wheel(viewer, pos, notches)
        assert viewer.scale_factor() == pytest.approx(scale * 1.25**notches, rel=1e-6)
        after = viewer.mapToScene(pos)
        assert abs(after.x() - before.x()) * viewer.scale_factor() <= 1.0
        assert abs(after.y() - before.y()) * viewer.scale_factor() <= 1.0
    assert not viewer.auto_fit()


def test_zoom_limits_and_crisp_pixels(viewer) -> None:
    viewer.zoom_by(1e6)
    assert viewer.scale_factor() == MAX_SCALE
    assert viewer._image_item.transformationMode() == Qt.TransformationMode.FastTransformation
    viewer.zoom_by(1e-9)
    assert 0 < viewer.scale_factor() < 0.1
    assert viewer._image_item.transformationMode() == Qt.TransformationMode.SmoothTransformation
    viewer.zoom_100()
    assert viewer.scale_factor() == 1.0
    assert viewer._overlay_item.transformationMode() == Qt.TransformationMode.FastTransformation


def test_keyboard_zoom(viewer, qtbot) -> None:
    fit = viewer.scale_factor()
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    assert viewer.scale_factor() == pytest.approx(fit * 1.25)
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert viewer.scale_factor() == 1.0
    qtbot.keyClick(viewer, Qt.Key.Key_Minus)
    assert viewer.scale_factor() == pytest.approx(0.8)
    qtbot.keyClick(viewer, Qt.Key.Key_F)
    assert viewer.scale_factor() == pytest.approx(fit) and viewer.auto_fit()


def test_left_button_can_be_given_to_an_editing_tool(viewer) -> None:
    assert viewer.left_button_pans() and viewer.dragMode() == viewer.DragMode.ScrollHandDrag
    viewer.set_left_button_pans(False)
    assert viewer.dragMode() == viewer.DragMode.NoDrag


def test_middle_button_drag_pans(viewer) -> None:
    viewer.zoom_by(4.0)
    scale, centre = viewer.view_state()
    start, end = QPoint(200, 200), QPoint(160, 230)
    _move(viewer, start, Qt.MouseButton.MiddleButton, QEvent.Type.MouseButtonPress)
    _move(viewer, end, Qt.MouseButton.MiddleButton)
    _move(viewer, end, Qt.MouseButton.MiddleButton, QEvent.Type.MouseButtonRelease)
    _, moved = viewer.view_state()
    assert moved.x() - centre.x() == pytest.approx(40 / scale, abs=1 / scale)
    assert moved.y() - centre.y() == pytest.approx(-30 / scale, abs=1 / scale)


def test_view_state_round_trip(viewer, qtbot) -> None:
    assert viewer.auto_fit()
    state = (3.5, QPointF(300.0, 200.0))
    viewer.set_view_state(state)
    scale, centre = viewer.view_state()
    assert scale == 3.5 and not viewer.auto_fit()
    assert abs(centre.x() - 300) <= 1 and abs(centre.y() - 200) <= 1
    viewer.resize(450, 350)  # a restored state survives a resize
    qtbot.waitUntil(lambda: viewer.viewport().width() < 450)
    assert viewer.scale_factor() == 3.5


# ----------------------------------------------------------------------------------------------- hover
def test_hover_emits_image_coordinates_and_class(viewer, sample, qtbot) -> None:
    viewer.set_mask(sample.mask, names=sample.names)
    ys, xs = np.nonzero(sample.mask == MOTORCYCLE)
    x, y = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    viewer.zoom_by(3.0)
    viewer.set_view_state((viewer.scale_factor(), QPointF(x, y)))
    pos = _view_pos(viewer, x, y)
    with qtbot.waitSignal(viewer.hovered) as blocker:
        _move(viewer, pos)
    assert blocker.args == [x, y, MOTORCYCLE]
    assert viewer.hover_text(*blocker.args) == f"x={x} y={y} motorcycle"
    viewer.zoom_fit()
    with qtbot.waitSignal(viewer.hovered) as blocker:  # the grey margin beside the fitted image
        _move(viewer, QPoint(2, 2) if viewer.image_pos(QPoint(2, 2)) is None else QPoint(-5, -5))
    assert blocker.args == [-1, -1, -1]
    assert viewer.class_at(0, 0) == sample.mask[0, 0]
    assert viewer.class_at(-1, 5) == -1 and viewer.class_at(640, 0) == -1


def test_a_class_map_comes_with_its_names(viewer, sample) -> None:
    """set_mask is the one call that shows a class map: its colours and names go with it; a later map
    without names keeps them (the same classes), one with names replaces them."""
    viewer.set_mask(sample.mask, names=sample.names)
    assert viewer.class_name(MOTORCYCLE) == "motorcycle"
    viewer.set_mask(sample.mask[::-1].copy())
    assert viewer.class_name(MOTORCYCLE) == "motorcycle"
    viewer.set_mask(sample.mask, names={MOTORCYCLE: "bike"})
    assert viewer.class_name(MOTORCYCLE) == "bike" and viewer.class_name(CAR) == f"class {CAR}"


# ---------------------------------------------------------------------------------------- side by side
@pytest.fixture
def side(qtbot, sample) -> SideBySideView:
    s = SideBySideView(left_title="image", right_title="mask")
    qtbot.addWidget(s)
    s.resize(1000, 450)
    s.show()
    s.set_data(sample.rgb, sample.mask)
    return s


def test_side_by_side_zoom_and_pan_stay_in_step(side, qtbot) -> None:
    qtbot.waitUntil(lambda: side.right.viewport().width() > 300)
    _wheel(side.left, QPoint(150, 120), 3)
    ls, lc = side.left.view_state()
    rs, rc = side.right.view_state()
    assert rs == ls and abs(rc.x() - lc.x()) <= 1 and abs(rc.y() - lc.y()) <= 1
    _move(side.right, QPoint(200, 200), Qt.MouseButton.MiddleButton, QEvent.Type.MouseButtonPress)
    _move(side.right, QPoint(150, 170), Qt.MouseButton.MiddleButton)
    _move(side.right, QPoint(150, 170), Qt.MouseButton.MiddleButton, QEvent.Type.MouseButtonRelease)
    _, lc2 = side.left.view_state()
    _, rc2 = side.right.view_state()
    assert abs(rc2.x() - rc.x()) > 5  # the right one moved ...
    assert abs(lc2.x() - rc2.x()) <= 1 and abs(lc2.y() - rc2.y()) <= 1  # ... and the left followed
    side.set_view_state((2.5, QPointF(100.0, 300.0)))
    assert side.right.scale_factor() == 2.5 and abs(side.right.view_state()[1].y() - 300) <= 1
    side.zoom_fit()
    assert side.left.auto_fit() and side.right.auto_fit()
    assert side.right.scale_factor() == pytest.approx(side.left.scale_factor())
    side.set_linked(False)
    side.left.zoom_by(2.0)
    assert side.right.scale_factor() != side.left.scale_factor()


def test_side_by_side_modes(side, sample) -> None:
    side.set_mode("image|mask")
    left, right = _rendered(side.left), _rendered(side.right)
    assert np.array_equal(left, sample.rgb)  # image only
    assert np.array_equal(right, display_palette()[sample.mask])  # mask only, full opacity, background black
    side.set_opacity(0.3)
    assert np.array_equal(_rendered(side.right), display_palette()[sample.mask])  # stays opaque
    side.set_mode("image|overlay")
    assert np.array_equal(_rendered(side.left), sample.rgb)
    ref = blend(sample.rgb, sample.mask, overlay_lut(None, 0.3))
    assert _diff(_rendered(side.right), ref).max() <= TOL
    with pytest.raises(ValueError, match="unknown side-by-side mode"):
        side.set_mode("left|right")


def test_side_by_side_truth_and_error_view(side, sample, qtbot) -> None:
    pred = sample.mask.copy()
    pred[sample.mask == CAR] = MOTORCYCLE  # a wrong prediction
    error = np.where(pred != sample.mask, 1, 0).astype(np.uint8)
    colors = np.zeros((256, 3), np.uint8)
    colors[1] = (255, 0, 0)
    side.set_left(sample.rgb, sample.mask, names=sample.names)
    side.set_right(sample.rgb, error, colors, {1: "wrong"})
    assert side.mode() == "custom"
    assert side.left.class_name(CAR) == "car" and side.right.class_name(1) == "wrong"  # each its own names
    side.set_opacity(1.0)
    right = _rendered(side.right)
    assert np.all(right[sample.mask == CAR] == (255, 0, 0))
    ok = sample.mask != CAR
    assert np.array_equal(right[ok], sample.rgb[ok])
    y, x = (int(v) for v in np.argwhere(sample.mask == CAR)[0])
    side.left.set_view_state((2.0, QPointF(x, y)))
    pos = _view_pos(side.left, x, y)
    with qtbot.waitSignal(side.hovered) as blocker:
        _move(side.left, pos)
    assert blocker.args == [x, y, CAR, 1]
    assert side.right.marker_visible() and not side.left.marker_visible()  # the point shown in the other view
    assert np.array_equal(_rendered(side.right), right)  # the marker is not part of an exported picture
    QApplication.sendEvent(side.left.viewport(), QEvent(QEvent.Type.Leave))
    assert not side.right.marker_visible()


def test_side_by_side_split_starts_even_whatever_the_titles(qtbot, sample) -> None:
    view = SideBySideView(left_title="No ground truth for this image (not in the open dataset or masks)",
                          right_title="Prediction")  # fmt: skip
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.set_left(sample.rgb)
    view.set_right(sample.rgb, sample.mask)
    view.show()
    qtbot.waitExposed(view)
    left, right = view.splitter.sizes()
    assert abs(left - right) <= 2, (left, right)
