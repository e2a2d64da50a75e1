"""`python -m cocoseg_gui.cli masks` end to end, in a subprocess, on the sample data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def cocoseg(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCOSEG_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", "masks", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_masks_command_writes_the_folder(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    out = tmp_path / "out"
    args = ["--annotations", str(val_annotations), "--images", str(val_images), "--out", str(out)]
    result = cocoseg(*args, "--classes", "person,18", "--overlap", "later", "--workers", "2", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "50 masks" in result.stdout and "50/50" in result.stderr
    for name in ("category_mapping.json", "image_mask_map.json", "manifest.json", "report.json"):
        assert (out / name).is_file()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    masks = sorted((out / "masks").glob("*.png"))
    assert len(masks) == 50
    values = set()
    for p in masks:
        with Image.open(p) as img:
            assert img.mode == "P"
            values |= set(np.unique(np.asarray(img)).tolist())
    assert values == {0, 1, 2, 255}  # background, person, dog, crowd
    again = cocoseg(*args, "--classes", "person,18", "--overlap", "later", cache=tmp_path)
    assert again.returncode == 0 and "0 written, 50 kept" in again.stdout
    other = cocoseg(*args, "--crowd", "skip", cache=tmp_path)
    assert other.returncode == 2 and "--overwrite" in other.stderr


def test_bad_classes_exit_2_with_valid_names(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    result = cocoseg(
        "--annotations", str(val_annotations), "--images", str(val_images), "--out", str(tmp_path / "o"),
        "--classes", "person,unicorn", cache=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "\ncocoseg masks: error: unknown class 'unicorn'; valid names" in result.stderr
    assert "toothbrush" in result.stderr and "traffic light" in result.stderr


def test_broken_json_exit_2_naming_the_file(tmp_path: Path, val_images: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [{"id": 1,')
    args = ["--annotations", str(broken), "--images", str(val_images), "--out", str(tmp_path / "o")]
    result = cocoseg(*args, cache=tmp_path)
    assert result.returncode == 2
    assert "cocoseg masks: error:" in result.stderr and str(broken) in result.stderr
    assert not (tmp_path / "o" / "masks").exists()


def test_all_background_result_is_warned(tmp_path: Path, val_annotations: Path, val_images: Path) -> None:
    """A class that no sample image holds gives background-only masks: said loudly, not silently."""
    out = tmp_path / "out"
    args = ["--annotations", str(val_annotations), "--images", str(val_images), "--out", str(out)]
    result = cocoseg(*args, "--classes", "zebra", "--max-images", "5", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "all 5 masks are background only" in result.stderr


def test_refused_image_entries_warned_and_limit_option(
    tmp_path: Path, val_annotations: Path, val_images: Path
) -> None:
    """Bad image entries (0 width, NUL in the name, too many pixels) are refused with a warning, exit 0."""
    data = json.loads(val_annotations.read_text(encoding="utf-8"))
    data["images"][0]["width"] = 0
    data["images"][1]["file_name"] = "a\0b.jpg"
    ann = tmp_path / "bad_entries.json"
    ann.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "out"
    args = ["--annotations", str(ann), "--images", str(val_images), "--out", str(out)]
    result = cocoseg(*args, "--max-image-pixels", "300000", "--workers", "1", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    refused = json.loads((out / "report.json").read_text())["refused_images"]
    too_big = [img for img in data["images"][2:] if img["width"] * img["height"] > 300_000]
    assert len(refused) == 2 + len(too_big) and too_big
    assert f"warning: {len(refused)} image entries of {ann} refused" in result.stderr
    assert "size 0x" in result.stderr and "Traceback" not in result.stderr
    bad = cocoseg(*args, "--max-image-pixels", "0", "--out", str(tmp_path / "o2"), cache=tmp_path)
    assert bad.returncode == 2 and "--max-image-pixels: must be an integer at least 1" in bad.stderr
