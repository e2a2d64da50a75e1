"""A real sample image and its class map built with pycocotools annToMask (the reference rasteriser)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_coco"


@dataclass(frozen=True)
class SampleMask:
    rgb: np.ndarray  # HxWx3 uint8
    mask: np.ndarray  # HxW uint8: 0 background, class index = position of the category in id order + 1
    names: dict[int, str]
    outlines: list[tuple[int, np.ndarray]]


@lru_cache(maxsize=1)
def sample_mask() -> SampleMask:
    """The val image with the most annotations: larger annotations drawn first, crowd regions as 255."""
    from pycocotools.coco import COCO

    coco = COCO(str(SAMPLE / "annotations" / "instances_val2017.json"))
    img_id = max(sorted(coco.getImgIds()), key=lambda i: len(coco.getAnnIds(imgIds=i)))
    info = coco.loadImgs(img_id)[0]
    rgb = np.array(Image.open(SAMPLE / "val2017" / info["file_name"]).convert("RGB"))
    cat_ids = sorted(coco.getCatIds())
    cls = {c: i + 1 for i, c in enumerate(cat_ids)}
    names = {cls[c["id"]]: c["name"] for c in coco.loadCats(cat_ids)}
    mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
    outlines: list[tuple[int, np.ndarray]] = []
    for ann in sorted(coco.loadAnns(coco.getAnnIds(imgIds=img_id)), key=lambda a: -a["area"]):
        m = coco.annToMask(ann).astype(bool)
        mask[m] = 255 if ann["iscrowd"] else cls[ann["category_id"]]
        if not ann["iscrowd"]:
            outlines += [(cls[ann["category_id"]], np.asarray(p).reshape(-1, 2)) for p in ann["segmentation"]]
    mask.setflags(write=False)
    rgb.setflags(write=False)
    return SampleMask(rgb, mask, names, outlines)
