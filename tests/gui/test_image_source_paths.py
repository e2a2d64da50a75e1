"""The viewer and the thumbnails never read outside the dataset (issue 12 items 6, 7, 8; ADR 0003)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.files.safe_paths import UnsafePathError
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.services.image_source import ImageSource
from cocoseg_gui.gui.widgets.browser.filtering import ImageTable
from cocoseg_gui.gui.widgets.browser.image_list_model import ImageListModel
from cocoseg_gui.gui.widgets.browser.thumbnails import ThumbnailLoader


@pytest.fixture
def dataset(
    tmp_path: Path, val_annotations: Path, val_images: Path, monkeypatch
) -> tuple[CocoIndex, Path, Path]:
    """4 sample images: '../' and a link leading outside, two plain ones with masks, one of whose
    image_mask_map.json entry points outside masks/."""
    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    data = json.loads(val_annotations.read_text())
    images = data["images"][:4]
    root, outside = tmp_path / "images", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    for img in images:
        shutil.copy(val_images / img["file_name"], root / img["file_name"])
    shutil.move(root / images[0]["file_name"], outside / "secret0.jpg")
    shutil.move(root / images[1]["file_name"], outside / "secret1.jpg")
    images[0]["file_name"] = "../outside/secret0.jpg"
    try:
        os.symlink(outside / "secret1.jpg", root / "link.jpg")
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"cannot make symbolic links here ({exc})")
    images[1]["file_name"] = "link.jpg"
    data["images"] = images
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(data))
    masks = tmp_path / "masks"
    generate_masks(ann, root, masks, MaskOptions(workers=1))
    mask_map = json.loads((masks / "image_mask_map.json").read_text())
    assert set(mask_map) == {images[2]["file_name"], images[3]["file_name"]}
    (outside / "evil.png").write_bytes((masks / "masks" / mask_map[images[3]["file_name"]]).read_bytes())
    mask_map[images[3]["file_name"]] = "../../outside/evil.png"
    (masks / "image_mask_map.json").write_text(json.dumps(mask_map))
    return CocoIndex.load(ann), root, masks


def test_viewer_refuses_images_and_masks_outside(dataset: tuple[CocoIndex, Path, Path]) -> None:
    index, root, masks = dataset
    source = ImageSource(index, root, masks)
    ids = [img.id for img in index.images()]
    with pytest.raises(UnsafePathError, match="climbs out"):
        source.load(ids[0])
    with pytest.raises(UnsafePathError, match="symbolic link"):
        source.load(ids[1])
    assert source.load(ids[2]).mask_source == "mask file"
    tampered = source.load(ids[3])
    assert tampered.mask_source == "annotations"  # drawn on the fly, the outside file is not read
    assert "image_mask_map.json" in tampered.error and "'../../outside/evil.png'" in tampered.error
    assert ImageSource(index, root, masks, follow_symlinks=True).load(ids[1]).rgb.size


def test_thumbnails_refuse_images_outside(qtbot, dataset: tuple[CocoIndex, Path, Path]) -> None:
    index, root, _ = dataset
    loader = ThumbnailLoader(threads=1)
    model = ImageListModel(loader)
    model.set_table(ImageTable(index), root)
    names = [img.file_name for img in index.images()]
    with pytest.raises(UnsafePathError):
        model._path_of(names.index("../outside/secret0.jpg"))
    with pytest.raises(UnsafePathError):
        model._path_of(names.index("link.jpg"))
    assert model._path_of(2).is_file()
    for position in range(4):
        loader.request(position)
    assert loader.wait_idle()
    qtbot.waitUntil(lambda: all(loader._cache.get(k) is not None for k in range(4)))
    crossed = loader.unreadable.cacheKey()
    assert [loader._cache[k].cacheKey() == crossed for k in range(4)] == [True, True, False, False]
    loader.shutdown()
