"""The on-screen class colours: every class readable over a dark photo, as distinct as the VOC palette."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.masks.palette import (
    IGNORE_COLOR,
    MIN_LUMINANCE,
    display_colors,
    display_palette,
    lab,
    palette_bytes,
    relative_luminance,
    voc_palette,
)
from cocoseg_gui.core.masks.png import write_mask_png
from cocoseg_gui.core.quality.truth_compare import class_table


def _distances(pal: np.ndarray, k: int) -> np.ndarray:
    """delta E 1976 of every pair of classes 1..k."""
    coords = lab(pal[1 : k + 1])
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    return d[np.triu_indices(k, 1)]


def test_every_class_is_above_the_luminance_floor_on_screen() -> None:
    voc = relative_luminance(voc_palette()[1:255])
    assert (voc < MIN_LUMINANCE).sum() > 50  # the problem: (64,0,0), (0,64,0), (0,0,128) ...
    assert relative_luminance(display_palette()[1:255]).min() >= MIN_LUMINANCE


def test_background_ignore_and_readable_classes_keep_their_voc_colour() -> None:
    voc, shown = voc_palette(), display_palette()
    assert tuple(shown[0]) == (0, 0, 0) and tuple(shown[255]) == IGNORE_COLOR
    readable = relative_luminance(voc) >= MIN_LUMINANCE
    assert np.array_equal(shown[readable], voc[readable])
    assert len({tuple(c) for c in shown}) == 256  # still one colour per index


@pytest.mark.parametrize("k", [20, 80, 254])  # VOC's classes, COCO's things, every class
def test_lifted_colours_are_no_less_distinct_than_voc(k: int) -> None:
    """Measure: the closest pair (delta E 1976) and the number of pairs closer than 10, over classes 1..k."""
    voc, shown = _distances(voc_palette(), k), _distances(display_palette(), k)
    assert shown.min() >= voc.min() - 1e-9
    assert (shown < 10).sum() <= (voc < 10).sum()


def test_display_colors_lifts_voc_entries_and_keeps_chosen_ones() -> None:
    table = voc_palette().copy()
    table[1] = (10, 20, 30)  # a colour a mapping set on purpose
    shown = display_colors(table)
    assert tuple(shown[1]) == (10, 20, 30)
    assert np.array_equal(shown[2:], display_palette()[2:])


def test_checkpoint_class_table_is_drawn_in_display_colours() -> None:
    classes = [
        {"index": 0, "name": "background", "color": [0, 0, 0]},
        {"index": 1, "name": "cat", "color": [128, 0, 0]},
    ]
    names, colors = class_table(classes)
    assert names == ["background", "cat"]
    assert tuple(colors[1]) == tuple(display_palette()[1]) != (128, 0, 0)


def test_mask_pngs_on_disk_keep_the_standard_voc_palette(tmp_path) -> None:
    path = tmp_path / "m.png"
    write_mask_png(path, np.array([[0, 1], [8, 255]], dtype=np.uint8))
    with Image.open(path) as img:
        assert img.getpalette() == list(palette_bytes())
    assert img.getpalette()[3:6] == [128, 0, 0]  # class 1 is VOC maroon on disk, lifted only on screen


def test_the_fast_delta_e_is_norm_bit_for_bit() -> None:
    """display_palette's distances (channel by channel, for start-up) pick exactly what norm would."""
    from cocoseg_gui.core.masks.palette import _delta_e

    grid = lab(np.stack(np.meshgrid(*[np.arange(0, 256, 17)] * 3, indexing="ij"), -1).reshape(-1, 3))
    placed = lab(voc_palette()[:40])
    assert np.array_equal(
        _delta_e(grid[:, None], placed[None]), np.linalg.norm(grid[:, None] - placed[None], axis=-1)
    )
    assert np.array_equal(_delta_e(grid, placed[7]), np.linalg.norm(grid - placed[7], axis=-1))
