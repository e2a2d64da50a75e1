"""Two CPU processes with gloo (torchrun) train one epoch: one writer, metrics reduced over both ranks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cocoseg_gui.core.training.checkpoint import load_checkpoint
from tests.trainer_fixtures import person4  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_process_gloo_training(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    from cocoseg_gui.core.training.data import MaskDataset, build_transforms
    from cocoseg_gui.core.training.metrics import ConfusionMatrix
    from cocoseg_gui.core.training.models import build_model

    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
        "-m", "cocoseg_gui.cli", "train", "--data", str(person4), "--model", "unet", "--out", str(run),
        "--epochs", "1", "--batch-size", "1", "--img-size", "64", "--unet-width", "8", "--workers", "0",
        "--log-every", "1", "--val-on-train", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("training unet") == 1  # only rank 0 prints
    assert sorted(p.name for p in run.iterdir()) == [
        "best.pt",
        "config.json",
        "last.pt",
        "metrics.jsonl",
        "run_inputs.json",
    ]
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("start") == 1
    assert events[0]["world_size"] == 2 and events[0]["steps_per_epoch"] == 2  # 4 images / 2 ranks / batch 1
    assert events[-1]["type"] == "end" and events[-1]["status"] == "finished"
    steps = [e for e in events if e["type"] == "step"]
    assert [e["global_step"] for e in steps] == [1, 2]
    epoch = next(e for e in events if e["type"] == "epoch")
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["train_state"]["world_size"] == 2
    # the epoch's mIoU is over all 4 validation images (confusion matrices summed over ranks)
    model = build_model("unet", 2, **ckpt["model"]["kwargs"])
    model.load_state_dict(ckpt["model"]["state_dict"])
    model.eval()
    ds = MaskDataset(person4, transform=build_transforms(64, train=False))
    cm = ConfusionMatrix(2, 255)
    with torch.no_grad():
        for i in range(len(ds)):
            image, mask = ds[i]
            cm.update(model(image[None]).argmax(1), mask[None])
    assert epoch["miou"] == pytest.approx(cm.compute()["miou"], rel=1e-5)
