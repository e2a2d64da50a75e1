"""Outlines of a class map's regions, for the viewer after the map was edited.

An image's instance outlines come from its COCO annotations; once its mask is edited they no longer match
what is drawn (a stroke that adds a person has no outline, an erased one keeps its own). The edited map
has no instances, so its outlines are those of each class's connected regions (and their holes), the
same (class, Nx2 polygon in image pixels) records the viewer draws for annotations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX

Outline = tuple[int, np.ndarray]  # class index, Nx2 float xy polygon in image pixels


def class_outlines(labels: np.ndarray, sx: float = 1.0, sy: float = 1.0, **_job: Any) -> list[Outline]:
    """Every region and hole of every class in ``labels`` (background and ignore left out) as closed
    polygons through its border pixels' centres, scaled by ``sx``/``sy`` (image pixels per mask pixel).
    A job function: ``**_job`` takes the worker's progress and cancel."""
    import cv2  # here: OpenCV loads at first use, not at the window's start (ADR 0035)

    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    out: list[Outline] = []
    counts = np.bincount(labels.ravel(), minlength=256)
    for cls in np.flatnonzero(counts):
        if cls in (BACKGROUND, IGNORE_INDEX):
            continue
        contours, _ = cv2.findContours(
            (labels == cls).view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE
        )
        for contour in contours:
            centres = contour.reshape(-1, 2).astype(np.float64) + 0.5  # pixel i spans [i, i + 1)
            out.append((int(cls), centres * (sx, sy)))
    return out
