"""`cocoseg import` / `cocoseg export --format F` end to end (issue 22): the commands a user types, the
files they leave, the messages for old command names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import Project

REPO = Path(__file__).resolve().parents[2]


def cocoseg(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCOSEG_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def val_masks(tmp_path_factory: pytest.TempPathFactory, val_annotations: Path, val_images: Path) -> Path:
    out = tmp_path_factory.mktemp("cli_formats") / "val_masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1))
    return out


def test_export_voc_then_import_it_back_into_a_project(
    val_masks: Path, val_images: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    exported = cocoseg("export", val_masks, "--format", "voc", "--out", tmp_path / "voc", cache=cache)
    assert exported.returncode == 0, exported.stderr
    assert "wrote" in exported.stdout and "50 images" in exported.stdout
    voc = tmp_path / "voc"
    assert len(list((voc / "SegmentationClass").glob("*.png"))) == 50
    assert (voc / "ImageSets" / "Segmentation" / "trainval.txt").read_text().count("\n") == 50
    assert (voc / "labelmap.txt").read_text().splitlines()[1] == "background:0,0,0::"
    assert cocoseg("project", "init", tmp_path / "proj", cache=cache).returncode == 0
    imported = cocoseg(
        "import", "--format", "voc", voc, "--out", tmp_path / "back", "--project", tmp_path / "proj",
        "--role", "val", cache=cache,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "imported 50 images, 80 classes" in imported.stdout and "as back (val)" in imported.stdout
    before, after = MaskDatasetFolder(val_masks), MaskDatasetFolder(tmp_path / "back")
    assert after.images_dir == (voc / "JPEGImages").resolve()  # VOC's own image folder, copied by the export
    assert all(np.array_equal(before.read_mask(n), after.read_mask(n)) for n in before.image_mask_map)
    entry = Project.load(tmp_path / "proj").dataset("back")
    assert entry.masks == tmp_path / "back" and entry.images == voc / "JPEGImages"
    again = cocoseg("import", "--format", "voc", voc, "--out", tmp_path / "back", cache=cache)
    assert again.returncode == 2 and "already holds a mask folder; pass --overwrite" in again.stderr


def test_export_format_coco_is_export_coco(val_masks: Path, val_annotations: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    base = ["--annotations", val_annotations, "--segmentation", "polygon"]
    new = cocoseg("export", val_masks, "--format", "coco", "--out", tmp_path / "a.json", *base, cache=cache)
    old = cocoseg("export-coco", "--masks", val_masks, "--out", tmp_path / "b.json", "--annotations",
                  val_annotations, "--format", "polygon", cache=cache)  # fmt: skip
    assert new.returncode == 0 and old.returncode == 0, new.stderr + old.stderr
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a == b


def test_the_old_export_command_points_to_export_onnx(tmp_path: Path) -> None:
    for argv in (["--checkpoint", "runs/best.pt", "--onnx", "m.onnx"], ["runs/best.pt", "--format", "voc"]):
        result = cocoseg("export", *argv, cache=tmp_path)
        assert result.returncode == 2
        assert "runs/best.pt: the ONNX export is now `cocoseg export-onnx --checkpoint" in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_input_is_a_message_never_a_traceback(val_masks: Path, tmp_path: Path) -> None:
    cases = [
        (["import", "--format", "voc", tmp_path / "missing", "--out", tmp_path / "o"], "missing: not found"),
        (["import", "--format", "tiff", tmp_path, "--out", tmp_path / "o"], "unknown format 'tiff'"),
        (["export", val_masks, "--format", "voc"], "the following arguments are required: --out"),
        (["export", tmp_path / "nowhere", "--format", "voc", "--out", tmp_path / "o"], "folder not found"),
    ]
    for argv, message in cases:
        result = cocoseg(*argv, cache=tmp_path / "cache")
        assert result.returncode == 2, result.stdout
        assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
