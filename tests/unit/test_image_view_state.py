"""LabelMap and ImageViewState without Qt: region notifications, revisions, read-only views, and display
options (hidden / solo) that hold across images."""

from __future__ import annotations

import numpy as np
import pytest

from cocoseg_gui.core.masks.box import Box
from cocoseg_gui.core.masks.label_map import LabelMap, LabelsChanged
from cocoseg_gui.core.project.image_view_state import (
    ClassVisibility,
    DisplayChanged,
    ImageChanged,
    ImageViewState,
    ShownImage,
)

NAMES = {0: "background", 1: "person", 2: "car", 3: "dog", 255: "ignore"}


def label_map(h: int = 40, w: int = 60, fill: int = 0) -> LabelMap:
    return LabelMap(np.full((h, w), fill, dtype=np.uint8), NAMES)


def shown(image_id: int, labels: LabelMap | None, size: tuple[int, int] = (60, 40)) -> ShownImage:
    w, h = size
    return ShownImage(image_id, f"{image_id}.jpg", np.zeros((h, w, 3), np.uint8), labels)


def test_apply_notifies_the_changed_box_and_bumps_the_revision() -> None:
    labels = label_map()
    events: list[LabelsChanged] = []
    labels.changed.subscribe(events.append)
    before = labels.apply((slice(5, 10), slice(20, 30)), 2)
    assert before.shape == (5, 10) and not before.any()  # what was overwritten, for undo
    assert events == [LabelsChanged(Box(5, 20, 10, 30), 1)]
    assert labels.revision == 1
    assert (labels.array[5:10, 20:30] == 2).all() and labels.array.sum() == 2 * 50
    # an array patch, clipped to the map at the border; undo puts the old patch back
    patch = np.array([[1, 3], [3, 1]], dtype=np.uint8)
    labels.apply(Box(38, 58, 40, 60), patch)
    assert events[-1].box == Box(38, 58, 40, 60) and labels.revision == 2
    labels.apply(Box(5, 20, 10, 30), before)
    assert labels.array[5:10, 20:30].sum() == 0 and labels.revision == 3
    clipped = labels.apply((slice(35, 99), slice(-5, None)), 1)
    assert clipped.shape == (5, 5) and events[-1].box == Box(35, 55, 40, 60)


def test_refused_values_change_nothing() -> None:
    labels = label_map()
    events: list[LabelsChanged] = []
    labels.changed.subscribe(events.append)
    with pytest.raises(ValueError, match="not a class"):
        labels.apply(Box(0, 0, 2, 2), 9)
    with pytest.raises(ValueError, match="do not fit"):
        labels.apply(Box(0, 0, 2, 2), np.ones((3, 3), np.uint8))
    assert events == [] and labels.revision == 0 and not labels.array.any()
    labels.apply(Box(0, 0, 2, 2), 255)  # ignore is always allowed
    assert labels.class_at(1, 1) == 255 and labels.class_at(99, 0) == -1


def test_views_cannot_write_the_map() -> None:
    source = np.zeros((4, 4), np.uint8)
    labels = LabelMap(source, NAMES)
    source[0, 0] = 3  # the caller's array is not the map
    assert labels.class_at(0, 0) == 0
    view = labels.array
    with pytest.raises(ValueError):
        view[0, 0] = 1
    with pytest.raises(ValueError):
        labels.colors[1] = (0, 0, 0)
    labels.apply(Box(0, 0, 1, 1), 1)
    assert view[0, 0] == 1  # a view follows edits


def test_replace_notifies_the_whole_map_even_of_another_shape() -> None:
    labels = label_map()
    events: list[LabelsChanged] = []
    labels.changed.subscribe(events.append)
    labels.replace(np.ones((10, 12), np.uint8))
    assert events == [LabelsChanged(Box(0, 0, 10, 12), 1, replaced=True)]
    assert labels.shape == (10, 12)


def test_the_state_forwards_only_the_current_maps_changes() -> None:
    state = ImageViewState()
    seen: list[object] = []
    state.image_changed.subscribe(seen.append)
    state.labels_changed.subscribe(seen.append)
    first, second = label_map(), label_map()
    state.show(shown(1, first))
    state.show(shown(2, second))
    first.apply(Box(0, 0, 1, 1), 1)  # no longer shown: no notification
    second.apply(Box(1, 2, 3, 4), 2)
    assert [type(e) for e in seen] == [ImageChanged, ImageChanged, LabelsChanged]
    assert seen[-1].box == Box(1, 2, 3, 4)
    assert state.image is not None and state.image.image_id == 2


