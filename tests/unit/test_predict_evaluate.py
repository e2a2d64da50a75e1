"""Prediction at the original size and evaluation checked against a numpy hand computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.evaluate import evaluate
from cocoseg_gui.core.training.predict import Predictor, overlay_image, predict_files
from cocoseg_gui.core.training.trainer import train
from cocoseg_gui.core.training.transforms import letterbox_size, load_rgb
from tests.trainer_fixtures import person4  # noqa: F401

SAMPLE_VAL = Path(__file__).resolve().parents[2] / "resources" / "sample_coco" / "val2017"


@pytest.fixture(scope="module")
def checkpoint(person4: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A tiny UNet trained a few steps on person4 (quality is irrelevant here)."""
    run = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(
        data=person4,
        out=run,
        epochs=3,
        batch_size=4,
        img_size=64,
        workers=0,
        lr=1e-2,
        model_kwargs={"width": 8},
        val_on_train=True,
        augment=False,
        time_budget_s=None,
    )
    assert train(cfg).status == "finished"
    return run / "last.pt"


def iou_by_hand(
    preds: list[np.ndarray], gts: list[np.ndarray], num_classes: int
) -> tuple[list[float], float]:
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    correct = total = 0
    for p, g in zip(preds, gts):
        valid = g != 255
        for c in range(num_classes):
            inter[c] += np.sum((p == c) & (g == c) & valid)
            union[c] += np.sum(((p == c) | (g == c)) & valid)
        correct += np.sum((p == g) & valid)
        total += np.sum(valid)
    return [i / u if u else float("nan") for i, u in zip(inter, union)], correct / total


def test_predict_matches_the_letterboxed_model_output_at_original_size(checkpoint: Path) -> None:
    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    assert pred.class_names == ["background", "person"]
    image = load_rgb(next(iter(sorted(SAMPLE_VAL.glob("*.jpg")))))
    mask = pred.predict(image)
    assert mask.shape == (image.height, image.width) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1}
    # by hand: letterbox (top-left), run the model, crop the content, resize the logits, argmax
    nh, nw = letterbox_size(image.height, image.width, 64)
    from torchvision.transforms.v2 import functional as F

    raw = torch.from_numpy(np.array(image)).permute(2, 0, 1)
    small = F.resize(raw, [nh, nw], antialias=True).float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    canvas = ((torch.zeros(3, 1, 1) - mean) / std).expand(3, 64, 64).clone()  # black padding
    canvas[:, :nh, :nw] = (small - mean) / std
    with torch.no_grad():
        logits = pred.model(canvas[None])[:, :, :nh, :nw]
        up = torch.nn.functional.interpolate(logits, size=mask.shape, mode="bilinear", align_corners=False)
    expected = up[0].argmax(0).numpy()
    assert np.array_equal(expected, mask)


def test_probabilities_sum_to_one_and_agree_with_predict(checkpoint: Path) -> None:
    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    rgb = np.asarray(load_rgb(sorted(SAMPLE_VAL.glob("*.jpg"))[2]))
    (probs,) = pred.probabilities_batch([rgb])
    assert probs.shape == (2, *rgb.shape[:2]) and probs.dtype == np.float32
    assert np.allclose(probs.sum(0), 1.0, atol=1e-5)
    assert np.array_equal(probs.argmax(0), pred.predict(rgb))
    ((values, classes),) = pred.top2_batch([rgb])  # computed on the device: the same two classes
    assert values.shape == classes.shape == (2, *rgb.shape[:2])
    assert np.array_equal(classes[0], probs.argmax(0)) and np.array_equal(classes[1], probs.argmin(0))
    assert np.allclose(values[0], probs.max(0), atol=1e-6) and np.allclose(values[1], probs.min(0), atol=1e-6)


def test_predict_accepts_arrays_and_any_mode(checkpoint: Path) -> None:
    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    rgb = np.asarray(load_rgb(sorted(SAMPLE_VAL.glob("*.jpg"))[1]))
    base = pred.predict(rgb)
    assert base.shape == rgb.shape[:2]
    assert np.array_equal(pred.predict(Image.fromarray(rgb)), base)
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    assert np.array_equal(pred.predict(rgba), base)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    assert pred.predict(gray).shape == gray.shape
    odd = rgb[:37, :301]  # tall and thin sizes survive the round trip
    assert pred.predict(odd).shape == (37, 301)
    batch = pred.predict_batch([rgb, odd])
    assert np.array_equal(batch[0], base) and batch[1].shape == (37, 301)


