"""Prediction vs ground truth without Qt: ground-truth lookup and the error map (IoU: core.scores).

Runs in the Predict panel's worker thread; everything here is numpy (and core readers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cocoseg_gui.core.masks.palette import class_color, display_colors
from cocoseg_gui.core.quality.scores import ClassScore
from cocoseg_gui.core.types import IGNORE_INDEX

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex

ERROR_CORRECT, ERROR_WRONG, ERROR_IGNORED = 1, 2, 3
# Okabe-Ito blue and vermillion: told apart with every common colour-vision deficiency (green/red is not)
ERROR_LEGEND: tuple[tuple[int, str, tuple[int, int, int]], ...] = (
    (ERROR_CORRECT, "correct", (0, 114, 178)),
    (ERROR_WRONG, "wrong", (213, 94, 0)),
    (ERROR_IGNORED, "ignored (no label)", (150, 150, 150)),
)


def error_colors() -> np.ndarray:
    """256x3 colours of the error map: correct blue, wrong vermillion, ignored grey."""
    colors = np.zeros((256, 3), dtype=np.uint8)
    for value, _name, rgb in ERROR_LEGEND:
        colors[value] = rgb
    return colors


def error_map(truth: np.ndarray, pred: np.ndarray, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(H, W) uint8: 1 where the prediction equals the truth, 2 where it differs, 3 where truth is ignored."""
    out = np.where(truth == pred, ERROR_CORRECT, ERROR_WRONG).astype(np.uint8)
    out[truth == ignore_index] = ERROR_IGNORED
    return out


def class_table(classes: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """Names by index and 256x3 on-screen colours of checkpoint classes (dicts with index/name/color, names).

    A class still at its VOC colour is drawn in its lifted display colour (core.palette.display_colors).
    """
    names: list[str] = []
    colors = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        colors[i] = class_color(i)
    for pos, c in enumerate(classes):
        if isinstance(c, Mapping):
            index = int(c.get("index", pos))
            name = str(c.get("name", f"class {index}"))
            if c.get("color") is not None:
                colors[index] = [int(v) for v in c["color"]][:3]
        else:
            index, name = pos, str(c)
        while len(names) <= index:
            names.append(f"class {len(names)}")
        names[index] = name
    return names, display_colors(colors)


def remap_by_name(mask: np.ndarray, source_names: Sequence[str], target_names: Sequence[str]) -> np.ndarray:
    """Re-index a class map whose classes are ``source_names`` to ``target_names`` (unknown -> ignore)."""
    if list(source_names) == list(target_names):
        return mask
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    where = {name: i for i, name in enumerate(target_names)}
    for i, name in enumerate(source_names):
        if name in where:
            lut[i] = where[name]
    return lut[mask]


def _file_name_in(folder: Path | None, image: Path) -> str | None:
    if folder is None:
        return None
    try:
        return image.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def truth_from_masks(masks_dir: Path, image: Path, names: Sequence[str]) -> np.ndarray | None:
    """The image's mask in a mask dataset folder (by its path under the images folder, else its file name)."""
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    folder = MaskDatasetFolder(masks_dir)
    key = folder.file_name_of(image)
    if key is None:
        key = next((k for k in folder.image_mask_map if Path(k).name == image.name), None)
    if key is None or not folder.mask_path(key).is_file():
        return None
    mask = folder.read_mask(key)
    assert folder.mapping is not None  # None only for a folder opened with browse=True
    return remap_by_name(mask, folder.mapping.class_names(), names)


def truth_from_index(
    index: CocoIndex, images_dir: Path | None, image: Path, names: Sequence[str]
) -> np.ndarray | None:
    """Rasterise the image's annotations when it belongs to the open dataset (classes matched by name)."""
    from cocoseg_gui.core.coco.rasterize import rasterize_image
    from cocoseg_gui.core.masks.class_map import ClassMapping
    from cocoseg_gui.core.masks.options import MaskOptions

    key = _file_name_in(images_dir, image) or image.name
    try:
        info = index.image_by_file(key)
    except (KeyError, LookupError):
        return None
    known = {c.name for c in index.categories}
    wanted = [n for n in names[1:] if n in known]
    if not wanted:
        return None
    mapping = ClassMapping.from_categories(index.categories, wanted)
    label = rasterize_image(index, info.id, mapping, MaskOptions(workers=1))
    return remap_by_name(label, mapping.class_names(), names)


@dataclass
class Comparison:
    """Everything the Predict panel shows for one image."""

    image_path: Path
    rgb: np.ndarray
    pred: np.ndarray
    truth: np.ndarray | None
    truth_source: str  # "mask dataset", "annotations" or ""
    scores: list[ClassScore]
    errors: np.ndarray | None
