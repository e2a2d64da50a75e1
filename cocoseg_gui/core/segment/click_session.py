"""One image's click-to-segment state, Qt-free, for Edit mode's tool to drive and draw (issue 21 item 2).

Prompts arrive in MASK pixels (the editor's grid; masks may be stored smaller than their image) and
are mapped to the image's; masks come back at the mask's size, so the preview and the accepted ``Area``
need no resize. A lone click gets three candidates (SAM's answer to ambiguity) that ``cycle`` steps
through; any later click, a box or a Refine region decodes one mask, with the chosen candidate's
low-res logits as the mask prompt (SAM's interactive loop). ``area()`` is what the editor's
``accept_area`` paints into the active class under the overwrite rule as one undo step.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.observers import Observers
from cocoseg_gui.core.segment.prompt import NEGATIVE, POSITIVE, Candidates, ImageEmbedding, Prompt
from cocoseg_gui.core.segment.segmenter import Segmenter, region_prompt


class ClickSegmentSession:
    _points: list[tuple[float, float]]
    _labels: list[int]
    _box: tuple[float, float, float, float] | None
    _mask_logits: np.ndarray | None
    _candidates: Candidates | None
    _index: int

    def __init__(self, segmenter: Segmenter, embedding: ImageEmbedding, mask_shape: tuple[int, int]) -> None:
        self.segmenter = segmenter
        self.embedding = embedding
        self.mask_shape = (int(mask_shape[0]), int(mask_shape[1]))
        height, width = embedding.original_size
        self._scale = (width / self.mask_shape[1], height / self.mask_shape[0])  # mask -> image, x and y
        self.changed: Observers[None] = Observers()
        self.clear(notify=False)

    # ------------------------------------------------------------------------------------------ prompts
    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        """A click at (x, y) mask pixels: on the object (left click) or background (right click / Alt)."""
        self._points.append((x, y))
        self._labels.append(POSITIVE if positive else NEGATIVE)
        self._predict(follow_previous=True)

    def set_box(self, left: float, top: float, right: float, bottom: float) -> None:
        """A dragged box (mask pixels, any corner order), called as the drag goes: one mask each time."""
        x0, x1 = sorted((left, right))
        y0, y1 = sorted((top, bottom))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return
        self._box = (x0, y0, x1, y1)
        self._predict(follow_previous=False)

    def refine_with(self, region: np.ndarray) -> None:
        """A class's current region (bool, mask size) as the mask prompt: a rough stroke plus a click."""
        if region.shape != self.mask_shape:
            raise OptionsError(f"the region is {region.shape}, the mask {self.mask_shape}")
        height, width = self.embedding.original_size
        if region.shape != (height, width):
            resized = Image.fromarray(region.astype(np.uint8)).resize(
                (width, height), Image.Resampling.NEAREST
            )
            region = np.asarray(resized, dtype=bool)
        self._mask_logits = region_prompt(region, self.embedding)
        if self._points or self._box is not None:
            self._predict(follow_previous=False)

    def undo_point(self) -> bool:
        """Drop the last click (the previous result's logits are dropped with it)."""
        if not self._points:
            return False
        self._points.pop()
        self._labels.pop()
        if self._points or self._box is not None:
            self._predict(follow_previous=False)
        else:
            self._candidates, self._index = None, 0
            self.changed.emit(None)
        return True

    def clear(self, notify: bool = True) -> None:
        self._points = []
        self._labels = []
        self._box = None
        self._mask_logits = None
        self._candidates = None
        self._index = 0
        if notify:
            self.changed.emit(None)

    # ------------------------------------------------------------------------------------------ results
    @property
    def candidates(self) -> int:
        return len(self._candidates) if self._candidates is not None else 0

    @property
    def index(self) -> int:
        return self._index

    def cycle(self) -> int:
        """The next candidate (the key that steps through SAM's three answers); its index."""
        if self.candidates > 1:
            self._index = (self._index + 1) % self.candidates
            self.changed.emit(None)
        return self._index

    @property
    def preview(self) -> np.ndarray | None:
        """The chosen candidate (bool, mask size), None before any prompt."""
        return self._candidates.masks[self._index] if self._candidates is not None else None

    @property
    def score(self) -> float | None:
        return float(self._candidates.scores[self._index]) if self._candidates is not None else None

    def area(self) -> Area:
        """The preview as the editor's Area (its tight box and the mask inside it)."""
        mask = self.preview
        if mask is None:
            return Area.nothing()
        box = Box.of_mask(mask)
        return Area(box, mask[box.slices].copy()) if not box.empty else Area.nothing()

    def _predict(self, follow_previous: bool) -> None:
        """Decode for the current prompts; the mask prompt is a pending Refine region, else (a new click
        after a result) the chosen candidate's logits."""
        sx, sy = self._scale
        points = tuple((x * sx, y * sy) for x, y in self._points)
        box = None
        if self._box is not None:
            x0, y0, x1, y1 = self._box
            box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
        previous = self._mask_logits
        if previous is None and follow_previous and self._candidates is not None:
            previous = self._candidates.low_res_logits[self._index]
        lone_click = len(points) == 1 and box is None and previous is None
        prompt = Prompt(points, tuple(self._labels), box, previous)
        self._candidates = self.segmenter.predict(self.embedding, prompt, lone_click, self.mask_shape)
        self._mask_logits = None  # a Refine region is used once; later clicks follow the result
        self._index = 0
        self.changed.emit(None)
