"""Predict panel: a real checkpoint on sample images; overlay pixels, truth, IoU table, errors, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocoseg_gui.core.masks.palette import display_colors
from cocoseg_gui.core.quality.truth_compare import ERROR_CORRECT, ERROR_IGNORED, ERROR_WRONG
from cocoseg_gui.core.training.predict import Predictor
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.qimage_utils import qimage_to_rgb
from cocoseg_gui.gui.workspaces.predict_panel import TAB_COMPARE, PredictPanel
from tests.gui.training_panel_fixtures import *  # noqa: F403

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_coco"


def first_images(masks: Path, n: int) -> list[Path]:
    mapping = json.loads((masks / "image_mask_map.json").read_text())
    return [SAMPLE / "val2017" / name for name in list(mapping)[:n]]


def make_panel(qtbot, settings) -> PredictPanel:
    panel = PredictPanel(AppState(settings=settings))
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.show()
    return panel


def load(qtbot, panel: PredictPanel, checkpoint: Path) -> None:
    panel.load_checkpoint(checkpoint)
    qtbot.waitUntil(lambda: panel.predictor is not None, timeout=60000)


def show(qtbot, panel: PredictPanel, image: Path):
    with qtbot.waitSignal(panel.comparison_shown, timeout=60000) as blocker:
        panel.open_images([image])
    return blocker.args[0]


def test_overlay_pixels_are_the_predicted_mask_blended_over_the_image(
    qtbot, temp_settings, tiny_run, tiny_masks
):
    panel = make_panel(qtbot, temp_settings)
    panel.state.set_masks_dir(tiny_masks)
    load(qtbot, panel, tiny_run / "best.pt")
    image = first_images(tiny_masks, 1)[0]
    c = show(qtbot, panel, image)

    reference = Predictor.from_checkpoint(tiny_run / "best.pt", device="cpu")
    rgb = np.asarray(Image.open(image).convert("RGB"))
    pred = reference.predict(rgb)
    np.testing.assert_array_equal(c.pred, pred)
    assert len(np.unique(pred)) >= 2, "the tiny model should predict more than one class"

    shown = qimage_to_rgb(panel.overlay_view.render_image(1.0)).astype(np.int32)
    assert shown.shape == rgb.shape
    colors = display_colors(reference.palette)  # the checkpoint's colours, dark VOC ones lifted on screen
    alpha = panel.opacity.value() / 100
    expected = rgb * (1 - alpha) + np.asarray(colors, dtype=np.float64)[pred] * alpha
    fg = pred != 0
    assert fg.any()
    assert np.abs(shown[fg] - expected[fg]).max() <= 2  # blended class colours
    assert np.abs(shown[~fg] - rgb[~fg]).max() <= 1  # background is not drawn

    panel.opacity.setValue(100)
    opaque = qimage_to_rgb(panel.overlay_view.render_image(1.0)).astype(np.int32)
    assert np.abs(opaque[fg] - np.asarray(colors)[pred][fg]).max() <= 1


def test_ground_truth_from_the_mask_dataset_scores_and_errors(qtbot, temp_settings, tiny_run, tiny_masks):
    panel = make_panel(qtbot, temp_settings)
    panel.state.set_masks_dir(tiny_masks)
    load(qtbot, panel, tiny_run / "best.pt")
    image = first_images(tiny_masks, 2)[1]
    c = show(qtbot, panel, image)

    truth = np.asarray(Image.open(tiny_masks / "masks" / (image.stem + ".png")))
    assert c.truth_source == "mask dataset"
    np.testing.assert_array_equal(c.truth, truth)
    # per-class IoU computed independently with boolean masks, ignore pixels excluded
    valid = truth != 255
    expected = {}
    for k in np.union1d(np.unique(truth[valid]), np.unique(c.pred[valid])):
        t, p = (truth == k) & valid, (c.pred == k) & valid
        expected[int(k)] = (t & p).sum() / (t | p).sum()
    assert {s.index: s.iou for s in c.scores} == pytest.approx(expected)
    assert panel.score_table.rowCount() == len(expected)
    assert float(panel.score_table.item(0, 1).text()) == pytest.approx(c.scores[0].iou, abs=5e-4)
    # error map: correct / wrong / ignored
    assert np.array_equal(c.errors == ERROR_IGNORED, ~valid)
    assert np.array_equal(c.errors == ERROR_CORRECT, valid & (truth == c.pred))
    assert np.array_equal(c.errors == ERROR_WRONG, valid & (truth != c.pred))
    np.testing.assert_array_equal(panel.error_view.mask(), c.errors)
    # the compare view shows truth on the left, prediction on the right
    np.testing.assert_array_equal(panel.compare_view.left.mask(), truth)
    np.testing.assert_array_equal(panel.compare_view.right.mask(), c.pred)


def test_ground_truth_rasterised_from_the_open_dataset(
    qtbot, temp_settings, tiny_run, tiny_masks, tmp_path, monkeypatch
):
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.project.workbench import LoadedDataset

    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    panel = make_panel(qtbot, temp_settings)
    annotations = SAMPLE / "annotations" / "instances_val2017.json"
    loaded = LoadedDataset(CocoIndex.load(annotations), annotations, SAMPLE / "val2017")
    panel.state.workbench.set_loaded(loaded, panel.state.masks_dir)
    load(qtbot, panel, tiny_run / "best.pt")
    image = first_images(tiny_masks, 3)[2]
    c = show(qtbot, panel, image)
    assert c.truth_source == "annotations"
    truth = np.asarray(Image.open(tiny_masks / "masks" / (image.stem + ".png")))  # pycocotools reference
    assert (c.truth == truth).mean() > 0.999


def test_unseen_image_has_no_ground_truth(qtbot, temp_settings, tiny_run, tmp_path):
    unseen = tmp_path / "unseen.png"
    Image.open(SAMPLE / "train2017" / sorted(p.name for p in (SAMPLE / "train2017").iterdir())[0]).convert(
        "L"
    ).save(unseen)  # a grayscale image outside any dataset
    panel = make_panel(qtbot, temp_settings)
    load(qtbot, panel, tiny_run / "best.pt")
    c = show(qtbot, panel, unseen)
    assert c.truth is None and c.errors is None and c.scores == []
    assert c.pred.shape == np.asarray(Image.open(unseen)).shape
    assert "no ground truth" in panel.status.text()


def test_compare_request_opens_the_image_in_the_compare_view(qtbot, temp_settings, tiny_run, tiny_masks):
    panel = make_panel(qtbot, temp_settings)
    panel.state.set_masks_dir(tiny_masks)
    load(qtbot, panel, tiny_run / "best.pt")
    image = first_images(tiny_masks, 1)[0]
    with qtbot.waitSignal(panel.comparison_shown, timeout=60000):
        panel.state.compare_requested.emit(str(image))
    assert panel.tabs.currentIndex() == TAB_COMPARE
    assert panel.comparison.image_path == image


def test_bad_checkpoint_is_reported_and_the_panel_keeps_working(qtbot, temp_settings, tmp_path, tiny_run):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    panel = make_panel(qtbot, temp_settings)
    with qtbot.waitSignal(panel.failed, timeout=60000):
        panel.load_checkpoint(bad)
    assert "broken.pt" in panel.last_error and "not a cocoseg checkpoint" in panel.last_error
    load(qtbot, panel, tiny_run / "best.pt")


def test_batch_export_writes_palette_masks_and_overlays(qtbot, temp_settings, tiny_run, tiny_masks, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    images = first_images(tiny_masks, 2)
    for p in images:
        (src / p.name).write_bytes(p.read_bytes())
    panel = make_panel(qtbot, temp_settings)
    load(qtbot, panel, tiny_run / "best.pt")
    out = tmp_path / "out"
    job = panel.export(src, out)
    assert job is not None and not panel.export_button.isEnabled()
    with qtbot.waitSignal(job.done, timeout=120000):
        pass
    assert panel.export_button.isEnabled()
    masks = sorted(out.glob("*.png"))
    assert [m.stem for m in masks] == sorted(p.stem for p in images)
    with Image.open(masks[0]) as m:
        assert m.mode == "P"
        rgb = np.asarray(Image.open(src / (masks[0].stem + ".jpg")).convert("RGB"))
        np.testing.assert_array_equal(np.asarray(m), panel.predictor.predict(rgb))
    assert len(list((out / "overlays").iterdir())) == 2
    assert "exported" in panel.status.text()


def test_batch_export_never_writes_over_inputs_or_files_it_did_not_write(
    qtbot, temp_settings, tiny_run, tiny_masks, tmp_path, monkeypatch
):
    """Issue 12 item 1: the core check applies; a foreign file is replaced only once the user agrees."""
    src = tmp_path / "in"
    src.mkdir()
    image = first_images(tiny_masks, 1)[0]
    Image.open(image).save(src / f"{image.stem}.png")  # an input at the name of its own mask
    before = (src / f"{image.stem}.png").read_bytes()
    panel = make_panel(qtbot, temp_settings)
    panel.state.set_masks_dir(tiny_masks)
    load(qtbot, panel, tiny_run / "best.pt")
    for out, message in [(src, "is the input folder"), (tiny_masks / "masks", "mask dataset folder")]:
        with qtbot.waitSignal(panel.failed, timeout=60000) as blocker:
            panel.export(src, out)
        assert message in blocker.args[0] and message in panel.status.text()
        qtbot.waitUntil(lambda: panel._export_job is None, timeout=60000)
    assert (src / f"{image.stem}.png").read_bytes() == before

    out = tmp_path / "out"
    out.mkdir()
    (out / f"{image.stem}.png").write_bytes(b"mine")
    answers: list[bool] = []
    monkeypatch.setattr(panel, "_confirm_overwrite", lambda exc: answers.append(False) or False)
    with qtbot.waitSignal(panel.failed, timeout=60000) as blocker:
        panel.export(src, out)
    assert "did not write" in blocker.args[0] and answers == [False]
    qtbot.waitUntil(lambda: panel._export_job is None and panel.export_button.isEnabled(), timeout=60000)
    assert (out / f"{image.stem}.png").read_bytes() == b"mine"

    monkeypatch.setattr(panel, "_confirm_overwrite", lambda exc: True)
    panel.export(src, out)
    qtbot.waitUntil(lambda: "exported" in panel.status.text(), timeout=120000)
    with Image.open(out / f"{image.stem}.png") as m:
        assert m.mode == "P"
