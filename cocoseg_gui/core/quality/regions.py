"""Flagged pixels -> connected regions (8-connected, OpenCV) and one score per image.

A region's score is the mean disagreement of its pixels, max(0, -normalised margin) in [0, 1]: how much
more the model believes its own class than the given one. The image score is the sum of that
disagreement over the pixels of the regions kept (at least ``min_area`` pixels) divided by the image's
valid pixels: the share of the image the model confidently relabels, weighted by confidence. Scattered
single pixels along object edges (the usual disagreement of any model) fall under ``min_area``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.quality.pixel_quality import PixelQuality, flagged


@dataclass(frozen=True)
class IssueRegion:
    """One connected region of flagged pixels, in mask pixels."""

    x: int
    y: int
    width: int
    height: int
    area: int  # flagged pixels in the region
    given: int  # the class most of its pixels are labelled
    predicted: int  # the class the model gives most of them
    score: float  # mean disagreement in [0, 1]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x, y, width, height), half-open: columns x..x+width-1."""
        return (self.x, self.y, self.width, self.height)


@dataclass(frozen=True)
class ImageQuality:
    """What one image contributes to the ranking (before file names are attached)."""

    score: float
    flagged_pixels: int
    regions: tuple[IssueRegion, ...]


def _majority(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Most frequent value (0..255) per group 0..n_groups-1 (ties: the smaller value)."""
    table = np.zeros((n_groups, 256), dtype=np.int64)
    np.add.at(table, (groups, values.astype(np.intp)), 1)
    return table.argmax(1)


def image_regions(
    quality: PixelQuality, thresholds: np.ndarray, min_area: int = 16, max_regions: int = 20
) -> ImageQuality:
    """The flagged regions of one image (largest disagreement mass first) and its score."""
    import cv2  # here: the GUI imports this module's types at start-up

    keep = flagged(quality, thresholds)
    idx = quality.flat_index[keep]
    if idx.size == 0 or quality.valid_pixels == 0:
        return ImageQuality(0.0, 0, ())
    h, w = quality.shape
    canvas = np.zeros(h * w, dtype=np.uint8)
    canvas[idx] = 1
    n, labels, stats, _ = cv2.connectedComponentsWithStats(canvas.reshape(h, w), connectivity=8)
    comp = labels.ravel()[idx]  # component of each flagged pixel (1..n-1)
    disagreement = np.clip(-quality.margin[keep], 0.0, 1.0).astype(np.float64)
    mass = np.bincount(comp, weights=disagreement, minlength=n)
    area = stats[:, cv2.CC_STAT_AREA]
    given = _majority(quality.label[keep], comp, n)
    predicted = _majority(quality.predicted[keep], comp, n)
    big = [k for k in range(1, n) if area[k] >= min_area]
    score = float(sum(mass[k] for k in big) / quality.valid_pixels)
    big.sort(key=lambda k: -mass[k])
    regions = tuple(
        IssueRegion(
            x=int(stats[k, cv2.CC_STAT_LEFT]),
            y=int(stats[k, cv2.CC_STAT_TOP]),
            width=int(stats[k, cv2.CC_STAT_WIDTH]),
            height=int(stats[k, cv2.CC_STAT_HEIGHT]),
            area=int(area[k]),
            given=int(given[k]),
            predicted=int(predicted[k]),
            score=float(mass[k] / area[k]),
        )
        for k in big[:max_regions]
    )
    return ImageQuality(score, int(idx.size), regions)