def test_mask_resolution_is_kept_when_the_image_is_larger() -> None:
    state = ImageViewState()
    labels = label_map(20, 30)
    state.show(shown(7, labels, size=(60, 40)))
    assert state.image.size == (60, 40)
    assert state.labels is labels and state.image.mask.shape == (20, 30)
    labels.apply(Box(0, 0, 20, 30), 1)  # edits are in mask pixels
    assert state.labels.shape == (20, 30)


def test_a_load_error_replaces_the_image() -> None:
    state = ImageViewState()
    events: list[ImageChanged] = []
    state.image_changed.subscribe(events.append)
    labels = label_map()
    state.show(shown(1, labels))
    state.fail(2, "broken.jpg", "cannot read the image")
    assert state.image is None and state.error is not None and state.error.file_name == "broken.jpg"
    assert events[-1].image is None and events[-1].error == state.error
    labels.apply(Box(0, 0, 1, 1), 1)  # the map of the image no longer shown is not forwarded
    state.show(shown(3, None))
    assert state.error is None and state.labels is None


def test_hidden_and_solo_persist_across_images() -> None:
    state = ImageViewState()
    changes: list[DisplayChanged] = []
    state.display_changed.subscribe(changes.append)
    state.show(shown(1, LabelMap(np.array([[0, 1, 2]], np.uint8), NAMES)))
    state.toggle_class(2)
    state.solo_class(1)
    state.set_opacity(0.8)
    state.show(shown(2, LabelMap(np.array([[3, 1, 2]], np.uint8), NAMES)))  # a class the first lacked
    assert state.display.visibility == ClassVisibility(frozenset({2}), 1)
    assert state.display.opacity == 0.8
    hidden = state.display.visibility.hidden_classes()
    assert 1 not in hidden and {2, 3, 255} <= hidden  # only the soloed class is drawn
    assert len(changes) == 3 and changes[-1].new.opacity == 0.8
    state.show(shown(3, None))  # an image without a mask, then one that cannot be shown: solo holds
    state.fail(4, "4.jpg", "cannot read the image")
    assert state.display.visibility == ClassVisibility(frozenset({2}), 1) and len(changes) == 3
    state.solo_class(1)  # again: unsolo brings the hidden set from before back
    assert state.display.visibility == ClassVisibility(frozenset({2}))
    assert state.display.visibility.hidden_classes() == {2}


def test_toggle_while_soloed_starts_from_what_is_on_screen() -> None:
    state = ImageViewState()
    state.show(shown(1, LabelMap(np.array([[0, 1, 2, 3]], np.uint8), NAMES)))
    state.solo_class(1)
    state.toggle_class(3)  # show 3 as well: 1 and 3 shown, the others present stay hidden
    assert state.display.visibility == ClassVisibility(frozenset({0, 2}))
    state.show_all_classes()
    assert state.display.visibility == ClassVisibility()
    state.set_hidden([1, 2])
    state.solo_class(3)
    state.set_hidden([2])  # setting the hidden set ends a solo
    assert state.display.visibility == ClassVisibility(frozenset({2}))


def test_unchanged_options_do_not_notify() -> None:
    state = ImageViewState()
    changes: list[DisplayChanged] = []
    state.display_changed.subscribe(changes.append)
    state.set_opacity(0.5)
    state.update_display(outlines=True)
    state.set_opacity(7)  # clamped
    assert [c.new.opacity for c in changes] == [1.0]


def test_mask_scale_is_image_pixels_per_mask_pixel() -> None:
    rgb = np.zeros((427, 640, 3), np.uint8)
    smaller = ShownImage(1, "1.jpg", rgb, LabelMap(np.zeros((214, 320), np.uint8), NAMES))
    assert smaller.mask_scale == (2.0, 427 / 214)
    same = ShownImage(2, "2.jpg", rgb, LabelMap(np.zeros((427, 640), np.uint8), NAMES))
    assert same.mask_scale == (1.0, 1.0)
    assert ShownImage(3, "3.jpg", rgb, None).mask_scale == (1.0, 1.0)
