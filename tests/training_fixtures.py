"""Mask dataset folders for training tests, built with pycocotools annToMask (the reference rasteriser).

The folder follows docs/formats.md exactly: masks/<stem>.png (mode "P", VOC palette), category_mapping.json,
image_mask_map.json, manifest.json (images_dir relative to the folder), report.json (classes[].pixels and
per_image). Policy: all categories (ascending id -> 1..K), larger annotations drawn first (smaller on top),
crowd regions 255 (ignore). Reuse: ``from tests.training_fixtures import build_mask_folder`` or the
``sample_mask_folder`` fixture (import it into a test module: ``from tests.training_fixtures import
sample_mask_folder_fixture  # noqa: F401``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.masks.palette import class_color, palette_bytes

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco"
IGNORE = 255


def build_mask_folder(
    out: Path,
    annotations: Path = SAMPLE / "annotations" / "instances_val2017.json",
    images_dir: Path = SAMPLE / "val2017",
    max_images: int | None = None,
    copy_images: bool = False,
) -> Path:
    """Write a mask dataset folder for the images of ``annotations`` into ``out``; return ``out``.

    ``copy_images`` copies the images to ``out/images`` (so a test may damage them) and points
    ``manifest.images_dir`` there.
    """
    from pycocotools.coco import COCO

    out = Path(out)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    coco = COCO(str(annotations))
    cat_ids = sorted(coco.getCatIds())
    index = {c: i + 1 for i, c in enumerate(cat_ids)}
    names = {c["id"]: c["name"] for c in coco.loadCats(cat_ids)}
    img_ids = sorted(coco.getImgIds())[:max_images]
    if copy_images:
        (out / "images").mkdir(exist_ok=True)
    mask_map: dict[str, str] = {}
    per_image: dict[str, dict[str, int]] = {}
    pixels = np.zeros(256, dtype=np.int64)
    images_with = np.zeros(256, dtype=np.int64)
    for img_id in img_ids:
        info = coco.loadImgs(img_id)[0]
        mask = np.zeros((info["height"], info["width"]), dtype=np.uint8)
        anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=None)), key=lambda a: -a["area"])
        for ann in anns:
            if not ann["iscrowd"]:
                mask[coco.annToMask(ann).astype(bool)] = index[ann["category_id"]]
        for ann in anns:
            if ann["iscrowd"]:
                mask[coco.annToMask(ann).astype(bool)] = IGNORE
        mask_name = Path(info["file_name"]).with_suffix(".png").name
        img = Image.fromarray(mask, mode="P")
        img.putpalette(palette_bytes())
        img.save(out / "masks" / mask_name)
        mask_map[info["file_name"]] = mask_name
        counts = np.bincount(mask.ravel(), minlength=256)
        per_image[mask_name] = {str(i): int(counts[i]) for i in np.flatnonzero(counts)}
        pixels += counts
        images_with += counts > 0
        if copy_images:
            shutil.copy2(Path(images_dir) / info["file_name"], out / "images" / info["file_name"])
    classes = [{"index": 0, "name": "background", "category_id": None, "color": list(class_color(0))}]
    classes += [
        {"index": index[c], "name": names[c], "category_id": c, "color": list(class_color(index[c]))}
        for c in cat_ids
    ]
    mapping = {
        "version": 1,
        "num_classes": len(classes),
        "ignore_index": IGNORE,
        "classes": classes,
        "category_id_to_index": {str(c): index[c] for c in cat_ids},
    }
    report_classes = [
        {
            "index": c["index"],
            "name": c["name"],
            "pixels": int(pixels[c["index"]]),
            "images": int(images_with[c["index"]]),
        }
        for c in classes
    ]
    report_classes.append(
        {"index": IGNORE, "name": "ignore", "pixels": int(pixels[IGNORE]), "images": int(images_with[IGNORE])}
    )
    images_rel = "images" if copy_images else os.path.relpath(images_dir, out)
    manifest = {
        "version": 1,
        "tool": "tests.training_fixtures",
        "annotations": os.path.relpath(annotations, out),
        "images_dir": Path(images_rel).as_posix(),
        "options": {
            "classes": None,
            "overlap": "smaller-on-top",
            "priority": [],
            "crowd": "ignore",
            "min_area": 0,
            "max_images": max_images,
        },
        "options_hash": "test",
        "num_images": len(img_ids),
        "complete": True,
        "created": "2026-01-01T00:00:00Z",
    }
    report = {
        "version": 1,
        "skipped": {},
        "clipped_out_of_bounds": 0,
        "examples": {},
        "images_without_annotations": [],
        "size_mismatches": [],
        "unreadable_images": [],
        "classes": report_classes,
        "per_image": per_image,
    }
    for name, obj in [
        ("category_mapping.json", mapping),
        ("image_mask_map.json", mask_map),
        ("manifest.json", manifest),
        ("report.json", report),
    ]:
        (out / name).write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return out


@pytest.fixture(scope="session", name="sample_mask_folder")
def sample_mask_folder_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mask dataset folder of the 50 sample val images (images stay in resources/sample_coco)."""
    return build_mask_folder(tmp_path_factory.mktemp("val_masks"))
