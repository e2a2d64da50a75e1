"""report.json of a mask dataset folder, merged from per-image outcomes (docs/formats.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.rasterize import SKIP_REASONS
from cocoseg_gui.core.types import IGNORE_INDEX, Annotation

MAX_EXAMPLES = 5  # example annotations kept per skip reason


@dataclass(frozen=True)
class ImageTask:
    """One image to draw."""

    image_id: int
    file_name: str
    mask_name: str
    height: int
    width: int
    num_annotations: int
    reuse: bool  # a mask from an earlier run with the same options is on disk


@dataclass
class ImageOutcome:
    """What drawing one image gave (sent back by worker processes)."""

    task_index: int
    hist: dict[int, int]
    skipped: Counter[str]
    examples: list[tuple[str, int, str]]
    clipped: int
    dropped_parts: int
    drawn: int
    crowd_ignored: int
    reused: bool
    size_mismatch: tuple[int, int] | None = None  # actual (h, w) when it differs from the JSON
    unreadable: str | None = None
    refused: tuple[str, str] | None = None  # (reason, message): the file name leaves the image folder


class ReportBuilder:
    """Merges per-image outcomes into report.json."""

    def __init__(self, tasks: list[ImageTask], mapping: ClassMapping) -> None:
        self.tasks = tasks
        self.mapping = mapping
        self.skipped: Counter[str] = Counter({r: 0 for r in SKIP_REASONS})
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self.clipped = self.dropped_parts = self.drawn = self.crowd_ignored = 0
        self.pixels = np.zeros(256, dtype=np.int64)
        self.images = np.zeros(256, dtype=np.int64)
        self.per_image: dict[int, dict[str, int]] = {}
        self.size_mismatches: list[dict[str, Any]] = []
        self.unreadable: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.refused_tasks: set[int] = set()
        self.written = self.reused = 0

    def refuse(self, image_id: int, file_name: str, reason: str, error: str, num_annotations: int) -> None:
        """An image entry that gets no mask; its annotations count as refused_image."""
        self.refused.append({"image_id": image_id, "file_name": file_name, "reason": reason, "error": error})
        self.skipped["refused_image"] += num_annotations

    def example(self, reason: str, annotation_id: int, image_id: int, detail: str) -> None:
        items = self.examples.setdefault(reason, [])
        if len(items) < MAX_EXAMPLES:
            items.append({"annotation_id": annotation_id, "image_id": image_id, "detail": detail})

    @property
    def done(self) -> int:
        """Images finished so far (a mask on disk, or refused)."""
        return len(self.per_image) + len(self.refused_tasks)

    def add(self, o: ImageOutcome) -> None:
        task = self.tasks[o.task_index]
        if o.refused is not None:
            self.refused_tasks.add(o.task_index)
            self.refuse(task.image_id, task.file_name, *o.refused, task.num_annotations)
            return
        self.skipped.update(o.skipped)
        for reason, ann_id, detail in o.examples:
            self.example(reason, ann_id, task.image_id, detail)
        self.clipped += o.clipped
        self.dropped_parts += o.dropped_parts
        self.drawn += o.drawn
        self.crowd_ignored += o.crowd_ignored
        for k, v in o.hist.items():
            self.pixels[k] += v
            self.images[k] += 1
        self.per_image[o.task_index] = {str(k): v for k, v in sorted(o.hist.items())}
        if o.size_mismatch is not None:
            self.size_mismatches.append(
                {
                    "file_name": task.file_name,
                    "json": [task.height, task.width],
                    "actual": list(o.size_mismatch),
                }
            )
        if o.unreadable is not None:
            self.unreadable.append({"file_name": task.file_name, "error": o.unreadable})
        if o.reused:
            self.reused += 1
        else:
            self.written += 1

    def report(self, orphans: list[Annotation]) -> dict[str, Any]:
        skipped = Counter(self.skipped)
        skipped["unknown_image"] += len(orphans)
        for ann in orphans[:MAX_EXAMPLES]:
            self.example("unknown_image", ann.id, ann.image_id, f"image_id {ann.image_id} not in 'images'")
        indices = [0, *range(1, self.mapping.num_classes), IGNORE_INDEX]
        done = sorted(self.per_image)
        return {
            "version": 1,
            "skipped": dict(skipped),
            "clipped_out_of_bounds": self.clipped,
            "polygon_parts_dropped": self.dropped_parts,
            "annotations_drawn": self.drawn,
            "crowd_drawn_as_ignore": self.crowd_ignored,
            "examples": self.examples,
            "images_without_annotations": [
                self.tasks[i].file_name for i in done if not self.tasks[i].num_annotations
            ],
            "size_mismatches": self.size_mismatches,
            "unreadable_images": self.unreadable,
            "refused_images": self.refused,
            "classes": [
                {
                    "index": i,
                    "name": self.mapping.name_of(i),
                    "pixels": int(self.pixels[i]),
                    "images": int(self.images[i]),
                }
                for i in indices
            ],
            "per_image": {self.tasks[i].mask_name: self.per_image[i] for i in done},
        }


def classes_with_pixels(report: dict[str, Any]) -> int:
    """How many object classes (not background, not ignore) of a report.json have any pixel; 0 for a
    generation whose masks all came out background."""
    return sum(
        1
        for c in report.get("classes", [])
        if isinstance(c, dict) and int(c.get("index", 0)) not in (0, 255) and int(c.get("pixels", 0)) > 0
    )
