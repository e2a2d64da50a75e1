"""Predict's comparison without Qt (core.quality.truth_compare): the ground truth of an image found in the
chosen folder, the project's datasets or the attached folder; one image predicted and scored against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.project.project import DatasetEntry, Role, new_project
from cocoseg_gui.core.quality.truth_compare import (
    ERROR_CORRECT,
    ERROR_WRONG,
    compare_image,
    compare_in_project,
    truth_folder_for,
)
from tests.training_fixtures import build_mask_folder


@pytest.fixture(scope="module")
def masks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_mask_folder(tmp_path_factory.mktemp("truth_masks"), max_images=2)


class Replay:
    """A predictor that answers with a fixed class map (the comparison's arithmetic is what is tested)."""

    def __init__(self, answer: np.ndarray) -> None:
        self.answer = answer
        self.seen: list[tuple[int, ...]] = []

    def predict(self, image: np.ndarray) -> np.ndarray:
        self.seen.append(image.shape)
        return self.answer


def _first(masks: Path) -> tuple[Path, np.ndarray, list[str]]:
    folder = MaskDatasetFolder(masks)
    name = sorted(folder.image_mask_map)[0]
    assert folder.images_dir is not None and folder.mapping is not None
    return folder.images_dir / name, folder.read_mask(name), folder.mapping.class_names()


def test_a_perfect_prediction_scores_one_and_a_changed_pixel_is_wrong(masks: Path) -> None:
    image, truth, names = _first(masks)
    perfect = compare_image(Replay(truth), names, image, masks, None, None)
    assert perfect.truth_source == "mask dataset" and np.array_equal(perfect.truth, truth)
    assert perfect.scores and all(s.iou == 1.0 for s in perfect.scores)
    assert perfect.errors is not None and not (perfect.errors == ERROR_WRONG).any()
    wrong = truth.copy()
    wrong[0, 0] = 1 if truth[0, 0] != 1 else 0
    off = compare_image(Replay(wrong), names, image, masks, None, None)
    assert off.errors is not None and off.errors[0, 0] == ERROR_WRONG
    same = (wrong == truth) & (truth != 255)
    assert (off.errors[same] == ERROR_CORRECT).all() and (off.errors == ERROR_WRONG).sum() == 1
    assert min(s.iou or 0.0 for s in off.scores) < 1.0


def test_the_truth_comes_from_the_annotations_when_no_folder_has_it(masks: Path) -> None:
    image, truth, names = _first(masks)
    annotations = MaskDatasetFolder(masks).annotations
    assert annotations is not None
    index = CocoIndex.load(annotations, use_cache=False)
    found = compare_image(Replay(truth), names, image, None, index, image.parent)
    assert found.truth_source == "annotations" and np.array_equal(found.truth, truth)


def test_no_truth_or_a_truth_of_another_size_is_no_comparison(masks: Path) -> None:
    image, truth, names = _first(masks)
    alone = compare_image(Replay(truth), names, image, None, None, None)
    assert alone.truth is None and alone.truth_source == "" and alone.scores == [] and alone.errors is None
    small = compare_image(Replay(truth[:10, :10]), names, image, masks, None, None)
    assert small.truth is None and small.errors is None


def test_an_unreadable_image_is_named(tmp_path: Path, masks: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(CocoSegError, match=r"broken\.jpg: cannot read the image"):
        compare_image(Replay(np.zeros((1, 1), np.uint8)), ["background"], bad, masks, None, None)


def test_truth_folder_chosen_then_project_dataset_then_attached(tmp_path: Path, masks: Path) -> None:
    image, truth, names = _first(masks)
    chosen, attached = tmp_path / "chosen", tmp_path / "attached"
    project = new_project(tmp_path / "p", [DatasetEntry("val", Role.VAL, None, image.parent, masks)])
    assert truth_folder_for(image, chosen, project, attached) == chosen
    assert truth_folder_for(image, None, project, attached) == masks
    assert truth_folder_for(image, None, None, attached) == attached
    elsewhere = tmp_path / "elsewhere.jpg"
    assert truth_folder_for(elsewhere, None, project, attached) == attached
    found = compare_in_project(Replay(truth), names, image, None, project, None, None, None)
    assert found.truth_source == "mask dataset" and np.array_equal(found.truth, truth)
