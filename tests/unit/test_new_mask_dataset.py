"""A new empty mask folder for an image folder; labelling some images; training on those only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, read_image_mask_map
from cocoseg_gui.core.masks.new_dataset import (
    IMAGES_FILE,
    categories_from_coco,
    categories_from_mapping,
    categories_from_names,
    create_new_dataset,
    list_images,
)
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.data import MaskDataset
from cocoseg_gui.core.training.trainer import train
from tests.unit.editing_fixtures import made_masks  # noqa: F401


def test_class_sources(val_annotations: Path, made_masks: Path, tmp_path: Path) -> None:  # noqa: F811
    assert [(c.id, c.name) for c in categories_from_names(" cat, dog ,bird")] == [
        (1, "cat"),
        (2, "dog"),
        (3, "bird"),
    ]
    for bad, words in (("", "no class"), ("cat, Cat", "twice"), ("background", "not a class name")):
        with pytest.raises(OptionsError, match=words):
            categories_from_names(bad)
    coco = categories_from_coco(val_annotations)
    assert len(coco) == 80 and (coco[0].id, coco[0].name) == (1, "person") and coco[-1].id == 90
    ids_names = [(c.id, c.name) for c in coco]
    for source in (made_masks, made_masks / "category_mapping.json"):  # the folder or its mapping file
        assert [(c.id, c.name) for c in categories_from_mapping(source)] == ids_names
    broken = tmp_path / "nocats.json"
    broken.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(DatasetError, match=r"nocats\.json.*categories"):
        categories_from_coco(broken)


def test_new_dataset_is_an_empty_browsable_mask_folder(val_images: Path, tmp_path: Path) -> None:
    images = tmp_path / "photos"
    shutil.copytree(val_images, images)
    (images / "notes.txt").write_text("not an image")
    names = list_images(images)
    assert len(names) == 50 and names == sorted(names) and all(n.endswith(".jpg") for n in names)
    made = create_new_dataset(
        images, categories_from_names("cat, dog"), tmp_path / "project" / "masks" / "new"
    )
    out = made.folder
    assert made.num_images == 50 and made.annotations == out / IMAGES_FILE and not made.unreadable
    assert read_image_mask_map(out) == {} and not any((out / "masks").iterdir())
    folder = MaskDatasetFolder(out)  # the strict reader accepts it
    assert (
        folder.complete
        and folder.samples() == []
        and folder.mapping.class_names() == ["background", "cat", "dog"]
    )
    assert folder.images_dir == images.resolve() and folder.annotations == (out / IMAGES_FILE).resolve()
    index = CocoIndex.load(out / IMAGES_FILE, use_cache=False)  # what the Images workspace browses
    assert len(index) == 50 and [c.name for c in index.categories] == ["cat", "dog"]
    with pytest.raises(OptionsError, match="not empty"):
        create_new_dataset(images, categories_from_names("cat"), out)
    with pytest.raises(DatasetError, match="no image file"):
        create_new_dataset(tmp_path / "project", categories_from_names("cat"), tmp_path / "other")


def label_some(out: Path, made_masks: Path, count: int) -> list[str]:  # noqa: F811
    """Save the real person masks of ``count`` images into the new folder, as the editor does."""
    source = MaskDatasetFolder(made_masks)
    saved = []
    for name in sorted(source.image_mask_map)[:count]:
        label = source.read_mask(name)
        person = np.where(label == 1, 1, np.where(label == 255, 255, 0)).astype(np.uint8)
        save_edited_mask(out, name, person, label.shape)
        saved.append(name)
    return saved


def test_training_uses_only_labelled_images(val_images: Path, made_masks: Path, tmp_path: Path) -> None:  # noqa: F811
    """50 images, 2 labelled: the trainer sees those 2, the other 48 are not background samples."""
    out = create_new_dataset(val_images, categories_from_names("person"), tmp_path / "new").folder
    with pytest.raises(DatasetError, match="no labelled image"):
        train(TrainConfig(data=out, out=tmp_path / "run0", epochs=1, workers=0, val_on_train=True))
    labelled = label_some(out, made_masks, 2)
    assert sorted(MaskDataset(out).files) == labelled
    # an image listed in the map whose mask file is gone is skipped too (with a warning), never background
    lost = sorted(MaskDatasetFolder(made_masks).image_mask_map)[2]
    mask_map = read_image_mask_map(out)
    (out / "image_mask_map.json").write_text(json.dumps({**mask_map, lost: "gone.png"}))
    cfg = TrainConfig(
        data=out,
        out=tmp_path / "run",
        epochs=1,
        batch_size=2,
        img_size=64,
        workers=0,
        model_kwargs={"width": 8, "depth": 4},
        val_on_train=True,
        time_budget_s=None,
    )
    end = train(cfg)
    assert end.status == "finished"
    events = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert events[0]["num_train"] == 2
    assert any(e["type"] == "warning" and e["kind"] == "missing_masks" for e in events)


def test_a_new_dataset_joins_the_project_as_unlabelled(val_images: Path, tmp_path: Path) -> None:
    from cocoseg_gui.core.project.project import Project, Role, planned_entry
    from cocoseg_gui.core.project.workbench import DatasetChanged, ProjectChanged, Workbench

    workbench = Workbench(tmp_path / "projects")
    events: list[object] = []
    workbench.changed.subscribe(events.append)
    project = workbench.project_for_new_dataset("val2017")  # none open: a new project in the root
    assert project.folder == tmp_path / "projects" / "val2017" and not project.file.exists()
    entry = planned_entry(project, val_images)
    assert (entry.name, entry.role, entry.masks) == (
        "val2017",
        Role.UNLABELLED,
        project.folder / "masks" / "val2017",
    )
    made = create_new_dataset(val_images, categories_from_names("cat"), entry.masks)
    added = workbench.add_dataset(project, entry)
    assert workbench.project is project and workbench.dataset == added and not workbench.implicit
    assert any(isinstance(e, ProjectChanged) for e in events) and isinstance(events[-1], DatasetChanged)
    saved = Project.load(project.file)
    assert saved.dataset("val2017") == added and added.annotations == made.annotations
    # a second dataset of the same images gets a free name and folder
    again = planned_entry(workbench.project_for_new_dataset("x"), val_images)
    assert again.name == "val2017-2" and again.masks == project.folder / "masks" / "val2017-2"
