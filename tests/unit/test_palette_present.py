"""Colours of the classes shown together stay distinct (issue 19: cat / remote and chair / person looked
alike): checked on the classes of every image of the bundled COCO sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.masks.palette import (
    MIN_LUMINANCE,
    MIN_PRESENT_DELTA_E,
    display_palette,
    distinct_colors,
    min_pair_delta_e,
    relative_luminance,
)


def classes_per_image(annotations: Path) -> list[set[int]]:
    """Each image's class indices (1..K in category-id order, as `cocoseg masks` numbers them)."""
    coco = json.loads(annotations.read_text(encoding="utf-8"))
    index = {cid: i for i, cid in enumerate(sorted(c["id"] for c in coco["categories"]), start=1)}
    per_image: dict[int, set[int]] = {im["id"]: set() for im in coco["images"]}
    for ann in coco["annotations"]:
        per_image[ann["image_id"]].add(index[ann["category_id"]])
    return [classes for classes in per_image.values() if len(classes) > 1]


def test_the_confused_pairs_are_told_apart_when_shown_together() -> None:
    base = display_palette()
    cat, remote, person, chair = 16, 66, 1, 57  # COCO ids 17, 75, 1, 62
    for pair in ((cat, remote), (person, chair)):
        assert min_pair_delta_e(base, pair) < MIN_PRESENT_DELTA_E  # the palette alone: too close
        table = distinct_colors(base, pair)
        assert min_pair_delta_e(table, pair) >= MIN_PRESENT_DELTA_E
        assert tuple(table[min(pair)]) == tuple(base[min(pair)])  # the lower (commoner) class keeps its own
    # a class is recoloured only in the company of one it is confused with
    assert np.array_equal(distinct_colors(base, (person, 2)), base)


@pytest.mark.parametrize("split", ["val2017", "train2017"])
def test_every_sample_image_shows_its_classes_distinctly(sample_root: Path, split: str) -> None:
    base = display_palette()
    images = classes_per_image(sample_root / "annotations" / f"instances_{split}.json")
    assert images
    before = [min_pair_delta_e(base, classes) for classes in images]
    assert min(before) < MIN_PRESENT_DELTA_E  # the sample has images where two shown classes look alike
    for classes in images:
        table = distinct_colors(base, classes)
        assert min_pair_delta_e(table, classes) >= MIN_PRESENT_DELTA_E, sorted(classes)
        changed = [i for i in range(256) if tuple(table[i]) != tuple(base[i])]
        assert set(changed) <= classes  # only shown classes change
        assert (relative_luminance(table[sorted(classes)]) >= MIN_LUMINANCE).all()  # still readable
        assert np.array_equal(distinct_colors(base, classes), table)  # deterministic
