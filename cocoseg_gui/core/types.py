"""Plain records shared by the index, the rasteriser, the jobs and the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BACKGROUND = 0
IGNORE_INDEX = 255
# file name suffixes read as images (lower case), in the order a file dialog lists them
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class ImageInfo:
    id: int
    file_name: str
    width: int
    height: int


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    supercategory: str = ""


@dataclass(frozen=True)
class Annotation:
    """One COCO annotation, with its segmentation in the form the file gave.

    ``segmentation`` is kept faithfully so the rasteriser can classify edge cases:
    ``None`` (missing), ``[]`` (empty), a list of polygons (each a flat sequence
    x0, y0, x1, y1, ... possibly of odd length or fewer than 6 numbers), or an RLE
    dict ``{"size": [h, w], "counts": str | list[int]}``.
    """

    id: int
    image_id: int
    category_id: int
    segmentation: Any
    area: float
    bbox: tuple[float, float, float, float]
    iscrowd: bool
