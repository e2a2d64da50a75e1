"""Prediction vs ground truth without Qt: where an image's ground truth is, one image predicted and
compared with it, the error map (IoU: core.training.scores).

Runs in the Predict panel's worker thread; everything here is numpy (and core readers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback
from cocoseg_gui.core.masks.palette import class_color, display_colors
from cocoseg_gui.core.training.scores import ClassScore, image_scores
from cocoseg_gui.core.types import IGNORE_INDEX

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.project.project import Project

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
    from cocoseg_gui.core.masks.class_map import ClassMapping
    from cocoseg_gui.core.masks.options import MaskOptions
    from cocoseg_gui.core.masks.rasterize import rasterize_image

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


class ClassMapPredictor(Protocol):
    """What a comparison needs of a model (core.training.predict.Predictor): RGB in, class map out."""

    def predict(self, image: np.ndarray) -> np.ndarray: ...


def compare_image(
    predictor: ClassMapPredictor,
    names: Sequence[str],
    image_path: Path,
    masks_dir: Path | None,
    index: CocoIndex | None,
    images_dir: Path | None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Comparison:
    """Predict one image and compare it with its ground truth when there is one: the mask folder's mask,
    else the open dataset's annotations; a truth of another size is no truth (runs in a worker)."""
    from PIL import Image

    try:
        with Image.open(image_path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise CocoSegError(f"{image_path}: cannot read the image ({exc})") from exc
    if cancel is not None:
        cancel.raise_if_cancelled()
    pred = np.asarray(predictor.predict(rgb), dtype=np.uint8)
    truth, source = None, ""
    if masks_dir is not None:
        truth, source = truth_from_masks(masks_dir, image_path, names), "mask dataset"
    if truth is None and index is not None:
        truth, source = truth_from_index(index, images_dir, image_path, names), "annotations"
    if truth is not None and truth.shape != pred.shape:
        truth = None
    if truth is None:
        source = ""
    scores = image_scores(truth, pred, names) if truth is not None else []
    errors = error_map(truth, pred) if truth is not None else None
    return Comparison(image_path, rgb, pred, truth, source, scores, errors)


def truth_folder_for(
    image_path: Path, chosen: Path | None, project: Project | None, masks_dir: Path | None
) -> Path | None:
    """Where the image's ground truth is: the folder the user chose, else the mask folder of the project's
    dataset holding the image (any dataset, not only the open one), else the attached mask folder."""
    if chosen is not None:
        return chosen
    found = project.ground_truth_for(image_path) if project is not None else None
    return found[0].masks if found is not None else masks_dir


def compare_in_project(
    predictor: ClassMapPredictor,
    names: Sequence[str],
    image_path: Path,
    chosen: Path | None,
    project: Project | None,
    masks_dir: Path | None,
    index: CocoIndex | None,
    images_dir: Path | None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Comparison:
    """``compare_image`` with the ground-truth folder looked up here, in the worker (it reads mask maps)."""
    truth = truth_folder_for(image_path, chosen, project, masks_dir)
    return compare_image(predictor, names, image_path, truth, index, images_dir, progress, cancel)
