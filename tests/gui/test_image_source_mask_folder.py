"""The viewer reads the mask folder through core.mask_dataset (issue 9) and keeps its tolerance: a folder
without manifest.json is browsable, a broken mask is drawn from the annotations with the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.services.image_source import ImageSource


def test_viewer_browses_a_folder_without_manifest_and_survives_a_broken_mask(
    tmp_path: Path, val_annotations: Path, val_images: Path, monkeypatch
) -> None:
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=2))
    (out / "manifest.json").unlink()
    mask_map = json.loads((out / "image_mask_map.json").read_text())
    good, broken = sorted(mask_map)
    (out / "masks" / mask_map[broken]).write_bytes(b"\x89PNG not really")
    index = CocoIndex.load(val_annotations)
    source = ImageSource(index, val_images, out)
    assert source.masked_file_names() == {good, broken} and source.note == ""
    shown = source.load(index.image_by_file(good).id)
    assert shown.mask_source == "mask file" and shown.error == ""
    fallback = source.load(index.image_by_file(broken).id)
    assert fallback.mask_source == "annotations" and fallback.mask is not None
    assert mask_map[broken] in fallback.error and "cannot read the mask" in fallback.error
    assert ImageSource(index, val_images, tmp_path / "gone").mask_map == {}
    shutil.rmtree(out / "masks")
    assert source.load(index.image_by_file(good).id).mask_source == "annotations"
