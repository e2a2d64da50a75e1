"""CocoIndex: a COCO instances JSON loaded fast into columnar arrays, with an on-disk cache.

No per-annotation Python objects are kept: annotations live in numpy columns sorted by image (so
``annotations_for`` is a slice) and ``Annotation`` records are built on demand. A re-open of an
unchanged file memory-maps the cache (see ``coco_index_cache``) instead of parsing the JSON.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.coco.index_build import (
    SEG_NONE,
    SEG_OTHER,
    SEG_POLYGONS,
    SEG_RLE_LIST,
    SEG_RLE_STR,
    IndexData,
)
from cocoseg_gui.core.coco.index_cache import (
    cache_file,
    default_cache_dir,
    read_cache,
    source_key,
    write_cache,
)
from cocoseg_gui.core.coco.index_parse import parse_coco
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback, report
from cocoseg_gui.core.types import Annotation, Category, ImageInfo

__all__ = ["CocoIndex", "default_cache_dir", "resolve_image_path"]


class CocoIndex:
    """Images, categories and annotations of one COCO instances file (read-only)."""

    def __init__(self, path: Path, data: IndexData, from_cache: bool = False) -> None:
        self.path = path
        self.problems: list[str] = list(data.problems)
        self.from_cache = from_cache
        self._a = data.arrays
        self._extras = data.extras
        self._categories = [Category(c["id"], c["name"], c["supercategory"]) for c in data.categories]
        self._cat_by_id = {c.id: c for c in self._categories}
        self._img_ids: np.ndarray = self._a["img_ids"]
        self._sorter = np.argsort(self._img_ids, kind="stable")

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        use_cache: bool = True,
        cache_dir: Path | None = None,
    ) -> CocoIndex:
        """Load ``path``: from the cache when it matches the file, else by parsing (then cache it)."""
        path = Path(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DatasetError(path, "file not found") from None
        except OSError as exc:
            raise DatasetError(path, f"cannot read the file: {exc.strerror or exc}") from None
        if path.is_dir():
            raise DatasetError(path, "is a folder, not a COCO annotations JSON file")
        key = source_key(path.resolve(), st)
        target = cache_file(Path(cache_dir) if cache_dir else default_cache_dir(), path.resolve())
        if use_cache:
            cached = read_cache(target, key)
            if cached is not None:
                report(progress, Progress(1, 1, "loaded from cache"))
                return cls(path, cached, from_cache=True)
        data = parse_coco(path, st.st_size, progress=progress, cancel=cancel)
        if use_cache:
            try:
                unchanged = source_key(path.resolve(), os.stat(path)) == key
            except OSError:
                unchanged = False
            if unchanged:
                report(progress, Progress(0, 1, "writing cache"))
                write_cache(target, key, data)
        report(progress, Progress(1, 1, "done"))
        return cls(path, data)

    # ------------------------------------------------------------------ images
    def __len__(self) -> int:
        return len(self._img_ids)

    def __repr__(self) -> str:
        return f"CocoIndex({str(self.path)!r}, images={len(self)}, annotations={self.num_annotations()})"

    def image_ids(self) -> np.ndarray:
        """Image ids (int64) in file order."""
        return self._img_ids

    def _index_of(self, image_id: int) -> int:
        ids = self._img_ids
        pos = int(np.searchsorted(ids, image_id, sorter=self._sorter))
        if pos < len(ids):
            i = int(self._sorter[pos])
            if ids[i] == image_id:
                return i
        raise KeyError(f"unknown image id {image_id} in {self.path}")

    def has_image(self, image_id: int) -> bool:
        try:
            self._index_of(image_id)
        except KeyError:
            return False
        return True

    def _image_at(self, i: int) -> ImageInfo:
        a = self._a
        off = a["img_name_off"]
        name = bytes(a["img_name_blob"][off[i] : off[i + 1]]).decode("utf-8", "surrogatepass")
        return ImageInfo(int(self._img_ids[i]), name, int(a["img_w"][i]), int(a["img_h"][i]))

    def image(self, image_id: int) -> ImageInfo:
        """The image record; KeyError if the id is unknown."""
        return self._image_at(self._index_of(image_id))

    @cached_property
    def _images(self) -> list[ImageInfo]:
        a = self._a
        blob = a["img_name_blob"].tobytes()
        off = a["img_name_off"].tolist()
        names = [blob[off[i] : off[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(off) - 1)]
        return list(map(ImageInfo, self._img_ids.tolist(), names, a["img_w"].tolist(), a["img_h"].tolist()))

    def images(self) -> list[ImageInfo]:
        """All images in file order (a new list; the records are shared)."""
        return list(self._images)

    @cached_property
    def _by_file(self) -> dict[str, int]:
        return {img.file_name: i for i, img in enumerate(self._images)}

    def image_by_file(self, file_name: str) -> ImageInfo:
        """The image whose ``file_name`` is exactly this; KeyError if none."""
        try:
            return self._images[self._by_file[file_name]]
        except KeyError:
            raise KeyError(f"no image with file_name {file_name!r} in {self.path}") from None

    # -------------------------------------------------------------- categories
    @property
    def categories(self) -> list[Category]:
        """Categories sorted by id."""
        return list(self._categories)

    def category(self, cat_id: int) -> Category:
        try:
            return self._cat_by_id[cat_id]
        except KeyError:
            raise KeyError(f"unknown category id {cat_id} in {self.path}") from None

    def has_category(self, cat_id: int) -> bool:
        return cat_id in self._cat_by_id

    # ------------------------------------------------------------- annotations
    def num_annotations(self) -> int:
        """All annotations in the file, orphans included."""
        return len(self._a["ann_ids"])

    def _range(self, image_id: int) -> tuple[int, int]:
        i = self._index_of(image_id)
        start = self._a["img_ann_start"]
        return int(start[i]), int(start[i + 1])

    def annotations_for(self, image_id: int) -> list[Annotation]:
        """The image's annotations in file order (unknown categories included); KeyError if no such image."""
        lo, hi = self._range(image_id)
        return [self._annotation(k) for k in range(lo, hi)]

    def annotation_count(self, image_id: int) -> int:
        lo, hi = self._range(image_id)
        return hi - lo

    def annotation_counts(self) -> np.ndarray:
        """Annotations per image, aligned with ``image_ids()``."""
        return np.diff(self._a["img_ann_start"])

    def annotation_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """Every annotation's "area" grouped by image (orphans first), and where each image's group
        starts (``len(image_ids()) + 1`` offsets): per-image filters on object size without a loop."""
        return np.asarray(self._a["ann_area"], dtype=np.float64), np.asarray(self._a["img_ann_start"])

    def orphan_annotations(self) -> list[Annotation]:
        """Annotations whose image id is not in "images", in file order."""
        n = int(self._a["img_ann_start"][0]) if len(self._img_ids) else self.num_annotations()
        return [self._annotation(k) for k in range(n)]

    def _annotation(self, k: int) -> Annotation:
        a = self._a
        x, y, w, h = a["ann_bbox"][k].tolist()
        return Annotation(
            id=int(a["ann_ids"][k]),
            image_id=int(a["ann_image_ids"][k]),
            category_id=int(a["ann_cat"][k]),
            segmentation=self._segmentation(k),
            area=float(a["ann_area"][k]),
            bbox=(x, y, w, h),
            iscrowd=bool(a["ann_crowd"][k]),
        )

    def _segmentation(self, k: int) -> Any:
        a = self._a
        kind = int(a["seg_kind"][k])
        start, length = int(a["seg_start"][k]), int(a["seg_len"][k])
        if kind == SEG_POLYGONS:
            off, coords = a["part_off"], a["coords"]
            polys = []
            for p in range(start, start + length):
                arr = coords[off[p] : off[p + 1]]
                arr.flags.writeable = False
                polys.append(arr)
            return polys
        if kind in (SEG_RLE_LIST, SEG_RLE_STR):
            h, w = a["rle_hw"][k].tolist()
            if kind == SEG_RLE_LIST:
                counts: Any = a["rle_counts"][start : start + length].tolist()
            else:
                counts = a["rle_str"][start : start + length].tobytes().decode("utf-8", "surrogatepass")
            return {"size": [h, w], "counts": counts}
        if kind == SEG_OTHER:
            return self._extras[k]
        assert kind == SEG_NONE, kind
        return None

    # ---------------------------------------------------- category statistics
    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (image index, category id) pairs of annotations with a known image, sorted."""
        a = self._a
        known = a["ann_img_index"] >= 0
        img, cat = a["ann_img_index"][known], a["ann_cat"][known]
        if not len(img):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        cats, cat_pos = np.unique(cat, return_inverse=True)
        key = np.unique(img * len(cats) + cat_pos.reshape(-1))
        return key // len(cats), cats[key % len(cats)]

    def images_for_category(self, cat_id: int) -> np.ndarray:
        """Ids of the images having at least one annotation of ``cat_id``, in file order."""
        img, cat = self._pairs
        return self._img_ids[np.sort(img[cat == cat_id])]

    def category_image_counts(self) -> dict[int, int]:
        """Category id -> number of images with it (every known category, plus unknown ids that occur)."""
        out = {c.id: 0 for c in self._categories}
        cats, counts = np.unique(self._pairs[1], return_counts=True)
        out.update(zip(cats.tolist(), counts.tolist()))
        return out

    def category_annotation_counts(self) -> dict[int, int]:
        """Category id -> number of annotations (all annotations of the file, orphans included)."""
        out = {c.id: 0 for c in self._categories}
        cats, counts = np.unique(self._a["ann_cat"], return_counts=True)
        out.update(zip(cats.tolist(), counts.tolist()))
        return out

    def image_category_ids(self, image_id: int) -> np.ndarray:
        """Distinct category ids (sorted) among the image's annotations; KeyError if no such image."""
        lo, hi = self._range(image_id)
        return np.unique(self._a["ann_cat"][lo:hi])


def resolve_image_path(images_dir: str | Path, file_name: str, follow_symlinks: bool = False) -> Path:
    """``images_dir / file_name``, refusing names that leave ``images_dir`` (core.safe_paths.SafeRoot)."""
    return SafeRoot(images_dir, follow_symlinks, "image file name").resolve(file_name)
