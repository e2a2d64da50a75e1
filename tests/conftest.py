"""Shared fixtures: the bundled demo dataset (resources/sample_coco), never ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "sample_coco"


@pytest.fixture(scope="session")
def sample_root() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def val_annotations() -> Path:
    return SAMPLE / "annotations" / "instances_val2017.json"


@pytest.fixture(scope="session")
def val_images() -> Path:
    return SAMPLE / "val2017"


@pytest.fixture(scope="session")
def train_annotations() -> Path:
    return SAMPLE / "annotations" / "instances_train2017.json"


@pytest.fixture(scope="session")
def train_images() -> Path:
    return SAMPLE / "train2017"
