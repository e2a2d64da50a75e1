"""Train and evaluate never read outside the mask dataset (issue 12 items 6, 7, 8; ADR 0003): image names
and image_mask_map.json entries with '..' or absolute paths, and symbolic links leaving the image folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.data import MaskDataset
from cocoseg_gui.core.training.evaluate import evaluate
from cocoseg_gui.core.training.trainer import train


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-image person mask folder (images copied) plus four entries that lead outside it, to real
    image and mask files there: '../..' and absolute image names, a '..' mask name, an outside link."""
    from tests.trainer_fixtures import person_folder

    base = tmp_path_factory.mktemp("tampered")
    data = person_folder(base / "data", 4, copy_images=True)
    outside = base / "outside"
    outside.mkdir()
    mask_map = json.loads((data / "image_mask_map.json").read_text())
    image, mask = sorted(mask_map.items())[0]
    for name in ("secret0.jpg", "secret1.jpg", "secret2.jpg"):
        shutil.copy(data / "images" / image, outside / name)
    shutil.copy(data / "masks" / mask, outside / "evil.png")
    shutil.copy(data / "images" / image, data / "images" / "extra.jpg")
    try:
        os.symlink(outside / "secret2.jpg", data / "images" / "link.jpg")
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"cannot make symbolic links here ({exc})")
    mask_map.update(
        {
            "../../outside/secret0.jpg": mask,
            str(outside / "secret1.jpg"): mask,
            "extra.jpg": "../../outside/evil.png",
            "link.jpg": mask,
        }
    )
    (data / "image_mask_map.json").write_text(json.dumps(mask_map))
    return data


OUTSIDE_NAMES = {"../../outside/secret0.jpg", "extra.jpg"}  # + the absolute name


def test_dataset_refuses_entries_outside(tampered: Path) -> None:
    ds = MaskDataset(tampered)
    refused = dict(ds.refused)
    assert len(refused) == 3 and set(refused) > OUTSIDE_NAMES
    assert all("image_mask_map.json" in why and "refused" in why for why in refused.values())
    assert "'../../outside/evil.png'" in refused["extra.jpg"] and "'extra.jpg'" in refused["extra.jpg"]
    assert not set(ds.files) & set(refused) and len(ds.files) == 5
    link = ds.files.index("link.jpg")
    assert ds[link] is None and "symbolic link" in ds.skipped[0][1]
    assert [ds[i] is not None for i in range(len(ds))].count(True) == 4
    # an explicit file list is refused on loading too
    explicit = MaskDataset(tampered, files=["extra.jpg", "../../outside/secret0.jpg"])
    assert explicit[0] is None and explicit[1] is None
    assert "image_mask_map.json" in explicit.skipped[0][1] and "'..'" in explicit.skipped[1][1]
    # allowed links are followed; '..' and absolute names are still refused
    allowed = MaskDataset(tampered, follow_symlinks=True)
    assert allowed[allowed.files.index("link.jpg")] is not None and len(allowed.refused) == 3


def test_train_and_evaluate_skip_entries_outside(tampered: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        data=tampered, out=tmp_path / "run", epochs=1, batch_size=2, img_size=64, workers=0,
        model_kwargs={"width": 8, "depth": 2}, val_on_train=True, augment=False, time_budget_s=None,
    )  # fmt: skip
    end = train(cfg)
    assert end.status == "finished" and end.skipped == 1  # the link, found when loading
    events = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert any("left out 3 images" in w and "image_mask_map.json" in w for w in warnings)
    assert any("link.jpg" in w for w in warnings)

    result = evaluate(tmp_path / "run" / "last.pt", tampered, device="cpu")
    assert result.num_images == 4
    skipped = dict(result.skipped)
    assert OUTSIDE_NAMES | {"link.jpg"} < set(skipped) and len(skipped) == 4
    assert "symbolic link" in skipped["link.jpg"]
    followed = evaluate(tmp_path / "run" / "last.pt", tampered, device="cpu", follow_symlinks=True)
    assert followed.num_images == 5
