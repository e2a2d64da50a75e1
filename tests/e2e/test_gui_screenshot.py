"""`cocoseg-gui --screenshot` end to end, in a subprocess with the offscreen Qt platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from cocoseg_gui.core.class_map import ClassMapping
from cocoseg_gui.core.coco_index import CocoIndex
from cocoseg_gui.core.mask_options import MaskOptions
from cocoseg_gui.core.palette import class_color
from cocoseg_gui.core.rasterize import rasterize_image

REPO = Path(__file__).resolve().parents[2]


def run_gui(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COCOSEG_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def largest_class_of_first_image(tmp_path: Path) -> int:
    index = CocoIndex.load(
        REPO / "resources/sample_coco/annotations/instances_val2017.json", cache_dir=tmp_path
    )
    mask = rasterize_image(
        index, int(index.image_ids()[0]), ClassMapping.from_categories(index.categories), MaskOptions()
    )
    counts = np.bincount(mask.ravel(), minlength=256)
    counts[[0, 255]] = 0
    return int(np.argmax(counts))


def test_screenshot_of_the_demo(tmp_path) -> None:
    shot = tmp_path / "shot.png"
    result = run_gui(tmp_path, "--screenshot", str(shot), "--panel", "masks")
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout
    with Image.open(shot) as im:
        assert im.size == (1440, 900)
        rgb = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 5000  # photographs and thumbnails, not an empty window
    # the legend of the first image (file order) shows the swatch of its largest class
    color = np.array(class_color(largest_class_of_first_image(tmp_path)), dtype=np.int16)
    distance = np.abs(rgb.astype(np.int16) - color).sum(axis=1)
    assert (distance < 30).sum() > 100


def test_screenshot_of_a_broken_dataset_fails_with_a_message(tmp_path) -> None:
    broken = tmp_path / "instances_val2017.json"
    broken.write_text("[1, 2", encoding="utf-8")
    shot = tmp_path / "shot.png"
    result = run_gui(
        tmp_path,
        "--annotations",
        str(broken),
        "--images",
        str(REPO / "resources/sample_coco/val2017"),
        "--screenshot",
        str(shot),
    )
    assert result.returncode == 2
    assert "instances_val2017.json" in result.stderr and "error" in result.stderr
    assert not shot.exists()


def test_screenshot_of_a_missing_file_fails_at_once(tmp_path) -> None:
    result = run_gui(
        tmp_path, "--annotations", str(tmp_path / "nope.json"), "--screenshot", str(tmp_path / "s.png")
    )
    assert result.returncode == 2
    assert "nope.json: does not exist" in result.stderr
