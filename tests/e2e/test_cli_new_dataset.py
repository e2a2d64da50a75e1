"""`cocoseg new-dataset` end to end: an empty mask folder, in a project as an unlabelled dataset, then
labelled in part (as the editor saves) and exported with `cocoseg export-coco`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.project.project import Project, Role

REPO = Path(__file__).resolve().parents[2]


def cocoseg(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCOSEG_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_new_dataset_in_a_project_then_label_and_export(
    val_images: Path, val_annotations: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert cocoseg("project", "init", tmp_path / "proj", cache=cache).returncode == 0
    run = cocoseg(
        "new-dataset", "--images", val_images, "--classes-from", val_annotations,
        "--project", tmp_path / "proj", "--name", "to label", cache=cache,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "50 images, 80 classes, no mask yet" in run.stdout
    project = Project.load(tmp_path / "proj")
    entry = project.dataset("to-label")
    assert entry.role is Role.UNLABELLED and entry.masks == tmp_path / "proj" / "masks" / "to-label"
    assert entry.images == val_images.absolute() and entry.annotations == entry.masks / "images.json"
    # label one image (a rectangle of class 1, "person") as the editor's save does
    images = json.loads(entry.annotations.read_text())["images"]
    first = images[0]
    label = np.zeros((first["height"], first["width"]), np.uint8)
    label[10:60, 20:90] = 1
    save_edited_mask(entry.masks, first["file_name"], label, label.shape)
    out = tmp_path / "labelled.json"
    run = cocoseg("export-coco", "--masks", entry.masks, "--out", out, cache=cache)
    assert run.returncode == 0, run.stderr
    coco = json.loads(out.read_text())
    assert [i["file_name"] for i in coco["images"]] == [first["file_name"]]  # only the labelled image
    assert len(coco["annotations"]) == 1 and coco["annotations"][0]["area"] == 50 * 70
    assert coco["annotations"][0]["category_id"] == 1
    # with --project the dataset's images.json is not taken as original annotations: the same output
    run = cocoseg("export-coco", "--project", tmp_path / "proj", "--out", tmp_path / "p.json", cache=cache)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "p.json").read_text())["images"] == coco["images"]
    # bad input: a class list repeating a name, an image folder without images
    bad = cocoseg(
        "new-dataset", "--images", val_images, "--classes", "cat,cat", "--out", tmp_path / "x", cache=cache
    )
    assert bad.returncode == 2 and "'cat' is given twice" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "empty").mkdir()
    bad = cocoseg(
        "new-dataset",
        "--images",
        tmp_path / "empty",
        "--classes",
        "cat",
        "--out",
        tmp_path / "y",
        cache=cache,
    )
    assert bad.returncode == 2 and "no image file" in bad.stderr
