"""Following a run folder another process writes: appended events only, cut lines kept, state from the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.training.event_types import EndEvent, EpochEvent, StartEvent, StepEvent
from cocoseg_gui.core.training.run_follow import RunFollower, RunState
from tests.trainer_fixtures import person4  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def line(obj: dict) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def test_a_poll_reads_only_what_was_appended_and_keeps_a_cut_line(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    follow = RunFollower(tmp_path)
    assert follow.poll().state is RunState.WAITING
    start = line({"type": "start", "model": "unet", "world_size": 2})
    step = line({"type": "step", "epoch": 0, "step": 1, "global_step": 1, "loss": 0.5, "lr": 0.1})
    log.write_bytes(start + step[:20])  # the writer is half-way through the step line
    first = follow.poll()
    assert [type(e) for e in first.events] == [StartEvent] and first.state is RunState.RUNNING
    with open(log, "ab") as fh:
        fh.write(step[20:])
    second = follow.poll()
    assert [type(e) for e in second.events] == [StepEvent] and second.events[0].loss == 0.5
    assert follow.poll().events == []
    with open(log, "ab") as fh:
        fh.write(line({"type": "end", "status": "cancelled", "reason": "stopped"}))
    assert follow.poll().state is RunState.STOPPED
    log.write_bytes(start)  # a fresh run over the folder: shorter file
    again = follow.poll()
    assert again.reset and [type(e) for e in again.events] == [StartEvent] and again.state is RunState.RUNNING


def test_bad_lines_and_a_missing_folder_are_named(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"type": "start"}\nnot json\n')
    with pytest.raises(DatasetError, match="line 2 is not JSON"):
        RunFollower(tmp_path).poll()
    with pytest.raises(DatasetError, match="run folder not found"):
        RunFollower(tmp_path / "gone").poll()


@pytest.mark.slow
def test_follows_a_cli_run_in_another_process_to_its_end(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "cocoseg_gui.cli", "train", "--data", str(person4), "--model", "unet",
        "--out", str(run), "--epochs", "3", "--batch-size", "1", "--img-size", "64", "--unet-width", "8",
        "--workers", "0", "--log-every", "1", "--val-on-train", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    follow = RunFollower(run)
    seen, states, polls = [], set(), 0
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        if not run.is_dir():
            time.sleep(0.2)
            continue
        update = follow.poll()
        seen += update.events
        states.add(update.state)
        polls += 1
        if update.state is RunState.FINISHED:
            break
        time.sleep(0.2)
    assert proc.wait(timeout=60) == 0
    assert RunState.RUNNING in states and follow.state is RunState.FINISHED
    assert polls > 2  # it was followed while running, not read once at the end
    assert [e.epoch for e in seen if isinstance(e, EpochEvent)] == [0, 1, 2]
    assert len([e for e in seen if isinstance(e, StepEvent)]) == 12 and isinstance(seen[-1], EndEvent)
