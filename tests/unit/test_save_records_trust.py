"""The files a save reads are not trusted blindly (issue 18 items 8 and 9): a save journal naming a
path outside the folder is set aside with a message and saving goes on; a damaged edited.json is
recovered (backup, readable records, masks saved after the folder was made) and what is gone named."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.editing import save_journal
from cocoseg_gui.core.editing.edited_records import BACKUP_FILE
from cocoseg_gui.core.editing.save import EDITED_FILE, save_edited_mask
from cocoseg_gui.core.masks.dataset import read_edited, read_image_mask_map, read_report
from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset
from cocoseg_gui.core.masks.png import encode_mask_png


@pytest.fixture
def folder(tmp_path: Path, val_images: Path) -> tuple[Path, list[tuple[str, int, int, int]]]:
    """A new dataset of the sample val images (nothing saved yet) and (name, id, h, w) per image."""
    made = create_new_dataset(val_images, categories_from_names("person,dog,airplane"), tmp_path / "m")
    images = json.loads(made.annotations.read_text())["images"]
    return made.folder, [(i["file_name"], i["id"], i["height"], i["width"]) for i in images]


def save(folder: Path, image: tuple[str, int, int, int], value: int = 1):
    name, image_id, h, w = image
    label = np.zeros((h, w), np.uint8)
    label[: h // 3, : w // 3] = value
    return save_edited_mask(folder, name, label, (h, w), image_id)


def _sha(data: bytes) -> str:
    return save_journal.digest(data)


# ------------------------------------------------------------------------------------------ item 8
def _journal_cases(tmp: Path, masks: Path) -> dict[str, dict]:
    evil = tmp / "evil.png"
    link = masks / "link.png"
    link.symlink_to(evil)
    entry = {"sha256": _sha(evil.read_bytes()), "image_id": 1}
    return {
        "mask climbs out": {**entry, "file_name": "a.jpg", "mask": "../../evil.png"},
        "mask absolute": {**entry, "file_name": "a.jpg", "mask": str(evil)},
        "mask a link out": {**entry, "file_name": "a.jpg", "mask": "link.png"},
        "image climbs out": {**entry, "file_name": "../../evil.jpg", "mask": "a.png"},
        "image absolute": {**entry, "file_name": "/etc/evil.jpg", "mask": "a.png"},
        "no hash": {"file_name": "a.jpg", "mask": "a.png", "sha256": "x"},
    }


@pytest.mark.parametrize(
    "case",
    ["mask climbs out", "mask absolute", "mask a link out", "image climbs out", "image absolute", "no hash"],
)
def test_a_journal_entry_leading_outside_is_set_aside_and_saving_goes_on(folder, tmp_path, case) -> None:
    root, images = folder
    evil = tmp_path / "evil.png"
    evil.write_bytes(encode_mask_png(np.full((8, 8), 2, np.uint8)))  # what a trusted journal would count
    before = evil.read_bytes()
    entry = _journal_cases(tmp_path, root / "masks")[case]
    (root / save_journal.JOURNAL_FILE).write_text(json.dumps({"version": 1, "images": [entry]}))
    saved = save(root, images[0])
    assert len(saved.notes) == 1 and "not used" in saved.notes[0] and "saving goes on" in saved.notes[0]
    assert str(root / save_journal.JOURNAL_FILE) in saved.notes[0]
    assert not (root / save_journal.JOURNAL_FILE).exists()
    aside = list(root.glob(save_journal.JOURNAL_FILE + ".refused-*"))
    assert len(aside) == 1 and json.loads(aside[0].read_text())["images"] == [entry]
    bogus = {entry["mask"], entry["file_name"], "evil.png"}
    assert not bogus & set(read_report(root)["per_image"]) and not bogus & set(read_edited(root))
    assert not bogus & set(read_image_mask_map(root)) and evil.read_bytes() == before
    again = save(root, images[1])  # and the next save just works
    assert again.notes == () and len(read_image_mask_map(root)) == 2


def test_an_unreadable_journal_is_set_aside_with_a_message(folder) -> None:
    root, images = folder
    (root / save_journal.JOURNAL_FILE).write_text('{"version": 1, "images": [{"file_na')
    saved = save(root, images[0])
    assert "cannot read JSON" in saved.notes[0] and list(root.glob(".save-journal.json.refused-*"))
    assert read_image_mask_map(root) == {images[0][0]: saved.mask_name}


# ------------------------------------------------------------------------------------------ item 9
def _twelve_saved(root: Path, images: list) -> list[str]:
    for k, image in enumerate(images[:12]):
        save(root, image, 1 + k % 3)
    return [i[0] for i in images[:12]]


def _truncate(path: Path) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 8])  # what a cut copy left: the first record or so
    return data[: len(data) // 8]


def test_a_truncated_edited_json_is_recovered_from_its_backup(folder) -> None:
    root, images = folder
    names = _twelve_saved(root, images)
    full = read_edited(root)
    cut = _truncate(root / EDITED_FILE)
    saved = save(root, images[12])
    note = saved.notes[0]
    assert (
        "kept as edited.json.damaged-" in note
        and "12 from the backup" in note
        and "No record was lost" in note
    )
    aside = list(root.glob(EDITED_FILE + ".damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == cut  # the damaged file is kept as it was
    records = read_edited(root)
    assert sorted(records) == sorted([*names, images[12][0]])
    assert all(records[n] == full[n] for n in names)  # every record as it was, not rebuilt
    assert json.loads((root / BACKUP_FILE).read_text())["images"] == records


def test_without_a_backup_records_come_from_the_file_and_the_masks(folder) -> None:
    root, images = folder
    names = _twelve_saved(root, images)
    (root / BACKUP_FILE).unlink()
    _truncate(root / EDITED_FILE)
    saved = save(root, images[12])
    assert "No record was lost" not in saved.notes[0] and "could not be recovered" not in saved.notes[0]
    assert set(names) <= set(read_edited(root))  # masks saved after the folder was made are edits


def test_records_that_cannot_be_recovered_are_named(folder) -> None:
    root, images = folder
    names = _twelve_saved(root, images)
    (root / BACKUP_FILE).unlink()
    text = (root / EDITED_FILE).read_text()
    cut_at = text.index(json.dumps(names[1])) + len(json.dumps(names[1])) + 20  # inside record 2
    (root / EDITED_FILE).write_text(text[:cut_at])
    later = time.time() + 60
    os.utime(root / "manifest.json", (later, later))  # as if every mask came from the generator
    saved = save(root, images[12])
    assert f"1 records could not be recovered: {names[1]}." in saved.notes[0]
    assert set(read_edited(root)) == {names[0], images[12][0]}
