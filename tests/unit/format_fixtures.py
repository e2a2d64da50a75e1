"""Class maps of the bundled COCO sample, the input of the CVAT, YOLO and labelme codec tests, and the
figures those tests check (per image and class IoU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.formats.interchange import IGNORE, LabelledImage
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.rasterize import rasterize_image

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_coco"
VAL_IMAGES = SAMPLE / "val2017"


def sample_class_maps(cache_dir: Path, count: int = 12) -> tuple[list[str], list[LabelledImage]]:
    """The first ``count`` val images as class maps of all 80 categories, crowds as IGNORE (the default
    ``cocoseg masks`` options), file names relative to val2017."""
    index = CocoIndex.load(SAMPLE / "annotations" / "instances_val2017.json", cache_dir=cache_dir)
    mapping = ClassMapping.from_categories(index.categories)
    options = MaskOptions()
    images = []
    for image_id in index.image_ids().tolist()[:count]:
        info = index.image(image_id)
        images.append(LabelledImage(info.file_name, rasterize_image(index, image_id, mapping, options)))
    return [c.name for c in mapping.categories], images


def iou_per_class(expected: np.ndarray, got: np.ndarray) -> dict[int, float]:
    """IoU of each value present in either map (background and IGNORE included)."""
    out = {}
    for value in np.union1d(np.unique(expected), np.unique(got)).tolist():
        a, b = expected == value, got == value
        out[value] = float(np.count_nonzero(a & b) / np.count_nonzero(a | b))
    return out


def worst_iou(expected: np.ndarray, got: np.ndarray, skip_ignore: bool = False) -> float:
    """The lowest per-class IoU of one image (classes 1..K; IGNORE too unless ``skip_ignore``)."""
    ious = iou_per_class(expected, got)
    values = [v for k, v in ious.items() if k != 0 and not (skip_ignore and k == IGNORE)]
    return min(values, default=1.0)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def small_images(folder: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    """PNG images ``name -> (height, width)`` under ``folder`` (the images of the bad-input tests)."""
    from PIL import Image

    for name, (height, width) in sizes.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, height)).save(path)
    return folder


def by_name(images) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {image.file_name: image.label for image in images}
