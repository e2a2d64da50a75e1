"""COCO boxes as SAM prompts: a box-only dataset's boxes -> proposed masks in the usual proposals folder.

Each unlabelled image of the mask folder is looked up in the COCO file by ``file_name``; each of its
boxes (by default only annotations without a segmentation; ``all_boxes``: every non-crowd one) whose
category is one of the folder's classes prompts SAM for one mask. Masks are painted largest box first,
so a small object inside a large one stays on top; the predicted IoU is the confidence. The folder is
then reviewed and accepted in the editor exactly like a model's proposals (core/proposals/batch.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.proposals.batch import BatchResult, ProposeOne, propose_folder_with
from cocoseg_gui.core.proposals.proposal import Proposal
from cocoseg_gui.core.types import Annotation


@dataclass(frozen=True)
class BoxPrompts:
    """What ``cocoseg propose --sam-weights W --from-boxes`` was given (recorded in the manifest)."""

    sam_weights: Path
    annotations: Path
    all_boxes: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "sam_weights": str(self.sam_weights),
            "boxes_from": str(self.annotations),
            "all_boxes": self.all_boxes,
        }


def usable_boxes(
    annotations: list[Annotation], mapping: ClassMapping, all_boxes: bool
) -> list[tuple[int, tuple[float, float, float, float]]]:
    """(class index, XYXY box) of the annotations to prompt with, largest box first."""
    found: list[tuple[float, int, tuple[float, float, float, float]]] = []
    for a in annotations:
        index = mapping.index_of(a.category_id)
        x, y, w, h = a.bbox
        if a.iscrowd or index is None or not (w > 0 and h > 0):
            continue
        if not all_boxes and a.segmentation not in (None, [], {}):
            continue
        found.append((w * h, index, (x, y, x + w, y + h)))
    return [(index, box) for _, index, box in sorted(found, key=lambda f: -f[0])]


def propose_from_boxes(
    prompts: BoxPrompts,
    masks_dir: Path,
    out: Path,
    images_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> BatchResult:
    """Proposals from ``prompts`` for the unlabelled images of ``masks_dir`` into ``out`` (resumable)."""
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.training.model_score import ModelScore

    def make(mapping: ClassMapping) -> ProposeOne:
        from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
        from cocoseg_gui.core.segment.model import load_sam
        from cocoseg_gui.core.segment.prompt import Prompt
        from cocoseg_gui.core.segment.segmenter import Segmenter

        index = CocoIndex.load(prompts.annotations)
        segmenter = Segmenter(load_sam(prompts.sam_weights), EmbeddingCache())

        def propose(name: str, rgb: Any) -> Proposal:
            try:
                image = index.image_by_file(name)
            except KeyError:
                raise DatasetError(prompts.annotations, f"has no image {name!r}") from None
            boxes = usable_boxes(index.annotations_for(image.id), mapping, prompts.all_boxes)
            if not boxes:
                which = (
                    "boxes of the folder's classes" if prompts.all_boxes else "boxes without a segmentation"
                )
                raise DatasetError(prompts.annotations, f"no {which} for {name} (--all-boxes uses every box)")
            pixels = np.asarray(rgb)
            embedding = segmenter.embed(pixels)
            shape = pixels.shape[:2]
            labels = np.zeros(shape, np.uint8)
            proposed = np.zeros(shape, bool)
            confidence = np.zeros(shape, np.float32)
            for class_index, box in boxes:
                result = segmenter.predict(embedding, Prompt(box=box), multimask=False)
                mask = result.masks[0]
                labels[mask] = class_index
                proposed[mask] = True
                confidence[mask] = float(np.clip(result.scores[0], 0.0, 1.0))
            return Proposal(labels, proposed, confidence, confidence.copy())

        return propose

    score = ModelScore(
        f"SAM ({prompts.sam_weights.name}) from the boxes of {prompts.annotations.name}",
        note="masks from boxes: the class is the box's category; no score on your masks",
    )
    return propose_folder_with(
        make, prompts.to_json(), score.to_json(), masks_dir, out, images_dir, progress, cancel
    )
