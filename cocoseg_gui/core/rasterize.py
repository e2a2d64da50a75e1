"""Annotations -> pixels, exactly as pycocotools ``annToMask``, and an image's annotations -> a class map.

Each annotation is encoded with pycocotools (``frPyObjects`` on the polygon parts + ``merge``, or
``frPyObjects`` on an uncompressed RLE, or the compressed RLE as given), so its pixels are those of
``COCO.annToMask``. The class map is then painted straight from the RLE runs (column-major slices of a
flat buffer) instead of decoding a full-image mask per annotation, which is what makes it fast.

Drawable or not: a polygon part with fewer than 3 points, an odd number of coordinates or a non-finite
value is dropped; an annotation with no valid part left is ``degenerate_polygon``. An RLE whose
``size`` is not the image's is ``rle_size_mismatch``; one whose counts do not cover the image is
``invalid_rle``. See ``SKIP_REASONS`` for the rest.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pycocotools import mask as mask_utils

from cocoseg_gui.core.class_map import ClassMapping, resolve_categories
from cocoseg_gui.core.mask_options import MaskOptions
from cocoseg_gui.core.types import IGNORE_INDEX, Annotation

if TYPE_CHECKING:
    from cocoseg_gui.core.coco_index import CocoIndex

# Why an annotation is not drawn; one reason per annotation, checked in this order.
SKIP_REASONS = (
    "unknown_image",
    "unknown_category",
    "class_not_selected",
    "crowd",
    "missing_segmentation",
    "empty_segmentation",
    "invalid_segmentation",
    "degenerate_polygon",
    "invalid_rle",
    "rle_size_mismatch",
    "zero_area",
    "below_min_area",
)


class Undrawable(Exception):
    """A segmentation that cannot be drawn: ``reason`` is one of SKIP_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class EncodedSegmentation:
    """A drawable segmentation as a compressed pycocotools RLE of the image size."""

    rle: dict[str, Any]
    clipped: bool = False  # a polygon point lies outside the image (pycocotools clips it)
    dropped_parts: int = 0  # polygon parts dropped as degenerate


def _polygon_parts(segmentation: list[Any]) -> list[Any]:
    """The parts of a polygon segmentation; a flat list of numbers is one part."""
    if segmentation and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in segmentation):
        return [segmentation]
    return list(segmentation)


