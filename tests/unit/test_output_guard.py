"""The output guard on real files: what is never written over, what needs overwrite (issue 18 item 5)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cocoseg_gui.core.files.output_guard import (
    OutputExists,
    OutputRefused,
    check_output_file,
    check_output_folder,
)
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions


@pytest.fixture
def dataset(tmp_path: Path, val_annotations: Path, val_images: Path) -> dict[str, Path]:
    """A copy of the sample's val split and a mask folder made from two of its images."""
    images = tmp_path / "val2017"
    images.mkdir()
    for name in sorted(os.listdir(val_images))[:2]:
        shutil.copyfile(val_images / name, images / name)
    annotations = tmp_path / "instances_val2017.json"
    shutil.copyfile(val_annotations, annotations)
    masks = tmp_path / "masks"
    generate_masks(annotations, images, masks, MaskOptions(workers=1, max_images=2))
    return {"images": images, "annotations": annotations, "masks": masks}


def test_never_onto_an_input_an_image_or_annotations(dataset: dict[str, Path], tmp_path: Path) -> None:
    image = next(dataset["images"].iterdir())
    reads = {"the input annotations file": dataset["annotations"]}
    cases = [
        (dataset["annotations"], reads, "is the input annotations file, which this job reads"),
        (image, {}, "is in the image folder"),
        (dataset["masks"] / "category_mapping.json", {}, "belongs to the mask folder"),
        (dataset["masks"] / "masks" / "new.json", {}, "belongs to the mask folder"),  # new, but in masks/
    ]
    for path, given, words in cases:
        before = path.read_bytes() if path.exists() else None
        with pytest.raises(OutputRefused, match=words):
            check_output_file(path, reads=given, image_dirs=[dataset["images"]], overwrite=True)
        assert (path.read_bytes() if path.exists() else None) == before
    # found by what they are, without being named: a copied image, another COCO file, a project file
    shutil.copyfile(image, tmp_path / "copy.jpg")
    (tmp_path / "train.json").write_text(json.dumps({"images": [], "annotations": []}))
    (tmp_path / "p.json").write_text(json.dumps({"format": "cocoseg-project", "version": 1}))
    for name, words in (("copy.jpg", "an image file"), ("train.json", "a COCO annotations file"),
                        ("p.json", "a cocoseg project file")):  # fmt: skip
        with pytest.raises(OutputRefused, match=words):
            check_output_file(tmp_path / name, overwrite=True, option="--out")
    # a symbolic link does not get round a rule
    (tmp_path / "link.json").symlink_to(dataset["annotations"])
    with pytest.raises(OutputRefused, match="is the input annotations file"):
        check_output_file(tmp_path / "link.json", reads=reads, overwrite=True)


def test_an_existing_plain_file_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert check_output_file(out) == out  # new: fine
    out.write_text('{"images": 3}')
    with pytest.raises(
        OutputExists, match=r"--report .*report.json: the file already exists; pass --overwrite"
    ):
        check_output_file(out, option="--report")
    with pytest.raises(OutputExists) as raised:  # the GUI's message names no flag
        check_output_file(out)
    assert "--" not in str(raised.value)
    assert check_output_file(out, overwrite=True) == out
    # a file the job made may be replaced without asking only when the job says so (resume, a cache)
    assert check_output_file(out, owned=lambda p: True, replace_own=True) == out
    with pytest.raises(OutputExists):
        check_output_file(out, owned=lambda p: True)
    with pytest.raises(OutputRefused, match="is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(OutputRefused, match="is a file, not a folder"):
        check_output_file(out / "below.json")


def test_output_folders(dataset: dict[str, Path], tmp_path: Path) -> None:
    reads = {"the training masks": dataset["masks"]}
    for out, words in (
        (dataset["masks"], "is the training masks"),
        (dataset["masks"] / "runs" / "a", "is inside the training masks"),
        (dataset["annotations"], "is a file, not a folder"),
    ):
        with pytest.raises(OutputRefused, match=words):
            check_output_folder(out, reads=reads)
    with pytest.raises(OutputRefused, match="is in the image folder"):
        check_output_folder(dataset["images"] / "out", image_dirs=[dataset["images"]])
    with pytest.raises(OutputRefused, match="is inside the mask dataset folder"):
        check_output_folder(dataset["masks"] / "predictions")
    with pytest.raises(OutputRefused, match="is the mask dataset folder"):
        check_output_folder(dataset["masks"])
    # a job that makes mask folders may write one, but not inside another
    assert check_output_folder(dataset["masks"], may_be_mask_folder=True) == dataset["masks"]
    with pytest.raises(OutputRefused, match="is inside the mask dataset folder"):
        check_output_folder(dataset["masks"] / "sub", may_be_mask_folder=True)
    assert check_output_folder(tmp_path / "new") == tmp_path / "new"
