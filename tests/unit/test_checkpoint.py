"""Checkpoint files: format of docs/formats.md, weights_only loading, clear errors, RNG round trip."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.training.checkpoint import (
    build_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

CLASSES = [
    {"index": 0, "name": "background", "color": [0, 0, 0]},
    {"index": 1, "name": "person", "color": [128, 0, 0]},
]


def make_checkpoint() -> dict:
    model = torch.nn.Conv2d(3, 2, 1)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.randn(1, 3, 4, 4)).sum().backward()
    opt.step()
    return build_checkpoint(
        model_name="unet",
        model_kwargs={"width": 8},
        state_dict=model.state_dict(),
        classes=CLASSES,
        ignore_index=255,
        img_size=64,
        resize="letterbox",
        metrics={"epoch": 0, "miou": 0.5},
        config={"data": "x"},
        train_state={"epoch": 1, "optimizer": opt.state_dict(), "rng": rng_state(), "elapsed_s": 1.5},
    )


def test_saved_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, make_checkpoint())
    raw = torch.load(path, weights_only=True)  # no pickled classes anywhere
    assert raw["format"] == "cocoseg-checkpoint" and raw["version"] == 1
    assert raw["model"]["name"] == "unet" and raw["model"]["kwargs"] == {"width": 8}
    assert raw["classes"] == CLASSES and raw["ignore_index"] == 255
    assert raw["input"] == {
        "img_size": 64,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "resize": "letterbox",
    }
    assert raw["train_state"]["optimizer"]["state"][0]["step"] == 1
    assert load_checkpoint(path)["metrics"] == {"epoch": 0, "miou": 0.5}
    save_checkpoint(path, make_checkpoint())  # overwrite in place, atomically
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, I am text", "not a cocoseg checkpoint \\(not a file written by torch.save"),
        (b"", "not a cocoseg checkpoint"),
        ("state_dict", "not a cocoseg checkpoint"),
        ("pickled_object", "holds pickled objects"),
        ("newer", "newer than this cocoseg"),
    ],
)
def test_non_checkpoints_give_a_clear_error(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "weights.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "state_dict":
        torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    elif content == "pickled_object":
        torch.save(torch.nn.Linear(2, 2), path)  # a whole module: refused by weights_only
    else:
        torch.save({**make_checkpoint(), "version": 99}, path)
    with pytest.raises(CocoSegError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CocoSegError, match=r"nope\.pt: checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_rng_state_round_trip_through_a_file(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.normal()  # leaves a cached gaussian in numpy's state
    path = tmp_path / "rng.pt"
    save_checkpoint(path, {"rng": rng_state()})
    expected = (random.random(), np.random.normal(), torch.rand(3))
    set_rng_state(torch.load(path, weights_only=True)["rng"])
    got = (random.random(), np.random.normal(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1]
    assert torch.equal(got[2], expected[2])
