"""`cocoseg masks` -> `train` -> `evaluate` -> `predict` -> `export` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample_coco"
TINY = ["--img-size", "64", "--unet-width", "8", "--workers", "0", "--batch-size", "2", "--device", "cpu"]


def cocoseg(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def person_masks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("masks")
    proc = cocoseg(
        "masks", "--annotations", str(SAMPLE / "annotations" / "instances_val2017.json"),
        "--images", str(SAMPLE / "val2017"), "--out", str(out), "--classes", "person", "--max-images", "6",
        "--workers", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_train_evaluate_predict_export(person_masks: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = cocoseg(
        "train", "--data", str(person_masks), "--model", "unet", "--out", str(run), "--epochs", "2",
        "--val-fraction", "0.34", "--log-every", "1", "--time-budget", "1h", *TINY,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "training unet" in out and "4 train / 2 val images, 2 classes" in out
    assert "epoch 1/2 step 1/2 loss" in out and "epoch 2/2 done: train_loss" in out
    assert "finished after 2 epochs" in out
    assert {"config.json", "split.json", "metrics.jsonl", "last.pt", "best.pt"} <= {
        p.name for p in run.iterdir()
    }
    config = json.loads((run / "config.json").read_text())
    assert config["time_budget_s"] == 3600 and [c["name"] for c in config["classes"]] == [
        "background",
        "person",
    ]

    proc = cocoseg("evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(person_masks), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["num_images"] == 6 and set(result["per_class_iou"]) == {"background", "person"}
    present = [v for v in result["per_class_iou"].values() if v is not None]
    assert result["miou"] == pytest.approx(sum(present) / len(present))
    proc = cocoseg("evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(person_masks))
    assert proc.returncode == 0 and f"mIoU {result['miou']:6.4f}" in proc.stdout
    assert "person" in proc.stdout and "worst images:" in proc.stdout

    images = sorted((SAMPLE / "val2017").glob("*.jpg"))[:3]
    pred_dir = tmp_path / "pred"
    proc = cocoseg("predict", "--checkpoint", str(run / "best.pt"), *map(str, images), "--out", str(pred_dir),
                   "--overlay", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "3 masks and 3 overlays written" in proc.stdout
    for image in images:
        mask = Image.open(pred_dir / f"{image.stem}.png")
        assert mask.mode == "P" and mask.size == Image.open(image).size
        assert (pred_dir / "overlays" / f"{image.stem}.jpg").is_file()

    proc = cocoseg("export-onnx", "--checkpoint", str(run / "best.pt"), "--onnx", str(tmp_path / "m.onnx"))
    try:
        import onnx  # noqa: F401
    except ImportError:
        assert proc.returncode == 2 and "pip install onnx" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "m.onnx").stat().st_size > 10_000


def interrupted_training(
    person_masks: Path, run: Path, sig: signal.Signals
) -> tuple[subprocess.Popen[str], str, str]:
    """A long `cocoseg train` sent ``sig`` once its first step is logged; (process, stdout, stderr)."""
    cmd = [sys.executable, "-m", "cocoseg_gui.cli", "train", "--data", str(person_masks), "--model", "unet",
           "--out", str(run), "--epochs", "500", "--log-every", "1", "--val-on-train", *TINY]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 240
    for line in proc.stdout:  # wait until training runs
        if " step " in line or time.monotonic() > deadline:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=240)
    return proc, out, err


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_that_resumes(person_masks: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc, out, err = interrupted_training(person_masks, run, signal.SIGINT)
    assert proc.returncode == 130, err
    assert "stopping after the current step" in err and "--resume" in err
    assert "cancelled after 0 epochs" in out and "(cancelled by the user)" in out
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["status"] == "cancelled" and events[-2]["type"] == "checkpoint"

    done = events[-1]["epochs_done"]
    proc2 = cocoseg("train", "--data", str(person_masks), "--model", "unet", "--out", str(run), "--epochs",
                    str(done + 1), "--val-on-train", "--resume", str(run / "last.pt"), *TINY)  # fmt: skip
    assert proc2.returncode == 0, proc2.stderr
    assert f"resumed at epoch {done + 1}" in proc2.stdout and "finished" in proc2.stdout


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_with_last_pt_and_an_end_event(person_masks: Path, tmp_path: Path) -> None:
    """Issue 12 item 16: SIGTERM (kill, a scheduler's stop) saves last.pt, logs the end, exits 143."""
    run = tmp_path / "run"
    proc, out, err = interrupted_training(person_masks, run, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert "SIGTERM: stopping after the current step" in err and "--resume" in err
    assert "(stopped by SIGTERM)" in out
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["status"] == "cancelled" and events[-1]["reason"] == "stopped by SIGTERM"
    assert events[-2]["type"] == "checkpoint" and (run / "last.pt").is_file()


def test_new_run_into_a_finished_run_is_refused(person_masks: Path, tmp_path: Path) -> None:
    """Issue 12 item 2, as a user types it: exit 2, the three ways out, nothing replaced."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"the user's best model")
    proc = cocoseg("train", "--data", str(person_masks), "--model", "unet", "--out", str(run), *TINY)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "already holds a run (best.pt)" in proc.stderr
    assert all(way in proc.stderr for way in ("--resume", "another --out", "--overwrite"))
    assert (run / "best.pt").read_bytes() == b"the user's best model" and sorted(run.iterdir()) == [
        run / "best.pt"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--data", "no/such/dir", "--model", "unet", "--out", "x"],
            "mask dataset folder not found",
        ),
        (
            ["train", "--data", ".", "--model", "unet", "--out", "x", "--time-budget", "soon"],
            "invalid duration",
        ),
        (["evaluate", "--checkpoint", "README.md", "--data", "."], "README.md: not a cocoseg checkpoint"),
    ],
)
def test_clear_errors(args: list[str], message: str, tmp_path: Path) -> None:
    args = [str(tmp_path / a) if a == "x" else a for a in args]
    proc = cocoseg(*args)
    assert proc.returncode == 2
    assert f"cocoseg {args[0]}: error:" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr
