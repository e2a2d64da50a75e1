"""core.editing tools on real label maps: brush footprints, strokes, overwrite modes, fill, polygon."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cocoseg_gui.core.editing.box import Box
from cocoseg_gui.core.editing.fill import flood_fill
from cocoseg_gui.core.editing.footprint import Tip, footprint, footprint_outline
from cocoseg_gui.core.editing.polygon import polygon_fill
from cocoseg_gui.core.editing.rules import Mode, Rule, pick
from cocoseg_gui.core.editing.stroke import ERASE_VALUE, IGNORE_VALUE, brush_segment, segment_area
from tests.unit.editing_fixtures import first_mask, made_masks, mask_folder  # noqa: F401

ROUND_EXPECTED = {
    0: ["1"],
    1: ["111", "111", "111"],
    2: ["01110", "11111", "11111", "11111", "01110"],
    3: ["0011100", "0111110", "1111111", "1111111", "1111111", "0111110", "0011100"],
}


def as_rows(mask: np.ndarray) -> list[str]:
    return ["".join("1" if v else "0" for v in row) for row in mask]


@pytest.mark.parametrize("radius", sorted(ROUND_EXPECTED))
def test_round_footprints_are_pixel_exact(radius: int) -> None:
    assert as_rows(footprint(radius, Tip.ROUND)) == ROUND_EXPECTED[radius]
    square = footprint(radius, Tip.SQUARE)
    assert square.all() and square.shape == (2 * radius + 1,) * 2


@pytest.mark.parametrize("tip", list(Tip))
@pytest.mark.parametrize("radius", [0, 1, 2, 5, 17])
def test_a_click_paints_exactly_the_footprint(tip: Tip, radius: int) -> None:
    label = np.zeros((60, 70), dtype=np.uint8)
    box = brush_segment(label, (30, 25), (30, 25), radius, 7, tip=tip)
    expected = np.zeros_like(label)
    expected[25 - radius : 26 + radius, 30 - radius : 31 + radius][footprint(radius, tip)] = 7
    assert np.array_equal(label, expected)
    assert box == Box(25 - radius, 30 - radius, 26 + radius, 31 + radius)


def test_outline_edges_count_the_boundary() -> None:
    # a 3x3 block has 12 unit edges; r=2 round (5x5 without corners) is orthogonally convex: 2 * (5 + 5)
    assert footprint_outline(1).shape == (12, 2, 2)
    assert footprint_outline(2).shape == (20, 2, 2)
    assert np.abs(footprint_outline(0)).max() == 0.5


@pytest.mark.parametrize("tip", list(Tip))
@pytest.mark.parametrize("radius", [0, 1, 3])
def test_a_fast_segment_leaves_no_gap(tip: Tip, radius: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        a, b = rng.integers(0, 80, 2), rng.integers(0, 80, 2)
        label = np.zeros((80, 80), dtype=np.uint8)
        brush_segment(label, tuple(a), tuple(b), radius, 3, tip=tip)
        painted = (label == 3).astype(np.uint8)
        # one 8-connected piece holding both ends, and a pixel in every row and column between them
        assert cv2.connectedComponents(painted, connectivity=8)[0] == 2
        assert painted[a[1], a[0]] and painted[b[1], b[0]]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        assert painted[:, lo[0] : hi[0] + 1].any(axis=0).all()
        assert painted[lo[1] : hi[1] + 1, :].any(axis=1).all()
        if radius:  # the pixel nearest each point of the line is inside the swept tip
            for t in np.linspace(0, 1, 200):
                x, y = np.floor(a + t * (b - a) + 0.5).astype(int)
                assert painted[min(y, 79), min(x, 79)]


def test_segment_is_clipped_at_the_border_and_outside_is_nothing() -> None:
    label = np.zeros((20, 20), dtype=np.uint8)
    box = brush_segment(label, (-3, -3), (2, 2), 2, 1)
    assert box.top == 0 and box.left == 0 and label[0, 0] == 1
    assert brush_segment(label, (100, 100), (120, 100), 3, 1).empty
    assert segment_area((100, 100), (100, 100), 3, Tip.ROUND, label.shape).empty


def test_overwrite_modes_on_a_real_mask(mask_folder) -> None:  # noqa: F811
    _, label = first_mask(mask_folder)
    classes = [c for c in np.unique(label).tolist() if c not in (0, 255)]
    target = classes[0]
    ys, xs = np.nonzero(label == target)
    y, x = int(ys[len(ys) // 2]), int(xs[len(xs) // 2])
    before = label.copy()

    over = label.copy()
    brush_segment(over, (x - 40, y), (x + 40, y), 15, 254)
    area = segment_area((x - 40, y), (x + 40, y), 15, Tip.ROUND, label.shape)
    inside = np.zeros(label.shape, bool)
    inside[area.box.slices] = area.mask
    assert (over[inside] == 254).all() and np.array_equal(over[~inside], before[~inside])

    keep = label.copy()
    brush_segment(keep, (x - 40, y), (x + 40, y), 15, 254, Rule(Mode.PRESERVE))
    assert np.array_equal(keep[inside & (before != 0)], before[inside & (before != 0)])
    assert (keep[inside & (before == 0)] == 254).all()

    only = label.copy()
    brush_segment(only, (x - 40, y), (x + 40, y), 15, 254, Rule(Mode.ONLY_CLASS, target))
    hit = inside & (before == target)
    assert hit.any() and (only[hit] == 254).all()
    assert np.array_equal(only[~hit], before[~hit])


def test_eraser_and_ignore_brush_values() -> None:
    label = np.full((10, 10), 5, dtype=np.uint8)
    brush_segment(label, (2, 2), (2, 2), 0, ERASE_VALUE)
    brush_segment(label, (7, 7), (7, 7), 0, IGNORE_VALUE)
    assert label[2, 2] == 0 and label[7, 7] == 255 and (label == 5).sum() == 98


def test_only_the_changed_box_is_reported() -> None:
    label = np.zeros((50, 50), dtype=np.uint8)
    label[10:20, 10:20] = 4
    box = brush_segment(label, (15, 15), (15, 15), 10, 4)  # mostly paints 4 over 4
    assert box == Box(5, 5, 26, 26) and (label == 4).sum() > 100
    assert brush_segment(label, (15, 15), (15, 15), 3, 4).empty  # nothing changes: empty box


def test_fill_contiguous_vs_whole_class_on_a_real_mask(mask_folder) -> None:  # noqa: F811
    _, label = first_mask(mask_folder)
    label[:, label.shape[1] // 2] = 200  # a wall splits the background in two
    left = label.copy()
    flood_fill(left, (0, 0), 201) if left[0, 0] == 0 else None
    assert left[0, 0] in (0, 201) and label[0, 0] == 0
    changed = left != label
    assert changed.any() and (label[changed] == 0).all()
    assert not changed[:, label.shape[1] // 2 :].any()  # stopped at the wall

    whole = label.copy()
    box = flood_fill(whole, (0, 0), 201, whole_class=True)
    assert np.array_equal(whole == 201, label == 0) and not box.empty


def test_fill_connectivity_four_stops_at_a_diagonal_line() -> None:
    label = np.zeros((20, 20), dtype=np.uint8)
    idx = np.arange(20)
    label[idx, idx] = 3  # a one-pixel diagonal line
    four, eight = label.copy(), label.copy()
    flood_fill(four, (15, 2), 9, connectivity=4)
    flood_fill(eight, (15, 2), 9, connectivity=8)
    assert four[2, 15] == 9 and four[15, 2] == 0  # the other side untouched
    assert eight[15, 2] == 9  # 8-connectivity leaks through the diagonal


def test_fill_respects_the_rule() -> None:
    label = np.zeros((10, 10), dtype=np.uint8)
    assert flood_fill(label, (1, 1), 5, Rule(Mode.ONLY_CLASS, 2)).empty and not label.any()


def test_polygon_fill_and_subtract() -> None:
    label = np.zeros((40, 40), dtype=np.uint8)
    square = [(5, 5), (20, 5), (20, 20), (5, 20)]
    box = polygon_fill(label, square, 3)
    assert box == Box(5, 5, 21, 21) and (label == 3).sum() == 16 * 16
    label[0:3, 0:3] = 7
    triangle = [(0, 0), (30, 0), (0, 30)]
    polygon_fill(label, triangle, 3, subtract=True)
    assert (label == 7).sum() == 9  # other classes kept
    assert label[6, 6] == 0 and label[19, 19] == 3  # inside the triangle erased, outside kept
    assert polygon_fill(label, [(1, 1), (5, 5)], 3).empty  # fewer than 3 vertices


def test_picker() -> None:
    label = np.zeros((5, 6), dtype=np.uint8)
    label[2, 3] = 42
    assert pick(label, (3.7, 2.2)) == 42 and pick(label, (6, 0)) is None and pick(label, (-1, 0)) is None
