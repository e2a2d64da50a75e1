"""The mask dataset folder as a torch Dataset, the train/val split, and class balancing.

The folder layout is described in docs/formats.md (masks/, category_mapping.json,
image_mask_map.json, manifest.json, report.json); its files are read by core.mask_dataset.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.files.safe_paths import SafeRoot, UnsafePathError, check_relative_name
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.dataset import (
    map_entry_subject,
    read_image_mask_map,
    read_report,
    resolve_mask_entry,
)
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MANIFEST_FILE, MASKS_DIR, REPORT_FILE
from cocoseg_gui.core.masks.png import read_mask_png
from cocoseg_gui.core.training.names import CLASS_WEIGHTINGS, IMAGENET_MEAN, IMAGENET_STD
from cocoseg_gui.core.training.transforms import build_transforms, load_rgb, open_image, to_rgb
from cocoseg_gui.core.types import IGNORE_INDEX

__all__ = [
    "MaskDataset",
    "build_transforms",
    "class_pixel_counts",
    "class_weights",
    "collate_skip_none",
    "describe_split_leakage",
    "load_rgb",
    "read_json",
    "sample_weights",
    "split_files",
]

log = logging.getLogger(__name__)

Sample = tuple[torch.Tensor, torch.Tensor]


class MaskValueError(DatasetError):
    """A mask holds a value that is no class index and not the ignore value: an error, never skipped
    (training on it would fail or learn garbage; the mask folder does not match its category_mapping)."""


def _default_transform(image: Image.Image, mask: Image.Image) -> Sample:
    img = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (img - mean) / std, torch.from_numpy(np.array(mask, dtype=np.uint8)).long()


class MaskDataset(torch.utils.data.Dataset[Any]):
    """Images + palette masks of a mask dataset folder.

    ``files`` are image file names (keys of image_mask_map.json), default all, sorted; ``images_dir``
    replaces the manifest's image folder (the images were moved, or the CLI's ``--images``).
    ``transform(image, mask)`` gets PIL images (RGB image, "L" class-map mask) and returns tensors;
    the default keeps the size and only normalises. An image or mask that cannot be read gives
    ``None`` (use ``collate_skip_none``), a warning, and an entry ``(file, reason)`` in ``skipped``
    (per process: with DataLoader workers each worker counts its own).

    Names that lead outside the image folder or ``masks/`` are refused (core.safe_paths): by their text
    here, listed in ``refused`` as ``(file, reason)`` and left out of the default ``files``; symbolic links
    leaving the folders (unless ``follow_symlinks``) when loading, as skipped items.

    Geometry: the mask is the reference. COCO annotations are in stored pixel coordinates, so
    when the EXIF-rotated image does not match the mask size but the stored image does, the
    stored orientation is used.
    """

    def __init__(
        self,
        root: Path | str,
        files: Sequence[str] | None = None,
        transform: Callable[[Image.Image, Image.Image], Any] | None = None,
        follow_symlinks: bool = False,
        images_dir: Path | str | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(self.root, "mask dataset folder not found")
        mapping = read_json(self.root / MAPPING_FILE)
        manifest = read_json(self.root / MANIFEST_FILE)
        self.mask_map: dict[str, str] = read_image_mask_map(self.root)
        try:
            self.classes: list[dict[str, Any]] = [
                {"index": int(c["index"]), "name": str(c["name"]), "color": [int(v) for v in c["color"]]}
                for c in mapping["classes"]
            ]
            self.num_classes: int = int(mapping.get("num_classes", len(self.classes)))
            self.ignore_index: int = int(mapping.get("ignore_index", IGNORE_INDEX))
            images_dir = Path(images_dir if images_dir is not None else manifest["images_dir"])
            self.complete: bool = bool(manifest.get("complete", True))
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(
                self.root, f"malformed category_mapping.json or manifest.json ({exc!r})"
            ) from None
        if self.num_classes != len(self.classes):
            raise DatasetError(
                self.root / MAPPING_FILE,
                f"num_classes is {self.num_classes} but {len(self.classes)} classes are listed",
            )
        self.images_dir = images_dir if images_dir.is_absolute() else (self.root / images_dir)
        self.masks_dir = self.root / MASKS_DIR
        self._images = SafeRoot(self.images_dir, follow_symlinks, "image file name")
        self._masks = SafeRoot(self.masks_dir, follow_symlinks, "mask file name")
        self.refused = self._refused_entries()
        if files is None:
            refused = {f for f, _ in self.refused}
            self.files: list[str] = sorted(f for f in self.mask_map if f not in refused)
        else:
            unknown = [f for f in files if f not in self.mask_map]
            if unknown:
                raise DatasetError(
                    self.root / IMAGE_MAP_FILE,
                    f"{len(unknown)} requested images have no mask, e.g. {unknown[:3]}",
                )
            self.files = list(files)
        self.transform = transform if transform is not None else _default_transform
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"MaskDataset({str(self.root)!r}, {len(self)} images, {self.num_classes} classes)"

    def _refused_entries(self) -> list[tuple[str, str]]:
        """image_mask_map.json entries whose image or mask name leaves its folder (text only: cheap)."""
        refused = []
        map_file = self.root / IMAGE_MAP_FILE
        for f, m in self.mask_map.items():
            reason, subject, folder = check_relative_name(f), f"image file name {f!r}", self.images_dir
            if reason is None:
                reason, subject, folder = check_relative_name(m), map_entry_subject(f, m), self.masks_dir
            if reason is not None:
                refused.append((f, str(UnsafePathError(map_file, subject, reason, folder))))
        return refused

    def image_path(self, i: int) -> Path:
        """The image's path; UnsafePathError (a DatasetError) if the name leaves the image folder."""
        return self._images.resolve(self.files[i])

    def mask_path(self, i: int) -> Path:
        """The mask's path; UnsafePathError naming image_mask_map.json and the entry if it leaves masks/."""
        f = self.files[i]
        return resolve_mask_entry(self._masks, self.root, f, self.mask_map[f])

    def load_pair(self, i: int) -> tuple[Image.Image, Image.Image]:
        """The RGB image and its mask as PIL images (mask mode "L"); raises DatasetError."""
        mpath = self.mask_path(i)
        mask = Image.fromarray(read_mask_png(mpath))  # mode L: the class map (RGB and the like refused)
        self._check_mask_values(mpath, mask)
        ipath = self.image_path(i)
        raw = open_image(ipath)
        image = to_rgb(raw, exif_transpose=True)
        if image.size != mask.size and raw.size == mask.size:
            image = to_rgb(raw, exif_transpose=False)  # annotated in stored orientation (COCO)
        if image.size != mask.size:
            raise DatasetError(ipath, f"image size {image.size} differs from its mask {mask.size}")
        return image, mask

    def batches(
        self, batch_size: int, skipped: list[tuple[str, str]], cancel: CancelToken | None = None
    ) -> Iterator[tuple[int, list[tuple[str, Image.Image, np.ndarray]]]]:
        """(images done, [(file, RGB image, uint8 mask)]) per batch, for jobs that run a model over the
        folder (evaluate, label-issue ranking). An unreadable pair is appended to ``skipped`` and left
        out; a mask value outside the mapping raises (as in training); cancel is checked per batch."""
        for start in range(0, len(self), max(1, batch_size)):
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield min(start + batch_size, len(self)), self.load_batch(start, start + batch_size, skipped)

    def load_batch(
        self, start: int, stop: int, skipped: list[tuple[str, str]]
    ) -> list[tuple[str, Image.Image, np.ndarray]]:
        """[(file, RGB image, uint8 mask)] of images start..stop-1 (as ``batches``; sharded jobs pick
        their batches by index)."""
        pairs = []
        for i in range(start, min(stop, len(self))):
            try:
                image, mask = self.load_pair(i)
            except MaskValueError:
                raise
            except DatasetError as exc:
                skipped.append((self.files[i], str(exc)))
                continue
            pairs.append((self.files[i], image, np.asarray(mask, dtype=np.uint8)))
        return pairs

    def _check_mask_values(self, path: Path, mask: Image.Image) -> None:
        """Raise MaskValueError for a value >= num_classes other than ignore_index (a histogram: cheap)."""
        hist = mask.histogram()
        bad = [v for v in range(self.num_classes, 256) if hist[v] and v != self.ignore_index]
        if bad:
            raise MaskValueError(
                path,
                f"mask value {bad[0]} ({hist[bad[0]]} pixels"
                + (f"; also {bad[1:4]}" if len(bad) > 1 else "")
                + f") is neither a class index 0..{self.num_classes - 1} of category_mapping.json nor "
                f"{self.ignore_index} (ignore): regenerate the masks with `cocoseg masks`",
            )

    def __getitem__(self, i: int) -> Any:
        try:
            image, mask = self.load_pair(i)
        except MaskValueError:
            raise
        except DatasetError as exc:
            log.warning("skipping %s: %s", self.files[i], exc)
            self.skipped.append((self.files[i], str(exc)))
            return None
        return self.transform(image, mask)


