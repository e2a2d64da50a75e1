"""Training on several processes from a front end (torchrun as a child process group): events from the
run folder, Stop = SIGTERM to the group with last.pt saved, Resume on another count, a crash a failed end."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.event_types import CheckpointEvent, EndEvent, Event, StartEvent, StepEvent
from cocoseg_gui.core.training.launch import train_in_processes
from tests.e2e.test_ddp import REPO
from tests.trainer_fixtures import person4  # noqa: F401

ENV = {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def config(data: Path, out: Path, epochs: int = 3, **more: object) -> TrainConfig:
    return TrainConfig(
        data=data, out=out, epochs=epochs, batch_size=1, img_size=64, workers=0, log_every=1,
        model_kwargs={"width": 8}, val_on_train=True, time_budget_s=None, device="cpu", **more,
    )  # fmt: skip


@pytest.mark.slow
def test_stop_saves_last_pt_and_resume_on_one_process_finishes(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run"
    cancel = CancelToken()
    seen: list[Event] = []

    def on_event(e: Event) -> None:
        seen.append(e)
        if isinstance(e, StepEvent):
            cancel.cancel()  # Stop as soon as the plots have a step

    # Far more epochs than the Stop needs: 3 tiny epochs ended between two polls of the log on CI
    end = train_in_processes(config(person4, run, epochs=10_000), 2, [on_event], cancel, env=ENV)
    assert end.status == "cancelled", end
    assert isinstance(seen[0], StartEvent) and seen[0].world_size == 2 and seen[-1] == end
    ckpt = load_checkpoint(run / "last.pt")
    stopped_at = ckpt["train_state"]["epoch"]
    assert ckpt["train_state"]["world_size"] == 2 and stopped_at < 10_000

    resumed: list[Event] = []
    again = config(person4, run, epochs=stopped_at + 1, resume=run / "last.pt")  # one more epoch to finish
    end = train_in_processes(again, 1, [resumed.append], env=ENV)
    assert end.status == "finished", end
    assert isinstance(resumed[0], StartEvent) and resumed[0].world_size == 1  # only the resumed run's events
    assert load_checkpoint(run / "last.pt")["train_state"]["epoch"] == stopped_at + 1


@pytest.mark.slow
def test_a_crash_of_the_run_is_a_failed_end_not_an_exception(tmp_path: Path) -> None:
    empty = tmp_path / "not_masks"
    empty.mkdir()
    got: list[Event] = []
    end = train_in_processes(config(empty, tmp_path / "run"), 2, [got.append], env=ENV)
    assert isinstance(end, EndEvent) and end.status == "failed" and got == [end]
    assert "not_masks" in end.reason and "Traceback" not in end.reason  # what was wrong, named


def _kill_rank(mark: str, rank: int) -> bool:
    """SIGKILL the worker of ``rank`` among the processes started with ``COCOSEG_TEST_MARK=mark``."""
    for proc in Path("/proc").iterdir():
        try:
            env = dict(
                kv.split("=", 1)
                for kv in (proc / "environ").read_text(errors="replace").split("\0")
                if "=" in kv
            )
        except (OSError, ValueError):
            continue  # gone, or another user's
        if env.get("COCOSEG_TEST_MARK") == mark and env.get("RANK") == str(rank) and "LOCAL_RANK" in env:
            os.kill(int(proc.name), signal.SIGKILL)
            return True
    return False


@pytest.mark.slow
def test_a_worker_killed_outright_ends_failed_and_the_run_resumes_from_its_last_epoch(
    person4: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A rank lost to the OOM killer or kill -9: no step can finish, so no Stop checkpoint; the run ends
    "failed" (an end event, not an exception) and last.pt of the last finished epoch resumes it."""
    run = tmp_path / "run"
    mark = uuid.uuid4().hex
    killed: list[bool] = []
    seen: list[Event] = []

    def on_event(e: Event) -> None:
        seen.append(e)
        if isinstance(e, CheckpointEvent) and e.path == "last.pt" and not killed:
            killed.append(_kill_rank(mark, 1))  # after an epoch's last.pt: something to resume from

    env = {**ENV, "COCOSEG_TEST_MARK": mark}
    end = train_in_processes(config(person4, run, epochs=10_000), 2, [on_event], env=env)
    assert killed == [True], "rank 1 was not found"
    assert seen[-1] is end and sum(isinstance(e, EndEvent) for e in seen) == 1  # one end, the clear one
    assert end.status == "failed", end
    assert end.reason.startswith("training process 1 of 2 was killed by SIGKILL"), end.reason  # not gloo's
    saved = load_checkpoint(run / "last.pt")["train_state"]
    assert saved["world_size"] == 2 and 1 <= saved["epoch"] < 10_000

    again = config(person4, run, epochs=saved["epoch"] + 1, resume=run / "last.pt")
    resumed = train_in_processes(again, 1, env=ENV)
    assert resumed.status == "finished", resumed
    assert load_checkpoint(run / "last.pt")["train_state"]["epoch"] == saved["epoch"] + 1
