"""`cocoseg-gui --screenshot` end to end, in a subprocess with the offscreen Qt platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.palette import display_palette, distinct_colors
from cocoseg_gui.core.masks.rasterize import rasterize_image
from tests.gui.bad_datasets import FIRST_IMAGE_PROBLEMS, tiny_dataset

REPO = Path(__file__).resolve().parents[2]


def run_gui(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COCOSEG_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def largest_class_colour_of_first_image(tmp_path: Path) -> tuple[int, int, int]:
    """The on-screen colour of the first image's largest class (its classes told apart, ADR 0029)."""
    index = CocoIndex.load(
        REPO / "resources/sample_coco/annotations/instances_val2017.json", cache_dir=tmp_path
    )
    mask = rasterize_image(
        index, int(index.image_ids()[0]), ClassMapping.from_categories(index.categories), MaskOptions()
    )
    counts = np.bincount(mask.ravel(), minlength=256)
    counts[[0, 255]] = 0
    table = distinct_colors(display_palette(), np.flatnonzero(counts))
    r, g, b = (int(v) for v in table[int(np.argmax(counts))])
    return r, g, b


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
    color = np.array(largest_class_colour_of_first_image(tmp_path), dtype=np.int16)
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


# far below the 300 s the screenshot used to wait for a first image that never came
NO_WAITING_S = 120


@pytest.mark.parametrize("problem", FIRST_IMAGE_PROBLEMS)
def test_screenshot_with_a_first_image_that_cannot_be_shown_goes_on(tmp_path, problem: str) -> None:
    annotations = tiny_dataset(tmp_path / "data", problem)
    shot = tmp_path / "shot.png"
    result = run_gui(
        tmp_path,
        "--annotations",
        str(annotations),
        "--images",
        str(annotations.parent / "images"),
        "--screenshot",
        str(shot),
        timeout=NO_WAITING_S,
    )
    assert result.returncode == 0, result.stderr
    assert "cocoseg-gui: warning:" in result.stderr  # the problem, on stderr
    assert "Traceback" not in result.stderr
    assert "saved" in result.stdout
    with Image.open(shot) as im:
        assert im.size == (1440, 900)


def test_screenshot_of_a_dataset_with_300_categories(tmp_path) -> None:
    annotations = tiny_dataset(tmp_path / "data", extra_categories=300 - 80)
    shot = tmp_path / "shot.png"
    result = run_gui(
        tmp_path, "--annotations", str(annotations), "--screenshot", str(shot), timeout=NO_WAITING_S
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "warning: 300 categories" in result.stderr and "first 254 by id" in result.stderr
    assert shot.is_file()


def test_screenshot_of_the_train_workspace_trains_unattended(tmp_path) -> None:
    """The demo's only masks are the val split's: the role question must not wait for nobody (it did)."""
    shot = tmp_path / "train.png"
    result = run_gui(tmp_path, "--screenshot", str(shot), "--panel", "train", "--size", "1024x700")
    assert result.returncode == 0, result.stderr
    assert "timed out" not in result.stderr and "saved" in result.stdout, result.stdout + result.stderr
    with Image.open(shot) as im:
        assert im.size == (1024, 700)