def _valid_part(part: Any, check_finite: bool) -> np.ndarray | None:
    try:
        xy = np.asarray(part, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if xy.ndim != 1 or xy.size < 6 or xy.size % 2 or (check_finite and not np.isfinite(xy).all()):
        return None
    return xy


def _encode_polygons(segmentation: list[Any], height: int, width: int) -> EncodedSegmentation:
    parts = _polygon_parts(segmentation)
    if all(hasattr(p, "__len__") and len(p) == 0 for p in parts):
        raise Undrawable("empty_segmentation", "no polygon coordinates")
    valid = [xy for p in parts if (xy := _valid_part(p, False)) is not None]
    points = (valid[0] if len(valid) == 1 else np.concatenate(valid)) if valid else np.zeros(0)
    if not np.isfinite(points).all():
        valid = [xy for p in parts if (xy := _valid_part(p, True)) is not None]
        points = np.concatenate(valid) if valid else np.zeros(0)
    dropped = len(parts) - len(valid)
    if not valid:
        sizes = ", ".join(str(len(p)) if hasattr(p, "__len__") else type(p).__name__ for p in parts[:5])
        raise Undrawable(
            "degenerate_polygon", f"no part with >= 3 finite points and an even coordinate count ({sizes})"
        )
    rles = mask_utils.frPyObjects(valid, height, width)
    rle = rles[0] if len(rles) == 1 else mask_utils.merge(rles)  # merge of one RLE is that RLE
    xy = points.reshape(-1, 2)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    clipped = bool(lo[0] < 0 or lo[1] < 0 or hi[0] > width or hi[1] > height)
    return EncodedSegmentation(rle, clipped, dropped)


def _encode_rle(segmentation: dict[str, Any], height: int, width: int) -> EncodedSegmentation:
    size = segmentation.get("size")
    counts = segmentation.get("counts")
    if counts is None or size is None:
        raise Undrawable("invalid_segmentation", "RLE without 'size' or 'counts'")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise Undrawable("invalid_rle", f"bad RLE size {size!r:.40}") from exc
    if (h, w) != (height, width):
        raise Undrawable("rle_size_mismatch", f"RLE size {[h, w]} but image is {[height, width]}")
    if isinstance(counts, (list, tuple, np.ndarray)):
        try:
            arr = np.asarray(counts, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise Undrawable("invalid_rle", "RLE counts are not integers") from exc
        if arr.ndim != 1 or (arr < 0).any() or int(arr.sum()) != h * w:
            raise Undrawable("invalid_rle", f"RLE counts sum to {int(arr.sum())}, not {h}x{w}={h * w}")
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": [int(c) for c in arr]}, h, w)
        return EncodedSegmentation(rle)
    if isinstance(counts, str):
        counts = counts.encode("ascii", errors="replace")
    if not isinstance(counts, bytes):
        raise Undrawable("invalid_segmentation", f"RLE counts of type {type(counts).__name__}")
    try:
        decoded, _ = decode_counts([counts])
    except ValueError as exc:
        raise Undrawable("invalid_rle", str(exc)) from exc
    if (decoded < 0).any() or int(decoded.sum()) != h * w:
        raise Undrawable("invalid_rle", f"RLE counts sum to {int(decoded.sum())}, not {h}x{w}={h * w}")
    return EncodedSegmentation({"size": [h, w], "counts": counts})


def encode_segmentation(segmentation: Any, height: int, width: int) -> EncodedSegmentation:
    """Encode a COCO segmentation for an image of ``height`` x ``width``; raise Undrawable if it cannot be."""
    if segmentation is None:
        raise Undrawable("missing_segmentation", "no 'segmentation'")
    if isinstance(segmentation, dict):
        return _encode_rle(segmentation, height, width)
    if isinstance(segmentation, (list, tuple)):
        if len(segmentation) == 0:
            raise Undrawable("empty_segmentation", "segmentation is []")
        return _encode_polygons(list(segmentation), height, width)
    raise Undrawable("invalid_segmentation", f"segmentation of type {type(segmentation).__name__}")


def _encode_polygons_batch(
    segmentations: Sequence[Any], height: int, width: int
) -> list[EncodedSegmentation | Undrawable] | None:
    """Encode several polygon segmentations of one image with one pycocotools call (the fast path).

    Returns None when a part is not plainly numeric or finite, so the caller encodes one by one.
    """
    parts: list[Any] = []
    owners: list[tuple[int, int, int]] = []  # (first part, part count, dropped parts) per segmentation
    for seg in segmentations:
        seg_parts = _polygon_parts(seg)
        valid = [p for p in seg_parts if hasattr(p, "__len__") and len(p) >= 6 and len(p) % 2 == 0]
        owners.append((len(parts), len(valid), len(seg_parts) - len(valid)))
        parts.extend(valid)
    if not parts:
        return [_undrawable(seg, height, width) for seg in segmentations]
    try:
        coords = np.concatenate(parts).astype(np.float64, copy=False)
    except (TypeError, ValueError):
        return None
    if coords.ndim != 1 or not np.isfinite(coords).all():
        return None
    sizes = np.fromiter((len(p) // 2 for p in parts), dtype=np.int64, count=len(parts))
    starts = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    xs, ys = coords[0::2], coords[1::2]
    outside = (
        (np.minimum.reduceat(xs, starts) < 0)
        | (np.minimum.reduceat(ys, starts) < 0)
        | (np.maximum.reduceat(xs, starts) > width)
        | (np.maximum.reduceat(ys, starts) > height)
    ).tolist()
    rles = mask_utils.frPyObjects(parts, height, width)
    out: list[EncodedSegmentation | Undrawable] = []
    for seg, (first, n, dropped) in zip(segmentations, owners):
        if n == 0:
            out.append(_undrawable(seg, height, width))
            continue
        rle = rles[first] if n == 1 else mask_utils.merge(rles[first : first + n])
        out.append(EncodedSegmentation(rle, any(outside[first : first + n]), dropped))
    return out


def _undrawable(segmentation: Any, height: int, width: int) -> Undrawable:
    try:
        encode_segmentation(segmentation, height, width)
    except Undrawable as exc:
        return exc
    raise AssertionError("expected an undrawable segmentation")  # pragma: no cover


def encode_many(
    segmentations: Sequence[Any], height: int, width: int
) -> list[EncodedSegmentation | Undrawable]:
    """``encode_segmentation`` of each (an Undrawable in place of each failure), polygons in one batch."""
    out: list[EncodedSegmentation | Undrawable | None] = [None] * len(segmentations)
    polygons = [i for i, seg in enumerate(segmentations) if isinstance(seg, (list, tuple)) and len(seg) > 0]
    batch = _encode_polygons_batch([segmentations[i] for i in polygons], height, width) if polygons else []
    if batch is not None:
        for i, enc in zip(polygons, batch):
            out[i] = enc
    for i, seg in enumerate(segmentations):
        if out[i] is None:
            try:
                out[i] = encode_segmentation(seg, height, width)
            except Undrawable as exc:
                out[i] = exc
    return out  # type: ignore[return-value]


def annotation_mask(annotation: Annotation, height: int, width: int) -> np.ndarray:
    """(H, W) bool mask of one annotation, equal to pycocotools ``annToMask``; all False if undrawable."""
    try:
        enc = encode_segmentation(annotation.segmentation, height, width)
    except Undrawable:
        return np.zeros((height, width), dtype=bool)
    return mask_utils.decode(enc.rle).astype(bool)


def decode_counts(strings: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Decode several compressed RLE count strings at once (pycocotools' ``rleFrString``, vectorised).

    Returns ``(counts, offsets)``: the counts of string ``i`` are ``counts[offsets[i]:offsets[i+1]]``.
    """
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    if (lengths == 0).any():
        raise ValueError("empty RLE counts string")
    ch = np.frombuffer(b"".join(strings), dtype=np.uint8).astype(np.int64) - 48
    if ch.size and (ch.min() < 0 or ch.max() > 63):
        raise ValueError("RLE counts string has characters outside '0'..'o'")
    last = (ch & 0x20) == 0  # a token ends where the continuation bit is clear
    char_end = np.cumsum(lengths)
    if ch.size and not last[char_end - 1].all():
        raise ValueError("RLE counts string ends inside a number")
    token_last = np.flatnonzero(last)
    token_first = np.empty_like(token_last)
    token_first[:1] = 0
    token_first[1:] = token_last[:-1] + 1
    token_of_char = np.cumsum(last) - last
    shift = 5 * (np.arange(ch.size) - token_first[token_of_char])
    values = np.add.reduceat((ch & 0x1F) << shift, token_first) if ch.size else np.zeros(0, np.int64)
    negative = (ch[token_last] & 0x10) != 0
    if negative.any():
        values[negative] -= np.int64(1) << (5 * (token_last - token_first + 1)[negative])
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    offsets[1:] = np.searchsorted(token_last, char_end - 1, side="right")
    # undo the delta coding: counts[m] += counts[m - 2] for m > 2 (two interleaved cumulative sums)
    pos = np.arange(values.size) - np.repeat(offsets[:-1], np.diff(offsets))
    counts = values.copy()
    for chain in ((pos >= 1) & (pos % 2 == 1), (pos >= 2) & (pos % 2 == 0)):
        idx = np.flatnonzero(chain)
        if idx.size:
            csum = np.cumsum(values[idx])
            owner = np.searchsorted(offsets, idx, side="right") - 1
            first = np.ones(idx.size, dtype=bool)
            first[1:] = owner[1:] != owner[:-1]
            start = np.maximum.accumulate(np.where(first, np.arange(idx.size), 0))
            counts[idx] = csum - (csum - values[idx])[start]
    return counts, offsets


def _ones(counts: np.ndarray, offsets: np.ndarray) -> list[int]:
    """Pixels set in each RLE of a ``decode_counts`` batch (the sum of its odd-position counts)."""
    pos = np.arange(counts.size) - np.repeat(offsets[:-1], np.diff(offsets))
    return np.add.reduceat(np.where(pos & 1, counts, 0), offsets[:-1]).tolist()


@dataclass
class RasterResult:
    """An image's class map (when painted) and what happened to each of its annotations."""

    label: np.ndarray | None  # (H, W) uint8, None when only analysed
    drawn: int = 0
    crowd_ignored: int = 0  # crowd annotations drawn as IGNORE_INDEX
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, int, str]] = field(default_factory=list)  # (reason, annotation id, detail)
    clipped: int = 0
    dropped_parts: int = 0

    def skip(self, reason: str, annotation: Annotation, detail: str, max_examples: int = 5) -> None:
        self.skipped[reason] += 1
        if sum(1 for r, _, _ in self.examples if r == reason) < max_examples:
            self.examples.append((reason, annotation.id, detail))


def priority_groups(options: MaskOptions, mapping: ClassMapping) -> dict[int, int]:
    """category id -> draw group for ``--overlap priority``: higher is drawn later (on top)."""
    if options.overlap != "priority":
        return {}
    ids = resolve_categories(options.priority, mapping.categories, what="priority class")
    return {cid: len(ids) - rank for rank, cid in enumerate(ids)}


def _draw_order(areas: list[int], cats: list[int], options: MaskOptions, groups: dict[int, int]) -> list[int]:
    """Positions in paint order (first painted = bottom); stable so ties keep file order."""
    n = len(areas)
    if options.overlap == "later":
        return list(range(n))
    if options.overlap == "smaller-on-top":
        return sorted(range(n), key=lambda i: -areas[i])
    return sorted(range(n), key=lambda i: (groups.get(cats[i], 0), -areas[i]))


@dataclass
class _Pending:
    """An image between classification and painting: its drawable annotations, encoded."""

    result: RasterResult
    todo: list[tuple[Annotation, EncodedSegmentation, int]]  # (annotation, encoded, value)
    height: int
    width: int
    paint: bool


def _classify(
    annotations: Sequence[Annotation],
    height: int,
    width: int,
    mapping: ClassMapping,
    options: MaskOptions,
    known_categories: Container[int] | None,
    paint: bool,
) -> _Pending:
    result = RasterResult(None)
    candidates: list[tuple[Annotation, int]] = []
    for ann in annotations:
        index = mapping.index_of(ann.category_id)
        if index is None:
            known = known_categories is None or ann.category_id in known_categories
            reason = "class_not_selected" if known else "unknown_category"
            result.skip(reason, ann, f"category_id {ann.category_id}")
            continue
        if ann.iscrowd and options.crowd == "skip":
            result.skip("crowd", ann, "crowd annotation (--crowd skip)")
            continue
        candidates.append((ann, IGNORE_INDEX if ann.iscrowd and options.crowd == "ignore" else index))
    todo = []
    encoded = encode_many([ann.segmentation for ann, _ in candidates], height, width)
    for (ann, value), enc in zip(candidates, encoded):
        if isinstance(enc, Undrawable):
            result.skip(enc.reason, ann, enc.detail)
        else:
            todo.append((ann, enc, value))
    return _Pending(result, todo, height, width, paint)


def _finish(
    job: _Pending,
    run_ends: list[list[int]],
    pixel_counts: list[int],
    options: MaskOptions,
    groups: dict[int, int],
) -> RasterResult:
    """Skip empty/small annotations, order the rest and paint them from their RLE runs."""
    result, todo = job.result, job.todo
    kept: list[int] = []
    areas: list[int] = []
    for j, (ann, enc, _) in enumerate(todo):
        pixels = pixel_counts[j]
        field_area = ann.area
        if pixels == 0 or (field_area == 0 and not math.isnan(field_area)):
            result.skip("zero_area", ann, f"{pixels} pixels, area field {field_area}")
        elif pixels < options.min_area:
            result.skip("below_min_area", ann, f"{pixels} pixels < {options.min_area}")
        else:
            kept.append(j)
            areas.append(pixels)
            result.clipped += enc.clipped
            result.dropped_parts += enc.dropped_parts

    # crowd regions under --crowd ignore go first, so any object drawn later covers them
    crowd = [k for k, j in enumerate(kept) if todo[j][2] == IGNORE_INDEX]
    objects = [k for k, j in enumerate(kept) if todo[j][2] != IGNORE_INDEX]
    object_order = _draw_order(
        [areas[k] for k in objects], [todo[kept[k]][0].category_id for k in objects], options, groups
    )
    order = [kept[k] for k in crowd] + [kept[objects[i]] for i in object_order]
    result.drawn = len(order)
    result.crowd_ignored = len(crowd)
    if not job.paint:
        return result

    flat = np.zeros(job.height * job.width, dtype=np.uint8)  # column-major, like the RLE runs
    target = memoryview(flat)  # slice assignment from a memoryview: about twice numpy's speed
    filled: dict[int, memoryview] = {}  # value -> an image-sized buffer of that value
    for j in order:
        value = todo[j][2]
        source = filled.get(value)
        if source is None:
            source = filled[value] = memoryview(bytes((value,)) * flat.size)
        ends = run_ends[j]
        for start, stop in zip(ends[0:-1:2], ends[1::2]):
            target[start:stop] = source[start:stop]
    result.label = flat.reshape(job.width, job.height).T
    return result


def rasterize_many(
    images: Sequence[tuple[Sequence[Annotation], int, int, bool]],
    mapping: ClassMapping,
    options: MaskOptions,
    known_categories: Container[int] | None = None,
    groups: dict[int, int] | None = None,
) -> list[RasterResult]:
    """``rasterize_annotations`` for several images ``(annotations, height, width, paint)`` at once.

    The RLE strings of all images are decoded in one vectorised pass, which is what makes batches
    cheaper than one image at a time.
    """
    if groups is None:
        groups = priority_groups(options, mapping)
    jobs = [_classify(a, h, w, mapping, options, known_categories, paint) for a, h, w, paint in images]
    strings = [enc.rle["counts"] for job in jobs for _, enc, _ in job.todo]
    run_ends: list[list[int]] = []
    pixel_counts: list[int] = []
    if strings:
        counts, offsets = decode_counts(strings)
        pixel_counts = _ones(counts, offsets)
        ends = np.cumsum(counts)
        ends -= np.repeat(np.concatenate(([0], ends[offsets[1:-1] - 1])), np.diff(offsets))  # per string
        bounds = offsets.tolist()
        flat_ends = ends.tolist()
        run_ends = [flat_ends[a:b] for a, b in itertools.pairwise(bounds)]
    out = []
    first = 0
    for job in jobs:
        n = len(job.todo)
        out.append(
            _finish(job, run_ends[first : first + n], pixel_counts[first : first + n], options, groups)
        )
        first += n
    return out


def rasterize_annotations(
    annotations: Sequence[Annotation],
    height: int,
    width: int,
    mapping: ClassMapping,
    options: MaskOptions,
    known_categories: Container[int] | None = None,
    groups: dict[int, int] | None = None,
    paint: bool = True,
) -> RasterResult:
    """Paint an image's annotations into an (H, W) uint8 class map following ``options``.

    ``known_categories``: the dataset's category ids (others count as ``unknown_category``; None: all
    known). ``groups``: ``priority_groups(options, mapping)``, computed once by callers in a loop.
    ``paint=False`` only classifies the annotations (used when resuming over existing masks).
    """
    return rasterize_many([(annotations, height, width, paint)], mapping, options, known_categories, groups)[
        0
    ]


def rasterize_image(
    index: CocoIndex, image_id: int, class_mapping: ClassMapping, options: MaskOptions
) -> np.ndarray:
    """The class map of one image, exactly as ``cocoseg masks`` writes it: (H, W) uint8, C-contiguous."""
    info = index.image(image_id)
    known = {c.id for c in index.categories}
    result = rasterize_annotations(
        index.annotations_for(image_id), info.height, info.width, class_mapping, options, known
    )
    assert result.label is not None
    return np.ascontiguousarray(result.label)