def test_evaluate_matches_hand_computation(checkpoint: Path, person4: Path) -> None:  # noqa: F811
    result = evaluate(checkpoint, person4, device="cpu", batch_size=3)
    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    mask_map = json.loads((person4 / "image_mask_map.json").read_text())
    names = sorted(mask_map)
    preds = [pred.predict(load_rgb(SAMPLE_VAL / n)) for n in names]
    gts = [np.array(Image.open(person4 / "masks" / mask_map[n])) for n in names]
    assert all(p.shape == g.shape for p, g in zip(preds, gts))  # original resolution
    ious, acc = iou_by_hand(preds, gts, 2)
    assert result.per_class_iou["background"] == pytest.approx(ious[0])
    assert result.per_class_iou["person"] == pytest.approx(ious[1])
    assert result.miou == pytest.approx(np.nanmean(ious))
    assert result.pixel_acc == pytest.approx(acc)
    assert result.confusion.sum() == sum(int(np.sum(g != 255)) for g in gts)
    assert result.num_images == 4 and not result.skipped
    per_image = [s.miou for s in result.per_image]
    assert per_image == sorted(per_image)  # worst first
    worst = result.per_image[0]
    i = names.index(worst.file)
    assert worst.miou == pytest.approx(np.nanmean(iou_by_hand([preds[i]], [gts[i]], 2)[0]))
    js = result.to_json()
    assert json.loads(json.dumps(js))["num_images"] == 4


def test_evaluate_rejects_other_classes(checkpoint: Path, tmp_path: Path) -> None:
    from tests.training_fixtures import build_mask_folder

    data = build_mask_folder(tmp_path / "all", max_images=2)
    with pytest.raises(DatasetError, match="classes differ from the checkpoint"):
        evaluate(checkpoint, data, device="cpu")


def test_predict_files_writes_palette_masks_and_overlays(checkpoint: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    names = sorted(SAMPLE_VAL.glob("*.jpg"))[:3]
    for p in names:
        (src / p.name).write_bytes(p.read_bytes())
    Image.open(names[0]).convert("L").save(src / "gray.png")
    (src / "broken.jpg").write_bytes(b"not an image")
    seen = []
    result = predict_files(
        checkpoint, [src], tmp_path / "out", overlay=True, device="cpu", progress=seen.append
    )
    assert len(result.masks) == 4 and len(result.overlays) == 4
    assert [p.name for p, _ in result.failed] == ["broken.jpg"]
    assert seen and seen[-1].done == seen[-1].total == 5
    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    for p in names:
        out = Image.open(tmp_path / "out" / f"{p.stem}.png")
        original = load_rgb(p)
        assert out.mode == "P" and out.size == original.size
        assert np.array_equal(np.array(out), pred.predict(original))
        assert out.getpalette()[3:6] == [128, 0, 0]  # person's colour
        overlay = Image.open(tmp_path / "out" / "overlays" / f"{p.stem}.jpg")
        assert overlay.size == original.size
    assert Image.open(tmp_path / "out" / "gray.png").size == Image.open(src / "gray.png").size
    assert not list((tmp_path / "out").rglob(".*.tmp"))


def test_predict_files_errors_and_cancel(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="input image or folder not found"):
        predict_files(checkpoint, [tmp_path / "missing.jpg"], tmp_path / "out")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        predict_files(checkpoint, [SAMPLE_VAL], tmp_path / "out", cancel=token)
    not_ckpt = tmp_path / "x.pt"
    not_ckpt.write_text("nope")
    with pytest.raises(CocoSegError, match=r"x\.pt: not a cocoseg checkpoint"):
        Predictor.from_checkpoint(not_ckpt)


def test_overlay_image_blends_only_classes() -> None:
    rgb = np.full((2, 3, 3), 100, np.uint8)
    mask = np.array([[0, 1, 255], [1, 0, 2]], np.uint8)
    colors = np.array([[0, 0, 0], [200, 0, 0], [0, 50, 250]])
    out = overlay_image(rgb, mask, colors, alpha=0.5)
    assert out[0, 0].tolist() == [100, 100, 100]  # background untouched
    assert out[0, 2].tolist() == [100, 100, 100]  # ignore (no colour) untouched
    assert out[0, 1].tolist() == [150, 50, 50]
    assert out[1, 2].tolist() == [50, 75, 175]
    with pytest.raises(ValueError):
        overlay_image(rgb, mask[:1], colors)
