"""File › Project datasets… and File › Save project as… (issue 19 item 2), in a real window: a dataset made
from an image folder takes the train role once it has a saved mask (and Train then trains on it), datasets
are renamed, get a role by keyboard, leave the project with their files kept, an existing mask folder
joins, and the project is saved elsewhere with every folder still found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit, QMessageBox

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.new_dataset import create_new_dataset
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import Project, Role, coco_folder_datasets, new_project, planned_entry
from cocoseg_gui.gui.widgets.datasets_dialog import COL_NAME, DatasetsDialog
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401


@pytest.fixture
def project(tmp_path: Path, sample_root: Path) -> Project:
    """The sample's train and val (masks of 3 images each) and a dataset made from an image folder."""
    coco = tmp_path / "streets"
    shutil.copytree(sample_root, coco, ignore=shutil.ignore_patterns("masks_*"))
    project = new_project(tmp_path / "proj", coco_folder_datasets(coco), name="streets")
    for entry in project.datasets:
        out = project.default_masks_dir(entry)
        generate_masks(entry.annotations, entry.images, out, MaskOptions(max_images=3, workers=1))
        project.update_dataset(entry.name, masks=out)
    photos = tmp_path / "photos"
    photos.mkdir()
    for image in sorted((coco / "val2017").iterdir())[:2]:
        shutil.copy(image, photos / image.name)
    train_masks = project.dataset("train2017").masks
    assert train_masks is not None
    categories = ClassMapping.read(train_masks / "category_mapping.json").categories  # the same ids
    planned = planned_entry(project, photos)
    create_new_dataset(photos, categories, planned.masks)
    project.add_dataset(planned)
    project.save()
    return project


def role_on_disk(project: Project, name: str) -> str | None:
    data = json.loads(project.file.read_text())
    return next((d["role"] for d in data["datasets"] if d["name"] == name), None)


def test_roles_and_datasets_are_edited_in_the_window(
    qtbot, tmp_path: Path, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.projects.open_project_file(project.file, "train2017")
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "Project data&sets…" in texts and "Save project &as…" in texts
    dialog = window.projects.datasets_dialog()
    assert isinstance(dialog, DatasetsDialog)
    qtbot.waitExposed(dialog)
    train_panel = window.panels["train"]
    photos = project.dataset("photos")

    # a dataset from an image folder: not train before it has a mask...
    assert dialog.set_role("photos", Role.TRAIN) is False
    assert "photos has no saved mask yet" in dialog.message.text()
    assert dialog.role_box("photos").currentData() == "unlabelled"
    assert role_on_disk(project, "photos") == "unlabelled"
    # ...train as soon as one is saved; the Train workspace then trains on it too
    images = json.loads((photos.annotations).read_text())["images"]  # type: ignore[union-attr]
    first = images[0]
    label = np.zeros((first["height"], first["width"]), dtype=np.uint8)
    label[:20, :20] = 1
    save_edited_mask(photos.masks, first["file_name"], label, label.shape)  # type: ignore[arg-type]
    assert dialog.set_role("photos", Role.TRAIN), dialog.message.text()
    assert dialog.message.text() == ""
    assert role_on_disk(project, "photos") == "train"
    assert train_panel.form.extra_data.folders() == [photos.masks]
    qtbot.waitUntil(lambda: not train_panel.form.inputs_pending(), timeout=WAIT_MS)
    assert "photos: 1 images, 1 edited" in train_panel.form.inputs_info.text()

    # a role by keyboard: val2017's combo, one step up the list is train
    box = dialog.role_box("val2017")
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert role_on_disk(project, "val2017") == "train"
    box = dialog.role_box("val2017")
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert role_on_disk(project, "val2017") == "val"

    # rename by editing the name cell (click, double-click, type, Enter); the open dataset's title follows
    row = next(
        r for r in range(dialog.table.rowCount()) if dialog.table.item(r, COL_NAME).text() == "train2017"
    )
    rect = dialog.table.visualItemRect(dialog.table.item(row, COL_NAME))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: dialog.table.state() == dialog.table.State.EditingState, timeout=WAIT_MS)
    editor = dialog.table.findChild(QLineEdit)
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "coco-train")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: role_on_disk(project, "coco-train") == "train", timeout=WAIT_MS)  # queued commit
    assert role_on_disk(project, "train2017") is None
    assert "coco-train (train)" in window.windowTitle()
    assert window.projects.combo.currentData() == "coco-train"
    assert dialog.rename("photos", "coco-train") is False  # names stay unique
    assert "exists already" in dialog.message.text()

    # an existing mask folder joins as a dataset: train, since it holds masks
    other = tmp_path / "elsewhere" / "corrections"
    live = window.state.project  # the window's project (the fixture's object is the file as it was)
    assert live is not None
    shutil.copytree(live.dataset("coco-train").masks, other)  # type: ignore[arg-type]
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["images_dir"] = str(live.dataset("coco-train").images)  # found from its new place
    (other / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(other))
    qtbot.mouseClick(dialog.add_masks_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == ""
    assert role_on_disk(project, "corrections") == "train"
    assert dialog.selected_name() == "corrections"

    # removed from the project, its files kept
    val_masks = live.dataset("val2017").masks
    dialog.select("val2017")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert role_on_disk(project, "val2017") is None
    assert val_masks is not None and (val_masks / "image_mask_map.json").is_file()
    assert dialog.table.rowCount() == 3

    # File › Save project as…: a new file elsewhere, every folder still found, the window follows it
    target = tmp_path / "copy" / "cocoseg-project.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.projects.act_save_as.trigger()
    copy = Project.load(target)
    assert [(d.name, d.role.value) for d in copy.datasets] == [
        ("coco-train", "train"),
        ("photos", "train"),
        ("corrections", "train"),
    ]
    assert all(d.masks is not None and (d.masks / "category_mapping.json").is_file() for d in copy.datasets)
    assert window.state.project is not None and window.state.project.file == target
    dialog.close()
