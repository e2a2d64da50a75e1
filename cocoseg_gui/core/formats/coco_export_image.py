"""One image of `cocoseg export-coco`: its mask -> annotation records, and the check that they redraw it.

An edited image's drawn annotations are replaced by one record per connected component per class
(core.coco_components); what its mask cannot show (a category outside the class map, an annotation
the folder's options did not draw) is kept. A crowd region drawn as ignore (255) is kept while none
of its pixels became background, else trimmed to its pixels still 255, and dropped when none is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg_gui.core.coco.segmentation import annotation_mask
from cocoseg_gui.core.formats.coco_components import (
    component_polygon,
    component_rle,
    components,
    rle_of_pixels,
)
from cocoseg_gui.core.formats.coco_export_report import ExportReport, foreground_iou
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.rasterize import priority_groups, rasterize_annotations
from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX, Annotation


@dataclass
class Written:
    """What an image's export produced: records to add, the image's annotations as the output has them
    (to redraw), and the positions of original records left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    redraw: list[Annotation] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    ignored: int = 0  # 255 pixels no crowd annotation holds: not exported


class ImageExporter:
    """The per-image work of one export; ``report`` collects the counts, ``next_id`` numbers records."""

    def __init__(
        self,
        mapping: ClassMapping,
        options: MaskOptions,
        fmt: str,
        report: ExportReport,
        next_id: int,
        known: set[int] | None,
    ) -> None:
        self.mapping, self.options, self.fmt, self.report = mapping, options, fmt, report
        self.next_id = next_id
        self.known = known  # the original's category ids (None: all known)
        self.groups = priority_groups(options, mapping)

    def draw(self, annotations: list[Annotation], height: int, width: int) -> Any:
        """``rasterize_annotations`` with the folder's options: what `cocoseg masks` writes."""
        return rasterize_annotations(
            annotations, height, width, self.mapping, self.options, self.known, self.groups
        )

    def _record(self, image_id: int, index: int, segmentation: Any, pixels: int, bbox: list[float],
                crowd: bool, out: Written) -> None:  # fmt: skip
        category = self.mapping.categories[index - 1].id
        out.records.append({
            "id": self.next_id, "image_id": image_id, "category_id": category, "segmentation": segmentation,
            "area": pixels, "bbox": bbox, "iscrowd": int(crowd),
        })  # fmt: skip
        x, y, w, h = bbox
        out.redraw.append(
            Annotation(self.next_id, image_id, category, segmentation, pixels, (x, y, w, h), crowd)
        )
        self.next_id += 1

    def components(self, image_id: int, mask: np.ndarray, hist: np.ndarray, out: Written) -> None:
        """One record per connected component per class of the mask (``hist``: its histogram)."""
        h, w = mask.shape
        present = [i for i in range(1, self.mapping.num_classes) if hist[i]]
        for comp in components(mask, present):
            self.report.components += 1
            if comp.area < self.options.min_area:
                self.report.below_min_area += 1
            segmentation: Any = None
            if self.fmt == "polygon":
                polygon, reason = component_polygon(comp)
                if polygon is not None:
                    segmentation = [polygon]
                    self.report.polygons += 1
                else:
                    self.report.rle_fallbacks[reason or "inexact_polygon"] += 1
            if segmentation is None:
                segmentation = component_rle(comp, h, w)
            self._record(image_id, comp.index, segmentation, comp.area, comp.bbox, False, out)

    def crowd(self, ann: Annotation, mask: np.ndarray, pos: int, out: Written) -> np.ndarray:
        """An original crowd region drawn as ignore: kept, trimmed or dropped (module docstring).
        Returns its pixels that are still 255."""
        region = annotation_mask(ann, *mask.shape)
        still = region & (mask == IGNORE_INDEX)
        if not (region & (mask == BACKGROUND)).any():
            self.report.crowd_kept += 1
            out.redraw.append(ann)
            return still
        out.removed.append(pos)
        if not still.any():
            self.report.crowd_dropped += 1
            return still
        self.report.crowd_trimmed += 1
        ys, xs = np.nonzero(still)
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        rle = rle_of_pixels(still[y0:y1, x0:x1], x0, y0, *mask.shape)
        index = self.mapping.index_of(ann.category_id)
        assert index is not None  # it was drawn, so its category is in the map
        bbox = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
        self._record(ann.image_id, index, rle, int(np.count_nonzero(still)), bbox, True, out)
        return still

    def edited(
        self,
        image_id: int,
        mask: np.ndarray,
        hist: np.ndarray,
        annotations: list[Annotation],
        painted: list[Annotation],
        positions: list[int],
    ) -> Written:
        """An edited image: ``annotations`` (original, ``positions`` of their records), ``painted`` the
        ones the options drew."""
        out = Written()
        drawn = {id(a) for a in painted}
        held = np.zeros(mask.shape, dtype=bool)  # 255 pixels a crowd annotation holds
        for ann, pos in zip(annotations, positions):
            if id(ann) not in drawn:
                out.redraw.append(ann)  # the mask cannot show it: kept
            elif ann.iscrowd and self.options.crowd == "ignore":
                held |= self.crowd(ann, mask, pos, out)
            else:
                out.removed.append(pos)
                self.report.replaced += 1
        self.components(image_id, mask, hist, out)
        out.ignored = int(np.count_nonzero((mask == IGNORE_INDEX) & ~held))
        return out

    def whole(self, image_id: int, mask: np.ndarray, hist: np.ndarray) -> Written:
        """An image written from its mask alone (new, or without the original annotations)."""
        out = Written(ignored=int(hist[IGNORE_INDEX]))
        self.components(image_id, mask, hist, out)
        return out

    def check(self, file_name: str, mask: np.ndarray, annotations: list[Annotation]) -> None:
        """Redraw the image's annotations as `cocoseg masks` would and compare with the mask."""
        redrawn = self.draw(annotations, *mask.shape).label
        self.report.iou[file_name] = foreground_iou(mask, redrawn, self.mapping.num_classes)
        if not np.array_equal(redrawn, mask):
            self.report.inexact.append(file_name)
