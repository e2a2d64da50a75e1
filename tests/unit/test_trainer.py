"""The training engine on real sample data (CPU, tiny UNet): learning, exact resume, stops, events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from cocoseg_gui.core.errors import CocoSegError, OptionsError
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.config import TrainConfig, parse_duration
from cocoseg_gui.core.training.distributed import EpochSampler
from cocoseg_gui.core.training.event_types import EndEvent, Event, WarningEvent, WarningKind
from cocoseg_gui.core.training.trainer import Trainer, resolve_device, train
from tests.trainer_fixtures import person4  # noqa: F401

TINY = {"width": 8, "depth": 4}


def tiny_config(data: Path, out: Path, **kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(
        data=data,
        out=out,
        epochs=2,
        batch_size=2,
        img_size=64,
        workers=0,
        model_kwargs=TINY,
        log_every=1,
        val_on_train=True,
        time_budget_s=None,
    )
    base.update(kw)
    return TrainConfig(**base)


def read_events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]["state_dict"]


# ------------------------------------------------------------------ options
def test_parse_duration() -> None:
    assert parse_duration("6h") == 21600
    assert parse_duration("90m") == 5400
    assert parse_duration("45s") == 45
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1.5h") == 5400
    assert parse_duration("120") == 120
    for bad in ("", "6x", "h", "1h30", "-5m"):
        with pytest.raises(OptionsError, match="invalid duration"):
            parse_duration(bad)


def test_config_rejects_bad_values_and_round_trips(tmp_path: Path) -> None:
    with pytest.raises(OptionsError, match="optimizer"):
        TrainConfig(data=tmp_path, out=tmp_path, optimizer="adam")
    with pytest.raises(OptionsError, match="epochs"):
        TrainConfig(data=tmp_path, out=tmp_path, epochs=0)
    cfg = TrainConfig(data=tmp_path, out=tmp_path / "run", val_data=tmp_path / "v", amp="bf16")
    again = TrainConfig.from_json(json.loads(json.dumps(cfg.to_json())))
    assert again == cfg


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(OptionsError, match="unknown device"):
        resolve_device("tpu7")
    if not torch.cuda.is_available():
        with pytest.raises(OptionsError, match="CUDA is not available"):
            resolve_device("cuda")


def test_epoch_sampler_shards_resumes_and_reseeds() -> None:
    full = list(EpochSampler(10, seed=3))
    assert sorted(i for i, _ in full) == list(range(10))
    assert [i for i, _ in full] != list(range(10))  # shuffled
    shards = [list(EpochSampler(10, seed=3, num_replicas=3, rank=r)) for r in range(3)]
    assert all(len(s) == 4 for s in shards)  # padded to equal length, as DistributedSampler
    assert {i for s in shards for i, _ in s} == set(range(10))
    skip = EpochSampler(10, seed=3)
    skip.set_start(4)
    assert list(skip) == full[4:]  # same indices *and* augmentation seeds after a resume
    other = EpochSampler(10, seed=3)
    other.set_epoch(1)
    assert list(other) != full
    weighted = EpochSampler(4, seed=0, weights=[1.0, 1.0, 1.0, 97.0])
    draws = [i for e in range(25) for i in (weighted.set_epoch(e), [i for i, _ in weighted])[1]]
    assert draws.count(3) > 0.8 * len(draws)


# ------------------------------------------------------------------ training
@pytest.mark.slow
def test_overfits_four_images(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    """A tiny UNet learns 4 real images (background/person) to mIoU >= 0.9 on them."""
    cfg = tiny_config(
        person4, tmp_path / "run", epochs=60, batch_size=4, lr=1e-2, augment=False, val_every=20, log_every=10
    )
    end = train(cfg)
    assert end.status == "finished"
    assert end.best_miou >= 0.9
    events = read_events(tmp_path / "run")
    assert events[0]["type"] == "start" and events[-1] == end.to_json()
    assert events[0]["world_size"] == 1 and events[0]["num_train"] == 4
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(60))
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] / 3
    assert set(epochs[-1]["per_class_iou"]) == {"background", "person"}
    assert any(
        e["type"] == "warning" and e["kind"] == "val_on_train" and "val-on-train" in e["message"]
        for e in events
    )
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["metrics"]["miou"] == pytest.approx(end.best_miou)
    assert [c["name"] for c in best["classes"]] == ["background", "person"]
    assert best["model"]["kwargs"] == TINY and best["input"]["img_size"] == 64
    assert "train_state" not in best and "train_state" in load_checkpoint(tmp_path / "run" / "last.pt")


@pytest.mark.parametrize("stop_on", ["epoch", "step"])
def test_resume_continues_exactly(person4: Path, tmp_path: Path, stop_on: str) -> None:  # noqa: F811
    """2 epochs straight == stopped (at the epoch boundary / after one step) + resumed."""
    straight = train(tiny_config(person4, tmp_path / "a"))
    assert straight.status == "finished"

    token = CancelToken()

    def stop(event: Event) -> None:
        if event.type == stop_on:
            token.cancel()

    first = train(tiny_config(person4, tmp_path / "b"), callbacks=[stop], cancel=token)
    assert first.status == "cancelled"
    state = load_checkpoint(tmp_path / "b" / "last.pt")["train_state"]
    assert (state["epoch"], state["batches_done"]) == ((1, 0) if stop_on == "epoch" else (0, 1))
    # resume with a different worker count: per-sample seeds make augmentation independent of it
    resumed = train(tiny_config(person4, tmp_path / "b", resume=tmp_path / "b" / "last.pt", workers=1))
    assert resumed.status == "finished" and resumed.global_step == straight.global_step
    a, b = weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    sa = load_checkpoint(tmp_path / "a" / "last.pt")["train_state"]
    sb = load_checkpoint(tmp_path / "b" / "last.pt")["train_state"]
    assert sa["scheduler"] == sb["scheduler"]
    assert sb["elapsed_s"] > state["elapsed_s"]  # time before the resume is carried over
    resumed_events = read_events(tmp_path / "b")
    assert [e["type"] for e in resumed_events].count("start") == 2  # appended, not overwritten


def test_time_budget_stops_with_checkpoint(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    end = train(tiny_config(person4, tmp_path / "run", epochs=50, time_budget_s=1e-3))
    assert end.status == "time_budget" and "time budget" in end.reason
    assert end.epochs_done == 0 and end.global_step == 1  # stopped after the first step
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["train_state"]["batches_done"] == 1
    events = read_events(tmp_path / "run")
    assert any(e["type"] == "checkpoint" and e["path"] == "last.pt" for e in events)
    # resuming with the budget already spent stops again at once, keeping the checkpoint
    again = train(
        tiny_config(
            person4, tmp_path / "run", epochs=50, time_budget_s=1e-3, resume=tmp_path / "run" / "last.pt"
        )
    )
    assert again.status == "time_budget" and again.global_step == 1


def test_time_budget_predicts_the_next_epoch(tmp_path: Path) -> None:
    """Before an epoch: stop when elapsed + last epoch's duration would pass the budget."""
    from cocoseg_gui.core.training.distributed import DistContext
    from cocoseg_gui.core.training.events import EventLog

    cfg = TrainConfig(data=tmp_path, out=tmp_path, time_budget_s=100.0)
    t = Trainer(cfg, DistContext(), torch.device("cpu"), EventLog(None), None)
    t.elapsed_before = 50.0
    t.last_epoch_s = 40.0
    assert t._budget_stop_before_epoch() is None  # 50 + 40 <= 100
    t.last_epoch_s = 60.0
    stop = t._budget_stop_before_epoch()
    assert stop is not None and stop.status == "time_budget" and "next epoch" in stop.reason


