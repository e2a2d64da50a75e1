"""Editing a project's datasets without Qt (issue 19 item 2): rename, role, mask folder, remove, save as.
Real project files and mask folders (generated from the sample COCO), no mocks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.new_dataset import create_new_dataset
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import Project, Role, coco_folder_datasets, new_project, planned_entry
from cocoseg_gui.core.project.workbench import DatasetChanged, ProjectChanged, Workbench


@pytest.fixture
def project(tmp_path: Path, sample_root: Path) -> Project:
    """The sample's train and val, val with masks of 2 images (in the default folder, not recorded)."""
    coco = tmp_path / "coco"
    shutil.copytree(sample_root, coco, ignore=shutil.ignore_patterns("masks_*"))
    project = new_project(tmp_path / "proj", coco_folder_datasets(coco))
    val = project.dataset("val2017")
    generate_masks(val.annotations, val.images, project.default_masks_dir(val), MaskOptions(max_images=2))
    project.save()
    return project


def test_rename_keeps_made_masks_and_names_unique(project: Project) -> None:
    made = project.default_masks_dir(project.dataset("val2017"))
    entry = project.rename_dataset("val2017", "  holdout ")
    assert entry.name == "holdout" and entry.masks == made  # the generated masks stay found
    assert project.masks_dir(project.dataset("train2017")) == project.folder / "masks" / "train2017"
    with pytest.raises(DatasetError, match="exists already"):
        project.rename_dataset("train2017", "holdout")
    with pytest.raises(DatasetError, match="needs a name"):
        project.rename_dataset("train2017", " ")
    assert [d.name for d in project.datasets] == ["train2017", "holdout"]


def test_an_image_folder_dataset_takes_train_only_once_it_has_a_saved_mask(
    project: Project, tmp_path: Path, sample_root: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    image = sorted((sample_root / "val2017").iterdir())[0]
    shutil.copy(image, photos / image.name)
    planned = planned_entry(project, photos)
    made = create_new_dataset(photos, ClassMapping.read(
        project.default_masks_dir(project.dataset("val2017")) / "category_mapping.json").categories,
        planned.masks)  # fmt: skip
    project.add_dataset(planned)
    with pytest.raises(DatasetError, match="photos has no saved mask yet") as err:
        project.set_role("photos", Role.TRAIN)
    assert err.value.path == planned.masks
    assert project.set_role("photos", Role.TEST).role is Role.TEST  # test reads no mask
    first = json.loads(made.annotations.read_text())["images"][0]
    save_edited_mask(
        planned.masks, first["file_name"], np.zeros((first["height"], first["width"]), np.uint8), None
    )
    assert project.set_role("photos", Role.TRAIN).role is Role.TRAIN
    # a COCO dataset without masks yet may be train or val: its masks can be generated
    assert project.set_role("train2017", Role.VAL).role is Role.VAL


def test_mask_folders_are_checked_and_removal_keeps_files(project: Project, tmp_path: Path) -> None:
    val_masks = project.default_masks_dir(project.dataset("val2017"))
    with pytest.raises(DatasetError, match="not a mask dataset folder"):
        project.set_masks("train2017", tmp_path)
    project.set_masks("val2017", val_masks)
    with pytest.raises(DatasetError, match="belongs to val2017"):
        project.set_masks("train2017", val_masks)
    copy = tmp_path / "elsewhere" / "fixed masks"
    shutil.copytree(val_masks, copy)  # its manifest's relative image folder now leads nowhere
    with pytest.raises(DatasetError, match="the images of these masks cannot be found") as err:
        project.add_mask_folder(copy)
    assert err.value.path == copy / "manifest.json"
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["images_dir"] = str(project.dataset("val2017").images)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    added = project.add_mask_folder(copy)
    assert (added.name, added.role, added.masks) == ("fixed-masks", Role.TRAIN, copy)
    assert added.images == project.dataset("val2017").images
    removed = project.remove_dataset("val2017")
    assert removed.masks == val_masks and (val_masks / "image_mask_map.json").is_file()
    assert [d.name for d in project.datasets] == ["train2017", "fixed-masks"]


def test_session_saves_each_change_and_save_as_keeps_every_folder(project: Project, tmp_path: Path) -> None:
    workbench = Workbench(tmp_path / "projects")
    workbench.open_project(Project.load(project.file), "val2017")
    events: list[object] = []
    workbench.changed.subscribe(events.append)
    workbench.rename_dataset("val2017", "holdout")
    assert Project.load(project.file).dataset("holdout").role is Role.VAL
    assert workbench.dataset is not None and workbench.dataset.name == "holdout"
    assert [type(e) for e in events] == [ProjectChanged, DatasetChanged]
    with pytest.raises(DatasetError):
        workbench.rename_dataset("holdout", "train2017")
    assert Project.load(project.file).dataset("holdout").name == "holdout"  # nothing changed on disk

    made = project.default_masks_dir(project.dataset("val2017"))
    target = tmp_path / "moved"
    saved = workbench.save_project_as(target)
    assert saved == target / "cocoseg-project.json"
    again = Project.load(saved)
    assert again.dataset("holdout").masks == made  # the masks made in the old folder are still found
    workbench.remove_dataset("holdout")
    assert workbench.dataset is not None and workbench.dataset.name == "train2017"
    assert [d.name for d in Project.load(saved).datasets] == ["train2017"]


def test_cli_edits_a_projects_datasets(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cocoseg_gui.cli import main as cli_main

    file = str(project.file)
    assert cli_main(["project", "set", file, "val2017", "--role", "test", "--name", "holdout"]) == 0
    assert Project.load(file).dataset("holdout").role is Role.TEST
    assert cli_main(["project", "set", file, "nope", "--role", "val"]) == 2
    assert "no dataset named 'nope' (datasets: train2017, holdout)" in capsys.readouterr().err
    val_masks = project.default_masks_dir(project.dataset("val2017"))
    assert cli_main(["project", "remove", file, "holdout"]) == 0
    assert [d.name for d in Project.load(file).datasets] == ["train2017"]
    assert (val_masks / "category_mapping.json").is_file()  # files kept
    assert cli_main(["project", "add-masks", file, str(val_masks)]) == 0
    assert Project.load(file).dataset("val2017").role is Role.TRAIN
    assert cli_main(["project", "save-as", file, str(tmp_path / "copy")]) == 0
    assert Project.load(tmp_path / "copy").dataset("val2017").masks == val_masks
    assert cli_main(["project", "save-as", file, str(tmp_path / "copy")]) == 2  # never over a project
