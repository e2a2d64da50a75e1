"""Fine-tuning on corrections (``--init-from``): starts from the checkpoint's weights, checks its classes,
records the masks edited since that checkpoint's training (run_inputs.json). Real sample masks, tiny UNet."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.editing.save import EDITED_FILE, save_edited_mask
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.data import MaskDataset, build_transforms
from cocoseg_gui.core.training.models import build_model
from cocoseg_gui.core.training.run_inputs import (
    SINCE_FILE_MTIME,
    SINCE_TRAINING_END,
    edited_since,
    read_run_inputs,
    training_end_time,
)
from cocoseg_gui.core.training.run_reader import read_events
from cocoseg_gui.core.training.trainer import train
from tests.trainer_fixtures import person4  # noqa: F401

TINY = {"width": 8, "depth": 2}
SIZE, BATCH, SEED = 64, 2, 3


def config(data: Path, out: Path, **kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(
        data=data,
        out=out,
        model="unet",
        model_kwargs=TINY,
        epochs=1,
        batch_size=BATCH,
        img_size=SIZE,
        workers=0,
        log_every=1,
        val_on_train=True,
        time_budget_s=None,
        device="cpu",
        augment=False,
        seed=SEED,
        lr=1e-2,
    )
    base.update(kw)
    return TrainConfig(**base)


def copy_masks(src: Path, dst: Path) -> Path:
    """A copy of a mask folder whose manifest still finds the images (its images_dir made absolute)."""
    shutil.copytree(src, dst)
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["images_dir"] = (src / manifest["images_dir"]).resolve().as_posix()
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def first_step_loss(run: Path) -> float:
    steps = [e for e in read_events(run) if e.type == "step"]
    assert steps[0].global_step == 1
    return float(steps[0].loss)


def loss_of_first_batch(checkpoint: Path, data: Path) -> float:
    """The checkpoint's model (train mode: BatchNorm on batch statistics, as in training) on the first batch
    of epoch 0: the seeded permutation's first BATCH images, letterboxed (no augmentation)."""
    ckpt = load_checkpoint(checkpoint)
    model = build_model(ckpt["model"]["name"], len(ckpt["classes"]), **ckpt["model"]["kwargs"])
    model.load_state_dict(ckpt["model"]["state_dict"])
    model.train()
    ds = MaskDataset(data, transform=build_transforms(SIZE, train=False, resize="letterbox"))
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(SEED)).tolist()
    samples = [ds[i] for i in order[:BATCH]]
    images = torch.stack([s[0] for s in samples])
    masks = torch.stack([s[1] for s in samples])
    with torch.no_grad():
        return float(F.cross_entropy(model(images), masks, ignore_index=255))


