"""Cross-fitted likely label errors and the image scores (core.quality.cross_fit, image_scores):
softmin and the class-balanced score by hand, folds and fold views on real sample masks, a real
cross-fitted ranking (each image scored by a model trained without it) through the job and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.quality.cross_fit import assign_folds, fold_config, make_fold_view
from cocoseg_gui.core.quality.image_scores import balanced_scores, softmin_scores
from cocoseg_gui.core.quality.issues_file import read_label_issues
from cocoseg_gui.core.quality.job import find_label_issues
from cocoseg_gui.core.quality.pixel_quality import pixel_quality, softmin_quality
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.data import MaskDataset
from cocoseg_gui.core.training.trainer import train
from tests.trainer_fixtures import person_folder


@pytest.fixture(scope="module")
def persons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six sample val images with a person (background/person)."""
    return person_folder(tmp_path_factory.mktemp("persons"), 6, scan=30)


@pytest.fixture(scope="module")
def tiny_checkpoint(persons: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(
        data=persons, out=run, epochs=2, batch_size=3, img_size=32, workers=0, lr=1e-2,
        model_kwargs={"width": 4}, val_on_train=True, augment=False, time_budget_s=None, device="cpu",
    )  # fmt: skip
    assert train(cfg).status == "finished"
    return run / "last.pt"


def test_softmin_by_hand() -> None:
    # 2 classes, 1x4 pixels: self-confidence 0.9, 0.8, 0.1 (class 0, 0, 1) and one ignore pixel
    probs = np.array([[[0.9, 0.8, 0.9, 0.5]], [[0.1, 0.2, 0.1, 0.5]]], dtype=np.float32)
    q = pixel_quality(probs, np.array([[0, 0, 1, 255]], dtype=np.uint8))
    s = np.array([0.9, 0.8, 0.1])
    w = np.exp(-s / 0.1)
    assert softmin_quality(q.softmin_num, q.softmin_den) == pytest.approx(float((s * w).sum() / w.sum()))
    assert q.softmin_num[1] == pytest.approx(0.1 * np.exp(-1.0))  # class 1 alone: its one pixel
    assert softmin_scores([q]) == [pytest.approx(1 - (s * w).sum() / w.sum())]
    assert softmin_quality(np.zeros(2), np.zeros(2)) == 1.0  # no pixel: nothing wrong


def test_a_miss_made_everywhere_does_not_outrank_an_erased_object() -> None:
    """Five 8x8 images with a 4x4 'person': the model misses every person (p[person] 0.1 there); in
    image 3 the person was erased from the mask and the model says person there with 0.8."""
    qualities = []
    for i in range(5):
        labels = np.zeros((8, 8), dtype=np.uint8)
        probs = np.zeros((2, 8, 8), dtype=np.float32)
        probs[0], probs[1] = 0.95, 0.05
        probs[0, 2:6, 2:6], probs[1, 2:6, 2:6] = 0.9, 0.1  # the person pixels: the model misses them
        if i == 3:
            probs[0, 2:6, 2:6], probs[1, 2:6, 2:6] = 0.2, 0.8  # erased: labelled background, seen
        else:
            labels[2:6, 2:6] = 1
        qualities.append(pixel_quality(probs, labels))
    balanced = balanced_scores(qualities)
    assert int(np.argmax(balanced)) == 3 and balanced[3] == pytest.approx(0.95 - 0.2, abs=5e-3)
    assert [b for i, b in enumerate(balanced) if i != 3] == [0.0] * 4  # the usual miss scores nothing
    softmin = softmin_scores(qualities)
    assert int(np.argmax(softmin)) != 3  # the soft minimum puts the misses first
    assert softmin[3] == pytest.approx(0.8, abs=5e-3) and softmin[0] > 0.85


def test_folds_partition_the_images_and_repeat() -> None:
    files = [f"im{i}.jpg" for i in range(11)]
    folds = assign_folds(files, 3, seed=4)
    assert sorted(f for fold in folds for f in fold) == sorted(files)
    assert sorted(len(f) for f in folds) == [3, 4, 4]
    assert assign_folds(list(reversed(files)), 3, seed=4) == folds  # the order given does not matter
    assert assign_folds(files, 3, seed=5) != folds


def test_fold_view_holds_only_its_images(
    persons: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    all_files = sorted(json.loads((persons / "image_mask_map.json").read_text()))
    before = {p.name: p.read_bytes() for p in persons.rglob("*") if p.is_file()}
    view = make_fold_view(persons, all_files[:4], tmp_path / "view")
    ds = MaskDataset(view)
    assert ds.files == all_files[:4]
    original = MaskDataset(persons, files=all_files[:4])
    for i in range(4):
        image, mask = ds.load_pair(i)
        ref_image, ref_mask = original.load_pair(i)
        assert np.array_equal(np.asarray(mask), np.asarray(ref_mask))
        assert np.array_equal(np.asarray(image), np.asarray(ref_image))
    assert len(list((view / "masks").iterdir())) == 4
    assert {p.name: p.read_bytes() for p in persons.rglob("*") if p.is_file()} == before
    # an image folder given relative to the working directory, from a mask folder given relative too
    monkeypatch.chdir(persons.parent)
    images = original.images_dir.resolve()
    rel = make_fold_view(Path(persons.name), all_files[4:], tmp_path / "rel", Path(os.path.relpath(images)))
    assert MaskDataset(rel).images_dir == images and MaskDataset(rel).load_pair(0)


def test_fold_config_trains_like_the_checkpoint_never_from_it(tiny_checkpoint: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint)
    cfg = fold_config(ckpt, tmp_path / "data", tmp_path / "out", "cpu", {"epochs": 5})
    assert (cfg.model, cfg.model_kwargs, cfg.img_size, cfg.lr) == ("unet", {"width": 4}, 32, 1e-2)
    assert cfg.init_from is None and cfg.resume is None and cfg.epochs == 5 and cfg.val_every == 5
    assert cfg.val_on_train and cfg.val_data is None  # the run validated on its own images
    assert cfg.data == tmp_path / "data" and cfg.out == tmp_path / "out" and cfg.overwrite


def test_cross_fitted_ranking_scores_each_image_once(
    persons: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    events = []
    result = find_label_issues(
        tiny_checkpoint, persons, progress=events.append, device="cpu", cross_fit=2,
        fold_options={"epochs": 1}, out=tmp_path / "issues.json", score="softmin",
    )  # fmt: skip
    files = sorted(json.loads((persons / "image_mask_map.json").read_text()))
    assert sorted(im.file for im in result.images) == files
    assert result.cross_fit == 2 and result.score == "softmin"
    assert any("training fold 2 of 2" in e.message for e in events)
    for im in result.images:
        assert set(im.scores) == {"regions", "softmin", "balanced"} and im.score == im.scores["softmin"]
    assert [im.score for im in result.images] == sorted((im.score for im in result.images), reverse=True)
    back = read_label_issues(tmp_path / "issues.json")
    assert back == result
    # in-sample, the same job differs: the checkpoint's own view
    again = find_label_issues(tiny_checkpoint, persons, device="cpu", score="softmin")
    assert again.cross_fit == 0 and again.by_file() != result.by_file()


def test_cross_fit_cancel_and_bad_folds(persons: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        find_label_issues(
            tiny_checkpoint, persons, device="cpu", cross_fit=2, cancel=token, out=tmp_path / "i.json"
        )
    assert not (tmp_path / "i.json").exists()
    with pytest.raises(OptionsError, match="7 folds need at least 7 images"):
        find_label_issues(tiny_checkpoint, persons, device="cpu", cross_fit=7)
    with pytest.raises(OptionsError, match="unknown label-issue score 'best'"):
        find_label_issues(tiny_checkpoint, persons, device="cpu", score="best")


def test_cli_cross_fit(
    persons: Path, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "issues.json"
    args = ["find-label-issues", "--checkpoint", str(tiny_checkpoint), "--data", str(persons)]
    args += ["--device", "cpu", "--out", str(out)]
    assert cli_main([*args, "--cross-fit", "2", "--fold-epochs", "1", "--score", "regions"]) == 0
    printed = capsys.readouterr().out
    assert "regions score, cross-fitted (2 folds)" in printed
    result = read_label_issues(out)
    assert result.cross_fit == 2 and result.score == "regions" and len(result.images) == 6
    args.append("--overwrite")  # its own earlier file: the refusals below are about the options
    assert cli_main([*args, "--cross-fit", "1"]) == 2
    assert "cross-fitting needs 2 to 20 folds, got 1" in capsys.readouterr().err
    assert cli_main([*args, "--fold-epochs", "3"]) == 2
    assert "--fold-epochs needs --cross-fit K" in capsys.readouterr().err
