"""Fake but real-shaped model sources for the proposal tests, with no network: a randomly initialised
torchvision LR-ASPP saved under a temporary TORCH_HOME with the file name torchvision expects, and a
tiny cocoseg checkpoint (random U-Net) whose classes are a mask folder's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cocoseg_gui.core.proposals.source import torchvision_weights
from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
from cocoseg_gui.core.training.models import build_model, weights_cache_path

TV_MODEL = "lraspp_mobilenet_v3_large"


@pytest.fixture(scope="session")
def fake_torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds randomly initialised LR-ASPP weights (21 VOC classes)."""
    from torchvision.models import segmentation as seg

    home = tmp_path_factory.mktemp("torch_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCH_HOME", str(home))
    try:
        path = weights_cache_path(torchvision_weights(TV_MODEL))
    finally:
        mp.undo()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    torch.save(net.state_dict(), path)
    return home


@pytest.fixture
def cached_weights(fake_torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(fake_torch_home))
    return fake_torch_home


def tiny_checkpoint(path: Path, class_names: list[str]) -> Path:
    """A random 2-level U-Net checkpoint with ``class_names`` (background first), input 64."""
    torch.manual_seed(0)
    model = build_model("unet", len(class_names), width=4, depth=2)
    classes = [{"index": i, "name": n, "color": [i * 40 % 256, 80, 160]} for i, n in enumerate(class_names)]
    ckpt = build_checkpoint(
        model_name="unet", model_kwargs=dict(model.model_kwargs), state_dict=model.state_dict(),
        classes=classes, ignore_index=255, img_size=64, resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    save_checkpoint(path, ckpt)
    return path
