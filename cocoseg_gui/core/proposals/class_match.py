"""A model's classes matched to a mask folder's classes BY NAME, so any model can propose into any folder.

torchvision's COCO_WITH_VOC_LABELS weights name their 20 classes the VOC way ("aeroplane",
"tvmonitor"); COCO calls them "airplane", "tv". Names are compared case-folded with spaces, dashes
and underscores removed, after the VOC -> COCO aliases. A model class with no match is not proposed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.types import BACKGROUND

# torchvision's weights.meta["categories"] of every COCO_WITH_VOC_LABELS_V1 model (index = output channel)
VOC_CLASSES: tuple[str, ...] = (
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)  # fmt: skip

# VOC name -> COCO name where they differ (COCO's category names are what mask folders hold)
VOC_TO_COCO: dict[str, str] = {
    "aeroplane": "airplane",
    "diningtable": "dining table",
    "motorbike": "motorcycle",
    "pottedplant": "potted plant",
    "sofa": "couch",
    "tvmonitor": "tv",
    "__background__": "background",
}

NOT_PROPOSED = -1  # a model class with no class of that name in the mask folder


def normalise(name: str) -> str:
    """'Dining_Table' and 'dining table' compare equal; VOC names become their COCO names first."""
    key = str(name).strip().casefold()
    key = VOC_TO_COCO.get(key, key)
    return re.sub(r"[\s_\-]+", "", key)


@dataclass(frozen=True, eq=False)
class ClassMatch:
    """``lut[model class] = mask folder class index`` (NOT_PROPOSED when no class has its name)."""

    lut: np.ndarray  # int16, one entry per model class
    pairs: tuple[tuple[str, str], ...]  # (model name, mask folder name) of every matched class

    @property
    def unmatched(self) -> int:
        return int((self.lut == NOT_PROPOSED).sum())

    @property
    def any_class(self) -> bool:
        """At least one class besides background is matched (else nothing useful can be proposed)."""
        return bool((self.lut > BACKGROUND).any())


def match_classes(model_names: Sequence[str], target: Mapping[int, str]) -> ClassMatch:
    """Match ``model_names`` (index = model output) to ``target`` (class index -> name, background 0).

    Background matches background whatever each side calls it; an ignore class (255) is never a target."""
    by_name: dict[str, int] = {}
    for index, name in sorted(target.items()):
        if 0 < int(index) < 255:
            by_name.setdefault(normalise(name), int(index))
    lut = np.full(len(model_names), NOT_PROPOSED, dtype=np.int16)
    pairs: list[tuple[str, str]] = []
    for i, name in enumerate(model_names):
        key = normalise(name)
        if i == 0 or key == "background":
            if i == 0:
                lut[i] = BACKGROUND
            continue
        if key in by_name:
            lut[i] = by_name[key]
            pairs.append((str(name), str(target[by_name[key]])))
    return ClassMatch(lut, tuple(pairs))
