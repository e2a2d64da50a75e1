"""The PyInstaller build (scripts/build-app), smoke-tested: the frozen app takes a screenshot of the demo
offscreen and its CLI writes masks (with the ``spawn`` worker pool). Slow (minutes) and big (GBs with
torch): skipped unless COCOSEG_BUILD_TEST=1; COCOSEG_BUILD_DIST=DIR builds there (kept; a rebuild is
faster)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cocoseg_gui import __version__

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample_coco"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("COCOSEG_BUILD_TEST") != "1",
        reason="builds the app (minutes, GBs): set COCOSEG_BUILD_TEST=1",
    ),
]


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> Path:
    """The built app folder, built once with this interpreter's environment."""
    given = os.environ.get("COCOSEG_BUILD_DIST")
    dist = Path(given) if given else tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PYTHON_BIN=sys.executable)
    env.setdefault("BUILD_DIR", str(dist / "work"))  # PyInstaller's work folder: a rebuild there is faster
    build = [str(REPO / "scripts" / "build-app"), str(dist)]
    result = subprocess.run(build, env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-5000:]
    return dist / "cocoseg"


def frozen_env(tmp_path: Path) -> dict[str, str]:
    """No source tree on the path: only what the build bundled."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return dict(env, QT_QPA_PLATFORM="offscreen", COCOSEG_CACHE_DIR=str(tmp_path / "cache"))


def run(app: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(app), *args], cwd=tmp_path, env=frozen_env(tmp_path), capture_output=True, text=True, timeout=600
    )


def test_the_frozen_app_takes_a_screenshot_of_the_demo(app_dir: Path, tmp_path) -> None:
    shot = tmp_path / "shot.png"
    result = run(app_dir / "cocoseg-gui", tmp_path, "--screenshot", str(shot), "--panel", "masks")
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as im:
        assert im.size == (1440, 900)
        assert len(set(im.convert("RGB").getdata())) > 5000  # photographs, not an empty window


def test_the_frozen_app_trains_in_the_train_panel(app_dir: Path, tmp_path) -> None:
    # torch and torchvision (its operators load from _C_stable.so, which the spec adds) in the bundle
    shot = tmp_path / "train.png"
    result = run(app_dir / "cocoseg-gui", tmp_path, "--screenshot", str(shot), "--panel", "train")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert shot.is_file()


def test_the_frozen_cli_is_reachable_both_ways(app_dir: Path, tmp_path) -> None:
    for args in ((app_dir / "cocoseg", "--version"), (app_dir / "cocoseg-gui", "cli", "--version")):
        result = run(args[0], tmp_path, *args[1:])
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"cocoseg {__version__}"


def test_the_frozen_cli_writes_masks_for_the_demo_val_set(app_dir: Path, tmp_path) -> None:
    out = tmp_path / "masks"
    result = run(
        app_dir / "cocoseg",
        tmp_path,
        "masks",
        "--annotations",
        str(SAMPLE / "annotations" / "instances_val2017.json"),
        "--images",
        str(SAMPLE / "val2017"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert len(list((out / "masks").glob("*.png"))) == 50


def test_the_frozen_cli_runs_the_spawn_worker_pool(app_dir: Path, tmp_path) -> None:
    # 100 images (the demo val set twice): enough for the process pool, whose spawned workers re-run the
    # frozen executable (multiprocessing.freeze_support must turn them into workers, not a second app)
    data = json.loads((SAMPLE / "annotations" / "instances_val2017.json").read_text(encoding="utf-8"))
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    images, annotations = [], []
    for copy in range(2):
        for info in data["images"]:
            new = dict(info, id=info["id"] * 10 + copy, file_name=f"c{copy}_{info['file_name']}")
            shutil.copy(SAMPLE / "val2017" / info["file_name"], images_dir / new["file_name"])
            images.append(new)
            annotations += [
                dict(a, id=len(annotations) + 1 + i, image_id=new["id"])
                for i, a in enumerate(a for a in data["annotations"] if a["image_id"] == info["id"])
            ]
    data.update(images=images, annotations=annotations)
    (tmp_path / "instances.json").write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "masks"
    result = run(
        app_dir / "cocoseg",
        tmp_path,
        "masks",
        "--annotations",
        str(tmp_path / "instances.json"),
        "--images",
        str(images_dir),
        "--out",
        str(out),
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert len(list((out / "masks").glob("*.png"))) == 100
