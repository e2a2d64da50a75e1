"""A model's score and what it was measured on (issue 19 items 4, 5): recorded by real tiny trainings on the
sample's person images, read back from the run folder, compared only on the same val set at the same size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.core.training.event_types import Event
from cocoseg_gui.core.training.model_score import (
    WEAK_MIOU,
    ModelScore,
    ValSet,
    describe_quality,
    judge,
    score_of_checkpoint,
    score_of_run_checkpoint,
    weakness,
)
from cocoseg_gui.core.training.trainer import train
from tests.trainer_fixtures import person4  # noqa: F401
from tests.unit.test_trainer import tiny_config


def test_a_run_records_its_val_set_and_the_score_is_read_back(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    end = train(tiny_config(person4, tmp_path / "a", epochs=2))
    assert end.status == "finished" and end.best_miou is not None
    score = score_of_run_checkpoint(tmp_path / "a" / "best.pt")
    assert score.scored and score.miou == end.best_miou  # the best epoch's mIoU
    assert score.img_size == 64 and score.resize == "letterbox"
    assert score.val_set is not None and score.val_set.images == 4
    assert set(score.per_class_iou) == {"background", "person"}
    # the checkpoint file carries the same val set (a copy outside its run folder is still comparable)
    ckpt = load_checkpoint(tmp_path / "a" / "best.pt")
    assert ckpt["val_set"] == score.val_set.to_json()
    outside = tmp_path / "copied.pt"
    shutil.copy(tmp_path / "a" / "best.pt", outside)
    assert not score_of_run_checkpoint(outside).scored
    from_file = score_of_checkpoint(outside, ckpt)
    assert from_file.miou == score.miou and from_file.val_set == score.val_set

    # the same data gives the same val set id; a changed val mask gives another
    train(tiny_config(person4, tmp_path / "b", epochs=1))
    again = score_of_run_checkpoint(tmp_path / "b" / "best.pt")
    assert again.val_set == score.val_set and again.comparable(score)
    edited = tmp_path / "edited"
    shutil.copytree(person4, edited)
    mask_map = json.loads((edited / "image_mask_map.json").read_text())
    mask_file = edited / "masks" / mask_map[sorted(mask_map)[0]]
    img = Image.open(mask_file)
    arr = np.array(img)
    arr[:4] = 0 if arr[0, 0] else 1
    out = Image.fromarray(arr, "P")
    out.putpalette(img.getpalette())
    out.save(mask_file)
    manifest = json.loads((person4 / "manifest.json").read_text())
    if "images_dir" in manifest:
        manifest["images_dir"] = (person4 / manifest["images_dir"]).resolve().as_posix()
        (edited / "manifest.json").write_text(json.dumps(manifest))
    train(tiny_config(edited, tmp_path / "c", epochs=1))
    other = score_of_run_checkpoint(tmp_path / "c" / "best.pt")
    assert other.val_set is not None and other.val_set.id != score.val_set.id
    assert not other.comparable(score)
    assert not judge(other, score).replace  # not the same val set: asked, never replaced silently


def test_a_last_pt_saved_mid_epoch_is_unscored(person4: Path, tmp_path: Path) -> None:  # noqa: F811
    token = CancelToken()

    def stop(event: Event) -> None:
        if event.type == "step":
            token.cancel()

    end = train(tiny_config(person4, tmp_path / "run"), callbacks=[stop], cancel=token)
    assert end.status == "cancelled"
    score = score_of_run_checkpoint(tmp_path / "run" / "last.pt")
    assert not score.scored and "mid-epoch" in score.note
    assert weakness(score) is not None and "unscored" in weakness(score)  # type: ignore[operator]


def _score(miou: float | None, vid: str = "v1", size: int = 64, name: str = "a.pt") -> ModelScore:
    return ModelScore(
        name,
        miou=miou,
        per_class_iou={"background": 0.9, "person": 0.05, "cat": 0.2, "dog": 0.8} if miou else {},
        img_size=size,
        resize="letterbox",
        val_set=ValSet(vid, 10),
    )


def test_judge_replaces_only_when_better_on_the_same_val_set_and_size() -> None:
    old = _score(0.5, name="old.pt")
    assert judge(_score(0.6, name="new.pt"), old).replace
    assert judge(_score(0.6, name="new.pt"), None).replace  # no model yet
    for new, why in (
        (_score(0.4, name="new.pt"), "does not score better"),
        (_score(0.5, name="new.pt"), "does not score better"),
        (_score(0.9, vid="v2", name="new.pt"), "different validation sets"),
        (_score(0.9, size=128, name="new.pt"), "different validation sets or input sizes"),
        (_score(None, name="new.pt"), "unscored"),
    ):
        verdict = judge(new, old)
        assert not verdict.replace and why in verdict.reason
    assert not judge(_score(0.9, name="new.pt"), _score(None, name="old.pt")).replace


def test_weakness_names_the_score_and_the_weak_classes() -> None:
    weak = _score(0.01)
    text = weakness(weak)
    assert text is not None and "0.010" in text and f"{WEAK_MIOU:.2f}" in text
    assert weakness(_score(0.6)) is None
    quality = describe_quality(_score(0.6))
    assert "person 0.05, cat 0.20" in quality and "dog" not in quality and "background" not in quality
