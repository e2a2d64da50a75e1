"""Offline assists (core, no Qt): the wand, SLIC superpixels and GrabCut on synthetic images with a
known answer and on real sample images; accepting an assist is one undo step under the overwrite rule."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.assists.grabcut import GRABCUT_MAX_SIDE, Scribble, grabcut, grabcut_job
from cocoseg_gui.core.assists.image import rgb_at_mask_size
from cocoseg_gui.core.assists.superpixels import SuperpixelCache, compute_superpixels
from cocoseg_gui.core.assists.wand import wand_area
from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.editor import ImageEditor, Tool
from cocoseg_gui.core.editing.rules import Mode, Rule, paint
from cocoseg_gui.core.editing.stroke import segment_area
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.masks.label_map import LabelMap

NAMES = {0: "background", 1: "person", 2: "car"}


def square_image(h: int = 120, w: int = 160, noise: int = 6, seed: int = 0) -> tuple[np.ndarray, Box]:
    """Dark noisy background with a bright noisy square: the square is the known answer."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), (40, 60, 50), np.int16)
    square = Box(30, 50, 90, 120)
    img[square.slices] = (200, 90, 60)
    img += rng.integers(-noise, noise + 1, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8), square


def full_mask(area: Area, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    if not area.empty:
        out[area.box.slices] = area.mask
    return out


def box_mask(box: Box, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[box.slices] = True
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def sample_rgb(val_images) -> np.ndarray:
    path = sorted(val_images.glob("*.jpg"))[0]
    return np.array(Image.open(path).convert("RGB"))


# ------------------------------------------------------------------------------------------- wand
def test_wand_returns_the_known_square_and_stops_at_its_edge() -> None:
    img, square = square_image()
    area = wand_area(img, (80.5, 60.5), tolerance=20)
    assert area.box == square
    assert np.array_equal(full_mask(area, img.shape[:2]), box_mask(square, img.shape[:2]))
    # the background click gets everything but the square; tolerance 0 on noise: almost nothing
    outside = wand_area(img, (5, 5), tolerance=20)
    assert np.array_equal(full_mask(outside, img.shape[:2]), ~box_mask(square, img.shape[:2]))
    assert wand_area(img, (80, 60), tolerance=0).mask.sum() < 10
    assert wand_area(img, (500, 5), tolerance=20).empty


def test_wand_on_a_real_uniform_region_returns_it(sample_rgb) -> None:
    # a real photo with a uniform patch painted in: the wand returns the patch exactly
    img = sample_rgb.copy()
    patch = Box(100, 200, 180, 330)
    colour = np.array([3, 250, 7], np.uint8)  # a green no photo pixel is within 10 of
    img[patch.slices] = colour
    near = np.all(np.abs(img.astype(int) - colour) <= 10, axis=2)
    assert near.sum() == patch.area  # the patch is the only such colour: the answer is known
    area = wand_area(img, (250, 150), tolerance=10)
    assert area.box == patch and area.mask.all()


def test_wand_on_a_real_image_stays_within_tolerance_and_stops_at_edges(sample_rgb) -> None:
    img = sample_rgb
    h, w = img.shape[:2]
    tol = 18
    seed = (w // 3, h // 2)
    region = full_mask(wand_area(img, seed, tol), (h, w))
    colour = img[seed[1], seed[0]].astype(int)
    within = np.all(np.abs(img.astype(int) - colour) <= tol, axis=2)
    assert region[seed[1], seed[0]] and region.sum() > 1
    assert not (region & ~within).any()  # every pixel is within tolerance of the seed
    # the edge: a pixel next to the region (4-neighbour) that is within tolerance would have been taken
    grown = region.copy()
    grown[1:] |= region[:-1]
    grown[:-1] |= region[1:]
    grown[:, 1:] |= region[:, :-1]
    grown[:, :-1] |= region[:, 1:]
    rim = grown & ~region
    assert rim.any() and not (rim & within).any()


# ------------------------------------------------------------------------------------ superpixels
def test_superpixels_cover_the_image_and_a_stroke_selects_whole_ones(sample_rgb) -> None:
    sp = compute_superpixels(sample_rgb, 300)
    h, w = sample_rgb.shape[:2]
    assert sp.labels.shape == (h, w) and sp.labels.min() >= 1 and sp.labels.max() == sp.count
    assert 100 <= sp.count <= 600
    stroke = segment_area((100.5, 100.5), (160.5, 120.5), 3, "round", (h, w))  # type: ignore[arg-type]
    ids = sp.ids_under(stroke)
    chosen = sp.area_of(ids)
    expected = np.isin(sp.labels, ids)
    assert np.array_equal(full_mask(chosen, (h, w)), expected)
    assert (full_mask(stroke, (h, w)) <= expected).all()  # whole superpixels: at least the stroke
    assert expected.sum() > full_mask(stroke, (h, w)).sum()


def test_superpixels_at_mask_size_when_the_mask_is_smaller(sample_rgb) -> None:
    small = rgb_at_mask_size(sample_rgb, (120, 160))
    assert small.shape == (120, 160, 3)
    sp = compute_superpixels(small, 50)
    assert sp.labels.shape == (120, 160)
    cache = SuperpixelCache(capacity=1)
    cache.put(3, sp)
    assert cache.get(3, 50) is sp and cache.get(3, 60) is None
    cache.put(4, sp)
    assert cache.get(3, 50) is None  # capacity 1: the oldest went


def test_a_1024_px_image_is_segmented_at_a_reduced_size_and_scaled_back() -> None:
    img, _square = square_image(1024, 1024)
    sp = compute_superpixels(img, 200)
    assert sp.labels.shape == (1024, 1024) and sp.count > 50


# ---------------------------------------------------------------------------------------- GrabCut
def test_grabcut_finds_the_square_in_its_box_and_a_scribble_refines_it() -> None:
    img, square = square_image(noise=10)
    shape = img.shape[:2]
    rect = Box(20, 40, 100, 130)
    result = grabcut(img, rect)
    truth = box_mask(square, shape)
    found = full_mask(result.area, shape)
    assert iou(found, truth) > 0.95
    assert not (found & ~box_mask(rect, shape)).any()  # never outside the box
    # a background scribble across the square's left part removes it from the result
    refined = grabcut(img, rect, [Scribble(((55.0, 35.0), (55.0, 85.0)), 3, False)], result)
    assert full_mask(refined.area, shape)[35:85, 53:58].sum() == 0


def test_grabcut_on_a_large_region_works_downscaled_and_cancels() -> None:
    img, _ = square_image(1100, 1100, noise=10)
    big = Box(10, 10, 1090, 1090)
    img[:] = (40, 60, 50)
    img[300:800, 200:900] = (200, 90, 60)
    result = grabcut(img, big)
    assert result.scale <= GRABCUT_MAX_SIDE / 1000
    truth = box_mask(Box(300, 200, 800, 900), img.shape[:2])
    assert iou(full_mask(result.area, img.shape[:2]), truth) > 0.95
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        grabcut_job(img, big, [], None, progress=lambda _p: None, cancel=token)


def test_grabcut_over_the_whole_image_says_what_is_wrong() -> None:
    img, _ = square_image()
    with pytest.raises(ValueError, match="background"):
        grabcut(img, Box(0, 0, 120, 160))


# ------------------------------------------------------------------------------- accept and undo
def test_accepting_an_assist_changes_exactly_its_pixels_under_the_rule_and_undoes_in_one_step() -> None:
    img, square = square_image()
    base = np.zeros(img.shape[:2], np.uint8)
    base[:, 100:] = 2  # a car over the square's right part
    labels = LabelMap(base.copy(), NAMES)
    editor = ImageEditor()
    editor.attach(1, "a.jpg", labels, None)
    editor.update(tool=Tool.WAND, active_class=1)
    editor.press((60.5, 50.5))  # the editor's own press does nothing with an assist
    assert np.array_equal(labels.array, base)
    area = wand_area(img, (60.5, 50.5), 20)

    editor.set_rule(Mode.PRESERVE)
    editor.accept_area(area)
    expected = base.copy()
    paint(expected, area, 1, Rule(Mode.PRESERVE))
    assert np.array_equal(labels.array, expected)
    assert (labels.array[square.slices][:, 50:] == 2).all()  # the car was preserved
    assert (labels.array != base).sum() == square.area - square.shape[0] * 20
    assert editor.undo_text == "Magic wand (person)"
    assert editor.undo() and np.array_equal(labels.array, base) and editor.undo_text is None

    editor.set_rule(Mode.OVERWRITE)
    editor.accept_area(area)
    assert np.array_equal(labels.array == 1, box_mask(square, base.shape))
