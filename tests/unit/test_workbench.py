"""core.workbench: the open project and dataset, implicit projects, what is recorded (no Qt)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import PROJECT_FILE, Project, Role, coco_folder_datasets, new_project
from cocoseg_gui.core.project.workbench import (
    CheckpointChanged,
    DatasetChanged,
    MasksDirChanged,
    ProjectChanged,
    Workbench,
    WorkbenchEvent,
)


@pytest.fixture
def coco(tmp_path: Path, sample_root: Path) -> Path:
    root = tmp_path / "mycoco"
    shutil.copytree(sample_root, root)
    return root


def paths_of(root: Path, split: str) -> DatasetPaths:
    return DatasetPaths(root / "annotations" / f"instances_{split}.json", root / split)


def watch(workbench: Workbench) -> list[WorkbenchEvent]:
    events: list[WorkbenchEvent] = []
    workbench.changed.subscribe(events.append)
    return events


def test_a_dataset_opened_alone_gets_an_implicit_project_written_only_when_asked(
    tmp_path: Path, coco: Path
) -> None:
    workbench = Workbench(tmp_path / "projects")
    events = watch(workbench)
    entry = workbench.attach(paths_of(coco, "val2017"))
    assert entry.name == "val2017" and entry.role is Role.VAL
    assert workbench.implicit and workbench.project is not None
    assert workbench.project.folder == tmp_path / "projects" / "mycoco"
    assert not workbench.project.file.exists()  # opening never writes
    assert [type(e) for e in events] == [ProjectChanged, DatasetChanged]
    assert workbench.title == "mycoco — val2017 (val)"
    # masks go to the project's folder, never the dataset's
    assert workbench.default_masks_dir() == tmp_path / "projects" / "mycoco" / "masks" / "val2017"
    assert workbench.ensure_saved() == tmp_path / "projects" / "mycoco" / PROJECT_FILE
    assert not workbench.implicit and Project.load(workbench.project.file).dataset("val2017").role is Role.VAL


def test_the_train_set_opened_later_joins_the_saved_project_of_the_same_data(
    tmp_path: Path, coco: Path
) -> None:
    workbench = Workbench(tmp_path / "projects")
    workbench.attach(paths_of(coco, "val2017"))
    workbench.ensure_saved()
    again = Workbench(tmp_path / "projects")
    entry = again.attach(paths_of(coco, "train2017"))
    assert entry.role is Role.TRAIN and not again.implicit
    assert [d.name for d in Project.load(again.project.file).datasets] == ["val2017", "train2017"]
    # another dataset root with the same folder name gets its own project folder
    other = tmp_path / "elsewhere" / "mycoco"
    shutil.copytree(coco, other)
    third = Workbench(tmp_path / "projects")
    third.attach(paths_of(other, "val2017"))
    assert third.implicit and third.project.folder.name == "mycoco-2"


def test_switching_datasets_inside_the_project_keeps_the_project(tmp_path: Path, coco: Path) -> None:
    workbench = Workbench(tmp_path / "projects")
    workbench.open_project(new_project(tmp_path / "p", coco_folder_datasets(coco)), "train2017")
    assert workbench.dataset.name == "train2017"
    events = watch(workbench)
    entry = workbench.attach(paths_of(coco, "val2017"))
    assert entry.role is Role.VAL and workbench.project.folder == tmp_path / "p"
    assert events == [DatasetChanged(entry)]


def test_masks_are_recorded_for_the_dataset_they_were_made_from(tmp_path: Path, coco: Path) -> None:
    """Attaching the train masks while val is open records them for train, not for val."""
    workbench = Workbench(tmp_path / "projects")
    project = new_project(tmp_path / "p", coco_folder_datasets(coco))
    project.save()
    workbench.open_project(project, "val2017")
    train_masks = tmp_path / "p" / "masks" / "train2017"
    generate_masks(*astuple_paths(coco, "train2017"), train_masks, MaskOptions(max_images=2))
    events = watch(workbench)
    workbench.set_masks_dir(train_masks)
    workbench.record_masks(train_masks)
    saved = Project.load(project.file)
    assert saved.dataset("train2017").masks == train_masks and saved.dataset("val2017").masks is None
    assert saved.training_masks() == train_masks and saved.validation_masks() is None
    assert events[0] == MasksDirChanged(train_masks) and isinstance(events[-1], ProjectChanged)
    assert workbench.dataset.name == "val2017" and workbench.dataset.masks is None
    # masks of a dataset outside the project are only viewed, never recorded
    stranger = tmp_path / "stranger"
    shutil.copytree(coco, stranger)
    foreign = tmp_path / "foreign_masks"
    generate_masks(*astuple_paths(stranger, "val2017"), foreign, MaskOptions(max_images=1))
    assert workbench.record_masks(foreign) is None


def test_runs_are_recorded_first_and_saved(tmp_path: Path, coco: Path) -> None:
    workbench = Workbench(tmp_path / "projects")
    workbench.attach(paths_of(coco, "train2017"))
    workbench.record_run(tmp_path / "run1", tmp_path / "run1" / "best.pt")
    assert not workbench.project.file.exists()  # implicit: nothing written before Generate / Start
    workbench.ensure_saved()
    workbench.record_run(tmp_path / "run2", None)
    saved = Project.load(workbench.project.file)
    assert saved.runs == [tmp_path / "run2", tmp_path / "run1"]
    assert saved.checkpoint == tmp_path / "run1" / "best.pt"


def test_opening_a_project_brings_its_checkpoint_when_the_file_is_there(tmp_path: Path, coco: Path) -> None:
    # a CLI run records the checkpoint in the project; the window must start from it (found in a real
    # window: the fine-tune preset said "no current checkpoint" on a project that had one)
    ckpt = tmp_path / "run1" / "best.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"weights")
    project = new_project(tmp_path / "p" / PROJECT_FILE, name="p")
    project.checkpoint = ckpt
    workbench = Workbench(tmp_path / "projects")
    events = watch(workbench)
    workbench.open_project(project)
    assert workbench.checkpoint == ckpt and CheckpointChanged(ckpt) in events
    gone = new_project(tmp_path / "q" / PROJECT_FILE, name="q")
    gone.checkpoint = tmp_path / "deleted.pt"
    workbench.open_project(gone)  # a missing file is not offered; the loaded checkpoint stays
    assert workbench.checkpoint == ckpt
    workbench.open_project(new_project(tmp_path / "r" / PROJECT_FILE, name="r"))
    assert workbench.checkpoint == ckpt
    older = tmp_path / "older-run"
    older.mkdir()
    (older / "last.pt").write_bytes(b"weights")
    gone.runs = [tmp_path / "deleted-run", older]  # the newest run's folder was deleted by hand
    workbench.open_project(gone)
    assert workbench.checkpoint == older / "last.pt"


def astuple_paths(root: Path, split: str) -> tuple[Path, Path]:
    paths = paths_of(root, split)
    return paths.annotations, paths.images_dir


def test_another_split_of_the_open_data_joins_the_open_project_even_unsaved(
    tmp_path: Path, coco: Path
) -> None:
    workbench = Workbench(tmp_path / "projects")
    workbench.attach(paths_of(coco, "val2017"))
    project = workbench.project
    events = watch(workbench)
    entry = workbench.attach(paths_of(coco, "train2017"))
    assert workbench.project is project and workbench.implicit
    assert [d.name for d in project.datasets] == ["val2017", "train2017"] and entry.role is Role.TRAIN
    assert events == [ProjectChanged(project, reopened=False), DatasetChanged(entry)]


def test_a_loaded_dataset_and_its_mask_folder_are_one_change(tmp_path: Path, coco: Path) -> None:
    """Issue 20: the window set the mask folder silently, then announced the index, then the mask folder
    again behind a flag; loading now changes both in the session and says so once."""
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.project.workbench import DatasetLoaded, LoadedDataset

    workbench = Workbench(tmp_path / "projects")
    paths = paths_of(coco, "val2017")
    workbench.attach(paths)
    events = watch(workbench)
    loaded = LoadedDataset(CocoIndex.load(paths.annotations), paths.annotations, paths.images_dir)
    workbench.set_loaded(loaded, tmp_path / "masks")
    assert events == [DatasetLoaded(loaded, tmp_path / "masks")]
    assert workbench.loaded is loaded and workbench.masks_dir == tmp_path / "masks"
    workbench.set_masks_dir(None)  # the folder could not be used: dropped, and said
    assert events[1:] == [MasksDirChanged(None)] and workbench.loaded is loaded
