"""Shared fixtures: the bundled demo dataset (resources/sample_coco), never ../shared."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# implicit projects (one JSON opened alone) are saved under this folder, never the user's ~/cocoseg-projects;
# subprocesses of the tests inherit it
os.environ["COCOSEG_PROJECTS_DIR"] = tempfile.mkdtemp(prefix="cocoseg-test-projects-")
atexit.register(shutil.rmtree, os.environ["COCOSEG_PROJECTS_DIR"], True)

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
