"""What `cocoseg export-coco` did: counts, RLE fallbacks, and how well the written annotations redraw
the masks (the report printed by the CLI and written by ``--report``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_EXAMPLES = 20  # file names listed per kind in the report


def foreground_iou(mask: np.ndarray, redrawn: np.ndarray, num_classes: int) -> float:
    """IoU of two class maps over the class pixels (indices 1..K), pooled over the classes: pixels
    where both agree on a class / pixels where either has one; 1.0 when neither has any."""
    fg_mask = (mask > 0) & (mask < num_classes)
    fg_redrawn = (redrawn > 0) & (redrawn < num_classes)
    inter = int(np.count_nonzero(fg_mask & (mask == redrawn)))
    union = int(np.count_nonzero(fg_mask)) + int(np.count_nonzero(fg_redrawn)) - inter
    return 1.0 if union == 0 else inter / union


@dataclass
class ExportReport:
    """Counts of one export. "Written" images got their annotations from their mask (edited images,
    new images, every image without ``--annotations``); their ``iou`` compares the mask with what the
    output's annotations redraw under the folder's options."""

    out: Path
    format: str
    from_scratch: bool
    images: int = 0  # image entries in the output
    edited: int = 0
    unchanged: int = 0
    new_images: int = 0  # masks of images the original annotations do not list (appended)
    without_mask: int = 0  # images of the original annotations with no mask, kept as they are
    annotations: int = 0  # annotations in the output
    replaced: int = 0  # original annotations of edited images replaced by the mask's components
    components: int = 0
    polygons: int = 0
    rle_fallbacks: Counter[str] = field(default_factory=Counter)  # reason -> components written as RLE
    crowd_kept: int = 0
    crowd_trimmed: int = 0
    crowd_dropped: int = 0
    below_min_area: int = 0  # components the folder's --min-area would skip when masks are made again
    ignore_pixels_dropped: int = 0  # 255 pixels no crowd annotation holds (not exported)
    ignore_images: list[str] = field(default_factory=list)
    iou: dict[str, float] = field(default_factory=dict)  # written image -> foreground IoU
    inexact: list[str] = field(default_factory=list)  # written images the annotations do not redraw exactly
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def written(self) -> int:
        return len(self.iou)

    @property
    def mean_iou(self) -> float | None:
        return float(np.mean(list(self.iou.values()))) if self.iou else None

    @property
    def min_iou(self) -> float | None:
        return min(self.iou.values()) if self.iou else None

    def note_ignored(self, file_name: str, pixels: int) -> None:
        if pixels:
            self.ignore_pixels_dropped += pixels
            self.ignore_images.append(file_name)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "out": str(self.out),
            "format": self.format,
            "from_scratch": self.from_scratch,
            "images": self.images,
            "written_from_masks": self.written,
            "edited": self.edited,
            "unchanged": self.unchanged,
            "new_images": self.new_images,
            "without_mask": self.without_mask,
            "annotations": self.annotations,
            "replaced": self.replaced,
            "components": self.components,
            "polygons": self.polygons,
            "rle_fallbacks": dict(self.rle_fallbacks),
            "crowd": {"kept": self.crowd_kept, "trimmed": self.crowd_trimmed, "dropped": self.crowd_dropped},
            "below_min_area": self.below_min_area,
            "ignore_pixels_dropped": self.ignore_pixels_dropped,
            "ignore_images": self.ignore_images,
            "iou": {"mean": self.mean_iou, "min": self.min_iou, "per_image": self.iou},
            "inexact_images": self.inexact,
            "warnings": self.warnings,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def summary(self) -> list[str]:
        """The lines the CLI prints."""
        if self.from_scratch:
            what = f"{self.images} images, each written from its mask"
        else:
            what = (
                f"{self.images} images ({self.edited} edited, {self.unchanged} unchanged, "
                f"{self.new_images} new, {self.without_mask} without a mask kept as they are)"
            )
        lines = [
            f"wrote {self.out}: {what}; {self.annotations} annotations, {self.components} of them "
            f"components of the masks in {self.format.upper()} ({self.elapsed_s:.1f}s)"
        ]
        if not self.from_scratch and self.edited:
            lines.append(
                f"edited images: {self.replaced} original annotations replaced; crowd regions "
                f"{self.crowd_kept} kept, {self.crowd_trimmed} trimmed, {self.crowd_dropped} dropped"
            )
        if self.format == "polygon" and self.components:
            fallbacks = sum(self.rle_fallbacks.values())
            reasons = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in self.rle_fallbacks.items())
            lines.append(
                f"{self.polygons} polygons, {fallbacks} components written as RLE instead"
                + (f" ({reasons})" if reasons else "")
            )
        if self.iou:
            exact = self.written - len(self.inexact)
            lines.append(
                f"redrawn with the folder's options: {exact} of {self.written} written images exact; "
                f"IoU against the masks mean {self.mean_iou:.4f}, min {self.min_iou:.4f}"
            )
        return lines