class MultiMaskDataset(torch.utils.data.Dataset[Any]):
    """Several MaskDatasets (their ``files`` and transforms already chosen) read as one, for training on
    several mask folders at once. ``files`` are data_sources.sample_key names: plain file names of the
    first part, ``<folder>:<file>`` of the others; an unreadable item is None, named in ``skipped``."""

    def __init__(self, parts: Sequence[MaskDataset]) -> None:
        from cocoseg_gui.core.training.data_sources import sample_key

        self.parts = list(parts)
        self.root = self.parts[0].root
        self.classes, self.num_classes = self.parts[0].classes, self.parts[0].num_classes
        self.ignore_index = self.parts[0].ignore_index
        self.files: list[str] = [sample_key(i, p.root, f) for i, p in enumerate(self.parts) for f in p.files]
        self._where = [(i, j) for i, p in enumerate(self.parts) for j in range(len(p))]
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self._where)

    def __repr__(self) -> str:
        return f"MultiMaskDataset({[str(p.root) for p in self.parts]}, {len(self)} images)"

    def __getitem__(self, i: int) -> Any:
        part, j = self._where[i]
        item = self.parts[part][j]
        if item is None:
            found = self.parts[part].skipped
            self.skipped.append((self.files[i], found[-1][1] if found else ""))
        return item


