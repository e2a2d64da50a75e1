"""Exact resume mid-epoch (issue 19 item 7): a run stopped several steps into an epoch continues at that
step, skipping the consumed batches, and ends with the weights of a run never stopped; also with gradient
accumulation, the weighted (oversampling) sampler and another loader worker count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.event_types import Event
from cocoseg_gui.core.training.trainer import train
from tests.trainer_fixtures import person4  # noqa: F401
from tests.unit.test_trainer import tiny_config


def stopped_then_resumed(data: Path, tmp_path: Path, stop_at: int, **options: Any) -> tuple[Path, Path]:
    """Run ``straight``; run ``stopped`` cancelled after global step ``stop_at``, then resumed to the end."""
    straight = train(tiny_config(data, tmp_path / "straight", **options))
    assert straight.status == "finished"
    token = CancelToken()
    steps: list[int] = []

    def stop(event: Event) -> None:
        if event.type == "step":
            steps.append(event.global_step)  # type: ignore[attr-defined]
            if event.global_step >= stop_at:  # type: ignore[attr-defined]
                token.cancel()

    first = train(tiny_config(data, tmp_path / "stopped", **options), callbacks=[stop], cancel=token)
    assert first.status == "cancelled"
    resumed_steps: list[int] = []
    resumed = train(
        tiny_config(data, tmp_path / "stopped", resume=tmp_path / "stopped" / "last.pt", **options),
        callbacks=[lambda e: resumed_steps.append(e.global_step) if e.type == "step" else None],  # type: ignore[attr-defined]
    )
    assert resumed.status == "finished" and resumed.global_step == straight.global_step
    # the resumed run did the steps after the stop, none before it again
    assert resumed_steps and resumed_steps[0] == first.global_step + 1
    return tmp_path / "straight", tmp_path / "stopped"


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = (load_checkpoint(p / "last.pt")["model"]["state_dict"] for p in (a, b))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-6, msg=k)


@pytest.mark.parametrize(
    ("stop_at", "options", "in_epoch"),
    [
        (3, {"batch_size": 1}, 3),  # three of four steps into epoch 1
        (6, {"batch_size": 1, "grad_accum": 2, "oversample": True, "workers": 0}, 2),  # into epoch 2
    ],
)
def test_a_run_stopped_mid_epoch_resumes_at_its_step_and_equals_a_straight_run(
    person4: Path,  # noqa: F811
    tmp_path: Path,
    stop_at: int,
    options: dict[str, Any],
    in_epoch: int,
) -> None:
    straight, stopped = stopped_then_resumed(person4, tmp_path, stop_at, **options)
    assert_same_weights(straight, stopped)
    sa = load_checkpoint(straight / "last.pt")["train_state"]
    sb = load_checkpoint(stopped / "last.pt")["train_state"]
    assert sa["scheduler"] == sb["scheduler"] and sa["global_step"] == sb["global_step"]
    assert sa["epoch_loss_count"] == sb["epoch_loss_count"]


def test_the_stop_checkpoint_holds_the_position_in_the_epoch(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    token = CancelToken()
    train(
        tiny_config(person4, tmp_path / "run", batch_size=1),
        callbacks=[lambda e: token.cancel() if e.type == "step" and e.global_step == 3 else None],  # type: ignore[attr-defined]
        cancel=token,
    )
    state = load_checkpoint(tmp_path / "run" / "last.pt")["train_state"]
    assert (state["epoch"], state["batches_done"], state["global_step"]) == (0, 3, 3)
    assert state["epoch_loss_count"] == 3  # the partial epoch's loss continues, not restarts


def test_a_killed_run_resumes_at_its_last_mid_epoch_save(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    """checkpoint_every_s: last.pt is also saved inside an epoch, so a run killed mid-epoch (here: its folder
    copied at step 4, as a kill would leave it: last.pt of step 3) resumes at step 3, not at the epoch start,
    and still ends with the weights of a run never stopped."""
    import shutil

    options: dict[str, Any] = {"batch_size": 1, "checkpoint_every_s": 1e-9}  # due at every log step
    straight = train(tiny_config(person4, tmp_path / "straight", **options))
    killed = tmp_path / "killed"

    def kill_at_step_4(event: Event) -> None:
        if event.type == "step" and event.global_step == 4:  # type: ignore[attr-defined]
            shutil.copytree(tmp_path / "run", killed)

    train(tiny_config(person4, tmp_path / "run", **options), callbacks=[kill_at_step_4])
    state = load_checkpoint(killed / "last.pt")["train_state"]
    assert (state["epoch"], state["batches_done"], state["global_step"]) == (0, 3, 3)
    assert state["epoch_loss_count"] == 3  # the partial epoch's loss, saved with it
    resumed = train(tiny_config(person4, killed, resume=killed / "last.pt", **options))
    assert resumed.status == "finished" and resumed.global_step == straight.global_step
    assert_same_weights(tmp_path / "straight", killed)


def test_without_an_interval_last_pt_is_saved_per_epoch_only(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    train(tiny_config(person4, tmp_path / "run", batch_size=1, epochs=1, checkpoint_every_s=None))
    saves = [
        line
        for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
        if '"checkpoint"' in line
    ]
    assert len([s for s in saves if "last.pt" in s]) == 1