def test_fine_tune_starts_from_the_checkpoint_weights_and_lists_the_edited_masks(
    person4: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    data = copy_masks(person4, tmp_path / "masks")
    first = tmp_path / "first"
    assert train(config(data, first, epochs=2)).status == "finished"
    names = sorted(json.loads((data / "image_mask_map.json").read_text()))
    # an edit saved before the first training ended and one saved after it (by the editor's own save)
    old = {
        "mask": "x.png",
        "image_id": None,
        "first_saved": "2001-01-01T00:00:00Z",
        "saved": "2001-01-01T00:00:00Z",
        "saves": 1,
    }
    (data / EDITED_FILE).write_text(json.dumps({"version": 1, "images": {names[0]: old}}))
    mask = np.array(
        Image.open(data / "masks" / json.loads((data / "image_mask_map.json").read_text())[names[1]])
    )
    mask[: mask.shape[0] // 2] = 1  # a correction: the top half is person
    save_edited_mask(data, names[1], mask, mask.shape)

    tuned = tmp_path / "tuned"
    end = train(config(data, tuned, init_from=first / "last.pt", lr=1e-4))
    assert end.status == "finished"

    expected = loss_of_first_batch(first / "last.pt", data)
    assert first_step_loss(tuned) == pytest.approx(expected, rel=1e-5)
    fresh = tmp_path / "fresh"  # the same run from new weights starts elsewhere: the check can fail
    train(config(data, fresh))
    assert abs(first_step_loss(fresh) - expected) > 1e-3
    # a new run: fresh optimiser and schedule, its own epoch count, the init recorded
    events = read_events(tuned)
    start = next(e for e in events if e.type == "start")
    assert start.epoch == 0 and start.global_step == 0 and start.resumed_from is None
    assert start.init_from == str(first / "last.pt") and start.edited_since == 1
    assert "1 mask edited since the last training" in (start.inputs_summary or "")
    assert [e.epoch for e in events if e.type == "epoch"] == [0]
    assert json.loads((tuned / "config.json").read_text())["init_from"] == (first / "last.pt").as_posix()
    inputs = read_run_inputs(tuned)
    assert inputs is not None and inputs.edited == [names[1]] and inputs.edited_total == 2
    first_end = next(e for e in read_events(first) if e.type == "end")
    assert inputs.since == pytest.approx(first_end.time) and inputs.since_source == SINCE_TRAINING_END
    # a run without --init-from lists every edited mask, with no reference time
    plain = read_run_inputs(fresh)
    assert plain is not None and plain.since is None and plain.edited == sorted(names[:2])


def test_edited_since_compares_saved_times_with_the_training_end_or_the_file_time(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    ckpt = run / "best.pt"
    ckpt.write_bytes(b"weights")
    end = 1_800_000_000.4  # 2027-01-15T08:00:00Z and 0.4 s
    lines = [
        {"type": "start", "time": end - 99},
        {"type": "end", "time": end - 50, "status": "cancelled"},
        {"type": "start", "time": end - 40},
        {"type": "end", "time": end, "status": "finished"},
    ]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert training_end_time(ckpt) == (end, SINCE_TRAINING_END)  # the last end: a resumed run's

    def at(t: float) -> str:
        import time

        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    masks = tmp_path / "masks"
    masks.mkdir()
    entries = {
        "before.jpg": at(end - 60),
        "same_second.jpg": at(end),  # saved within the second the training ended: counted as newer
        "after.jpg": at(end + 30),
        "unreadable_time.jpg": "yesterday",  # never silently dropped
    }
    images = {k: {"mask": f"{k}.png", "saved": v} for k, v in entries.items()}
    (masks / EDITED_FILE).write_text(json.dumps({"version": 1, "images": images}))
    assert edited_since(masks, end) == (["after.jpg", "same_second.jpg", "unreadable_time.jpg"], 4)
    assert edited_since(masks, None) == (sorted(entries), 4)
    assert edited_since(tmp_path / "no-edits", end) == ([], 0)

    (run / "metrics.jsonl").unlink()  # a checkpoint without its run log: the file's time
    os.utime(ckpt, (end + 60, end + 60))
    assert training_end_time(ckpt) == (end + 60, SINCE_FILE_MTIME)
    assert edited_since(masks, end + 60)[0] == ["unreadable_time.jpg"]


def test_init_from_with_other_classes_is_a_clear_error_naming_the_checkpoint(
    person4: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = tmp_path / "first"
    train(config(person4, first))
    ckpt = first / "last.pt"
    renamed = copy_masks(person4, tmp_path / "renamed")
    mapping = json.loads((renamed / "category_mapping.json").read_text())
    mapping["classes"][1]["name"] = "pedestrian"
    (renamed / "category_mapping.json").write_text(json.dumps(mapping))
    with pytest.raises(DatasetError, match="other names or another order") as info:
        train(config(renamed, tmp_path / "a", init_from=ckpt))
    assert str(ckpt) in str(info.value)
    assert not (tmp_path / "a").exists()  # refused before the run folder was touched

    more = copy_masks(person4, tmp_path / "more")
    mapping = json.loads((more / "category_mapping.json").read_text())
    mapping["classes"].append({**mapping["classes"][1], "index": 2, "name": "car", "category_id": 3})
    mapping["num_classes"] = 3
    (more / "category_mapping.json").write_text(json.dumps(mapping))
    out = tmp_path / "b"
    code = cli_main(
        [
            "train",
            "--data",
            str(more),
            "--out",
            str(out),
            "--init-from",
            str(ckpt),
            "--epochs",
            "1",
            "--img-size",
            "64",
            "--workers",
            "0",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and str(ckpt) in err
    assert "the checkpoint has 2 classes and the mask dataset 3" in err
    # no --model: the checkpoint's is used; --init-from with --resume or --pretrained is refused
    with pytest.raises(OptionsError, match="give one of them"):
        config(person4, out, init_from=ckpt, resume=ckpt)
    with pytest.raises(OptionsError, match="give one of them"):
        config(person4, out, init_from=ckpt, pretrained="imagenet")
    assert cli_main(["train", "--data", str(person4), "--out", str(out)]) == 2
    assert "--model is required" in capsys.readouterr().err
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert cli_main(["train", "--data", str(person4), "--out", str(out), "--init-from", str(garbage)]) == 2
    assert str(garbage) in capsys.readouterr().err


def test_cli_fine_tune_takes_the_checkpoint_model_and_prints_the_edited_count(
    person4: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = tmp_path / "first"
    train(config(person4, first))
    out = tmp_path / "tuned"
    code = cli_main(
        [
            "train",
            "--data",
            str(person4),
            "--out",
            str(out),
            "--init-from",
            str(first / "last.pt"),
            "--epochs",
            "1",
            "--img-size",
            "64",
            "--batch-size",
            "2",
            "--workers",
            "0",
            "--device",
            "cpu",
            "--val-on-train",
            "--lr",
            "1e-4",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"from {first / 'last.pt'}" in printed.out
    assert "0 masks edited since the last training" in printed.out
    assert load_checkpoint(out / "last.pt")["model"]["kwargs"] == {"width": 8, "depth": 2}
    asked_other = tmp_path / "other"
    assert (
        cli_main(
            [
                "train",
                "--data",
                str(person4),
                "--out",
                str(asked_other),
                "--model",
                "unet",
                "--unet-width",
                "16",
                "--init-from",
                str(first / "last.pt"),
                "--epochs",
                "1",
                "--img-size",
                "64",
                "--workers",
                "0",
                "--device",
                "cpu",
                "--val-on-train",
            ]
        )
        == 0
    )
    assert "fine-tuning the checkpoint's model unet" in capsys.readouterr().err


def test_fine_tune_keeps_the_split_of_the_checkpoint_run(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    first = tmp_path / "first"
    train(config(person4, first, val_on_train=False, val_fraction=0.5))
    names = sorted(json.loads((person4 / "image_mask_map.json").read_text()))
    split = json.loads((first / "split.json").read_text())
    # a split the seeded one would not make, as if images had been labelled after the first run
    custom = {"train": names[:3], "val": names[3:], "seed": SEED, "val_fraction": 0.5}
    assert split["val"] != custom["val"]
    (first / "split.json").write_text(json.dumps(custom))
    tuned = tmp_path / "tuned"
    train(config(person4, tuned, val_on_train=False, val_fraction=0.5, init_from=first / "last.pt"))
    kept = json.loads((tuned / "split.json").read_text())
    assert (kept["train"], kept["val"]) == (custom["train"], custom["val"])
