"""core.coco_export and `cocoseg export-coco` in-process: bad input named by file, nothing overwritten,
what is kept, new images, ignore pixels, --project, cancel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.cli import main
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.png import read_mask_png, write_mask_png

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_coco"
FIRST = "000000397133.jpg"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, val_annotations: Path, val_images: Path) -> Path:
    """Masks of the first 6 val images (person, dog, car only), in tmp_path."""
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "masks"
    options = MaskOptions(classes=("person", "dog", "car"), max_images=6, workers=1)
    generate_masks(val_annotations, val_images, out, options)
    return out


def mask_file(folder: Path, file_name: str) -> Path:
    return folder / "masks" / json.loads((folder / "image_mask_map.json").read_text())[file_name]


def test_unedited_folder_keeps_the_file_as_it_is(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    out = tmp_path / "out.json"
    rep = export_coco(folder, out, val_annotations)
    assert (rep.edited, rep.unchanged, rep.without_mask, rep.components) == (0, 6, 44, 0)
    exported, original = json.loads(out.read_text()), json.loads(val_annotations.read_text())
    # info alone gains the mark that lets a later export replace this file (the output guard, issue 18)
    mark = exported["info"].pop("cocoseg_export")
    assert mark == f"exported by cocoseg export-coco from {folder.name}"
    assert exported == original


def test_edited_image_keeps_what_its_mask_cannot_show(
    folder: Path, tmp_path: Path, val_annotations: Path
) -> None:
    """Only the selected classes are redrawn; annotations of other categories stay as they were."""
    path = mask_file(folder, FIRST)
    mask = read_mask_png(path).copy()
    mask[:] = np.where(mask == 1, 0, mask)  # erase every person
    write_mask_png(path, mask)
    out = tmp_path / "out.json"
    rep = export_coco(folder, out, val_annotations)
    assert rep.edited == 1 and rep.unchanged == 5 and rep.replaced > 0
    original = json.loads(val_annotations.read_text())
    image_id = next(img["id"] for img in original["images"] if img["file_name"] == FIRST)
    before = [a for a in original["annotations"] if a["image_id"] == image_id]
    after = [a for a in json.loads(out.read_text())["annotations"] if a["image_id"] == image_id]
    assert after == [a for a in before if a["category_id"] not in (1, 3, 18)]  # only persons were drawn


def test_new_image_in_the_folder_is_appended(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    shutil.copyfile(mask_file(folder, FIRST), folder / "masks" / "extra.png")
    listed = json.loads((folder / "image_mask_map.json").read_text())
    (folder / "image_mask_map.json").write_text(json.dumps({**listed, "new/extra.jpg": "extra.png"}))
    out = tmp_path / "out.json"
    rep = export_coco(folder, out, val_annotations)
    assert rep.new_images == 1 and rep.images == 51 and rep.inexact == []
    doc = json.loads(out.read_text())
    entry = doc["images"][-1]
    assert entry["file_name"] == "new/extra.jpg" and entry["id"] > max(i["id"] for i in doc["images"][:-1])
    assert (entry["height"], entry["width"]) == read_mask_png(folder / "masks" / "extra.png").shape
    assert {a["category_id"] for a in doc["annotations"] if a["image_id"] == entry["id"]} == {1}


def test_painted_ignore_outside_crowd_is_reported(
    folder: Path, tmp_path: Path, val_annotations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mask_file(folder, FIRST)
    mask = read_mask_png(path).copy()
    mask[0:10, 0:10] = 255
    write_mask_png(path, mask)
    out = tmp_path / "out.json"
    report = tmp_path / "r.json"
    args = ["--masks", str(folder), "--annotations", str(val_annotations), "--report", str(report)]
    code = main(["export-coco", *args, "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "cocoseg export-coco: warning: 100 ignore (255) pixels in 1 image lie in no original crowd" in err
    rep = json.loads(report.read_text())
    assert rep["ignore_images"] == [FIRST] and rep["inexact_images"] == [FIRST]


@pytest.mark.parametrize(
    ("damage", "named", "problem"),
    [
        ("mapping", "category_mapping.json", "file not found"),
        ("value", "000000397133.png", "pixel values 7 are not classes of category_mapping.json"),
        ("size", "000000397133.png", "the mask is 20x10 pixels (width x height) but image id 397133"),
        ("map", "image_mask_map.json", "file not found"),
        ("options", "manifest.json", "no recorded mask options"),
    ],
)
def test_bad_folder_is_named(
    folder: Path, tmp_path: Path, val_annotations: Path, capsys: pytest.CaptureFixture[str],
    damage: str, named: str, problem: str,
) -> None:  # fmt: skip
    if damage == "mapping":
        (folder / "category_mapping.json").unlink()
    elif damage == "value":
        path = mask_file(folder, FIRST)
        mask = read_mask_png(path).copy()
        mask[5, 5] = 7  # K = 3
        write_mask_png(path, mask)
    elif damage == "size":
        write_mask_png(mask_file(folder, FIRST), np.zeros((10, 20), np.uint8))
    elif damage == "map":
        (folder / "image_mask_map.json").unlink()
    else:
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest["options"]
        (folder / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out.json"
    code = main(
        ["export-coco", "--masks", str(folder), "--annotations", str(val_annotations), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "\ncocoseg export-coco: error: " in "\n" + err and named in err and problem in err
    assert not out.exists()


def test_category_missing_from_the_annotations(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    doc = json.loads(val_annotations.read_text())
    doc["categories"] = [c for c in doc["categories"] if c["id"] != 18]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match=r"category_mapping.json: category id 18 \('dog'\) is not among"):
        export_coco(folder, tmp_path / "out.json", other)


def test_never_overwrites_an_input(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    copy = tmp_path / "instances.json"
    shutil.copyfile(val_annotations, copy)
    before = copy.read_bytes()
    with pytest.raises(OptionsError, match="is the input annotations file"):
        export_coco(folder, copy, copy)
    with pytest.raises(OptionsError, match="is the input annotations file"):  # the one the manifest names
        export_coco(folder, val_annotations, None)
    with pytest.raises(OptionsError, match=r"mask folder's manifest\.json"):
        export_coco(folder, folder / "manifest.json", copy)
    with pytest.raises(OptionsError, match="unknown format 'svg'"):
        export_coco(folder, tmp_path / "x.json", copy, "svg")
    assert copy.read_bytes() == before


def test_other_annotations_file_is_warned(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    other = tmp_path / "copy.json"
    shutil.copyfile(val_annotations, other)
    rep = export_coco(folder, tmp_path / "out.json", other)
    assert rep.unchanged == 6
    assert any("is not the annotations file the masks were made from" in w for w in rep.warnings)


def test_cancel_writes_nothing(folder: Path, tmp_path: Path, val_annotations: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export_coco(folder, tmp_path / "out.json", val_annotations, cancel=token)
    assert not (tmp_path / "out.json").exists()


def test_project_fills_masks_and_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "proj"
    assert main(["project", "init", str(project), "--coco", str(SAMPLE)]) == 0
    masks = [
        "masks",
        "--project",
        str(project),
        "--dataset",
        "val2017",
        "--max-images",
        "3",
        "--workers",
        "1",
    ]
    assert main(masks) == 0
    capsys.readouterr()
    assert main(["export-coco", "--project", str(project), "--out", str(tmp_path / "out.json")]) == 0
    assert "50 images (0 edited, 3 unchanged, 0 new, 47 without a mask" in capsys.readouterr().out
    assert main(["export-coco", "--dataset", "val2017", "--out", str(tmp_path / "o.json")]) == 2
    assert "--dataset needs --project" in capsys.readouterr().err


def test_mask_options_read_back_from_the_manifest() -> None:
    options = MaskOptions(classes=("person", "18"), overlap="priority", priority=("dog",), crowd="skip",
                          min_area=4.5, max_images=7, follow_symlinks=True, workers=1)  # fmt: skip
    assert MaskOptions.from_json(json.loads(json.dumps(options.to_json()))).to_json() == options.to_json()
    later = MaskOptions.from_json({"crowd": "class", "future_key": 1})  # a key of a later version: ignored
    assert later.to_json() == MaskOptions(crowd="class").to_json()
