"""LegendWidget on a real pycocotools class map: click toggles, Ctrl/Alt-click and double-click solo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.gui.widgets.legend import LegendWidget, format_share, legend_entries
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer
from cocoseg_gui.gui.widgets.qimage_utils import qimage_to_rgb
from tests.gui.sample_masks import sample_mask

PERSON, BICYCLE, CAR, MOTORCYCLE = 1, 2, 3, 4


@pytest.fixture
def sample():
    return sample_mask()


@pytest.fixture
def legend(qtbot, sample) -> LegendWidget:
    w = LegendWidget()
    qtbot.addWidget(w)
    w.resize(260, 320)
    w.show()
    w.set_classes(legend_entries(sample.mask, sample.names))
    return w


def _click(qtbot, legend: LegendWidget, index: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(legend.list.viewport(), Qt.MouseButton.LeftButton, modifier, _row_centre(legend, index))


def _row_centre(legend: LegendWidget, index: int):
    row = [e[0] for e in legend.entries()].index(index)
    return legend.list.visualItemRect(legend.list.item(row)).center()


def test_entries_count_pixels_like_numpy(sample) -> None:
    entries = legend_entries(sample.mask, sample.names)
    values, counts = np.unique(sample.mask, return_counts=True)
    expected = {int(v): c / sample.mask.size for v, c in zip(values, counts) if v != 0}
    assert {e[0]: e[3] for e in entries} == pytest.approx(expected)
    by_index = {e[0]: e for e in entries}
    assert by_index[PERSON][1] == "person" and by_index[PERSON][2] == tuple(display_palette()[PERSON])
    assert by_index[255][1] == "ignore"  # the crowd regions of this image
    with_bg = legend_entries(sample.mask, sample.names, include_background=True, include_absent=True)
    assert {0, max(sample.names)} <= {e[0] for e in with_bg} and len(with_bg) == len(sample.names) + 2


def test_rows_are_sorted_by_share_with_swatch_name_and_percent(legend, sample) -> None:
    shares = [e[3] for e in legend.entries()]
    assert shares == sorted(shares, reverse=True)
    share = float(np.mean(sample.mask == PERSON))
    assert legend.row_texts()[0] == f"person  {share * 100:.1f}%"
    assert legend.list.count() == len(np.unique(sample.mask)) - 1
    assert not legend.list.item(0).icon().isNull()
    assert [format_share(s) for s in (0.123, 0.00371, 0.0, 5e-7)] == ["12.3%", "0.37%", "0%", "<0.01%"]


def test_click_toggles_a_class(legend, qtbot) -> None:
    with qtbot.waitSignal(legend.hidden_changed) as blocker:
        _click(qtbot, legend, CAR)
    assert blocker.args == [{CAR}]
    row = [e[0] for e in legend.entries()].index(CAR)
    assert legend.list.item(row).foreground().color() != legend.list.item(0).foreground().color()  # greyed
    _click(qtbot, legend, MOTORCYCLE)
    assert legend.hidden() == {CAR, MOTORCYCLE}
    with qtbot.waitSignal(legend.hidden_changed) as blocker:
        _click(qtbot, legend, CAR)
    assert blocker.args == [{MOTORCYCLE}]
    legend.show_all()
    assert legend.hidden() == set()


@pytest.mark.parametrize("modifier", [Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier])
def test_modifier_click_solos_and_again_unsolos(legend, qtbot, modifier) -> None:
    all_classes = {e[0] for e in legend.entries()}
    _click(qtbot, legend, BICYCLE)  # hidden before the solo: restored after it
    with qtbot.waitSignal(legend.hidden_changed) as blocker:
        _click(qtbot, legend, MOTORCYCLE, modifier)
    assert blocker.args == [all_classes - {MOTORCYCLE}]
    assert legend.solo_class() == MOTORCYCLE
    _click(qtbot, legend, PERSON, modifier)  # solo another one
    assert legend.hidden() == all_classes - {PERSON}
    _click(qtbot, legend, PERSON, modifier)  # again: unsolo
    assert legend.hidden() == {BICYCLE} and legend.solo_class() is None


def test_double_click_solos(legend, qtbot) -> None:
    all_classes = {e[0] for e in legend.entries()}
    qtbot.mouseDClick(legend.list.viewport(), Qt.MouseButton.LeftButton, pos=_row_centre(legend, CAR))
    assert legend.hidden() == all_classes - {CAR}
    legend.show_all()
    assert legend.hidden() == set() and legend.solo_class() is None


def test_double_click_on_the_soloed_class_unsolos(legend, qtbot) -> None:
    _click(qtbot, legend, BICYCLE)  # hidden before the solo
    legend.solo(CAR)
    row = _row_centre(legend, CAR)
    qtbot.mouseClick(legend.list.viewport(), Qt.MouseButton.LeftButton, pos=row)  # the double click's first
    qtbot.mouseDClick(legend.list.viewport(), Qt.MouseButton.LeftButton, pos=row)
    assert legend.solo_class() is None and legend.hidden() == {BICYCLE}


def test_hidden_set_persists_across_images_and_drives_the_viewer(legend, sample, qtbot) -> None:
    viewer = MaskViewer()
    qtbot.addWidget(viewer)
    viewer.set_image(sample.rgb)
    viewer.set_mask(sample.mask)
    legend.hidden_changed.connect(viewer.set_hidden_classes)
    _click(qtbot, legend, PERSON)
    out = qimage_to_rgb(viewer.render_image())
    person = sample.mask == PERSON
    assert np.array_equal(out[person], sample.rgb[person])
    legend.set_classes(legend_entries(sample.mask[:200], sample.names))  # "the next image"
    assert legend.hidden() == {PERSON}
    legend.set_hidden({CAR, PERSON})
    assert viewer.hidden_classes() == {CAR, PERSON}


def test_solo_holds_on_the_next_image_and_unsolo_restores(legend, sample, qtbot) -> None:
    legend.toggle(BICYCLE)  # hidden before the solo (the gestures have their own tests)
    legend.solo(CAR)
    # "the next image": a class it shows that the previous one lacked must stay hidden while CAR is soloed
    other = sample.mask.copy()
    other[:20, :20] = 42
    with qtbot.waitSignal(legend.hidden_changed):  # so the viewer hides the new class too
        legend.set_classes(legend_entries(other, {**sample.names, 42: "extra"}))
    assert {e[0] for e in legend.entries()} - legend.hidden() == {CAR} and legend.solo_class() == CAR
    legend.solo(CAR)  # again: unsolo
    assert legend.hidden() == {BICYCLE} and legend.solo_class() is None
