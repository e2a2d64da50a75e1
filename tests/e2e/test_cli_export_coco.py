"""`cocoseg export-coco` end to end on the sample: masks edited in tmp_path, exported, and made again
with `cocoseg masks` from the export with the same options must give back every edited pixel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.png import read_mask_png, write_mask_png

REPO = Path(__file__).resolve().parents[2]
PAINTED = "000000397133.jpg"  # a rectangle of "dog" painted over the table scene
ERASED = "000000252219.jpg"  # every pixel of one class erased to background
CROWD_TRIMMED = "000000087038.jpg"  # half of its crowd (255) region erased: the crowd annotation is trimmed
CROWD_COVERED = "000000329323.jpg"  # its crowd region painted as person: the crowd annotation is kept
EDITED = (PAINTED, ERASED, CROWD_TRIMMED, CROWD_COVERED)


def cocoseg(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCOSEG_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


Masks = dict[str, np.ndarray]


def make_masks(out: Path, annotations: Path, images: Path, cache: Path, *options: str) -> Masks:
    args = ["--annotations", annotations, "--images", images, "--out", out, "--workers", "1", *options]
    result = cocoseg("masks", *args, cache=cache)
    assert result.returncode == 0, result.stderr
    return read_masks(out)


def read_masks(folder: Path) -> Masks:
    mapping = json.loads((folder / "image_mask_map.json").read_text())
    return {name: read_mask_png(folder / "masks" / mask).copy() for name, mask in mapping.items()}


def edit(folder: Path) -> Masks:
    """Edit four masks of ``folder`` as a user would in the editor; return every mask after the edits."""
    masks = read_masks(folder)
    mapping = ClassMapping.read(folder / "category_mapping.json")
    dog = mapping.index_of(18)
    assert dog is not None
    masks[PAINTED][40:140, 60:260] = dog
    erased = masks[ERASED]
    classes = [v for v in np.unique(erased).tolist() if v not in (0, 255)]
    gone = max(classes, key=lambda v: (erased == v).sum())
    erased[erased == gone] = 0
    crowd = masks[CROWD_TRIMMED]
    left = crowd[:, : crowd.shape[1] // 2]
    left[left == 255] = 0
    covered = masks[CROWD_COVERED]
    covered[covered == 255] = mapping.index_of(1)
    for name in EDITED:
        write_mask_png(folder / "masks" / (Path(name).stem + ".png"), masks[name])
    return masks


def by_image(doc: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for ann in doc["annotations"]:
        out.setdefault(ann["image_id"], []).append(ann)
    return out


@pytest.fixture
def edited_folder(tmp_path: Path, val_annotations: Path, val_images: Path) -> tuple[Path, Masks]:
    folder = tmp_path / "masks"
    make_masks(folder, val_annotations, val_images, tmp_path / "cache")
    return folder, edit(folder)


def test_rle_export_redraws_every_edited_pixel(
    tmp_path: Path, edited_folder: tuple[Path, Masks], val_annotations: Path, val_images: Path
) -> None:
    folder, edited = edited_folder
    out, report = tmp_path / "edited.json", tmp_path / "report.json"
    result = cocoseg("export-coco", "--masks", folder, "--annotations", val_annotations, "--out", out,
                     "--report", report, cache=tmp_path / "cache")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "50 images (4 edited, 46 unchanged, 0 new" in result.stdout
    assert "4 of 4 written images exact" in result.stdout
    rep = json.loads(report.read_text())
    assert rep["crowd"] == {"kept": 1, "trimmed": 1, "dropped": 0}
    assert rep["edited"] == 4 and rep["inexact_images"] == [] and rep["ignore_pixels_dropped"] == 0

    again = make_masks(tmp_path / "again", out, val_images, tmp_path / "cache")
    assert again.keys() == edited.keys()
    for name, mask in edited.items():
        assert np.array_equal(again[name], mask), name

    original, exported = json.loads(val_annotations.read_text()), json.loads(out.read_text())
    assert exported["images"] == original["images"] and exported["categories"] == original["categories"]
    ids = {img["file_name"]: img["id"] for img in original["images"]}
    before, after = by_image(original), by_image(exported)
    for name, image_id in ids.items():
        if name not in EDITED:
            assert after.get(image_id) == before.get(image_id), name  # the original objects, unchanged
    painted = after[ids[PAINTED]]
    assert all(a not in before[ids[PAINTED]] for a in painted)  # every object redrawn from the mask
    for ann in painted:
        assert ann["iscrowd"] == 0 and isinstance(ann["segmentation"]["counts"], str)
        assert ann["area"] == int(mask_utils.area(ann["segmentation"]))
        assert ann["bbox"] == mask_utils.toBbox(ann["segmentation"]).tolist()
    crowds = [a for a in after[ids[CROWD_TRIMMED]] if a["iscrowd"]]
    assert len(crowds) == 1 and crowds[0] not in before[ids[CROWD_TRIMMED]]
    assert [a for a in after[ids[CROWD_COVERED]] if a["iscrowd"]] == [
        a for a in before[ids[CROWD_COVERED]] if a["iscrowd"]
    ]


def test_polygon_export_iou_and_fallbacks(
    tmp_path: Path, edited_folder: tuple[Path, Masks], val_annotations: Path, val_images: Path
) -> None:
    folder, edited = edited_folder
    out, report = tmp_path / "poly.json", tmp_path / "report.json"
    result = cocoseg("export-coco", "--masks", folder, "--annotations", val_annotations, "--out", out,
                     "--format", "polygon", "--report", report, cache=tmp_path / "cache")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rep = json.loads(report.read_text())
    assert rep["iou"]["mean"] >= 0.99 and rep["iou"]["min"] is not None
    assert set(rep["iou"]["per_image"]) == set(EDITED)
    original_ids = {a["id"] for a in json.loads(val_annotations.read_text())["annotations"]}
    new = [a for a in json.loads(out.read_text())["annotations"] if a["id"] not in original_ids]
    objects = [a for a in new if not a["iscrowd"]]
    polygons = [a for a in objects if isinstance(a["segmentation"], list)]
    fallbacks = len(objects) - len(polygons)
    assert polygons and rep["polygons"] == len(polygons)
    assert sum(rep["rle_fallbacks"].values()) == fallbacks
    assert f"{len(polygons)} polygons, {fallbacks} components written as RLE instead" in result.stdout
    for ann in polygons:
        assert all(len(part) >= 6 and len(part) % 2 == 0 for part in ann["segmentation"])
    again = make_masks(tmp_path / "again", out, val_images, tmp_path / "cache")
    for name in EDITED:  # pixel-edge polygons redraw exactly
        assert np.array_equal(again[name], edited[name]), name


def test_from_scratch_exports_every_image(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    """Without --annotations, every image is written from its mask; round trip exact (RLE) and polygon
    IoU >= 0.99 on the whole sample (masks made with --crowd class: no 255 pixel to leave out)."""
    cache = tmp_path / "cache"
    masks = make_masks(tmp_path / "masks", val_annotations, val_images, cache, "--crowd", "class")
    out = tmp_path / "scratch.json"
    result = cocoseg("export-coco", "--masks", tmp_path / "masks", "--out", out, cache=cache)
    assert result.returncode == 0, result.stderr
    assert "50 images, each written from its mask" in result.stdout
    exported = json.loads(out.read_text())
    assert len(exported["images"]) == 50 and len({img["id"] for img in exported["images"]}) == 50
    assert {c["id"] for c in exported["categories"]} == {
        c["id"] for c in json.loads(val_annotations.read_text())["categories"]
    }
    again = make_masks(tmp_path / "again", out, val_images, cache, "--crowd", "class")
    assert again.keys() == masks.keys()
    for name, mask in masks.items():
        assert np.array_equal(again[name], mask), name

    report = tmp_path / "report.json"
    poly = cocoseg("export-coco", "--masks", tmp_path / "masks", "--out", tmp_path / "poly.json",
                   "--format", "polygon", "--report", report, cache=cache)  # fmt: skip
    assert poly.returncode == 0, poly.stderr
    rep = json.loads(report.read_text())
    assert len(rep["iou"]["per_image"]) == 50 and rep["iou"]["mean"] >= 0.99
    assert "components written as RLE instead" in poly.stdout and "IoU against the masks mean" in poly.stdout
