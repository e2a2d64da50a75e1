"""Likely label errors and uncertainty (core.quality): exact per-pixel and per-region values on
real sample masks with known probabilities, the ranking of a trained model on a corrupted copy of the
sample, issues.json round trips and the CLI."""

from __future__ import annotations

import json
from math import comb
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.quality.issues_file import (
    read_label_issues,
    read_uncertainty,
)
from cocoseg_gui.core.quality.job import find_label_issues, rank_uncertain
from cocoseg_gui.core.quality.pixel_quality import class_thresholds, pixel_quality
from cocoseg_gui.core.quality.regions import image_regions
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.trainer import train
from tests.label_corruption import copy_mask_folder, corrupt, corrupt_folder, keep_large_objects, precision_at
from tests.trainer_fixtures import person_folder

CORRUPTED = 4


@pytest.fixture(scope="module")
def large_persons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample val images whose largest person covers >= 4% of the image (10), background/person."""
    folder = person_folder(tmp_path_factory.mktemp("large_persons"), 50, scan=50)
    return keep_large_objects(folder, 0.04)


@pytest.fixture(scope="module")
def clean_checkpoint(large_persons: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny U-Net trained briefly on the clean masks (seeded: the same weights every run)."""
    run = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(
        data=large_persons, out=run, epochs=60, batch_size=4, img_size=96, workers=0, lr=1e-2,
        model_kwargs={"width": 8}, val_on_train=True, augment=False, time_budget_s=None,
    )  # fmt: skip
    assert train(cfg).status == "finished"
    return run / "last.pt"


def sample_mask(folder: Path, index: int = 0) -> np.ndarray:
    mask_map = json.loads((folder / "image_mask_map.json").read_text(encoding="utf-8"))
    return np.array(Image.open(folder / "masks" / mask_map[sorted(mask_map)[index]]))


def confident_probs(clean: np.ndarray, num_classes: int, p: float = 0.9) -> np.ndarray:
    """A model that agrees with ``clean`` with probability ``p`` everywhere (ignore pixels: class 0)."""
    probs = np.full((num_classes, *clean.shape), (1 - p) / (num_classes - 1), dtype=np.float32)
    labels = np.where(clean == 255, 0, clean)
    np.put_along_axis(probs, labels[None].astype(np.intp), p, axis=0)
    return probs


def test_margin_self_confidence_and_thresholds_by_hand() -> None:
    probs = np.array(
        [[[0.7, 0.1, 0.2, 0.5]], [[0.2, 0.8, 0.7, 0.3]], [[0.1, 0.1, 0.1, 0.2]]], dtype=np.float32
    )  # 3 classes, 1x4 pixels
    labels = np.array([[0, 0, 1, 255]], dtype=np.uint8)
    q = pixel_quality(probs.copy(), labels)
    assert q.valid_pixels == 3 and list(q.class_pixels) == [2, 1, 0]
    assert list(q.flat_index) == [1]  # pixel 1: labelled 0, the model says 1
    assert q.margin[0] == pytest.approx(0.1 - 0.8) and q.p_predicted[0] == pytest.approx(0.8)
    t = class_thresholds(q.class_confidence_sum, q.class_pixels)
    assert t[0] == pytest.approx((0.7 + 0.1) / 2) and t[1] == pytest.approx(0.7) and np.isnan(t[2])
    assert q.uncertainty == pytest.approx(np.mean([0.3, 0.2, 0.3, 0.5]))
    assert q.top2_margin == pytest.approx(np.mean([0.5, 0.7, 0.5, 0.2]))


def test_region_of_a_known_corruption_has_its_bbox_and_area(large_persons: Path) -> None:
    clean = sample_mask(large_persons)
    bad, changed = corrupt(clean, "erase", 2)
    probs = confident_probs(clean, 2)
    probs[1][changed], probs[0][changed] = 0.99, 0.01  # the model is surest where the label was erased
    rest = pixel_quality(probs.copy(), clean)  # the thresholds of a dataset where it is labelled right
    q = pixel_quality(probs, bad)
    found = image_regions(q, class_thresholds(rest.class_confidence_sum, rest.class_pixels))
    ys, xs = np.nonzero(changed)
    assert len(found.regions) == 1
    region = found.regions[0]
    assert region.bbox == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert region.area == changed.sum() == found.flagged_pixels
    assert (region.given, region.predicted) == (0, 1)
    assert region.score == pytest.approx(0.98, abs=1e-5)  # 0.99 - 0.01
    assert found.score == pytest.approx(0.98 * changed.sum() / bad.size, rel=1e-5)


def test_ignore_pixels_are_never_flagged(large_persons: Path) -> None:
    clean = sample_mask(large_persons, 1)
    bad, changed = corrupt(clean, "shift", 2)
    probs = confident_probs(clean, 2, 0.99)
    q = pixel_quality(probs.copy(), bad)
    assert q.flat_index.size == changed.sum()  # every changed pixel disagrees with the model
    ignored = bad.copy()
    ignored[changed] = 255
    q = pixel_quality(probs.copy(), ignored)
    assert q.flat_index.size == 0 and q.valid_pixels == (ignored != 255).sum() == q.class_pixels.sum()
    found = image_regions(q, class_thresholds(q.class_confidence_sum, q.class_pixels))
    assert found.regions == () and found.score == 0.0


