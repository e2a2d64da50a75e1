"""Two "nodes" on localhost (two torchrun launches, one process each, c10d rendezvous, gloo on CPU) train
one run folder, written by rank 0 alone; the run then resumes in one process, keeping its global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cocoseg_gui.core.training.checkpoint import load_checkpoint
from tests.e2e.test_ddp import REPO, free_port
from tests.trainer_fixtures import person4  # noqa: F401


def train_args(data: Path, run: Path, epochs: int) -> list[str]:
    return [
        "-m", "cocoseg_gui.cli", "train", "--data", str(data), "--model", "unet", "--out", str(run),
        "--epochs", str(epochs), "--batch-size", "1", "--img-size", "64", "--unet-width", "8",
        "--workers", "0", "--log-every", "1", "--val-on-train", "--device", "cpu",
    ]  # fmt: skip


@pytest.mark.slow
def test_two_nodes_then_resume_on_one_process(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    endpoint = f"127.0.0.1:{free_port()}"
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
              "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "cocoseg-test"]  # fmt: skip
    nodes = [
        subprocess.Popen(
            [*launch, "--node-rank", str(rank), *train_args(person4, run, 1)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=400) for node in nodes]
    for node, (out, err) in zip(nodes, outputs):
        assert node.returncode == 0, out[-3000:] + err[-3000:]
    assert sum(out.count("training unet") for out, _ in outputs) == 1  # rank 0 alone prints
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("start") == 1
    assert events[0]["world_size"] == 2 and events[0]["steps_per_epoch"] == 2  # 4 images / 2 ranks / batch 1
    assert load_checkpoint(run / "last.pt")["train_state"]["world_size"] == 2

    # one process continues for a second epoch: batch 1 x 2 processes becomes batch 1 x 2 accumulation steps
    resume = [*train_args(person4, run, 2), "--resume", str(run / "last.pt")]
    proc = subprocess.run(
        [sys.executable, *resume], cwd=REPO, env=env, capture_output=True, text=True, timeout=400
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert [s["world_size"] for s in starts] == [2, 1] and starts[1]["steps_per_epoch"] == 4
    kept = [e for e in events if e["type"] == "warning" and e["kind"] == "resume_world_size"]
    assert len(kept) == 1 and "global batch of 2 images per optimiser step is kept" in kept[0]["message"]
    assert events[-1]["type"] == "end" and events[-1]["status"] == "finished"
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [0, 1]
    config = json.loads((run / "config.json").read_text())
    assert (config["batch_size"], config["grad_accum"], config["world_size"]) == (1, 2, 1)
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["train_state"]["world_size"] == 1
    # steps count batches of the new size: epoch 1's 2 batches of 2 images are 4 of 1, then 4 more
    assert ckpt["train_state"]["global_step"] == 4 + 4
