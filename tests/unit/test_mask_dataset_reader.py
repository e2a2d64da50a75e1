"""core.mask_dataset: the one reader of a mask folder (issue 9), used by training, evaluation and the viewer.

Real folders written by `cocoseg masks` in tmp_path, then damaged the ways a user's disk can be; no Qt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.masks.dataset import (
    MaskDatasetFolder,
    read_image_mask_map,
    read_report,
    report_if_readable,
)
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MANIFEST_FILE, REPORT_FILE, holds_masks
from tests.unit.editing_fixtures import made_masks, mask_folder  # noqa: F401


@pytest.fixture
def folder(mask_folder: Path) -> Path:  # noqa: F811
    """A fresh copy of three masks generated from the sample (the editing tests' fixtures)."""
    return mask_folder


def test_reader_functions_on_a_complete_folder(folder: Path) -> None:
    mapping = read_image_mask_map(folder)
    assert len(mapping) == 3 and all(v.endswith(".png") for v in mapping.values())
    report = read_report(folder)
    assert report is not None and set(report["per_image"]) == set(mapping.values())
    assert report_if_readable(folder) == report and holds_masks(folder)
    strict = MaskDatasetFolder(folder)
    name = sorted(mapping)[0]
    label = strict.read_mask(name)
    assert label.dtype == np.uint8 and label.ndim == 2


def test_missing_and_broken_files_name_the_file(folder: Path) -> None:
    (folder / REPORT_FILE).write_text("{not json")
    assert report_if_readable(folder) is None  # what the Masks panel shows: nothing
    with pytest.raises(DatasetError, match=r"report\.json: cannot read JSON"):
        read_report(folder)
    (folder / REPORT_FILE).unlink()
    assert read_report(folder) is None
    with pytest.raises(DatasetError, match=r"report\.json: file not found"):
        read_report(folder, required=True)
    (folder / IMAGE_MAP_FILE).write_text("[1, 2]")
    with pytest.raises(DatasetError, match=r"image_mask_map\.json: expected a JSON object"):
        read_image_mask_map(folder)
    (folder / IMAGE_MAP_FILE).unlink()
    assert read_image_mask_map(folder, required=False) == {}


def test_browse_mode_tolerates_what_the_viewer_tolerates(folder: Path, tmp_path: Path) -> None:
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(DatasetError, match=r"manifest\.json: file not found"):
        MaskDatasetFolder(folder)
    browsed = MaskDatasetFolder(folder, browse=True)
    assert browsed.manifest == {} and browsed.mapping is not None and len(browsed.image_mask_map) == 3
    (folder / "category_mapping.json").unlink()
    assert MaskDatasetFolder(folder, browse=True).mapping is None
    nowhere = MaskDatasetFolder(tmp_path / "not_there", browse=True)
    assert nowhere.image_mask_map == {} and nowhere.mapping is None


def test_a_broken_mask_png_is_a_dataset_error_naming_it(folder: Path) -> None:
    reader = MaskDatasetFolder(folder, browse=True)
    name = sorted(reader.image_mask_map)[0]
    reader.mask_path(name).write_bytes(b"\x89PNG broken")
    with pytest.raises(DatasetError, match="cannot read the mask") as info:
        reader.read_mask(name)
    assert reader.image_mask_map[name] in str(info.value)
    reader.mask_path(name).unlink()
    with pytest.raises(DatasetError, match="mask file not found"):
        reader.read_mask(name)


def test_trainer_dataset_reads_masks_through_the_same_reader(folder: Path) -> None:
    from PIL import Image

    from cocoseg_gui.core.training.data import MaskDataset

    reader, dataset = MaskDatasetFolder(folder), MaskDataset(folder)
    _, mask = dataset.load_pair(0)
    assert np.array_equal(np.asarray(mask), reader.read_mask(dataset.files[0]))
    rgb = Image.fromarray(reader.read_mask(dataset.files[0])).convert("RGB")
    rgb.save(reader.mask_path(dataset.files[0]))  # an RGB "mask": not a class map, refused by both
    with pytest.raises(DatasetError, match=r"must be a palette \(P\) or grayscale \(L\) PNG") as by_reader:
        reader.read_mask(dataset.files[0])
    assert dataset[0] is None and dataset.skipped == [(dataset.files[0], str(by_reader.value))]
