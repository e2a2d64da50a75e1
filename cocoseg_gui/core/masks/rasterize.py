"""An image's annotations -> a class map, each annotation's pixels exactly those of ``annToMask``.

Annotations are encoded to RLEs by ``segmentation`` (pycocotools), then the class map is painted
straight from the RLE runs (column-major slices of a flat buffer) instead of decoding a full-image mask
per annotation, which is what makes it fast. See ``SKIP_REASONS`` for what is not drawn, and
``MaskOptions`` for the overlap and crowd policies.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cocoseg_gui.core.coco.image_entry import image_entry_problem
from cocoseg_gui.core.coco.segmentation import (
    EncodedSegmentation,
    Undrawable,
    annotation_mask,
    decode_counts,
    encode_many,
    encode_segmentation,
    pixel_counts,
)
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.class_map import ClassMapping, resolve_categories
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.types import IGNORE_INDEX, Annotation

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex

# Why an annotation is not drawn; one reason per annotation, checked in this order.
SKIP_REASONS = (
    "unknown_image",
    "refused_image",
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

_FILL_BUFFER_PIXELS = 1 << 24  # above this, paint runs with numpy instead of from per-class buffers

__all__ = [
    "SKIP_REASONS",
    "EncodedSegmentation",
    "RasterResult",
    "Undrawable",
    "annotation_mask",
    "decode_counts",
    "encode_segmentation",
    "priority_groups",
    "rasterize_annotations",
    "rasterize_image",
    "rasterize_many",
]


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
    painted: list[Annotation] = field(default_factory=list)  # the drawn annotations, in paint order

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
    pixels_of: list[int],
    options: MaskOptions,
    groups: dict[int, int],
) -> RasterResult:
    """Skip empty/small annotations, order the rest and paint them from their RLE runs."""
    result, todo = job.result, job.todo
    kept: list[int] = []
    areas: list[int] = []
    for j, (ann, enc, _) in enumerate(todo):
        pixels = pixels_of[j]
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
    result.painted = [todo[j][0] for j in order]
    if not job.paint:
        return result

    flat = np.zeros(job.height * job.width, dtype=np.uint8)  # column-major, like the RLE runs
    if flat.size > _FILL_BUFFER_PIXELS:  # one image-sized buffer per class would cost too much memory
        for j in order:
            value, ends = todo[j][2], run_ends[j]
            for start, stop in zip(ends[0:-1:2], ends[1::2]):
                flat[start:stop] = value
        result.label = flat.reshape(job.width, job.height).T
        return result
    target = flat.data  # slice assignment from a memoryview: about twice numpy's speed
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
    pixel_sums: list[int] = []
    if strings:
        counts, offsets = decode_counts(strings)
        pixel_sums = pixel_counts(counts, offsets)
        ends = np.cumsum(counts)
        ends -= np.repeat(np.concatenate(([0], ends[offsets[1:-1] - 1])), np.diff(offsets))  # per string
        bounds = offsets.tolist()
        flat_ends = ends.tolist()
        run_ends = [flat_ends[a:b] for a, b in itertools.pairwise(bounds)]
    out = []
    first = 0
    for job in jobs:
        n = len(job.todo)
        out.append(_finish(job, run_ends[first : first + n], pixel_sums[first : first + n], options, groups))
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
    """The class map of one image, exactly as ``cocoseg masks`` writes it: (H, W) uint8, C-contiguous.

    DatasetError for an image entry ``cocoseg masks`` refuses (size 0 or too large, NUL in the name).
    """
    info = index.image(image_id)
    problem = image_entry_problem(info, options.max_image_pixels)
    if problem is not None:
        raise DatasetError(index.path, f"image id {image_id} ({info.file_name!r}): {problem[1]}")
    known = {c.id for c in index.categories}
    result = rasterize_annotations(
        index.annotations_for(image_id), info.height, info.width, class_mapping, options, known
    )
    assert result.label is not None
    return np.ascontiguousarray(result.label)
