"""Reading a mask dataset folder written by `cocoseg masks`: manifest, mapping, report, masks.

The one reader of that folder (docs/formats.md): the trainer's dataset (core.training.data), evaluation,
Predict's ground truth and the viewer (gui.image_source) all go through these functions and
``MaskDatasetFolder``, so a file name, a refusal (core.safe_paths) or an error message is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.files.safe_paths import SafeRoot, UnsafePathError
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.folder import EDITED_FILE, IMAGE_MAP_FILE, MANIFEST_FILE, MASKS_DIR, REPORT_FILE
from cocoseg_gui.core.masks.png import read_mask_png


def read_image_mask_map(root: str | Path, required: bool = True) -> dict[str, str]:
    """image_mask_map.json of a mask folder: image file name -> mask file name (relative to ``masks/``);
    {} when it is missing and not ``required``."""
    path = Path(root) / IMAGE_MAP_FILE
    data = read_json(path, required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DatasetError(path, "expected a JSON object {image: mask}")
    return {str(k): str(v) for k, v in data.items()}


def read_edited(folder: str | Path) -> dict[str, dict[str, Any]]:
    """edited.json of a mask folder: image file name -> {"mask", "image_id", "first_saved", "saved",
    "saves"}; {} when there is none (docs/formats.md; written by core/editing/save.py)."""
    path = Path(folder) / EDITED_FILE
    data = read_json(path, required=False)
    if data is None:
        return {}
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise DatasetError(path, 'expected {"version": 1, "images": {file name: entry}}')
    return {str(k): dict(v) for k, v in images.items() if isinstance(v, dict)}


def read_report(root: str | Path, required: bool = False) -> dict[str, Any] | None:
    """report.json of a mask folder, or None when the run did not finish (missing, not ``required``)."""
    path = Path(root) / REPORT_FILE
    data = read_json(path, required)
    if data is not None and not isinstance(data, dict):
        raise DatasetError(path, "expected a JSON object (a report written by `cocoseg masks`)")
    return data


def report_if_readable(root: str | Path) -> dict[str, Any] | None:
    """report.json, or None when there is none or it cannot be read (what a view shows: nothing)."""
    try:
        return read_report(root)
    except DatasetError:
        return None


def map_entry_subject(file_name: str, mask_name: str) -> str:
    """How a refusal names an image_mask_map.json entry whose mask name leads outside ``masks/``."""
    return f"entry {file_name!r}: mask file name {mask_name!r}"


def resolve_mask_entry(masks: SafeRoot, root: Path, file_name: str, mask_name: str) -> Path:
    """The mask file of one image_mask_map.json entry of the folder ``root``; UnsafePathError naming the
    map and the entry when the mask name leads outside ``masks/`` (``masks``: a SafeRoot over it)."""
    return masks.resolve(mask_name, root / IMAGE_MAP_FILE, map_entry_subject(file_name, mask_name))


@dataclass(frozen=True)
class MaskSample:
    """One image and its mask."""

    file_name: str  # as in the COCO JSON
    image_path: Path | None  # None when the manifest does not say where the images are
    mask_path: Path


class MaskDatasetFolder:
    """A mask dataset folder; files are read on first use and errors name the file.

    Image and mask names that lead outside the image folder or ``masks/`` are refused
    (core.safe_paths; symbolic links leaving them too, unless ``follow_symlinks``).

    ``browse=True`` is the viewer's tolerance: the folder or its manifest.json may be missing, the
    manifest unreadable (then {}),
    category_mapping.json and image_mask_map.json may be missing (``mapping`` None, no masks), so a
    half-written folder can still be looked at; a mask that cannot be read is the caller's per-image
    problem (``read_mask`` raises DatasetError naming it).
    """

    def __init__(self, root: str | Path, follow_symlinks: bool = False, *, browse: bool = False) -> None:
        self.root = Path(root)
        self.follow_symlinks = follow_symlinks
        self.browse = browse
        self.refused: list[tuple[str, str]] = []  # (image file name, why), filled by samples()
        if not browse and not self.root.is_dir():
            raise DatasetError(self.root, "mask dataset folder not found")
        if browse:
            try:
                manifest = read_json(self.root / MANIFEST_FILE, required=False)
            except DatasetError:
                manifest = None
            self.manifest: dict[str, Any] = manifest if isinstance(manifest, dict) else {}
            has_mapping = (self.root / MAPPING_FILE).is_file()
            # None only when browsing a folder without category_mapping.json
            self.mapping: ClassMapping | None = (
                ClassMapping.read(self.root / MAPPING_FILE) if has_mapping else None
            )
            return
        self.manifest = read_json(self.root / MANIFEST_FILE)
        if not isinstance(self.manifest, dict) or "options_hash" not in self.manifest:
            raise DatasetError(self.root / MANIFEST_FILE, "not a cocoseg mask manifest")
        self.mapping = ClassMapping.read(self.root / MAPPING_FILE)

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    @property
    def masks_dir(self) -> Path:
        return self.root / MASKS_DIR

    def _manifest_path(self, key: str) -> Path | None:
        value = self.manifest.get(key)
        return (self.root / value).resolve() if value else None  # relative to the folder, or absolute

    @property
    def images_dir(self) -> Path | None:
        return self._manifest_path("images_dir")

    @property
    def annotations(self) -> Path | None:
        return self._manifest_path("annotations")

    @cached_property
    def image_mask_map(self) -> dict[str, str]:
        """Image file name -> mask file name (relative to ``masks/``); empty before a run completes."""
        return read_image_mask_map(self.root, required=self.complete and not self.browse)

    @cached_property
    def report(self) -> dict[str, Any] | None:
        """report.json, or None when the run did not finish."""
        return read_report(self.root)

    def samples(self) -> list[MaskSample]:
        """The images whose mask is on disk, in the order of image_mask_map.json; entries refused by
        core.safe_paths are left out and listed in ``refused`` as (image file name, message)."""
        images_dir = self.images_dir
        images = SafeRoot(images_dir, self.follow_symlinks, "image file name") if images_dir else None
        out = []
        self.refused.clear()
        for file_name in self.image_mask_map:
            try:
                mask_path = self.mask_path(file_name)
                image_path = images.resolve(file_name) if images is not None else None
            except UnsafePathError as exc:
                self.refused.append((file_name, str(exc)))
                continue
            if mask_path.is_file():
                out.append(MaskSample(file_name, image_path, mask_path))
        return out

    @cached_property
    def _masks(self) -> SafeRoot:
        return SafeRoot(self.masks_dir, self.follow_symlinks, "mask file name")

    def file_name_of(self, image: str | Path, images_dir: str | Path | None = None) -> str | None:
        """The image_mask_map.json key of an image file: its path under ``images_dir`` (default the
        manifest's image folder), or None when it is not there or has no entry."""
        folder = Path(images_dir) if images_dir is not None else self.images_dir
        if folder is None:
            return None
        try:
            key = Path(image).resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            return None
        return key if key in self.image_mask_map else None

    def mask_path(self, file_name: str) -> Path:
        """Mask path of an image file name; KeyError if the image has no mask here, UnsafePathError
        (naming image_mask_map.json and the entry) if the map's entry leads outside ``masks/``."""
        return resolve_mask_entry(self._masks, self.root, file_name, self.image_mask_map[file_name])

    def read_mask(self, file_name: str) -> np.ndarray:
        """The (H, W) uint8 class map of an image (by its COCO file name)."""
        return read_mask_png(self.mask_path(file_name))

    def class_pixels(self) -> np.ndarray:
        """Pixels per class index 0..K (ignore excluded) from report.json: the input of class weighting."""
        if self.mapping is None:  # a browsed folder without category_mapping.json
            raise DatasetError(self.root / MAPPING_FILE, "not found: the folder's classes are unknown")
        counts = np.zeros(self.mapping.num_classes, dtype=np.int64)
        for entry in (self.report or {}).get("classes", []):
            i = int(entry["index"])
            if 0 <= i < len(counts):
                counts[i] = int(entry["pixels"])
        return counts

    def per_image_pixels(self) -> dict[str, dict[int, int]]:
        """Mask file name -> {class index: pixels} from report.json (for oversampling rare classes)."""
        per_image = (self.report or {}).get("per_image", {})
        return {name: {int(k): int(v) for k, v in hist.items()} for name, hist in per_image.items()}
