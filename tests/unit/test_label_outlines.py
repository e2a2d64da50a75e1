"""Region outlines of an edited class map: each region and hole outlined through its border pixels."""

from __future__ import annotations

import cv2
import numpy as np

from cocoseg_gui.core.masks.outlines import class_outlines


def filled(outlines, shape, cls: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The pixels inside ``cls``'s outlines (even-odd: holes stay empty), drawn at 4x then sampled."""
    canvas = np.zeros((shape[0] * 4, shape[1] * 4), np.uint8)
    polys = [np.round(p * 4).astype(np.int32) for c, p in outlines if c == cls]
    cv2.fillPoly(canvas, polys, 1)
    return canvas[2::4, 2::4].astype(bool)  # pixel centres


def test_regions_and_holes_are_outlined_through_their_border_pixels() -> None:
    labels = np.zeros((40, 60), np.uint8)
    labels[5:25, 5:30] = 1  # a person with a hole
    labels[10:15, 10:15] = 0
    labels[30:35, 40:55] = 3  # two separate cars
    labels[2:6, 50:58] = 3
    labels[0:3, 0:3] = 255  # ignore: never outlined
    outlines = class_outlines(labels)
    assert {c for c, _ in outlines} == {1, 3}
    assert sum(c == 3 for c, _ in outlines) == 2 and sum(c == 1 for c, _ in outlines) == 2  # outer + hole
    for cls in (1, 3):
        assert np.array_equal(filled(outlines, labels.shape, cls), labels == cls)
    box = next(p for c, p in outlines if c == 3 and p[:, 1].min() > 20)
    assert box[:, 0].min() == 40.5 and box[:, 0].max() == 54.5  # columns 40 .. 54, through their centres


def test_a_mask_stored_smaller_is_scaled_to_image_pixels() -> None:
    labels = np.zeros((10, 10), np.uint8)
    labels[2:4, 2:6] = 2
    ((cls, pts),) = class_outlines(labels, 2.0, 3.0)
    assert (
        cls == 2 and pts[:, 0].min() == 2.5 * 2 and pts[:, 0].max() == 5.5 * 2 and pts[:, 1].max() == 3.5 * 3
    )
