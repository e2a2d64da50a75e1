"""Train workspace, "Fine-tune on corrections": the preset fills the form from the session's checkpoint, Start
runs a real (tiny, CPU) fine-tune, and when it ends the session's checkpoint and the Predict panel follow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.project.workbench import CheckpointChanged
from cocoseg_gui.core.training.run_inputs import read_run_inputs
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.train_form import FINE_TUNE_EPOCHS
from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.training_panel_fixtures import *  # noqa: F403


def copy_masks(src: Path, dst: Path) -> Path:
    """A writable copy of a mask folder whose manifest still finds the images."""
    shutil.copytree(src, dst)
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["images_dir"] = (src / manifest["images_dir"]).resolve().as_posix()
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def edit_one_mask(masks: Path) -> str:
    """Save a corrected mask the way the editor does (edited.json gets a fresh 'saved' time)."""
    mask_map = json.loads((masks / "image_mask_map.json").read_text())
    name = sorted(mask_map)[0]
    mask = np.array(Image.open(masks / "masks" / mask_map[name]))
    mask[: mask.shape[0] // 3] = 0
    save_edited_mask(masks, name, mask, mask.shape)
    return name


def test_fine_tune_preset_fills_the_form_start_runs_and_predict_follows(
    qtbot, temp_settings, tiny_masks, tiny_run, tmp_path
) -> None:
    masks = copy_masks(tiny_masks, tmp_path / "masks")
    edited = edit_one_mask(masks)
    state = AppState(settings=temp_settings)
    state.set_masks_dir(masks)
    predict = PredictPanel(state)
    qtbot.addWidget(predict)
    init = tiny_run / "best.pt"
    state.set_checkpoint(init)  # as after a training or Open run: Predict loads it
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: predict.predictor is not None, timeout=60000)
    events: list[CheckpointChanged] = []
    state.workbench.changed.subscribe(
        lambda e: events.append(e) if isinstance(e, CheckpointChanged) else None
    )

    f = panel.form
    f.lr.setValue(0.5)
    qtbot.mouseClick(f.fine_tune_button, Qt.MouseButton.LeftButton)
    assert panel.last_error is None
    assert f.init_from.text() == str(init)
    assert f.epochs.value() == FINE_TUNE_EPOCHS
    assert f.lr.value() == 1e-3  # a tenth of the 1e-2 the checkpoint's run used
    assert (f.model.currentText(), f.model_options.text(), f.img_size.value()) == (
        "unet",
        "width=8 depth=2",
        64,
    )
    assert not f.pretrained.isEnabled()
    # Start from checkpoint is said beside Start, and Start says it fine-tunes (issue 19 item 4)
    assert panel.init_notice.isVisibleTo(panel) and panel.init_notice.toolTip() == str(init)
    assert panel.init_notice.text() == f"Start fine-tunes from {init.parent.name}/best.pt"
    assert panel.start_button.text() == "Start fine-tune"
    assert Path(f.out.text()).name.startswith("finetune-")
    assert f.edited_info.text().startswith("1 mask edited since the last training")
    assert f.data.text() == str(masks)  # the current masks, the correction included

    run = tmp_path / "tuned"
    f.out.setText(str(run))
    f.epochs.setValue(1)  # keep the test short
    f.batch_size.setValue(4)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    f.workers.setValue(0)
    f.time_budget.setText("")
    with qtbot.waitSignal(panel.run_finished, timeout=120000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.status.end_status == "finished", panel.last_error
    log = panel.log.toPlainText()
    assert f"starting from the weights of {init}" in log
    assert "1 mask edited since the last training" in log
    inputs = read_run_inputs(run)
    assert inputs is not None and inputs.edited == [edited] and inputs.init_from == init.as_posix()
    # its val set differs from the checkpoint's (a mask was edited): asked, both scores shown
    qtbot.waitUntil(lambda: panel.model_question is not None, timeout=10000)
    box = panel.model_question
    assert str(run / "best.pt") in box.informativeText() and str(init) in box.informativeText()
    assert box.informativeText().count("val mIoU") == 2
    assert state.checkpoint_path == init  # nothing switched before the answer
    use = next(b for b in box.buttons() if b.text() == "Use the new model")
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    # the session's checkpoint switched to the new run's (a typed Workbench event), and Predict loaded it
    assert state.checkpoint_path == run / "best.pt"
    assert events and events[-1].checkpoint == run / "best.pt"
    qtbot.waitUntil(
        lambda: predict.checkpoint == run / "best.pt" and predict.predictor is not None, timeout=60000
    )
    # remembered with the form's settings
    again = TrainPanel(AppState(settings=temp_settings))
    qtbot.addWidget(again)
    assert again.form.init_from.text() == str(init)


def test_fine_tune_errors_are_told_in_the_gui_words(
    qtbot, temp_settings, tiny_masks, tiny_run, tmp_path
) -> None:
    state = AppState(settings=temp_settings)
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    assert panel.fine_tune_preset() is False  # no checkpoint yet
    assert panel.last_error.title == "No checkpoint to fine-tune"
    assert "train a model first" in panel.last_error.message

    f = panel.form
    f.data.setText(str(tiny_masks))
    f.out.setText(str(tmp_path / "run"))
    f.init_from.setText(str(tmp_path / "missing.pt"))
    assert panel.start() is False
    assert (
        panel.last_error.message.startswith("Start from checkpoint:") and "--" not in panel.last_error.message
    )

    other = copy_masks(tiny_masks, tmp_path / "renamed")  # the same masks, a class renamed
    mapping = json.loads((other / "category_mapping.json").read_text())
    mapping["classes"][1]["name"] = "pedestrian"
    (other / "category_mapping.json").write_text(json.dumps(mapping))
    f.data.setText(str(other))
    f.init_from.setText(str(tiny_run / "best.pt"))
    f.model_options.setText("width=8 depth=2")
    f.img_size.setValue(64)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    with qtbot.waitSignal(panel.run_finished, timeout=120000):
        assert panel.start(), panel.last_error
    assert panel.status.end_status == "failed"
    assert panel.last_error.title == "Dataset problem"
    assert str(tiny_run / "best.pt") in panel.last_error.message
    assert "checkpoint trained on masks with the same classes" in panel.last_error.message
    assert "--" not in panel.last_error.message + panel.last_error.hint
    assert not (tmp_path / "run").exists()
    assert state.checkpoint_path is None  # a failed run switches nothing
