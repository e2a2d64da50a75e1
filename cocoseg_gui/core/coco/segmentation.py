"""One COCO segmentation -> a pycocotools RLE, exactly as ``COCO.annToMask`` would build it.

Polygons: ``frPyObjects`` on the parts + ``merge``; uncompressed RLE: ``frPyObjects``; compressed RLE as
given. A polygon part with fewer than 3 points, an odd number of coordinates or a non-finite value is
dropped; an annotation with no valid part left is ``degenerate_polygon``. A part reaching further than
one image size beyond the image is first clipped to that margin (``bounded_parts``): pycocotools' work
and memory grow with the polygon's extent in pixels (23 GB for coordinates near 1e8), and a polygon
within the margin, as every real one is, is passed on untouched, so its mask is exactly ``annToMask``'s
(a clipped one can differ from it by a pixel per column along its clipped edges). An RLE whose ``size``
is not the image's is ``rle_size_mismatch``; one with a negative count or counts that do not cover the
image is ``invalid_rle``.
``decode_counts`` turns compressed count strings back into integers (vectorised ``rleFrString``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from cocoseg_gui.core.types import Annotation


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


def _margin_box(height: int, width: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1): the image plus one image size (its larger side) on every side."""
    m = float(max(height, width, 1))
    return -m, -m, width + m, height + m


def _clip_to_box(xy: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Sutherland-Hodgman: the flat polygon ``xy`` clipped to ``box``; it keeps the polygon's (even-odd)
    inside within the box, so pixels of the image are filled as before. May have fewer than 3 points."""
    pts = xy.reshape(-1, 2)
    x0, y0, x1, y1 = box
    for axis, bound, below in ((0, x0, False), (0, x1, True), (1, y0, False), (1, y1, True)):
        if len(pts) == 0:
            break
        v = pts[:, axis]
        inside = v <= bound if below else v >= bound
        if inside.all():
            continue
        nxt = np.roll(pts, -1, axis=0)
        cross = inside != np.roll(inside, -1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = np.where(cross, (bound - v) / (nxt[:, axis] - v), 0.0)
            hit = pts + t[:, None] * (nxt - pts)
        hit[:, axis] = bound
        both = np.empty((2 * len(pts), 2))
        both[0::2], both[1::2] = pts, hit
        keep = np.empty(2 * len(pts), bool)
        keep[0::2], keep[1::2] = inside, cross
        pts = both[keep]
    return pts.reshape(-1)


def bounded_parts(parts: Sequence[Any], height: int, width: int) -> list[Any]:
    """``parts`` (flat finite polygons of >= 3 points) with every part that leaves the margin box
    clipped to it (see the module docstring); parts inside it are returned as they are."""
    box = _margin_box(height, width)
    out: list[Any] = []
    for part in parts:
        xy = np.asarray(part, dtype=np.float64)
        xs, ys = xy[0::2], xy[1::2]
        if xs.min() >= box[0] and ys.min() >= box[1] and xs.max() <= box[2] and ys.max() <= box[3]:
            out.append(part)
            continue
        clipped = _clip_to_box(xy, box)
        if len(clipped) < 6 or not np.isfinite(clipped).all():  # nothing left near the image
            clipped = np.array([box[0], box[1]] * 3)  # a point outside: no pixel, the part still counts
        out.append(clipped)
    return out


def _within_margin(coords: np.ndarray, height: int, width: int) -> bool:
    x0, y0, x1, y1 = _margin_box(height, width)
    xs, ys = coords[0::2], coords[1::2]
    return bool(xs.min() >= x0 and ys.min() >= y0 and xs.max() <= x1 and ys.max() <= y1)


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
    if not _within_margin(points, height, width):
        valid = bounded_parts(valid, height, width)
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
        if arr.ndim != 1:
            raise Undrawable("invalid_rle", "RLE counts are not a flat list of integers")
        _check_counts(arr, h, w)
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
    _check_counts(decoded, h, w)
    return EncodedSegmentation({"size": [h, w], "counts": counts})


def _check_counts(counts: np.ndarray, h: int, w: int) -> None:
    """Undrawable unless the run lengths are all >= 0 and cover the h x w image exactly."""
    negative = np.flatnonzero(counts < 0)
    if len(negative):
        i = int(negative[0])
        raise Undrawable(
            "invalid_rle",
            f"RLE count {int(counts[i])} at position {i} is negative"
            + (f" ({len(negative)} negative counts)" if len(negative) > 1 else "")
            + "; run lengths must be >= 0",
        )
    total = int(counts.sum())
    if total != h * w:
        raise Undrawable("invalid_rle", f"RLE counts sum to {total}, not {h}x{w}={h * w}")


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
    if not _within_margin(coords, height, width):
        parts = bounded_parts(parts, height, width)
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
    encoded: list[EncodedSegmentation | Undrawable] = []
    for seg, done in zip(segmentations, out):
        if done is None:
            try:
                done = encode_segmentation(seg, height, width)
            except Undrawable as exc:
                done = exc
        encoded.append(done)
    return encoded


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


def pixel_counts(counts: np.ndarray, offsets: np.ndarray) -> list[int]:
    """Pixels set in each RLE of a ``decode_counts`` batch (the sum of its odd-position counts)."""
    pos = np.arange(counts.size) - np.repeat(offsets[:-1], np.diff(offsets))
    pixels: list[int] = np.add.reduceat(np.where(pos & 1, counts, 0), offsets[:-1]).tolist()
    return pixels
