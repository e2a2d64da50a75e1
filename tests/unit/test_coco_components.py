"""core.coco_components: connected components -> compressed RLE and pixel-edge polygons that
pycocotools rasterises back to exactly the component's pixels."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from cocoseg_gui.core.formats.coco_components import (
    component_polygon,
    component_rle,
    components,
    rle_of_pixels,
    trace_polygon,
)


def _polygon_pixels(polygon: list[int], height: int, width: int) -> np.ndarray:
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([polygon], height, width))).astype(bool)


def _random_masks(seed: int, count: int) -> list[np.ndarray]:
    """Blobby random class maps (3 classes) of random sizes, some only a few pixels wide."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        label = (rng.random((h, w)) < rng.uniform(0.2, 0.8)) * rng.integers(1, 4, (h, w))
        out.append(label.astype(np.uint8))
    return out


def test_components_are_8_connected_per_class() -> None:
    label = np.zeros((6, 8), np.uint8)
    label[0, 0] = label[1, 1] = label[2, 2] = 1  # a diagonal line: one component
    label[4:6, 5:8] = 1
    label[4:6, 0:2] = 2
    found = list(components(label, [1, 2]))
    assert [(c.index, c.x, c.y, c.area) for c in found] == [(1, 0, 0, 3), (1, 5, 4, 6), (2, 0, 4, 4)]
    assert found[1].bbox == [5.0, 4.0, 3.0, 2.0]


@pytest.mark.parametrize("seed", [0, 1])
def test_rle_equals_pycocotools_encode_of_the_full_mask(seed: int) -> None:
    for label in _random_masks(seed, 40):
        h, w = label.shape
        for comp in components(label, [1, 2, 3]):
            full = np.zeros((h, w), np.uint8)
            full[comp.y : comp.y + comp.pixels.shape[0], comp.x : comp.x + comp.pixels.shape[1]] = comp.pixels
            expected = mask_utils.encode(np.asfortranarray(full))
            rle = component_rle(comp, h, w)
            assert isinstance(rle["counts"], str)
            assert rle == {"size": [h, w], "counts": expected["counts"].decode("ascii")}


def test_rle_of_a_run_crossing_columns_and_of_nothing() -> None:
    pixels = np.zeros((4, 2), bool)
    pixels[3, 0] = pixels[0, 1] = True  # one run in column-major order
    rle = rle_of_pixels(pixels, 0, 0, 4, 2)
    assert mask_utils.decode(rle).astype(bool).tolist() == pixels.tolist()
    assert rle["counts"] == mask_utils.encode(np.asfortranarray(pixels.astype(np.uint8)))["counts"].decode()
    assert mask_utils.area(rle_of_pixels(np.zeros((2, 2), bool), 1, 1, 5, 5)) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_polygons_redraw_exactly_and_holes_fall_back(seed: int) -> None:
    holes = polygons = 0
    for label in _random_masks(seed, 40):
        h, w = label.shape
        for comp in components(label, [1, 2, 3]):
            polygon, reason = component_polygon(comp)
            if polygon is None:
                assert reason == "holes"
                holes += 1
                continue
            polygons += 1
            assert len(polygon) >= 8 and len(polygon) % 2 == 0  # never the 4-number box form
            full = np.zeros((h, w), bool)
            full[comp.y : comp.y + comp.pixels.shape[0], comp.x : comp.x + comp.pixels.shape[1]] = comp.pixels
            assert np.array_equal(_polygon_pixels(polygon, h, w), full)
            xs, ys = np.array(polygon[0::2], float), np.array(polygon[1::2], float)
            shoelace = abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2
            assert shoelace == comp.area  # pixel-edge outline: its area is the pixel count
    assert polygons > 100 and holes > 0


def test_single_pixel_and_ring() -> None:
    points, reason = trace_polygon(np.ones((1, 1), bool))
    assert reason is None and sorted(map(tuple, points.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    assert trace_polygon(ring) == (None, "holes")
    label = np.zeros((5, 5), np.uint8)
    label[4, 4] = 1  # at the image corner: vertices on the image's right and bottom edges
    (comp,) = components(label, [1])
    polygon, _ = component_polygon(comp)
    assert polygon is not None and max(polygon) == 5
    assert _polygon_pixels(polygon, 5, 5).sum() == 1
