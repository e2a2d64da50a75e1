"""Superpixel brush: SLIC superpixels of the shown image; a stroke selects the whole superpixels it touches.

scikit-image's ``slic`` segments the image (at mask resolution) into about ``n_segments`` compact
regions of similar colour. It is the slow part (a second on a 1024 px image under load), so it runs
once per image and size in a worker (``superpixel_job``) and is cached (``SuperpixelCache``); the image
is first shrunk to ``SLIC_MAX_SIDE`` and the labels scaled back (nearest), which keeps the computation
under issue 11's 1 s per 1024 px while the superpixels stay many pixels wide. Each superpixel's
bounding box (``scipy.ndimage.find_objects``) makes a selection cost its superpixels' boxes, not
the frame.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from cocoseg_gui.core.assists.image import downscale
from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.jobs import CancelToken, Progress

SLIC_MAX_SIDE = 640  # SLIC runs at most at this size; labels are scaled back to the mask's grid
DEFAULT_SEGMENTS = 600
MIN_SEGMENTS, MAX_SEGMENTS = 20, 5000
COMPACTNESS = 10.0  # scikit-image's default balance of colour and space (Lab)


@dataclass(frozen=True, eq=False)
class Superpixels:
    """Labels 1..N of every mask pixel and each label's box (``boxes[k - 1]`` for label k)."""

    labels: np.ndarray  # (h, w) int32
    boxes: tuple[Box, ...]
    n_segments: int  # what was asked (the cache key), not how many came out

    @property
    def count(self) -> int:
        return len(self.boxes)

    def ids_under(self, area: Area) -> np.ndarray:
        """The superpixels that ``area`` (e.g. a brush segment) touches."""
        if area.empty:
            return np.zeros(0, dtype=np.int32)
        return np.unique(self.labels[area.box.slices][area.mask])

    def area_of(self, ids: Iterable[int]) -> Area:
        """The pixels of superpixels ``ids``: a box around them and the mask of the box."""
        ids = [int(i) for i in ids if 0 < int(i) <= self.count]
        if not ids:
            return Area.nothing()
        box = Box.empty_box()
        for i in ids:
            box = box.union(self.boxes[i - 1])
        chosen = np.zeros(self.count + 1, dtype=bool)  # a lookup table: one gather, unlike np.isin's sort
        chosen[ids] = True
        return Area(box, chosen[self.labels[box.slices]])


def compute_superpixels(
    rgb: np.ndarray, n_segments: int = DEFAULT_SEGMENTS, max_side: int = SLIC_MAX_SIDE
) -> Superpixels:
    """SLIC of ``rgb`` (H, W, 3 uint8 on the mask's grid), labels at ``rgb``'s size."""
    import cv2  # here, not at the top: ~0.4 s of scikit-image and SciPy off the window's start (ADR 0035)
    from scipy import ndimage
    from skimage.segmentation import slic

    n_segments = int(min(MAX_SEGMENTS, max(MIN_SEGMENTS, n_segments)))
    h, w = rgb.shape[:2]
    small, scale = downscale(rgb, max_side)
    labels = slic(small, n_segments=n_segments, compactness=COMPACTNESS, start_label=1).astype(np.int32)
    if scale < 1.0:
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    boxes = tuple(
        Box(s[0].start, s[1].start, s[0].stop, s[1].stop) if s is not None else Box.empty_box()
        for s in ndimage.find_objects(labels)
    )
    return Superpixels(labels, boxes, n_segments)


def superpixel_job(
    rgb: np.ndarray,
    n_segments: int,
    *,
    progress: Callable[[Progress], None],
    cancel: CancelToken,
) -> Superpixels:
    """``compute_superpixels`` as a JobWorker job (slic itself cannot stop half-way: the cancel is
    honoured before it starts and its result dropped after)."""
    cancel.raise_if_cancelled()
    progress(Progress(0, 1, "Computing superpixels"))
    result = compute_superpixels(rgb, n_segments)
    cancel.raise_if_cancelled()
    progress(Progress(1, 1, "Superpixels ready"))
    return result


class SuperpixelCache:
    """The last few results by (image id, n_segments): going back to an image or size is free."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[int, int], Superpixels] = OrderedDict()

    def get(self, image_id: int, n_segments: int) -> Superpixels | None:
        key = (int(image_id), int(n_segments))
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, image_id: int, result: Superpixels) -> None:
        key = (int(image_id), int(result.n_segments))
        self._items[key] = result
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
