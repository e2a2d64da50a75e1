"""Evaluate panel: the tables and the confusion heat map equal core evaluate() on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.training.evaluate import evaluate
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.workspaces.evaluate_panel import PATH_ROLE, EvaluatePanel
from tests.gui.training_panel_fixtures import *  # noqa: F403


def make_panel(qtbot, settings) -> EvaluatePanel:
    panel = EvaluatePanel(AppState(settings=settings))
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    return panel


@pytest.fixture(scope="module")
def reference(tiny_run, tiny_masks):
    return evaluate(tiny_run / "best.pt", tiny_masks, device="cpu", batch_size=4)


def test_evaluation_matches_core_evaluate(qtbot, temp_settings, tiny_run, tiny_masks, reference):
    panel = make_panel(qtbot, temp_settings)
    panel.state.set_masks_dir(tiny_masks)
    panel.state.set_checkpoint(tiny_run / "best.pt")
    assert panel.data.text() == str(tiny_masks) and panel.checkpoint.currentText() == str(
        tiny_run / "best.pt"
    )
    panel.device.setCurrentText("cpu")
    with qtbot.waitSignal(panel.evaluated, timeout=120000) as blocker:
        assert panel.start()
        assert not panel.run_button.isEnabled()
    result = blocker.args[0]
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=60000)

    assert result.miou == pytest.approx(reference.miou)
    assert f"mIoU {reference.miou:.4f}" in panel.summary.text()
    assert f"pixel accuracy {reference.pixel_acc:.4f}" in panel.summary.text()
    assert f"mean Dice {reference.mean_dice:.4f}" in panel.summary.text()
    # per-class table: every class with an IoU, in class order, same values
    expected = [(n, v) for n, v in reference.per_class_iou.items() if v is not None]
    shown = [
        (panel.class_table.item(r, 0).text(), panel.class_table.item(r, 1).data(Qt.ItemDataRole.UserRole))
        for r in range(panel.class_table.rowCount())
    ]
    assert [n for n, _ in shown] == [n for n, _ in expected]
    assert [v for _, v in shown] == pytest.approx([v for _, v in expected])
    # images worst first, as evaluate() sorts them
    rows = [panel.image_table.item(r, 0).text() for r in range(panel.image_table.rowCount())]
    assert rows == [s.file for s in reference.per_image]
    mious = [float(panel.image_table.item(r, 1).text()) for r in range(len(rows))]
    assert mious == sorted(mious)
    # confusion heat map: row-normalised, present classes only, named
    conf = reference.confusion
    present = np.flatnonzero((conf.sum(1) > 0) | (conf.sum(0) > 0))
    assert panel.confusion.names == [reference.class_names[i] for i in present]
    sub = conf[np.ix_(present, present)].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.nan_to_num(sub / sub.sum(1, keepdims=True))
    np.testing.assert_allclose(panel.confusion.matrix, norm)
    np.testing.assert_allclose(panel.confusion.image.image, norm)

    # double-clicking the worst image asks for the compare view with its path
    with qtbot.waitSignal(panel.state.compare_requested, timeout=30000) as req:
        panel.image_table.cellDoubleClicked.emit(0, 0)
    path = req.args[0]
    assert path == panel.image_table.item(0, 0).data(PATH_ROLE)
    assert path.endswith(reference.per_image[0].file)


def test_missing_inputs_are_explained(qtbot, temp_settings, tmp_path, tiny_run):
    panel = make_panel(qtbot, temp_settings)
    panel.checkpoint.setCurrentText(str(tmp_path / "nothing.pt"))
    assert panel.start() is False
    assert "checkpoint file not found" in panel.last_error
    panel.checkpoint.setCurrentText(str(tiny_run / "best.pt"))
    panel.data.setText(str(tmp_path))
    assert panel.start() is False
    assert "category_mapping.json" in panel.last_error and "Generate a mask dataset" in panel.last_error
    assert panel.run_button.isEnabled()
