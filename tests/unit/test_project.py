"""The project file: roles, defaults taken from roles, round trip, clear errors (no Qt)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import (
    PROJECT_FILE,
    DatasetEntry,
    Project,
    Role,
    coco_folder_datasets,
    new_project,
)


def test_a_coco_folder_gives_train_and_val_in_their_roles(sample_root: Path) -> None:
    found = coco_folder_datasets(sample_root)
    assert [(d.name, d.role) for d in found] == [("train2017", Role.TRAIN), ("val2017", Role.VAL)]
    assert found[0].images == sample_root / "train2017"
    assert found[1].annotations == sample_root / "annotations" / "instances_val2017.json"


def test_defaults_come_from_roles_not_from_the_last_dataset_opened(tmp_path: Path, sample_root: Path) -> None:
    project = new_project(tmp_path / "proj", coco_folder_datasets(sample_root))
    val = project.update_dataset("val2017", masks=project.default_masks_dir(project.dataset("val2017")))
    train = project.update_dataset("train2017", masks=project.default_masks_dir(project.dataset("train2017")))
    # the val masks were attached last; Train must still train on train and validate on val
    assert project.training_masks() == train.masks
    assert project.validation_masks() == val.masks
    assert project.training_warnings(project.training_masks(), project.validation_masks()) == []
    assert project.evaluation_warnings(project.validation_masks()) == []


def test_masks_default_to_a_folder_of_the_project_never_the_dataset(
    tmp_path: Path, sample_root: Path
) -> None:
    project = new_project(tmp_path / "proj", coco_folder_datasets(sample_root))
    for entry in project.datasets:
        out = project.masks_dir(entry)
        assert out.is_relative_to(project.folder)
        assert not out.resolve().is_relative_to(sample_root.resolve())


def test_wrong_roles_are_said_before_start(tmp_path: Path, sample_root: Path) -> None:
    project = new_project(tmp_path / "proj", coco_folder_datasets(sample_root))
    train = project.update_dataset("train2017", masks=tmp_path / "m_train")
    val = project.update_dataset("val2017", masks=tmp_path / "m_val")
    swapped = project.training_warnings(val.masks, train.masks)
    assert any("training on val2017 (val)" in w for w in swapped)
    assert any("validating on train2017 (train)" in w for w in swapped)
    assert any("same folder" in w for w in project.training_warnings(val.masks, val.masks))
    assert project.evaluation_warnings(train.masks) == [
        "evaluating on train2017 (train): the model has seen these images"
    ]


def test_round_trip_stores_paths_relative_to_the_project(tmp_path: Path, sample_root: Path) -> None:
    project = new_project(tmp_path / "proj", coco_folder_datasets(sample_root), name="coco")
    project.update_dataset("val2017", masks=project.folder / "masks" / "val2017")
    project.add_run(project.folder / "runs" / "unet-1")
    project.checkpoint = project.folder / "runs" / "unet-1" / "best.pt"
    project.save()
    raw = json.loads((tmp_path / "proj" / PROJECT_FILE).read_text())
    assert raw["format"] == "cocoseg-project" and raw["version"] == 1
    assert raw["datasets"][1]["masks"] == "masks/val2017"
    assert raw["runs"] == ["runs/unet-1"]
    # move the project folder: relative paths follow it
    shutil.move(tmp_path / "proj", tmp_path / "moved")
    loaded = Project.load(tmp_path / "moved")
    assert loaded.name == "coco"
    assert loaded.dataset("val2017").masks == tmp_path / "moved" / "masks" / "val2017"
    assert loaded.runs == [tmp_path / "moved" / "runs" / "unet-1"]
    assert [d.role for d in loaded.datasets] == [Role.TRAIN, Role.VAL]


def test_adding_the_same_data_twice_keeps_one_entry_and_names_stay_unique(
    tmp_path: Path, sample_root: Path
) -> None:
    project = new_project(tmp_path / "p")
    first = coco_folder_datasets(sample_root)[1]
    assert project.add_dataset(first) is project.add_dataset(first)
    other = project.add_dataset(DatasetEntry("val2017", Role.UNLABELLED, None, sample_root / "train2017"))
    assert other.name == "val2017-2"
    assert len(project.datasets) == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{", "not a valid JSON file"),
        (b'{"format": "x"}', "not a cocoseg project"),
        (b'{"format": "cocoseg-project", "version": 99}', "newer than this cocoseg reads"),
        (
            b'{"format": "cocoseg-project", "version": 1, "datasets": [{"name": "a", "role": "holdout",'
            b' "images": "x"}]}',
            "unknown role 'holdout'",
        ),
        (
            b'{"format": "cocoseg-project", "version": 1, "datasets": [{"name": "a", "role": "val"}]}',
            "neither annotations nor images",
        ),
        (b"\xff\xfe{}", "not UTF-8 text at byte 0"),
    ],
)
def test_a_bad_project_file_names_the_file_and_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    file = tmp_path / PROJECT_FILE
    file.write_bytes(content)
    with pytest.raises(DatasetError) as info:
        Project.load(file)
    assert str(file) in str(info.value)
    assert problem in str(info.value)


def test_ground_truth_is_found_for_an_image_of_any_dataset(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    masks = tmp_path / "masks_val"
    generate_masks(val_annotations, val_images, masks, MaskOptions(max_images=3))
    project = new_project(
        tmp_path / "p", [DatasetEntry("val2017", Role.VAL, val_annotations, val_images, masks)]
    )
    image_map = json.loads((masks / "image_mask_map.json").read_text())
    with_mask = val_images / next(iter(image_map))
    entry, mask = project.ground_truth_for(with_mask)
    assert entry.name == "val2017" and mask == masks / "masks" / image_map[with_mask.name]
    without = next(p for p in sorted(val_images.iterdir()) if p.name not in image_map)
    assert project.ground_truth_for(without) is None
    assert project.ground_truth_for(tmp_path / "elsewhere.jpg") is None
