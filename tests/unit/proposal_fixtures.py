"""Fake but real-shaped model sources for the proposal tests, with no network: a randomly initialised
torchvision LR-ASPP weights file (chosen as a file: under torchvision's own name in the cache it would be
refused, its content not having the published hash), and a tiny cocoseg checkpoint (random U-Net) whose
classes are a mask folder's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cocoseg_gui.core.proposals.source import SourceSpec
from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
from cocoseg_gui.core.training.models import build_model

TV_MODEL = "lraspp_mobilenet_v3_large"


@pytest.fixture(scope="session")
def fake_weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Randomly initialised LR-ASPP weights (21 VOC classes) as a state_dict file."""
    from torchvision.models import segmentation as seg

    path = tmp_path_factory.mktemp("weights") / "lraspp_random.pth"
    torch.manual_seed(0)
    net = seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture
def tv_spec(fake_weights_file: Path) -> SourceSpec:
    """The torchvision LR-ASPP source with the fake weights file."""
    return SourceSpec(torchvision=TV_MODEL, weights=fake_weights_file)


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


def labelled_new_dataset(tmp_path: Path, val_images: Path, count: int) -> Path:
    """A new dataset (classes person, dog, airplane) of the first ``count`` sample images, the first one
    labelled by hand (all person, saved as the editor saves)."""
    from PIL import Image

    from cocoseg_gui.core.editing.save import save_edited_mask
    from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset

    images = tmp_path / "images"
    images.mkdir()
    for f in sorted(val_images.iterdir())[:count]:
        shutil.copy(f, images / f.name)
    made = create_new_dataset(images, categories_from_names("person,dog,airplane"), tmp_path / "masks")
    first = sorted(p.name for p in images.iterdir())[0]
    w, h = Image.open(images / first).size
    save_edited_mask(made.folder, first, np.ones((h, w), np.uint8), (h, w), None)
    return made.folder
