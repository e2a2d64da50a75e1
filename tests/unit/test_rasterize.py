"""The rasteriser against pycocotools: every annotation and every class map of the sample, each policy."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.rasterize import (
    Undrawable,
    annotation_mask,
    decode_counts,
    encode_segmentation,
    rasterize_annotations,
    rasterize_image,
)
from cocoseg_gui.core.types import Annotation, Category

PRIORITY = ("person", "dog", "car", "chair")


def load_coco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.fixture(scope="module", params=["val", "train"])
def split(request, sample_root: Path, tmp_path_factory) -> tuple[COCO, CocoIndex]:
    path = sample_root / "annotations" / f"instances_{request.param}2017.json"
    return load_coco(path), CocoIndex.load(path, cache_dir=tmp_path_factory.mktemp("cache"))


def reference_map(
    coco: COCO, image_id: int, overlap: str, crowd: str, masks: dict[int, np.ndarray]
) -> np.ndarray:
    """Straightforward reference: annToMask per annotation, painted in the policy's order."""
    info = coco.imgs[image_id]
    index_of = {cid: i + 1 for i, cid in enumerate(sorted(coco.cats))}
    rank = {coco.getCatIds(catNms=[name])[0]: len(PRIORITY) - r for r, name in enumerate(PRIORITY)}
    anns = coco.imgToAnns.get(image_id, [])
    crowds = [a for a in anns if a["iscrowd"] and crowd == "ignore"]
    objects = [a for a in anns if not a["iscrowd"] or crowd == "class"]
    area = {a["id"]: int(masks[a["id"]].sum()) for a in anns}
    if overlap == "smaller-on-top":
        objects = sorted(objects, key=lambda a: -area[a["id"]])
    elif overlap == "priority":
        objects = sorted(objects, key=lambda a: (rank.get(a["category_id"], 0), -area[a["id"]]))
    out = np.zeros((info["height"], info["width"]), dtype=np.uint8)
    for a in crowds:
        out[masks[a["id"]] > 0] = 255
    for a in objects:
        out[masks[a["id"]] > 0] = index_of[a["category_id"]]
    return out


def test_every_annotation_equals_ann_to_mask(split) -> None:
    coco, index = split
    checked = 0
    for image_id in index.image_ids().tolist():
        info = index.image(image_id)
        raw = {a["id"]: a for a in coco.imgToAnns.get(image_id, [])}
        for ann in index.annotations_for(image_id):
            expected = coco.annToMask(raw[ann.id]).astype(bool)
            assert np.array_equal(annotation_mask(ann, info.height, info.width), expected), ann.id
            # the JSON form (lists, uncompressed RLE dicts) gives the same pixels
            as_json = Annotation(
                ann.id, image_id, ann.category_id, raw[ann.id]["segmentation"], 1.0, ann.bbox, False
            )
            assert np.array_equal(annotation_mask(as_json, info.height, info.width), expected)
            checked += 1
    assert checked == len(coco.anns)


@pytest.mark.parametrize("crowd", ["ignore", "class", "skip"])
@pytest.mark.parametrize("overlap", ["later", "smaller-on-top", "priority"])
def test_class_maps_equal_reference(split, overlap: str, crowd: str) -> None:
    coco, index = split
    mapping = ClassMapping.from_categories(index.categories)
    options = MaskOptions(overlap=overlap, crowd=crowd, priority=PRIORITY if overlap == "priority" else ())
    differ_from_later = 0
    for image_id in index.image_ids().tolist():
        masks = {a["id"]: coco.annToMask(a) for a in coco.imgToAnns.get(image_id, [])}
        expected = reference_map(coco, image_id, overlap, crowd, masks)
        got = rasterize_image(index, image_id, mapping, options)
        assert got.dtype == np.uint8 and got.flags.c_contiguous
        assert np.array_equal(got, expected), (image_id, overlap, crowd)
        differ_from_later += not np.array_equal(got, reference_map(coco, image_id, "later", crowd, masks))
    if overlap != "later":  # the policy matters on this real data (many overlapping objects)
        assert differ_from_later > 0


def test_crowd_ignore_only_where_no_object(val_annotations: Path) -> None:
    coco = load_coco(val_annotations)
    crowd = next(a for a in coco.anns.values() if a["iscrowd"])
    info = coco.imgs[crowd["image_id"]]
    h, w = info["height"], info["width"]
    anns = [
        Annotation(a["id"], a["image_id"], a["category_id"], a["segmentation"], a["area"], tuple(a["bbox"]),
                   bool(a["iscrowd"]))
        for a in coco.imgToAnns[crowd["image_id"]]
    ]  # fmt: skip
    mapping = ClassMapping.from_categories([Category(c["id"], c["name"]) for c in coco.dataset["categories"]])
    label = rasterize_annotations(anns, h, w, mapping, MaskOptions(crowd="ignore")).label
    crowd_px = coco.annToMask(crowd) > 0
    object_px = np.zeros((h, w), bool)
    for a in coco.imgToAnns[crowd["image_id"]]:
        if not a["iscrowd"]:
            object_px |= coco.annToMask(a) > 0
    assert (label[crowd_px & ~object_px] == 255).all() and (crowd_px & ~object_px).any()
    assert (label[object_px] != 255).all() and (label[object_px] > 0).all()


def _square(x: float, y: float, s: float) -> list[float]:
    return [x, y, x + s, y, x + s, y + s, x, y + s]


