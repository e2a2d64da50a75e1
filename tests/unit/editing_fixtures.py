"""A real mask folder (3 sample val images through `generate_masks`) and its label maps, for the
editing tests; copied per test so each may damage its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions


@pytest.fixture(scope="module")
def made_masks(tmp_path_factory, val_annotations: Path, val_images: Path) -> Path:
    base = tmp_path_factory.mktemp("editing")
    mp = pytest.MonkeyPatch()
    mp.setenv("COCOSEG_CACHE_DIR", str(base / "cache"))
    try:
        generate_masks(val_annotations, val_images, base / "out", MaskOptions(workers=1, max_images=3))
    finally:
        mp.undo()
    return base / "out"


@pytest.fixture
def mask_folder(made_masks: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "masks_copy"
    shutil.copytree(made_masks, copy)
    return copy


def first_mask(folder: Path) -> tuple[str, np.ndarray]:
    """(image file name, writable label map) of the folder's first image."""
    reader = MaskDatasetFolder(folder)
    name = sorted(reader.image_mask_map)[0]
    return name, reader.read_mask(name).copy()