def training_dataset(parts: Sequence[MaskDataset]) -> MaskDataset | MultiMaskDataset:
    """One folder's MaskDataset as it is (the one-folder run is unchanged), several as a MultiMaskDataset."""
    return parts[0] if len(parts) == 1 else MultiMaskDataset(parts)


def collate_skip_none(batch: Sequence[Sample | None]) -> Sample | None:
    """Stack (image, mask) pairs, dropping None items; None when the whole batch is unreadable."""
    items = [b for b in batch if b is not None]
    if not items:
        return None
    return torch.stack([b[0] for b in items]), torch.stack([b[1] for b in items])


def split_files(files: Sequence[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split by image: (train, val), disjoint, independent of the input order."""
    if not 0.0 <= val_fraction < 1.0:
        raise OptionsError(f"val fraction must be in [0, 1), got {val_fraction}")
    unique = sorted(set(files))
    random.Random(seed).shuffle(unique)
    n_val = round(len(unique) * val_fraction)
    if val_fraction > 0 and len(unique) >= 2:
        n_val = min(max(n_val, 1), len(unique) - 1)
    val = sorted(unique[:n_val])
    train = sorted(unique[n_val:])
    return train, val


def describe_split_leakage(train_files: Sequence[str], val_files: Sequence[str]) -> str | None:
    """A warning message when train and val share images (by name or by base name), else None."""
    same = sorted(set(train_files) & set(val_files))
    if not same:
        base = {Path(f).name for f in train_files}
        same = sorted(f for f in set(val_files) if Path(f).name in base)
    if not same:
        return None
    return (
        f"{len(same)} of {len(set(val_files))} validation images are also training images "
        f"(e.g. {', '.join(same[:3])}): validation scores will be optimistic"
    )


def _mapping_num_classes(root: Path) -> int:
    mapping = read_json(Path(root) / MAPPING_FILE)
    return int(mapping.get("num_classes", len(mapping.get("classes", []))))


def class_pixel_counts(root: Path | str) -> np.ndarray:
    """Pixels per class index (background included, ignore excluded), from report.json classes[].pixels."""
    root = Path(root)
    n = _mapping_num_classes(root)
    report = read_report(root, required=True) or {}
    counts = np.zeros(n, dtype=np.int64)
    try:
        for c in report["classes"]:
            idx = int(c["index"])
            if 0 <= idx < n:
                counts[idx] = int(c["pixels"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(root / REPORT_FILE, f"malformed classes list ({exc!r})") from None
    return counts


def class_weights(
    pixel_counts: np.ndarray | Sequence[int],
    ignore_index: int = IGNORE_INDEX,
    method: str = "inverse_sqrt",
) -> torch.Tensor:
    """Per-class loss weights (float32, background included), mean 1 over the classes that occur.

    ``inverse``: 1/f; ``inverse_sqrt``: 1/sqrt(f); ``median_freq``: median(f)/f (Eigen & Fergus);
    ``log``: 1/ln(1.02 + f) (ENet), with f the pixel frequency. A class with no pixel gets 1.
    An entry at ``ignore_index`` (if the counts are that long) is dropped.
    """
    if method not in CLASS_WEIGHTINGS:
        raise OptionsError(f"unknown class weighting {method!r}; choose from {CLASS_WEIGHTINGS}")
    counts = np.asarray(pixel_counts, dtype=np.float64).copy()
    if counts.ndim != 1 or counts.size == 0:
        raise OptionsError("pixel counts must be a non-empty 1-D array")
    if 0 <= ignore_index < counts.size and counts.size > ignore_index:
        counts = counts[:ignore_index]
    present = counts > 0
    weights = np.ones_like(counts)
    if present.any():
        freq = counts[present] / counts[present].sum()
        if method == "inverse":
            w = 1.0 / freq
        elif method == "inverse_sqrt":
            w = 1.0 / np.sqrt(freq)
        elif method == "median_freq":
            w = np.median(freq) / freq
        else:
            w = 1.0 / np.log(1.02 + freq)
        weights[present] = w / w.mean()
    return torch.tensor(weights, dtype=torch.float32)


def per_image_class_pixels(root: Path | str, files: Sequence[str]) -> list[dict[str, int]]:
    """report.json's ``per_image`` pixel counts (class index as a string -> pixels) of each of ``files``."""
    root = Path(root)
    mask_map = read_image_mask_map(root)
    per_image = (read_report(root, required=True) or {}).get("per_image", {})
    out = []
    for f in files:
        mask_name = mask_map.get(f)
        if mask_name is None:
            raise DatasetError(root / IMAGE_MAP_FILE, f"no mask for image {f!r}")
        out.append(per_image.get(mask_name, {}))
    return out


def pixels_per_class_of(root: Path | str, files: Sequence[str], num_classes: int) -> np.ndarray | None:
    """Pixels per class index over the masks of ``files`` (from report.json per_image), or None
    when the folder has no report (a run that did not finish)."""
    if not (Path(root) / REPORT_FILE).is_file():
        return None
    counts = np.zeros(num_classes, dtype=np.int64)
    for image_counts in per_image_class_pixels(root, files):
        for k, v in image_counts.items():
            idx = int(k)
            if 0 <= idx < num_classes:
                counts[idx] += int(v)
    return counts


def check_foreground(
    root: Path | str,
    files: Sequence[str],
    classes: Sequence[dict[str, Any]],
    role: str,
    more: Sequence[tuple[Path | str, Sequence[str]]] = (),
) -> str | None:
    """Raise DatasetError when the masks of ``files`` (and of the ``more`` folders' files) hold no object
    pixel (all background: a broken mask generation must not train silently); return a warning naming
    classes with no pixel, if any."""
    counts = pixels_per_class_of(root, files, len(classes))
    if counts is None:
        return None
    for other_root, other_files in more:
        other = pixels_per_class_of(other_root, other_files, len(classes))
        if other is None:
            return None
        counts = counts + other
    files = [*files, *(f for _, fs in more for f in fs)]
    if counts[1:].sum() == 0:
        raise DatasetError(
            Path(root) / REPORT_FILE,
            f"the {len(files)} {role} masks hold no object pixel (all background): check the "
            "annotations file and --classes of `cocoseg masks`, and the report's skip counts",
        )
    missing = [str(c["name"]) for c in classes[1:] if counts[int(c["index"])] == 0]
    if not missing:
        return None
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return f"{len(missing)} of {len(classes) - 1} classes have no {role} pixel: {shown}"


def sample_weights(root: Path | str, files: Sequence[str]) -> list[float]:
    """Per-image sampling weights (mean 1) for WeightedRandomSampler: rarer classes -> higher weight.

    weight(image) = max over the foreground classes it contains of 1/sqrt(number of images among
    ``files`` containing that class); a background-only image counts as containing a class that
    every image has (1/sqrt(len(files))).
    """
    ignore = str(IGNORE_INDEX)
    present = [
        {k for k, v in counts.items() if int(v) > 0 and k not in ("0", ignore)}
        for counts in per_image_class_pixels(root, files)
    ]
    freq: dict[str, int] = {}
    for classes in present:
        for k in classes:
            freq[k] = freq.get(k, 0) + 1
    base = 1.0 / math.sqrt(max(len(files), 1))
    raw = [max([base] + [1.0 / math.sqrt(freq[k]) for k in classes]) for classes in present]
    mean = sum(raw) / len(raw) if raw else 1.0
    return [w / mean for w in raw]
