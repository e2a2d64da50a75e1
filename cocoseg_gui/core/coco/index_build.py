"""Turn parsed COCO records into compact columnar numpy arrays (no per-annotation dicts kept).

The builders accept the records chunk by chunk, so a streaming reader can drop each chunk of parsed
JSON as soon as it is columnar. ``IndexData`` is what the index, the cache writer and the cache reader
share: named numpy arrays plus a little JSON-able metadata.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.errors import DatasetError

# Segmentation kinds, one per annotation.
SEG_NONE = 0  # missing key or null
SEG_POLYGONS = 1  # a list of polygons (possibly empty): parts in part_off/coords
SEG_RLE_LIST = 2  # {"size": [h, w], "counts": [ints]}: counts in rle_counts
SEG_RLE_STR = 3  # {"size": [h, w], "counts": "compressed"}: bytes in rle_str
SEG_OTHER = 4  # anything else, kept verbatim (as JSON) in IndexData.extras

_NUMBER = (int, float)


@dataclass
class IndexData:
    """Everything an index holds: arrays (annotations sorted by image, orphans first) and metadata."""

    arrays: dict[str, np.ndarray]
    categories: list[dict[str, Any]]  # {"id", "name", "supercategory"}, sorted by id
    problems: list[str]
    extras: dict[int, Any] = field(default_factory=dict)  # sorted annotation index -> segmentation


def _where(path: Path, section: str, i: int, rec: Any) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    return f"{section}[{i}]" + (f" (id {rid!r})" if rid is not None else "")


def _check_records(path: Path, section: str, chunk: list[Any], start: int, required: tuple[str, ...]) -> None:
    """Raise a DatasetError naming the first record that is not an object or lacks a required key."""
    for i, rec in enumerate(chunk):
        if not isinstance(rec, dict):
            raise DatasetError(path, f"{section}[{start + i}] is not a JSON object ({type(rec).__name__})")
        for key in required:
            if key not in rec:
                raise DatasetError(path, f"{_where(path, section, start + i, rec)} has no {key!r} key")


def _column(
    path: Path,
    section: str,
    chunk: list[dict[str, Any]],
    start: int,
    key: str,
    types: tuple[type, ...],
    dtype: Any,
) -> np.ndarray:
    """One required field of every record as an array, type-checked (bool is not an int here)."""
    values = [rec[key] for rec in chunk]
    if not set(map(type, values)) <= set(types):
        for i, v in enumerate(values):
            if type(v) not in types:
                wanted = " or ".join(t.__name__ for t in types)
                raise DatasetError(
                    path,
                    f"{_where(path, section, start + i, chunk[i])}: {key!r} must be {wanted}, got {v!r:.60}",
                )
    try:
        return np.array(values, dtype=dtype)
    except OverflowError:
        raise DatasetError(
            path, f"{section}: a {key!r} value does not fit in {np.dtype(dtype).name}"
        ) from None


class ImageBuilder:
    """Columns of the "images" list."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._ids: list[np.ndarray] = []
        self._w: list[np.ndarray] = []
        self._h: list[np.ndarray] = []
        self._names: list[str] = []

    def add(self, chunk: list[Any]) -> None:
        _check_records(self.path, "images", chunk, self.count, ("id", "file_name", "width", "height"))
        p, s = self.path, self.count
        self._ids.append(_column(p, "images", chunk, s, "id", (int,), np.int64))
        self._w.append(_column(p, "images", chunk, s, "width", (int,), np.int64))
        self._h.append(_column(p, "images", chunk, s, "height", (int,), np.int64))
        names = [rec["file_name"] for rec in chunk]
        if not set(map(type, names)) <= {str}:
            i = next(i for i, n in enumerate(names) if type(n) is not str)
            raise DatasetError(p, f"{_where(p, 'images', s + i, chunk[i])}: 'file_name' must be a string")
        self._names.extend(names)
        self.count += len(chunk)

    def finish(self) -> dict[str, np.ndarray]:
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
        uniq, counts = np.unique(ids, return_counts=True)
        if len(uniq) != len(ids):
            dup = int(uniq[counts > 1][0])
            raise DatasetError(
                self.path, f"duplicate image id {dup} in 'images' ({int((counts > 1).sum())} ids repeated)"
            )
        encoded = [n.encode("utf-8", "surrogatepass") for n in self._names]
        off = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=off[1:])
        blob = np.frombuffer(b"".join(encoded), np.uint8)
        cat = np.concatenate
        return {
            "img_ids": ids,
            "img_w": cat(self._w) if self._w else np.zeros(0, np.int64),
            "img_h": cat(self._h) if self._h else np.zeros(0, np.int64),
            "img_name_off": off,
            "img_name_blob": blob,
        }


