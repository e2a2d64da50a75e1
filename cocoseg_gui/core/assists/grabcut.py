"""GrabCut: drag a box around an object, refine with foreground/background scribbles.

OpenCV's ``grabCut`` (colour GMMs + graph cut) is run on the box plus a margin of context, first with
``GC_INIT_WITH_RECT``; scribbles re-run it with ``GC_INIT_WITH_MASK`` from the previous result with
the scribbled pixels made certain foreground/background. It is slow (10 s for a 1024 px region on the
CPU), so the region is shrunk to ``GRABCUT_MAX_SIDE`` before the cut and the result scaled back
(bilinear, then 0.5 threshold), which keeps a 1024 px region under issue 11's 1 s; the iterations run
one at a time so a cancel stops between them. Runs in a JobWorker (``grabcut_job``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.assists.image import downscale
from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.stroke import Point
from cocoseg_gui.core.jobs import CancelToken, Progress

GRABCUT_MAX_SIDE = 256  # the cut runs at most at this size (see the module docstring)
ITERATIONS = 3
MARGIN = 0.1  # context around the box, as a share of its size (at least MIN_MARGIN pixels)
MIN_MARGIN = 8


@dataclass(frozen=True)
class Scribble:
    """A stroke in mask pixels: its points, radius and whether it marks foreground."""

    points: tuple[Point, ...]
    radius: int
    foreground: bool


@dataclass(frozen=True, eq=False)
class GrabCutResult:
    """The foreground ``area`` (mask pixels) and what a refinement starts from: the work ``region``
    (mask pixels), its ``scale`` and OpenCV's label array at work size."""

    area: Area
    region: Box
    scale: float
    labels: np.ndarray  # GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD at work size


def work_region(rect: Box, shape: tuple[int, ...]) -> Box:
    """``rect`` grown by the context margin, clipped to the image."""
    h, w = rect.shape
    pad = max(MIN_MARGIN, round(MARGIN * max(h, w)))
    return Box(rect.top - pad, rect.left - pad, rect.bottom + pad, rect.right + pad).clipped(shape)


def grabcut(
    rgb: np.ndarray,
    rect: Box,
    scribbles: Sequence[Scribble] = (),
    previous: GrabCutResult | None = None,
    iterations: int = ITERATIONS,
    cancel: CancelToken | None = None,
    max_side: int = GRABCUT_MAX_SIDE,
) -> GrabCutResult:
    """Segment the object in ``rect`` (mask pixels) of ``rgb`` (H, W, 3 uint8 on the mask's grid)."""
    import cv2  # here: OpenCV loads at first use, not at the window's start (ADR 0035)

    rect = rect.clipped(rgb.shape)
    if rect.empty or min(rect.shape) < 2:
        raise ValueError("GrabCut needs a box at least 2 pixels wide and high")
    if previous is not None:
        region, scale = previous.region, previous.scale
        work = _resized(rgb[region.slices], scale)
        labels = previous.labels.copy()
    else:
        region = work_region(rect, rgb.shape)
        work, scale = downscale(np.array(rgb[region.slices], order="C"), max_side)
        labels = np.zeros(work.shape[:2], dtype=np.uint8)
    r = Box(
        round((rect.top - region.top) * scale),
        round((rect.left - region.left) * scale),
        round((rect.bottom - region.top) * scale),
        round((rect.right - region.left) * scale),
    )
    r = Box(r.top, r.left, max(r.bottom, r.top + 1), max(r.right, r.left + 1)).clipped(labels.shape)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    mode = cv2.GC_INIT_WITH_RECT
    if previous is not None or scribbles:
        if previous is None:  # scribbles on a first run: start from what the rectangle means
            labels[:] = cv2.GC_BGD
            labels[r.slices] = cv2.GC_PR_FGD
        for s in scribbles:
            _stamp(labels, s, region, scale)
        outside = np.ones(labels.shape, bool)
        outside[r.slices] = False
        labels[outside] = cv2.GC_BGD  # nothing outside the box is foreground
        mode = cv2.GC_INIT_WITH_MASK
    rect_xywh = (r.left, r.top, r.right - r.left, r.bottom - r.top)
    for k in range(max(1, iterations)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            cv2.grabCut(work, labels, rect_xywh, bgd, fgd, 1, mode if k == 0 else cv2.GC_EVAL)
        except cv2.error as exc:  # e.g. a box over the whole image leaves no background to learn from
            raise ValueError(
                "GrabCut needs both background and foreground pixels: draw a box with some "
                "background around the object"
            ) from exc
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8) * 255
    rh, rw = region.shape
    if fg.shape != (rh, rw):
        fg = cv2.resize(fg, (rw, rh), interpolation=cv2.INTER_LINEAR)
    mask = fg > 127
    inside_rect = np.zeros_like(mask)
    inside_rect[rect.relative_to(region)] = True
    mask &= inside_rect
    box = Box.of_mask(mask, region)
    area = Area(box, mask[box.relative_to(region)]) if not box.empty else Area.nothing()
    return GrabCutResult(area, region, scale, labels)


def grabcut_job(
    rgb: np.ndarray,
    rect: Box,
    scribbles: Sequence[Scribble],
    previous: GrabCutResult | None,
    *,
    progress: Callable[[Progress], None],
    cancel: CancelToken,
) -> GrabCutResult:
    """``grabcut`` as a JobWorker job (cancel between iterations)."""
    progress(Progress(0, 1, "GrabCut"))
    return grabcut(rgb, rect, scribbles, previous, cancel=cancel)


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    rgb = np.array(rgb, order="C")  # a copy: OpenCV refuses read-only views
    if scale >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _stamp(labels: np.ndarray, scribble: Scribble, region: Box, scale: float) -> None:
    """Draw ``scribble`` (mask pixels) into the work-size ``labels`` as certain fg/bg."""
    import cv2

    value = cv2.GC_FGD if scribble.foreground else cv2.GC_BGD
    thickness = max(1, round((2 * scribble.radius + 1) * scale))
    pts = [(round((x - region.left) * scale), round((y - region.top) * scale)) for x, y in scribble.points]
    if len(pts) == 1:
        cv2.circle(labels, pts[0], max(0, thickness // 2), int(value), -1)
    for a, b in itertools.pairwise(pts):
        cv2.line(labels, a, b, int(value), thickness)
