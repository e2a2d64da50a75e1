# ruff: noqa: F811  (pytest fixtures imported from tests.unit.segment_fixtures)
"""Edit mode's click-to-segment state (Qt-free): clicks in mask pixels on a mask stored at half the
image's size, three candidates cycled, the result followed by later clicks, undo of a click, a box,
Refine with a region, and the preview painted by the editor as one undo step under its rule."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.rules import paint
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.segment.click_session import ClickSegmentSession
from cocoseg_gui.core.segment.prompt import ImageEmbedding, Prompt
from cocoseg_gui.core.segment.segmenter import Segmenter, region_prompt
from tests.unit.segment_fixtures import (  # noqa: F401
    loaded_mobile_sam,
    mobile_sam_file,
    mobile_state,
    sample_embedding,
    sample_image,
    torch_segmenter,
)

HALF = (320, 214)  # the 640x427 image's mask stored at half size: image = mask x (427/214, 2)


@pytest.fixture
def session(torch_segmenter: Segmenter, sample_embedding: ImageEmbedding) -> ClickSegmentSession:
    return ClickSegmentSession(torch_segmenter, sample_embedding, HALF)


def _at_image(x: float, y: float) -> tuple[float, float]:
    return x * 427 / 214, y * 2.0


def test_a_lone_click_gives_three_candidates_at_the_masks_size_and_cycles(
    session: ClickSegmentSession, torch_segmenter: Segmenter, sample_embedding: ImageEmbedding
) -> None:
    events = []
    session.changed.subscribe(events.append)
    session.add_point(100.0, 75.0)
    expected = torch_segmenter.predict(sample_embedding, Prompt((_at_image(100.0, 75.0),), (1,)), True, HALF)
    assert session.candidates == 3 and session.preview.shape == HALF
    np.testing.assert_array_equal(session.preview, expected.masks[0])
    assert [session.cycle(), session.cycle(), session.cycle()] == [1, 2, 0]
    assert len(events) == 4


def test_a_later_click_follows_the_chosen_result_and_undo_goes_back(
    session: ClickSegmentSession, torch_segmenter: Segmenter, sample_embedding: ImageEmbedding
) -> None:
    session.add_point(100.0, 75.0)
    session.cycle()
    chosen_logits = torch_segmenter.predict(
        sample_embedding, Prompt((_at_image(100.0, 75.0),), (1,)), True, HALF
    ).low_res_logits[1]
    first = session.preview.copy()
    session.add_point(50.0, 200.0, positive=False)
    expected = torch_segmenter.predict(
        sample_embedding,
        Prompt((_at_image(100.0, 75.0), _at_image(50.0, 200.0)), (1, 0), mask_logits=chosen_logits),
        False,
        HALF,
    )
    assert session.candidates == 1
    np.testing.assert_array_equal(session.preview, expected.masks[0])
    assert session.undo_point() and session.candidates == 3
    assert session.index == 0 and session.preview.shape == first.shape
    assert session.undo_point() and session.preview is None and not session.undo_point()


def test_a_box_and_a_refine_region_decode_one_mask(
    session: ClickSegmentSession, torch_segmenter: Segmenter, sample_embedding: ImageEmbedding
) -> None:
    session.set_box(150.0, 250.0, 20.0, 30.0)  # dragged up and left
    box = (*_at_image(20.0, 30.0), *_at_image(150.0, 250.0))
    expected = torch_segmenter.predict(sample_embedding, Prompt(box=box), False, HALF)
    np.testing.assert_array_equal(session.preview, expected.masks[0])

    session.clear()
    region = np.zeros(HALF, bool)
    region[50:150, 40:120] = True  # a rough brush stroke of the class
    session.refine_with(region)
    assert session.preview is None  # waits for a click
    session.add_point(80.0, 100.0)
    full = np.asarray(
        Image.fromarray(region.astype(np.uint8)).resize((427, 640), Image.Resampling.NEAREST), bool
    )
    expected = torch_segmenter.predict(
        sample_embedding,
        Prompt((_at_image(80.0, 100.0),), (1,), mask_logits=region_prompt(full, sample_embedding)),
        False,
        HALF,
    )
    assert session.candidates == 1
    np.testing.assert_array_equal(session.preview, expected.masks[0])


def test_enter_paints_the_preview_as_one_undo_step_under_the_rule(session: ClickSegmentSession) -> None:
    session.add_point(100.0, 75.0)
    base = np.zeros(HALF, np.uint8)
    base[:, 100:] = 2  # another class already labelled on the right
    labels = LabelMap(base.copy(), {0: "background", 1: "person", 2: "car"})
    editor = ImageEditor()
    editor.attach(1, "a.jpg", labels, None)
    editor.update(active_class=1)
    area = session.area()
    assert not area.empty and area.mask.sum() == session.preview.sum()
    editor.accept_area(area)
    expected = base.copy()
    paint(expected, area, 1, editor.settings.rule)
    np.testing.assert_array_equal(labels.array, expected)
    assert (labels.array != base).any()
    assert editor.undo() and np.array_equal(labels.array, base) and editor.undo_text is None
