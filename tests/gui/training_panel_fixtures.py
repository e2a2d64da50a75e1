"""Fixtures for the Train / Predict / Evaluate panel tests: a small mask folder and a tiny trained run.

The mask folder is built with pycocotools (tests/training_fixtures.py); the run is a real ``train()`` of
a narrow U-Net (width 8, depth 2) at 64 px for three epochs, so predictions and metrics are real but quick.
Import the fixtures into a test module: ``from tests.gui.training_panel_fixtures import *  # noqa: F403``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tests.training_fixtures import build_mask_folder

TINY_MODEL = {"width": 8, "depth": 2}
TINY_IMAGES = 8


@pytest.fixture(scope="session")
def tiny_masks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mask dataset folder of the first 8 sample val images."""
    return build_mask_folder(tmp_path_factory.mktemp("tiny_masks"), max_images=TINY_IMAGES)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_masks: Path) -> Path:
    """A finished three-epoch run folder (best.pt, last.pt, metrics.jsonl) of a tiny U-Net."""
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.trainer import train

    out = tmp_path_factory.mktemp("tiny_run")
    config = TrainConfig(
        data=tiny_masks,
        out=out,
        model="unet",
        model_kwargs=dict(TINY_MODEL),
        img_size=64,
        batch_size=4,
        epochs=3,
        time_budget_s=None,
        device="cpu",
        workers=0,
        log_every=1,
        val_on_train=True,
        lr=1e-2,
    )
    end = train(config)
    assert end.status == "finished", end
    return out


@pytest.fixture
def temp_settings(tmp_path: Path) -> QSettings:
    """QSettings in a temporary ini file, so tests never read or write the user's settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
