"""Typed training events: the one parser, the writer, old metrics.jsonl lines and the run folder reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.core.training.events import EventLog
from cocoseg_gui.core.training.run_reader import read_events

EXAMPLES: list[ev.Event] = [
    ev.StartEvent(
        time=1.5,
        config={"epochs": 3, "time_budget_s": 60.0},
        device="cpu",
        world_size=1,
        model={"name": "unet", "kwargs": {"base": 8}},
        img_size=64,
        num_train=8,
        num_val=2,
        num_classes=2,
        classes=["background", "person"],
        amp="off",
        resumed_from=None,
        steps_per_epoch=4,
    ),
    ev.StepEvent(time=2.0, epoch=0, step=1, global_step=1, loss=0.5, lr=1e-3, images_per_s=12.5),
    ev.EpochEvent(
        time=3.0,
        epoch=0,
        train_loss=0.4,
        val_loss=0.6,
        miou=0.3,
        pixel_acc=0.8,
        mean_dice=0.35,
        per_class_iou={"background": 0.9, "person": None},
        elapsed_s=2.0,
        epoch_s=1.0,
        lr=1e-3,
        skipped=0,
    ),
    ev.EpochEvent(time=3.5, epoch=1, train_loss=0.3, elapsed_s=3.0),  # not validated
    ev.CheckpointEvent(time=4.0, path="best.pt", epoch=0, best=True),
    ev.WarningEvent(time=5.0, kind=ev.WarningKind.WORKERS_CAPPED, message="only 2 CPUs"),
    ev.EndEvent(time=6.0, status="finished", reason="3 epochs done", best_miou=0.3, epochs_done=3),
    ev.EndEvent(time=6.0, status="failed", reason="loss is nan", kind="non_finite_loss"),
    ev.UnknownEvent(time=7.0, type_name="profile", extra={"gpu_util": 0.9}),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: f"{e.type}")
def test_every_event_type_round_trips_through_json(event: ev.Event) -> None:
    line = json.dumps(event.to_json())
    assert ev.parse_event(json.loads(line)) == event


def test_metrics_jsonl_keys_stay_those_of_the_format() -> None:
    start = EXAMPLES[0].to_json()
    assert start["type"] == "start" and start["time"] == 1.5 and start["steps_per_epoch"] == 4
    assert "batches_per_epoch" not in start
    unvalidated = EXAMPLES[3].to_json()
    assert "miou" not in unvalidated and unvalidated["train_loss"] == 0.3
    failed = EXAMPLES[7].to_json()
    assert failed["kind"] == "non_finite_loss" and failed["best_miou"] is None and "epochs_done" not in failed
    assert "kind" not in EXAMPLES[6].to_json()


def test_an_old_start_line_with_batches_per_epoch_parses() -> None:
    old = {
        "type": "start",
        "time": 1.0,
        "config": {},
        "device": "cpu",
        "world_size": 1,
        "batches_per_epoch": 7,
    }
    start = ev.parse_event(old)
    assert isinstance(start, ev.StartEvent) and start.steps_per_epoch == 7
    assert "batches_per_epoch" not in start.extra and start.to_json()["steps_per_epoch"] == 7


def test_an_unknown_type_and_odd_lines_do_not_crash() -> None:
    unknown = ev.parse_event({"type": "telemetry", "time": 3, "x": [1, 2]})
    assert isinstance(unknown, ev.UnknownEvent) and unknown.type == "telemetry"
    assert unknown.to_json() == {"type": "telemetry", "time": 3.0, "x": [1, 2]}
    step = ev.parse_event({"type": "step", "epoch": "zero", "loss": None, "future_key": 1})
    assert isinstance(step, ev.StepEvent) and step.epoch == 0 and step.loss is None and step.time == 0.0
    assert step.extra == {"future_key": 1} and step.to_json()["future_key"] == 1
    assert isinstance(ev.parse_event({}), ev.UnknownEvent)


def test_a_warning_carries_its_kind_and_old_warnings_get_one() -> None:
    w = ev.parse_event({"type": "warning", "kind": "classes_without_pixels", "message": "no pixels"})
    assert isinstance(w, ev.WarningEvent) and w.kind == ev.WarningKind.CLASSES_WITHOUT_PIXELS
    old = ev.parse_event(
        {"type": "warning", "message": "skipped unreadable image or mask 'a.jpg' (1 so far)"}
    )
    assert isinstance(old, ev.WarningEvent) and old.kind == ev.WarningKind.SKIPPED_IMAGES
    assert ev.parse_event({"type": "warning", "message": "anything"}).kind == ev.WarningKind.OTHER


def test_event_log_writes_json_and_a_failing_callback_is_a_callback_failed_warning(tmp_path: Path) -> None:
    seen: list[ev.Event] = []

    def broken(event: ev.Event) -> None:
        raise RuntimeError("GUI went away")

    log = EventLog(tmp_path / "metrics.jsonl", [broken, seen.append])
    for event in EXAMPLES[:3]:
        log.emit(event)
    log.close()
    assert seen[0] == EXAMPLES[0]
    warning = seen[1]
    assert isinstance(warning, ev.WarningEvent) and warning.kind == ev.WarningKind.CALLBACK_FAILED
    assert read_events(tmp_path) == [EXAMPLES[0], warning, *EXAMPLES[1:3]]


def test_run_reader_loads_an_old_run_folder_and_skips_a_partial_last_line(tmp_path: Path) -> None:
    lines = [
        '{"type": "start", "time": 1.0, "config": {"epochs": 2}, "device": "cpu", "world_size": 1, '
        '"batches_per_epoch": 3}',
        '{"type": "step", "time": 2.0, "epoch": 0, "step": 1, "global_step": 1, "loss": 0.7, "lr": 0.01, '
        '"images_per_s": 3.0}',
        '{"type": "warning", "time": 2.5, '
        '"message": "skipped unreadable image or mask \'x.jpg\' (1 so far)"}',
        '{"type": "epoch", "time": 3.0, "epoch": 0, "train_loss": 0.6, "val_loss": null, "miou": 0.2}',
        '{"type": "end", "time": 4.0, "status": "cancelled", "reason": "stopped", "best_miou": 0.2}',
        '{"type": "ste',
    ]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines), encoding="utf-8")
    events = read_events(tmp_path)
    assert [e.type for e in events] == ["start", "step", "warning", "epoch", "end"]
    assert events[0].steps_per_epoch == 3 and events[2].kind == ev.WarningKind.SKIPPED_IMAGES
    assert events[3].miou == 0.2 and events[3].val_loss is None and events[4].status == "cancelled"
    (tmp_path / "metrics.jsonl").write_text('{"type": "start"}\n[1, 2]\n{}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2 is not an event"):
        read_events(tmp_path)


def test_tensorboard_sink_reads_typed_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sink logs step and epoch scalars from the typed events (a recording SummaryWriter stands in
    for the optional tensorboard package, which this environment may not have)."""
    import sys
    import types

    from cocoseg_gui.core.training.trainer import _tensorboard_sink

    calls: list[tuple] = []

    class Writer:
        def __init__(self, log_dir: str) -> None:
            calls.append(("open", log_dir))

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            calls.append((tag, value, step))

        def flush(self) -> None:
            calls.append(("flush",))

        def close(self) -> None:
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    sink = _tensorboard_sink(tmp_path / "tb")
    assert sink is not None
    for event in EXAMPLES:
        sink(event)
    assert calls == [
        ("open", str(tmp_path / "tb")),
        ("train/loss", 0.5, 1),
        ("train/lr", 1e-3, 1),
        ("epoch/train_loss", 0.4, 0),
        ("epoch/val_loss", 0.6, 0),
        ("epoch/miou", 0.3, 0),
        ("epoch/pixel_acc", 0.8, 0),
        ("epoch/mean_dice", 0.35, 0),
        ("flush",),
        ("epoch/train_loss", 0.3, 1),
        ("flush",),
        ("close",),
        ("close",),
    ]