def test_compressed_string_rle_and_uncompressed_equal_pycocotools() -> None:
    rng = np.random.default_rng(0)
    m = np.zeros((37, 53), dtype=np.uint8, order="F")
    m[5:30, 10:40] = rng.random((25, 30)) > 0.4
    compressed = mask_utils.encode(m)
    for counts in (compressed["counts"], compressed["counts"].decode()):
        enc = encode_segmentation({"size": [37, 53], "counts": counts}, 37, 53)
        assert np.array_equal(mask_utils.decode(enc.rle), m)
    # uncompressed counts from the mask's column-major runs
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0, *counts]
    enc = encode_segmentation({"size": [37, 53], "counts": counts}, 37, 53)
    assert np.array_equal(mask_utils.decode(enc.rle), m)


def test_decode_counts_matches_pycocotools_runs() -> None:
    rng = np.random.default_rng(1)
    strings, masks = [], []
    for _ in range(20):
        h, w = rng.integers(1, 300, size=2)
        m = np.asfortranarray((rng.random((h, w)) > rng.random()).astype(np.uint8))
        strings.append(mask_utils.encode(m)["counts"])
        masks.append(m)
    counts, offsets = decode_counts(strings)
    for i, m in enumerate(masks):
        c = counts[offsets[i] : offsets[i + 1]]
        assert c.min() >= 0 and c.sum() == m.size
        values = np.resize(np.array([0, 1], dtype=np.uint8), c.size)
        assert np.array_equal(np.repeat(values, c), m.ravel(order="F"))


@pytest.mark.parametrize(
    ("segmentation", "reason"),
    [
        (None, "missing_segmentation"),
        ([], "empty_segmentation"),
        ([[]], "empty_segmentation"),
        ([[1, 1, 5, 5]], "degenerate_polygon"),  # 2 points
        ([[1, 1, 5, 5, 9]], "degenerate_polygon"),  # odd coordinate count
        ([[1, 1, 5, float("nan"), 9, 9]], "degenerate_polygon"),
        ({"size": [10, 12], "counts": [120]}, "rle_size_mismatch"),
        ({"size": [20, 30], "counts": [100, 5]}, "invalid_rle"),  # does not cover the image
        ({"size": [20, 30], "counts": "!!bad"}, "invalid_rle"),
        ({"counts": [600]}, "invalid_segmentation"),
        ("polygon", "invalid_segmentation"),
    ],
)
def test_undrawable_segmentations(segmentation, reason: str) -> None:
    with pytest.raises(Undrawable) as info:
        encode_segmentation(segmentation, 20, 30)
    assert info.value.reason == reason
    ann = Annotation(1, 1, 1, segmentation, 10.0, (0, 0, 1, 1), False)
    assert not annotation_mask(ann, 20, 30).any()


def test_degenerate_parts_dropped_and_out_of_bounds_clipped() -> None:
    good = _square(2, 2, 6)
    enc = encode_segmentation([[1, 1, 3, 3], good, [4, 4, 5, 5, 6]], 20, 30)
    assert enc.dropped_parts == 2 and not enc.clipped
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([good], 20, 30)))
    assert np.array_equal(mask_utils.decode(enc.rle), expected)
    outside = [-5.0, -5.0, 40.0, -5.0, 40.0, 12.0, -5.0, 12.0]
    enc = encode_segmentation([outside], 20, 30)
    assert enc.clipped
    assert np.array_equal(
        mask_utils.decode(enc.rle), mask_utils.decode(mask_utils.frPyObjects([outside], 20, 30)[0])
    )


def test_priority_order_and_skips() -> None:
    cats = [Category(1, "person"), Category(3, "car"), Category(18, "dog")]
    mapping = ClassMapping.from_categories(cats)
    big = Annotation(1, 1, 1, [_square(0, 0, 20)], 400.0, (0, 0, 20, 20), False)  # person
    small = Annotation(2, 1, 18, [_square(5, 5, 4)], 16.0, (5, 5, 4, 4), False)  # dog
    car = Annotation(3, 1, 3, [_square(8, 8, 6)], 36.0, (8, 8, 6, 6), False)
    unknown = Annotation(4, 1, 99, [_square(1, 1, 3)], 9.0, (1, 1, 3, 3), False)
    zero = Annotation(5, 1, 3, [_square(1, 1, 3)], 0.0, (1, 1, 3, 3), False)
    anns = [big, small, car, unknown, zero]
    later = rasterize_annotations(anns, 24, 24, mapping, MaskOptions(overlap="later"), {1, 3, 18})
    assert later.skipped == {"unknown_category": 1, "zero_area": 1} and later.drawn == 3
    assert later.label[6, 6] == 3 and later.label[10, 10] == 2  # dog, then car over it
    prio = rasterize_annotations(anns, 24, 24, mapping, MaskOptions(overlap="priority", priority=("person",)))
    assert (prio.label[:20, :20] == 1).all()  # person on top of everything
    assert prio.skipped["class_not_selected"] == 1  # no known set: an unselected id
    only_car = ClassMapping.from_categories(cats, ["car"])
    sel = rasterize_annotations(anns, 24, 24, only_car, MaskOptions(min_area=20), {1, 3, 18})
    assert set(np.unique(sel.label)) == {0, 1} and sel.skipped["class_not_selected"] == 2
    small_only = rasterize_annotations(anns, 24, 24, mapping, MaskOptions(min_area=30), {1, 3, 18})
    assert small_only.skipped["below_min_area"] == 1 and not (small_only.label == 3).any()
    with pytest.raises(OptionsError, match="person"):
        rasterize_annotations(anns, 24, 24, only_car, MaskOptions(overlap="priority", priority=("person",)))