def build_categories(path: Path, records: list[Any]) -> list[dict[str, Any]]:
    """Validate the "categories" list; return it sorted by id as plain dicts."""
    _check_records(path, "categories", records, 0, ("id", "name"))
    out: dict[int, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        cid, name = rec["id"], rec["name"]
        if type(cid) is not int:
            raise DatasetError(path, f"categories[{i}]: 'id' must be an integer, got {cid!r:.60}")
        if cid in out:
            raise DatasetError(path, f"duplicate category id {cid} in 'categories'")
        if "keypoints" in rec:
            raise DatasetError(
                path, "not a COCO instances file: its categories have 'keypoints' (a person_keypoints file?)"
            )
        out[cid] = {"id": cid, "name": str(name), "supercategory": str(rec.get("supercategory") or "")}
    return [out[k] for k in sorted(out)]


class AnnotationBuilder:
    """Columns of the "annotations" list plus a compact segmentation store."""

    def __init__(self, path: Path, size_hint: int = 0) -> None:
        self.path = path
        self.count = 0
        self._cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("id", "image_id", "category_id", "iscrowd")
        }
        self._area: list[np.ndarray] = []
        self._bbox: list[np.ndarray] = []
        self._seg: dict[str, list[np.ndarray]] = {k: [] for k in ("kind", "start", "len", "hw")}
        self._part_len: list[np.ndarray] = []
        self._n_parts = 0
        # a JSON number takes at least 2 bytes ("1,"): this bound never needs a copy
        self._coords = FloatStore(size_hint // 2 + 1024)
        self._rle_counts = array("I")  # uint32, as pycocotools stores counts
        self._rle_str = bytearray()
        self._extras: dict[int, Any] = {}  # file-order annotation index -> segmentation
        self.missing_area = 0
        self.missing_bbox = 0

    def add(self, chunk: list[Any]) -> None:
        p, s = self.path, self.count
        first = chunk[0] if chunk and isinstance(chunk[0], dict) else {}
        if ("caption" in first or "segments_info" in first) and "segmentation" not in first:
            what = "captions" if "caption" in first else "panoptic"
            raise DatasetError(p, f"not a COCO instances file: it looks like a COCO {what} file")
        if "keypoints" in first:
            raise DatasetError(
                p, "not a COCO instances file: its annotations have 'keypoints' (a person_keypoints file?)"
            )
        _check_records(p, "annotations", chunk, s, ("id", "image_id", "category_id"))
        for key in ("id", "image_id", "category_id"):
            self._cols[key].append(_column(p, "annotations", chunk, s, key, (int,), np.int64))
        crowd = [rec.get("iscrowd", 0) for rec in chunk]
        if not set(map(type, crowd)) <= {int, bool}:
            i = next(i for i, v in enumerate(crowd) if type(v) not in (int, bool))
            raise DatasetError(p, f"{_where(p, 'annotations', s + i, chunk[i])}: 'iscrowd' must be 0 or 1")
        self._cols["iscrowd"].append(np.array(crowd, dtype=np.int64) != 0)
        self._area.append(self._areas(chunk))
        self._bbox.append(self._bboxes(chunk))
        self._segmentations([rec.get("segmentation") for rec in chunk])
        self.count += len(chunk)

    def _areas(self, chunk: list[dict[str, Any]]) -> np.ndarray:
        areas = [rec.get("area") for rec in chunk]
        if set(map(type, areas)) <= {int, float}:
            return np.array(areas, dtype=np.float64)
        out = np.full(len(areas), np.nan)
        for i, a in enumerate(areas):
            if type(a) in _NUMBER:
                out[i] = a
            elif a is None:
                self.missing_area += 1
            else:
                raise DatasetError(
                    self.path,
                    f"{_where(self.path, 'annotations', self.count + i, chunk[i])}: bad 'area' {a!r:.60}",
                )
        return out

    def _bboxes(self, chunk: list[dict[str, Any]]) -> np.ndarray:
        boxes: list[Any] = [rec.get("bbox") for rec in chunk]
        if set(map(type, boxes)) <= {list} and set(map(len, boxes)) <= {4}:
            flat = list(chain.from_iterable(boxes))
            if set(map(type, flat)) <= {int, float}:
                return np.array(flat, dtype=np.float64).reshape(-1, 4)
        out = np.full((len(boxes), 4), np.nan)
        for i, b in enumerate(boxes):
            if b is None:
                self.missing_bbox += 1
            elif type(b) is list and len(b) == 4 and all(type(v) in _NUMBER for v in b):
                out[i] = b
            else:
                raise DatasetError(
                    self.path,
                    f"{_where(self.path, 'annotations', self.count + i, chunk[i])}: "
                    f"'bbox' must be [x, y, w, h], got {b!r:.60}",
                )
        return out

    def _segmentations(self, segs: list[Any]) -> None:
        """Classify and store each segmentation of a chunk; well-formed polygons go in bulk."""
        n = len(segs)
        kind, start, length = np.zeros(n, np.uint8), np.zeros(n, np.int64), np.zeros(n, np.int64)
        hw = np.zeros((n, 2), np.int64)  # RLE size, (0, 0) otherwise
        is_list = np.fromiter((type(seg) is list for seg in segs), bool, n)
        poly = np.flatnonzero(is_list)
        if len(poly) and self._polygons_bulk([segs[i] for i in poly], poly, kind, start, length):
            rest = np.flatnonzero(~is_list).tolist()
        else:
            rest = range(n)
        for i in rest:
            kind[i], start[i], length[i], hw[i, 0], hw[i, 1] = self._store_one(segs[i], self.count + i)
        columns: tuple[np.ndarray, ...] = (kind, start, length, hw)
        for key, arr in zip(("kind", "start", "len", "hw"), columns):
            self._seg[key].append(arr)

    def _polygons_bulk(
        self, polys: list[list[Any]], idx: np.ndarray, kind: np.ndarray, start: np.ndarray, length: np.ndarray
    ) -> bool:
        """Store a chunk's polygon lists at once; False (nothing stored) if any is malformed."""
        parts = list(chain.from_iterable(polys))
        if not set(map(type, parts)) <= {list}:
            return False
        lens = np.fromiter(map(len, parts), np.int64, len(parts))
        try:
            coords = np.fromiter(chain.from_iterable(parts), np.float64, int(lens.sum()))
        except (TypeError, ValueError, OverflowError):
            return False
        if np.isnan(coords).any():  # None (JSON has no NaN) became NaN: classify one by one
            return False
        n_parts = np.fromiter(map(len, polys), np.int64, len(polys))
        kind[idx] = SEG_POLYGONS
        start[idx] = self._n_parts + np.cumsum(n_parts) - n_parts
        length[idx] = n_parts
        self._part_len.append(lens)
        self._n_parts += len(parts)
        self._coords.extend(coords)
        return True

    def _store_one(self, seg: Any, file_index: int) -> tuple[int, int, int, int, int]:
        """Store one segmentation; return (kind, start, length, rle height, rle width)."""
        kind = _classify(seg)
        start = length = h = w = 0
        if kind == SEG_POLYGONS:
            start, length = self._n_parts, len(seg)
            self._part_len.append(np.fromiter(map(len, seg), np.int64, len(seg)))
            self._n_parts += len(seg)
            for part in seg:
                self._coords.extend(np.array(part, dtype=np.float64))
        elif kind == SEG_RLE_LIST:
            h, w = seg["size"]
            start, length = len(self._rle_counts), len(seg["counts"])
            self._rle_counts.extend(seg["counts"])
        elif kind == SEG_RLE_STR:
            h, w = seg["size"]
            data = seg["counts"].encode("utf-8", "surrogatepass")
            start, length = len(self._rle_str), len(data)
            self._rle_str.extend(data)
        elif kind == SEG_OTHER:
            self._extras[file_index] = seg
        return kind, start, length, h, w

    def finish(
        self, img_ids: np.ndarray, categories: list[dict[str, Any]]
    ) -> tuple[dict[str, np.ndarray], list[str], dict[int, Any]]:
        """Sort by image (stable, orphans first), check ids, and return (arrays, problems, extras)."""

        def cat(parts: list[np.ndarray], dtype: Any, shape: tuple[int, ...] = (0,)) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(shape, dtype)

        ids = cat(self._cols["id"], np.int64)
        ann_img = cat(self._cols["image_id"], np.int64)
        ann_cat = cat(self._cols["category_id"], np.int64)
        crowd = cat(self._cols["iscrowd"], bool)
        area = cat(self._area, np.float64)
        bbox = cat(self._bbox, np.float64, (0, 4))
        uniq, counts = np.unique(ids, return_counts=True)
        if len(uniq) != len(ids):
            dup = int(uniq[counts > 1][0])
            raise DatasetError(
                self.path,
                f"duplicate annotation id {dup} in 'annotations' ({int((counts > 1).sum())} ids repeated)",
            )
        # image index of each annotation (-1 when its image id is unknown)
        order_img = np.argsort(img_ids, kind="stable")
        sorted_ids = img_ids[order_img]
        pos = np.searchsorted(sorted_ids, ann_img)
        pos_c = np.minimum(pos, max(len(sorted_ids) - 1, 0))
        known = (
            (pos < len(sorted_ids)) & (sorted_ids[pos_c] == ann_img)
            if len(sorted_ids)
            else np.zeros(len(ids), bool)
        )
        img_index = np.where(known, order_img[pos_c] if len(sorted_ids) else 0, -1).astype(np.int64)
        order = np.argsort(img_index, kind="stable")
        n_img = len(img_ids)
        counts_per_img = np.bincount(img_index[known], minlength=n_img) if n_img else np.zeros(0, np.int64)
        n_orphans = int((~known).sum())
        img_ann_start = np.zeros(n_img + 1, np.int64)
        np.cumsum(counts_per_img, out=img_ann_start[1:])
        img_ann_start += n_orphans

        part_off = np.zeros(self._n_parts + 1, np.int64)
        np.cumsum(cat(self._part_len, np.int64), out=part_off[1:])
        coords = self._coords.array()
        inverse = np.empty(len(order), np.int64)
        inverse[order] = np.arange(len(order))
        extras = {int(inverse[i]): seg for i, seg in self._extras.items()}
        arrays = {
            "ann_ids": ids[order],
            "ann_image_ids": ann_img[order],
            "ann_cat": ann_cat[order],
            "ann_crowd": crowd[order],
            "ann_area": area[order],
            "ann_bbox": bbox[order],
            "ann_img_index": img_index[order],
            "seg_kind": cat(self._seg["kind"], np.uint8)[order],
            "seg_start": cat(self._seg["start"], np.int64)[order],
            "seg_len": cat(self._seg["len"], np.int64)[order],
            "rle_hw": cat(self._seg["hw"], np.int64, (0, 2))[order],
            "img_ann_start": img_ann_start,
            "part_off": part_off,
            "coords": coords,
            "rle_counts": np.frombuffer(self._rle_counts, np.uint32).copy(),
            "rle_str": np.frombuffer(bytes(self._rle_str), np.uint8),
        }
        return arrays, self._problems(ann_img, ann_cat, known, categories), extras

    def _problems(
        self, ann_img: np.ndarray, ann_cat: np.ndarray, known: np.ndarray, categories: list[dict[str, Any]]
    ) -> list[str]:
        problems = []
        if (~known).any():
            bad = np.unique(ann_img[~known])
            problems.append(
                f"{int((~known).sum())} annotations point at image ids not in 'images' "
                f"({len(bad)} ids, e.g. {', '.join(map(str, bad[:5].tolist()))})"
            )
        cat_ids = np.array([c["id"] for c in categories], np.int64)
        unknown_cat = ~np.isin(ann_cat, cat_ids)
        if unknown_cat.any():
            bad = np.unique(ann_cat[unknown_cat])
            problems.append(
                f"{int(unknown_cat.sum())} annotations have category ids not in 'categories' "
                f"({', '.join(map(str, bad[:10].tolist()))}{', ...' if len(bad) > 10 else ''})"
            )
        if self.missing_area:
            problems.append(f"{self.missing_area} annotations have no 'area' (given as NaN)")
        if self.missing_bbox:
            problems.append(f"{self.missing_bbox} annotations have no 'bbox' (given as NaN)")
        return problems


class FloatStore:
    """A growable float64 array; a generous first capacity costs only address space until written."""

    def __init__(self, capacity: int) -> None:
        try:
            self._buf = np.empty(max(capacity, 1024), np.float64)
        except MemoryError:
            self._buf = np.empty(1 << 20, np.float64)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        end = self._n + len(values)
        if end > len(self._buf):
            bigger = np.empty(max(end, 2 * len(self._buf)), np.float64)
            bigger[: self._n] = self._buf[: self._n]
            self._buf = bigger
        self._buf[self._n : end] = values
        self._n = end

    def array(self) -> np.ndarray:
        return self._buf[: self._n]


def _classify(seg: Any) -> int:
    """The kind of one segmentation value (see SEG_*)."""
    if seg is None:
        return SEG_NONE
    if type(seg) is list:
        if all(type(p) is list and all(type(v) in _NUMBER for v in p) for p in seg):
            return SEG_POLYGONS
        return SEG_OTHER
    if type(seg) is dict and set(seg) == {"size", "counts"}:
        size, counts = seg["size"], seg["counts"]
        if not (type(size) is list and len(size) == 2 and all(type(v) is int and v >= 0 for v in size)):
            return SEG_OTHER
        if type(counts) is str:
            return SEG_RLE_STR
        if type(counts) is list and all(type(v) is int and 0 <= v < 2**32 for v in counts):
            return SEG_RLE_LIST
    return SEG_OTHER