def test_ranking_finds_the_corrupted_images_above_chance(
    large_persons: Path, clean_checkpoint: Path, tmp_path: Path
) -> None:
    data = copy_mask_folder(large_persons, tmp_path / "corrupted")
    truth = corrupt_folder(data, CORRUPTED, seed=0)
    n = len(json.loads((data / "image_mask_map.json").read_text(encoding="utf-8")))
    result = find_label_issues(clean_checkpoint, data, device="cpu", out=tmp_path / "issues.json")
    ranked = [im.file for im in result.images]
    assert sorted(ranked) == sorted(json.loads((data / "image_mask_map.json").read_text()))
    assert [im.score for im in result.images] == sorted((im.score for im in result.images), reverse=True)
    k = CORRUPTED
    p_at_k = precision_at(ranked, {c.file for c in truth}, k)
    # a random ranking's expected precision@k is corrupted/n (0.4 here); P(random >= 3 of 4) = 0.12
    chance = CORRUPTED / n
    ways = sum(comb(CORRUPTED, j) * comb(n - CORRUPTED, k - j) for j in range(3, k + 1))
    p_random_as_good = ways / comb(n, k)
    assert n == 10 and chance == 0.4 and p_random_as_good < 0.15
    assert p_at_k >= 0.75, (p_at_k, [(im.file, im.score) for im in result.images])
    # the erased person's region is found where it was
    erased = next(c for c in truth if c.kind == "erase")
    regions = result.by_file()[erased.file].regions
    x, y, w, h = erased.bbox

    def inside(r) -> bool:  # the region's centre lies in the erased object's box
        cx, cy = r.x + r.width / 2, r.y + r.height / 2
        return x <= cx < x + w and y <= cy < y + h

    assert any(
        r.given == 0 and r.predicted == 1 and inside(r) and r.area > 0.2 * erased.area for r in regions
    ), (erased.bbox, regions)
    assert read_label_issues(tmp_path / "issues.json") == result


def test_uncertainty_ranking_orders_images_and_round_trips(
    large_persons: Path, clean_checkpoint: Path, tmp_path: Path
) -> None:
    images_dir = Path(__file__).resolve().parents[2] / "resources" / "sample_coco" / "val2017"
    names = sorted(p.name for p in images_dir.glob("*.jpg"))[:6]
    result = rank_uncertain(
        clean_checkpoint, images_dir, names=names, labelled=frozenset(names[:2]), device="cpu",
        out=tmp_path / "u.json",
    )  # fmt: skip
    values = [im.uncertainty for im in result.images]
    assert sorted(im.file for im in result.images) == names and values == sorted(values, reverse=True)
    assert all(0.0 <= v <= 0.5 for v in values)  # 2 classes: 1 - max p is at most 1/2
    assert {im.file for im in result.images if im.labelled} == set(names[:2])
    assert read_uncertainty(tmp_path / "u.json") == result


def test_cancel_writes_nothing(large_persons: Path, clean_checkpoint: Path, tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        find_label_issues(
            clean_checkpoint, large_persons, device="cpu", cancel=token, out=tmp_path / "i.json"
        )
    assert not (tmp_path / "i").exists()


def test_bad_issues_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "label_issues.json"
    bad.write_text('{"kind": "cocoseg label issues", "version": 1, "images": [{"file": "a.jpg"}]}')
    with pytest.raises(DatasetError, match=r"label_issues\.json"):
        read_label_issues(bad)
    bad.write_text("[]")
    with pytest.raises(DatasetError, match="not a cocoseg label issues file"):
        read_label_issues(bad)


def test_cli_round_trip_and_errors(
    large_persons: Path, clean_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "issues.json"
    args = ["--checkpoint", str(clean_checkpoint), "--data", str(large_persons), "--device", "cpu"]
    assert cli_main(["find-label-issues", *args, "--out", str(out), "--top", "3"]) == 0
    result = read_label_issues(out)
    printed = capsys.readouterr().out
    assert f"{len(result.images)} images ranked" in printed and result.images[0].file in printed
    assert result.class_names == ["background", "person"] and result.data == str(large_persons)
    # an existing file that is not a ranking is never replaced
    foreign = large_persons / "manifest.json"
    before = foreign.read_bytes()
    assert cli_main(["find-label-issues", *args, "--out", str(foreign)]) == 2
    assert "manifest.json: belongs to the mask folder" in capsys.readouterr().err
    assert cli_main(["find-label-issues", *args, "--out", str(foreign), "--overwrite"]) == 2  # not even so
    assert foreign.read_bytes() == before
    # its own earlier ranking is replaced only with --overwrite (the output guard, issue 18 item 5)
    assert cli_main(["find-label-issues", *args, "--out", str(out)]) == 2
    assert "the file already exists; pass --overwrite" in capsys.readouterr().err
    # the uncertainty ranking of the folder's images without a mask
    unc = tmp_path / "unc.json"
    assert cli_main(["rank-uncertain", *args, "--out", str(unc), "--unlabelled-only"]) == 0
    ranked = read_uncertainty(unc)
    labelled = set(json.loads((large_persons / "image_mask_map.json").read_text()))
    assert ranked.images and not labelled & {im.file for im in ranked.images}
    assert cli_main(["rank-uncertain", "--checkpoint", str(clean_checkpoint), "--out", str(unc)]) == 2
    assert "either --data" in capsys.readouterr().err
    missing = tmp_path / "none.pt"
    code = cli_main(
        ["find-label-issues", *args[2:], "--checkpoint", str(missing), "--out", str(out), "--overwrite"]
    )
    assert code == 2
    assert "none.pt" in capsys.readouterr().err
