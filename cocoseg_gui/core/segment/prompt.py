"""What a click-segment request is made of and what it returns: typed, numpy, no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cocoseg_gui.core.errors import OptionsError

POSITIVE = 1
NEGATIVE = 0
LOW_RES = 256  # the mask decoder's output grid (over the 1024x1024 padded input)
INPUT_SIZE = 1024  # every SAM-family encoder's (padded) input side


@dataclass(frozen=True)
class ImageEmbedding:
    """The image encoder's output for one image, with the geometry the prompts are mapped through."""

    features: np.ndarray  # (1, 256, 64, 64) float32
    original_size: tuple[int, int]  # (h, w) of the image embedded
    input_size: tuple[int, int]  # (h, w) after resizing its longest side to 1024, before padding


@dataclass(frozen=True)
class Prompt:
    """Points (x, y in image pixels) with labels (1 object, 0 background), an XYXY box, and/or the
    low-res logits of an earlier result (or a region turned into them: ``region_prompt``)."""

    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    mask_logits: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) != len(self.labels):
            raise OptionsError(f"{len(self.points)} points but {len(self.labels)} labels")
        if any(label not in (POSITIVE, NEGATIVE) for label in self.labels):
            raise OptionsError("a point's label is 1 (object) or 0 (background)")
        if not self.points and self.box is None and self.mask_logits is None:
            raise OptionsError("a prompt needs a point, a box or a mask")
        if self.box is not None and (self.box[2] <= self.box[0] or self.box[3] <= self.box[1]):
            raise OptionsError(f"the box {self.box} is empty (XYXY, right > left and bottom > top)")
        if self.mask_logits is not None and self.mask_logits.shape != (LOW_RES, LOW_RES):
            raise OptionsError(f"a mask prompt is {LOW_RES}x{LOW_RES} logits, got {self.mask_logits.shape}")


@dataclass(frozen=True)
class Candidates:
    """Masks for one prompt, best predicted IoU first: bool (N, H, W) at the size asked for."""

    masks: np.ndarray
    scores: np.ndarray  # the decoder's predicted IoU per mask
    low_res_logits: np.ndarray  # (N, 256, 256): pass one back as the next prompt's mask_logits

    def __len__(self) -> int:
        return len(self.masks)
