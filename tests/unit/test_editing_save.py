"""Saving an edited mask (core.editing.save) into a real mask folder: round trip, report counts,
edited.json, bad maps, and failures midway that must leave the previous mask byte for byte."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.editing import save as save_module
from cocoseg_gui.core.editing import save_journal
from cocoseg_gui.core.editing.save import (
    EDITED_FILE,
    SaveError,
    read_edited,
    repair_interrupted_save,
    save_edited_mask,
)
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, read_image_mask_map, read_report
from cocoseg_gui.core.masks.png import read_mask_png
from tests.unit.editing_fixtures import first_mask, made_masks, mask_folder  # noqa: F401


def edited(label: np.ndarray, value: int) -> np.ndarray:
    out = label.copy()
    out[10:60, 20:90] = value
    return out


def totals(report: dict) -> dict[int, tuple[int, int]]:
    return {int(c["index"]): (int(c["pixels"]), int(c["images"])) for c in report["classes"]}


def test_save_round_trip_and_report_counts(mask_folder: Path) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    before = read_report(mask_folder)
    new = edited(label, 5)
    saved = save_edited_mask(mask_folder, name, new, new.shape, image_id=42)
    assert np.array_equal(read_mask_png(saved.mask_path), new)
    report = read_report(mask_folder)
    counts = np.bincount(new.ravel(), minlength=256)
    per_image = {int(k): v for k, v in report["per_image"][saved.mask_name].items()}
    assert per_image == {int(i): int(counts[i]) for i in np.flatnonzero(counts)}
    # totals over all images == the sum of every mask's bincount, as a fresh `cocoseg masks` would say
    reader = MaskDatasetFolder(mask_folder)
    counted = [np.bincount(reader.read_mask(f).ravel(), minlength=256) for f in reader.image_mask_map]
    all_counts, all_images = sum(counted), sum(c > 0 for c in counted)
    for index, (pixels, images) in totals(report).items():
        assert pixels == all_counts[index] and images == all_images[index], index
    assert set(totals(before)) <= set(totals(report))
    log = read_edited(mask_folder)
    assert log[name]["mask"] == saved.mask_name and log[name]["image_id"] == 42 and log[name]["saves"] == 1
    save_edited_mask(mask_folder, name, label, label.shape)
    assert read_edited(mask_folder)[name]["saves"] == 2 and read_report(mask_folder) == before | {
        "per_image": read_report(mask_folder)["per_image"]
    }


def test_a_new_image_gets_a_mask_and_a_map_entry(mask_folder: Path) -> None:  # noqa: F811
    label = np.zeros((40, 30), dtype=np.uint8)
    label[5:10, 5:10] = 1
    saved = save_edited_mask(mask_folder, "new/000000999999.jpg", label, (40, 30))
    assert read_image_mask_map(mask_folder)["new/000000999999.jpg"] == saved.mask_name == "000000999999.png"
    assert np.array_equal(MaskDatasetFolder(mask_folder).read_mask("new/000000999999.jpg"), label)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a[:-1], "but its image is"),
        (lambda a: np.where(a == 0, 250, a).astype(np.uint8), r"values \[250\] are not classes"),
    ],
)
def test_bad_maps_are_refused_naming_the_file(mask_folder: Path, change, message: str) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    path = MaskDatasetFolder(mask_folder).mask_path(name)
    old = path.read_bytes()
    bad = change(label)
    keep = bad.copy()
    with pytest.raises(DatasetError, match=message) as info:
        save_edited_mask(mask_folder, name, bad, label.shape)
    assert str(path) in str(info.value) and path.read_bytes() == old and np.array_equal(bad, keep)


def fail_replace_of(monkeypatch: pytest.MonkeyPatch, target: str, err: int) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == target:
            raise OSError(err, os.strerror(err))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_failed_png_write_keeps_the_old_file(mask_folder: Path, monkeypatch, err: int) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    path = MaskDatasetFolder(mask_folder).mask_path(name)
    old_png, old_report = path.read_bytes(), (mask_folder / "report.json").read_bytes()
    new = edited(label, 5)
    keep = new.copy()
    fail_replace_of(monkeypatch, path.name, err)
    with pytest.raises(SaveError, match="edits are kept in memory") as info:
        save_edited_mask(mask_folder, name, new, new.shape)
    assert str(path) in str(info.value) and info.value.path == path
    assert path.read_bytes() == old_png and (mask_folder / "report.json").read_bytes() == old_report
    assert not list(path.parent.glob(".*.tmp")) and np.array_equal(new, keep)
    assert not (mask_folder / EDITED_FILE).exists()


def test_a_failed_report_write_puts_the_old_mask_back(mask_folder: Path, monkeypatch) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    path = MaskDatasetFolder(mask_folder).mask_path(name)
    old_png, old_report = path.read_bytes(), (mask_folder / "report.json").read_bytes()
    fail_replace_of(monkeypatch, "report.json", errno.ENOSPC)
    with pytest.raises(SaveError, match=r"report\.json.*disk is full"):
        save_edited_mask(mask_folder, name, edited(label, 5), label.shape)
    assert path.read_bytes() == old_png and (mask_folder / "report.json").read_bytes() == old_report


def test_a_full_disk_at_fsync_is_a_clear_error(mask_folder: Path, monkeypatch) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    path = MaskDatasetFolder(mask_folder).mask_path(name)
    old_png = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SaveError, match=f"{path.name}.*disk is full"):
        save_edited_mask(mask_folder, name, edited(label, 5), label.shape)
    assert path.read_bytes() == old_png


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_a_clear_error(mask_folder: Path) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    masks = mask_folder / "masks"
    old = MaskDatasetFolder(mask_folder).mask_path(name).read_bytes()
    masks.chmod(0o555)
    try:
        with pytest.raises(SaveError, match="permission denied"):
            save_edited_mask(mask_folder, name, edited(label, 5), label.shape)
    finally:
        masks.chmod(0o755)
    assert MaskDatasetFolder(mask_folder).mask_path(name).read_bytes() == old


def test_edited_json_format(mask_folder: Path) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    save_edited_mask(mask_folder, name, edited(label, 3), label.shape, image_id=7)
    data = json.loads((mask_folder / EDITED_FILE).read_text())
    assert data["version"] == 1 and set(data["images"][name]) == {
        "mask",
        "image_id",
        "first_saved",
        "saved",
        "saves",
    }


# ------------------------------------------------------------------ a kill between the PNG and report.json
@pytest.mark.parametrize("kill", [KeyboardInterrupt, SystemExit])
def test_a_kill_after_the_png_is_repaired_at_the_next_save(mask_folder: Path, monkeypatch, kill) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    reader = MaskDatasetFolder(mask_folder)
    path, mask_name = reader.mask_path(name), reader.image_mask_map[name]
    new = edited(label, 5)
    real = save_module.atomic_write_json

    def killed(target, *args, **kwargs):
        if Path(target).name == "report.json":
            raise kill()  # the process dies here: no except clause of the save runs
        return real(target, *args, **kwargs)

    monkeypatch.setattr(save_module, "atomic_write_json", killed)
    with pytest.raises(kill):
        save_edited_mask(mask_folder, name, new, new.shape, image_id=3)
    monkeypatch.undo()
    assert np.array_equal(read_mask_png(path), new)  # the PNG was renamed ...
    stale = json.loads((mask_folder / "report.json").read_text())["per_image"][mask_name]
    assert stale != counts_of(new)  # ... report.json was not
    assert save_journal.pending(mask_folder)[0]["file_name"] == name

    assert repair_interrupted_save(mask_folder) == [name]  # what opening the folder runs
    report = json.loads((mask_folder / "report.json").read_text())
    assert report["per_image"][mask_name] == counts_of(new)
    totals = {c["index"]: c["pixels"] for c in report["classes"]}
    reader = MaskDatasetFolder(mask_folder)
    every = [reader.read_mask(n) for n in reader.image_mask_map]
    for index, pixels in totals.items():
        assert pixels == sum(int((m == index).sum()) for m in every)
    assert read_edited(mask_folder)[name]["mask"] == mask_name
    assert not save_journal.pending(mask_folder) and not (mask_folder / save_journal.JOURNAL_FILE).exists()
    assert repair_interrupted_save(mask_folder) == []


def test_a_kill_while_saving_a_new_image_completes_its_map_entry(mask_folder: Path, monkeypatch) -> None:  # noqa: F811
    _, label = first_mask(mask_folder)
    new = edited(np.zeros_like(label), 2)
    real = save_module.atomic_write_json

    def killed(target, *args, **kwargs):
        if Path(target).name == "report.json":
            raise KeyboardInterrupt
        return real(target, *args, **kwargs)

    monkeypatch.setattr(save_module, "atomic_write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        save_edited_mask(mask_folder, "unlabelled/new_image.jpg", new, new.shape)
    monkeypatch.undo()
    assert "unlabelled/new_image.jpg" not in MaskDatasetFolder(mask_folder).image_mask_map
    other, other_label = first_mask(mask_folder)
    save_edited_mask(mask_folder, other, other_label, other_label.shape)  # the next save repairs first
    reader = MaskDatasetFolder(mask_folder)
    assert reader.image_mask_map["unlabelled/new_image.jpg"] == "new_image.png"
    assert np.array_equal(reader.read_mask("unlabelled/new_image.jpg"), new)
    report = json.loads((mask_folder / "report.json").read_text())
    assert report["per_image"]["new_image.png"] == counts_of(new)


def test_a_kill_before_the_png_changes_nothing_and_the_repair_agrees(mask_folder: Path, monkeypatch) -> None:  # noqa: F811
    name, label = first_mask(mask_folder)
    path = MaskDatasetFolder(mask_folder).mask_path(name)
    old_png, old_report = path.read_bytes(), json.loads((mask_folder / "report.json").read_text())
    monkeypatch.setattr(save_module, "atomic_write_bytes", lambda *a, **k: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):
        save_edited_mask(mask_folder, name, edited(label, 5), label.shape)
    monkeypatch.undo()
    assert repair_interrupted_save(mask_folder) == [name]
    assert path.read_bytes() == old_png
    report = json.loads((mask_folder / "report.json").read_text())
    assert report["per_image"] == old_report["per_image"] and report["classes"] == old_report["classes"]
    assert name not in read_edited(mask_folder)


def counts_of(label: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(label, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}


def test_masks_overwrite_clears_the_editors_marks(
    mask_folder: Path,  # noqa: F811
    val_annotations: Path,
    val_images: Path,
    tmp_path: Path,
    monkeypatch,
) -> None:
    """`cocoseg masks --overwrite` with other options regenerates every mask: the edits are gone, so
    edited.json (the browser's marks) and a leftover save journal go too."""
    from cocoseg_gui.core.masks.job import generate_masks
    from cocoseg_gui.core.masks.options import MaskOptions

    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    name, label = first_mask(mask_folder)
    save_edited_mask(mask_folder, name, edited(label, 5), label.shape)
    (mask_folder / save_journal.JOURNAL_FILE).write_text('{"version": 1, "images": []}')
    assert name in read_edited(mask_folder)
    generate_masks(
        val_annotations,
        val_images,
        mask_folder,
        MaskOptions(workers=1, max_images=3, crowd="skip"),
        overwrite=True,
    )
    assert read_edited(mask_folder) == {} and not (mask_folder / EDITED_FILE).exists()
    assert not (mask_folder / ".edited-backup.json").exists()  # its backup goes with it
    assert not (mask_folder / save_journal.JOURNAL_FILE).exists()
    assert not np.array_equal(MaskDatasetFolder(mask_folder).read_mask(name), edited(label, 5))
