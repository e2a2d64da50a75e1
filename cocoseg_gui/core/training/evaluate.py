"""Evaluate a checkpoint on a mask dataset folder, at the ORIGINAL mask resolution.

Each image is predicted at the model's input size, its logits resized back to the image's size
(Predictor), and compared with the full-size mask. One confusion matrix gives the dataset
metrics (core.training.metrics.ConfusionMatrix), one per image gives the per-image scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
from cocoseg_gui.core.training.scores import class_scores, image_confusion, mean_iou


@dataclass(frozen=True)
class ImageScore:
    """One image's mIoU (over the classes present in its mask or prediction) and per-class IoU."""

    file: str
    miou: float
    per_class_iou: dict[str, float]

    @property
    def finite_miou(self) -> float | None:
        """The mIoU, None when the image has no class to score (NaN)."""
        return None if math.isnan(self.miou) else float(self.miou)


@dataclass
class EvalResult:
    """Dataset metrics; per_image sorted worst first."""

    class_names: list[str]
    per_class_iou: dict[str, float | None]  # None: class in neither ground truth nor prediction
    per_class_dice: dict[str, float | None]
    miou: float
    pixel_acc: float
    mean_dice: float
    confusion: np.ndarray  # [gt, pred] pixel counts, int64
    per_image: list[ImageScore] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    checkpoint: str = ""
    data: str = ""

    @property
    def num_images(self) -> int:
        return len(self.per_image)

    def scored_classes(self) -> list[tuple[str, float]]:
        """(name, IoU) of each class present in the ground truth or the prediction, in class order."""
        return [(n, float(v)) for n, v in self.per_class_iou.items() if v is not None and not math.isnan(v)]

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (NaN -> None)."""

        def clean(v: float) -> float | None:
            return None if v is None or math.isnan(v) else float(v)

        return {
            "checkpoint": self.checkpoint,
            "data": self.data,
            "num_images": self.num_images,
            "miou": clean(self.miou),
            "pixel_acc": clean(self.pixel_acc),
            "mean_dice": clean(self.mean_dice),
            "per_class_iou": self.per_class_iou,
            "per_class_dice": self.per_class_dice,
            "classes": self.class_names,
            "confusion": self.confusion.tolist(),
            "per_image": [
                {"file": s.file, "miou": clean(s.miou), "per_class_iou": s.per_class_iou}
                for s in self.per_image
            ],
            "skipped": [{"file": f, "error": e} for f, e in self.skipped],
        }


def _check_masks_exist(ds: Any, data: Path) -> None:
    """Refuse a folder with nothing to evaluate rather than report metrics of 0 images."""
    if len(ds) == 0:
        raise DatasetError(data / IMAGE_MAP_FILE, "lists no images: nothing to evaluate")
    missing = [i for i in range(len(ds)) if not ds.mask_path(i).is_file()]
    if len(missing) == len(ds):
        names = ", ".join(f"masks/{ds.mask_map[ds.files[i]]}" for i in missing[:3])
        raise DatasetError(
            data,
            f"none of the {len(ds)} masks named in image_mask_map.json exists (e.g. {names}); "
            "regenerate them with `cocoseg masks`",
        )


def evaluate(
    checkpoint: str | Path,
    data: str | Path,
    *,
    files: Sequence[str] | None = None,
    device: str = "auto",
    batch_size: int = 4,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    follow_symlinks: bool = False,
) -> EvalResult:
    """Metrics of ``checkpoint`` on the mask folder ``data`` (``files``: image names, default all).

    Unreadable images, and entries leading outside the dataset (core.safe_paths; symbolic links too
    unless ``follow_symlinks``), are skipped and listed in ``skipped``; a folder where no image can
    be evaluated, or a mask value outside 0..K-1 and ignore, raises DatasetError. ``cancel`` raises
    Cancelled.
    """
    from cocoseg_gui.core.training.data import MaskDataset
    from cocoseg_gui.core.training.metrics import ConfusionMatrix
    from cocoseg_gui.core.training.predict import Predictor

    predictor = Predictor.from_checkpoint(checkpoint, device)
    ds = MaskDataset(data, files=files, follow_symlinks=follow_symlinks)
    names = predictor.class_names
    if [c["name"] for c in ds.classes] != names:
        raise DatasetError(
            Path(data) / MAPPING_FILE,
            f"classes differ from the checkpoint's ({len(ds.classes)} vs {len(names)}: "
            f"{[c['name'] for c in ds.classes][:4]}... vs {names[:4]}...)",
        )
    _check_masks_exist(ds, Path(data))
    c, ignore = predictor.num_classes, ds.ignore_index
    total = np.zeros((c, c), dtype=np.int64)
    scores: list[ImageScore] = []
    skipped: list[tuple[str, str]] = list(ds.refused)
    meter = RateMeter(len(ds))
    for done, pairs in ds.batches(batch_size, skipped, cancel):
        preds = predictor.predict_batch([im for _, im, _ in pairs])
        for (name, _, gt), pred in zip(pairs, preds):
            m = image_confusion(gt, pred, c, ignore)
            total += m
            per_class = class_scores(m, names)
            miou = mean_iou(per_class)
            per_name = {s.name: float(s.iou or 0.0) for s in per_class}
            scores.append(ImageScore(name, math.nan if miou is None else miou, per_name))
        if progress is not None and meter.due(done):
            report(progress, meter.progress(done, ds.files[done - 1]))
    if not scores:
        raise DatasetError(
            Path(data), f"no image could be evaluated: all {len(skipped)} were skipped, e.g. {skipped[0][1]}"
        )
    cm = ConfusionMatrix(c, ignore, "cpu")
    cm.matrix = torch.from_numpy(total)
    res = cm.compute()

    def named(values: list[float]) -> dict[str, float | None]:
        return {n: (None if math.isnan(v) else v) for n, v in zip(names, values)}

    scores.sort(key=lambda s: (math.inf if math.isnan(s.miou) else s.miou, s.file))
    return EvalResult(
        class_names=names,
        per_class_iou=named(res["per_class_iou"]),
        per_class_dice=named(res["per_class_dice"]),
        miou=float(res["miou"]),
        pixel_acc=float(res["pixel_acc"]),
        mean_dice=float(res["mean_dice"]),
        confusion=np.asarray(res["matrix"], dtype=np.int64),
        per_image=scores,
        skipped=skipped,
        checkpoint=str(checkpoint),
        data=str(data),
    )
