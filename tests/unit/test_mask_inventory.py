"""MaskInventory (core.mask_inventory): the one record of which images of a mask folder have a mask and
which were edited, on a real folder made by the new-dataset job and saved into by the editor's save."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.safe_paths import UnsafePathError
from cocoseg_gui.core.masks.inventory import MaskInventory
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset
from cocoseg_gui.core.masks.png import read_mask_png


@pytest.fixture
def new_folder(tmp_path: Path, val_images: Path) -> tuple[Path, list[dict]]:
    made = create_new_dataset(val_images, categories_from_names("cat, dog"), tmp_path / "new")
    return made.folder, json.loads(made.annotations.read_text())["images"]


def label_of(image: dict, value: int = 1) -> np.ndarray:
    label = np.zeros((image["height"], image["width"]), np.uint8)
    label[5:20, 5:30] = value
    return label


def test_every_editor_save_updates_the_inventory_and_the_mask_it_names_is_the_saved_one(new_folder) -> None:
    folder, images = new_folder
    inventory = MaskInventory(folder)
    events = []
    inventory.changed.subscribe(events.append)
    assert len(inventory) == 0 and inventory.mask_path(images[0]["file_name"]) is None

    editor = ImageEditor()
    editor.reset(folder, inventory)
    first = images[0]
    labels = LabelMap(np.zeros((first["height"], first["width"]), np.uint8), {0: "bg", 1: "cat", 2: "dog"})
    editor.attach(first["id"], first["file_name"], labels, labels.shape)
    editor.update(active_class=2)
    editor.press((10.0, 10.0))
    editor.release()
    editor.save()

    name = first["file_name"]
    assert inventory.has_mask(name) and inventory.edited_names() == {name}
    assert inventory.masked_names() == {name} and len(inventory) == 1
    assert [e.names for e in events] == [frozenset({name})]
    assert np.array_equal(read_mask_png(inventory.mask_path(name)), editor.current_labels)
    # what a fresh read of the folder says is exactly what the inventory already knew
    fresh = MaskInventory(folder)
    assert fresh.image_mask_map == inventory.image_mask_map and fresh.edited_names() == {name}


def test_a_save_by_someone_else_arrives_with_reload_and_a_stale_snapshot_is_refused(new_folder) -> None:
    folder, images = new_folder
    inventory = MaskInventory(folder)
    stale = inventory.read_snapshot()  # read before the save below, applied after it
    a, b = images[0], images[1]
    inventory.record_save(
        a["file_name"], save_edited_mask(folder, a["file_name"], label_of(a), None).mask_name
    )
    assert not inventory.apply(stale) and inventory.has_mask(a["file_name"])  # not rolled back

    save_edited_mask(folder, b["file_name"], label_of(b), None)  # another window or process
    assert not inventory.has_mask(b["file_name"])
    events = []
    inventory.changed.subscribe(events.append)
    inventory.reload()
    assert inventory.masked_names() == {a["file_name"], b["file_name"]}
    assert inventory.edited_names() == {a["file_name"], b["file_name"]}
    assert [e.names for e in events] == [frozenset({b["file_name"]})]
    inventory.reload()  # nothing changed on disk: nobody is told
    assert len(events) == 1


def test_bad_files_name_the_file_or_lose_only_the_marks(new_folder) -> None:
    folder, images = new_folder
    a = images[0]
    save_edited_mask(folder, a["file_name"], label_of(a), None)
    (folder / "edited.json").write_text('{"version": 1, "images": ')  # truncated
    inventory = MaskInventory(folder)
    assert inventory.has_mask(a["file_name"]) and inventory.edited_names() == frozenset()
    assert "edited.json" in inventory.edited_problem

    (folder / "image_mask_map.json").write_text(json.dumps({a["file_name"]: "../../outside.png"}))
    with pytest.raises(UnsafePathError, match=r"image_mask_map\.json"):
        MaskInventory(folder).mask_path(a["file_name"])
    (folder / "image_mask_map.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"image_mask_map\.json"):
        MaskInventory(folder)
    assert len(MaskInventory(None)) == 0 and MaskInventory(folder / "missing").masked_names() == frozenset()