def test_callback_errors_do_not_stop_training(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("GUI went away")

    end = train(
        tiny_config(person4, tmp_path / "run", epochs=1), callbacks=[broken, lambda e: seen.append(e.type)]
    )
    assert end.status == "finished"
    events = read_events(tmp_path / "run")
    warnings = [e for e in events if e["type"] == "warning" and "GUI went away" in e["message"]]
    assert len(warnings) == 1 and warnings[0]["kind"] == "callback_failed"
    assert seen[0] == "start" and seen[-1] == "end"


def test_corrupt_image_is_skipped_and_counted(tmp_path: Path) -> None:
    from tests.trainer_fixtures import person_folder

    data = person_folder(tmp_path / "data", 4, copy_images=True)
    victim = sorted(json.loads((data / "image_mask_map.json").read_text()))[1]
    (data / "images" / victim).write_bytes(b"not a jpeg at all")
    end = train(tiny_config(data, tmp_path / "run", epochs=1, val_on_train=False, val_fraction=0.25))
    assert end.status == "finished" and end.skipped == 1
    warnings = [e for e in read_events(tmp_path / "run") if e["type"] == "warning"]
    assert [w["kind"] for w in warnings if victim in w["message"]] == ["skipped_images"]


def test_split_is_saved_disjoint_and_reused(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run"
    token = CancelToken()
    token.cancel()  # stop after the first step
    train(tiny_config(person4, run, val_on_train=False, val_fraction=0.25), cancel=token)
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) == 3 and len(split["val"]) == 1 and not set(split["train"]) & set(split["val"])
    # resumed into another folder with another seed: the saved split comes along
    end = train(
        tiny_config(
            person4, tmp_path / "run2", val_on_train=False, val_fraction=0.5, seed=7, resume=run / "last.pt"
        )
    )
    assert end.status == "finished"
    assert json.loads((tmp_path / "run2" / "split.json").read_text())["val"] == split["val"]
    start = read_events(tmp_path / "run2")[0]
    assert (start["num_train"], start["num_val"]) == (3, 1)


def test_leakage_between_given_sets_is_reported(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    token = CancelToken()
    token.cancel()
    train(tiny_config(person4, tmp_path / "run", val_on_train=False, val_data=person4), cancel=token)
    warnings = [e["message"] for e in read_events(tmp_path / "run") if e["type"] == "warning"]
    assert any("4 of 4 validation images are also training images" in w for w in warnings)


def test_oversampling_weighted_loss_and_accumulation_run(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    end = train(
        tiny_config(
            person4,
            tmp_path / "run",
            epochs=1,
            oversample=True,
            loss="wce",
            grad_accum=2,
            optimizer="sgd",
            schedule="cosine",
            amp=True,
        )
    )
    assert end.status == "finished" and end.global_step == 2
    events = read_events(tmp_path / "run")
    assert any(e["type"] == "warning" and "only used on CUDA" in e["message"] for e in events)
    assert events[0]["amp"] == "off"


def test_resume_rejects_non_checkpoint(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    bogus = tmp_path / "weights.pt"
    torch.save({"state_dict": {}}, bogus)
    events: list[Event] = []
    with pytest.raises(CocoSegError, match=r"weights\.pt: not a cocoseg checkpoint"):
        train(tiny_config(person4, tmp_path / "run", resume=bogus), callbacks=[events.append])
    end = events[-1]
    assert isinstance(end, EndEvent) and end.status == "failed"
    assert not (tmp_path / "run").exists()  # a start that fails touches no run folder (issue 12 item 3)


def test_stale_run_files_do_not_leak_into_a_fresh_run(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"type": "old"}\n')
    (run / ".last.pt.abc.tmp").write_bytes(b"half")
    train(tiny_config(person4, run, epochs=1))
    assert read_events(run)[0]["type"] == "start"
    assert not list(run.glob(".*.tmp"))
    shutil.rmtree(run)


def test_tensorboard_is_optional(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    token = CancelToken()
    token.cancel()
    end = train(tiny_config(person4, tmp_path / "run", tensorboard=True), cancel=token)
    assert end.status == "cancelled"
    warnings = [e["message"] for e in read_events(tmp_path / "run") if e["type"] == "warning"]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert any("pip install tensorboard" in w for w in warnings)
    else:
        assert (tmp_path / "run" / "tensorboard").is_dir()


def test_all_background_training_masks_are_refused(tmp_path: Path, person4: Path) -> None:  # noqa: F811
    """Masks that came out all background (a broken generation) stop training with a clear error."""
    from PIL import Image

    data = tmp_path / "data"
    shutil.copytree(person4, data)
    report = json.loads((data / "report.json").read_text())
    for name, counts in report["per_image"].items():
        with Image.open(data / "masks" / name) as im:
            blank = Image.new("P", im.size, 0)
            blank.putpalette(im.getpalette())
        blank.save(data / "masks" / name)
        report["per_image"][name] = {"0": sum(counts.values())}
    for c in report["classes"]:
        c["pixels"] = c["pixels"] if c["index"] == 0 else 0
    (data / "report.json").write_text(json.dumps(report))
    with pytest.raises(CocoSegError, match="no object pixel"):
        train(tiny_config(data, tmp_path / "run"))


def test_classes_absent_from_training_are_warned(tmp_path: Path) -> None:
    from tests.trainer_fixtures import keep_classes
    from tests.training_fixtures import build_mask_folder

    data = build_mask_folder(tmp_path / "data", max_images=8)
    keep_classes(data, ["person", "zebra"], max_images=4)  # no sample image holds a zebra
    events: list[Event] = []
    train(tiny_config(data, tmp_path / "run", epochs=1), callbacks=[events.append])
    warnings = [e for e in events if isinstance(e, WarningEvent)]
    absent = [w.message for w in warnings if w.kind == WarningKind.CLASSES_WITHOUT_PIXELS]
    assert any("1 of 2 classes have no training pixel: zebra" in m for m in absent), warnings
