"""Train workspace, issue 19 items 4 and 7: a finished run replaces the project's model only when it scores
better on the same val set at the same size (else both scores and a question), and Resume continues the
selected run, mid-epoch, without a folder picker. Real tiny CPU trainings on the sample masks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.recent_runs import add_recent_run
from cocoseg_gui.gui.widgets.train_form import VAL_TRAIN
from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.training_panel_fixtures import *  # noqa: F403

RUN_MS = 120000


def run_scored(tiny_run: Path, dst: Path, miou: float) -> Path:
    """A copy of the tiny run whose recorded validation scored ``miou`` (its metrics.jsonl rewritten)."""
    shutil.copytree(tiny_run, dst)
    lines = []
    for line in (dst / "metrics.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "epoch" and event.get("miou") is not None:
            event["miou"] = miou
            event["per_class_iou"] = {name: miou for name in event["per_class_iou"]}
        lines.append(json.dumps(event))
    (dst / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return dst / "best.pt"


def tiny_form(panel: TrainPanel, masks: Path, out: Path, epochs: int = 1) -> None:
    """The tiny run's options (same val set: the training images, same 64 px), into ``out``."""
    f = panel.form
    f.data.setText(str(masks))
    f.val_mode.setCurrentIndex(f.val_mode.findData(VAL_TRAIN))
    f.out.setText(str(out))
    f.model.setCurrentText("unet")
    f.model_options.setText("width=8 depth=2")
    f.img_size.setValue(64)
    f.batch_size.setValue(4)
    f.epochs.setValue(epochs)
    f.lr.setValue(1e-2)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    f.workers.setValue(0)
    f.log_every.setValue(1)
    f.time_budget.setText("")
    f.init_from.setText("")


def start(qtbot, panel: TrainPanel) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def test_a_better_run_replaces_the_model_a_worse_one_asks(
    qtbot, temp_settings, tiny_masks, tiny_run, tmp_path
) -> None:
    state = AppState(settings=temp_settings)
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    weak = run_scored(tiny_run, tmp_path / "weak", 0.0)
    state.set_checkpoint(weak)

    tiny_form(panel, tiny_masks, tmp_path / "better", epochs=3)  # the tiny run again: it scores > 0
    assert not panel.init_notice.isVisibleTo(panel) and panel.start_button.text() == "Start"
    start(qtbot, panel)
    assert panel.status.end_status == "finished", panel.last_error
    new = tmp_path / "better" / "best.pt"
    assert panel.model_question is None  # better on the same val set at the same size: no question
    assert state.checkpoint_path == new
    assert "scores better" in panel.log.toPlainText()

    strong = run_scored(tiny_run, tmp_path / "strong", 0.999)
    state.set_checkpoint(strong)
    tiny_form(panel, tiny_masks, tmp_path / "worse")
    start(qtbot, panel)
    qtbot.waitUntil(lambda: panel.model_question is not None, timeout=10000)
    box = panel.model_question
    assert "does not score better" in box.text()
    text = box.informativeText()
    assert "val mIoU 0.999 on 8 val images at 64 px" in text and str(tmp_path / "worse" / "best.pt") in text
    assert state.checkpoint_path == strong
    keep = next(b for b in box.buttons() if b.text() == "Keep the current model")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert panel.model_question is None and state.checkpoint_path == strong
    assert "kept the project's model" in panel.log.toPlainText()

    # another input size is another measurement: asked, even against a weak model
    state.set_checkpoint(weak)
    tiny_form(panel, tiny_masks, tmp_path / "bigger")
    panel.form.img_size.setValue(96)
    start(qtbot, panel)
    qtbot.waitUntil(lambda: panel.model_question is not None, timeout=10000)
    assert "different validation sets or input sizes" in panel.model_question.text()
    use = next(b for b in panel.model_question.buttons() if b.text() == "Use the new model")
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    assert state.checkpoint_path == tmp_path / "bigger" / "best.pt"


def test_resume_continues_the_stopped_run_at_its_step_without_a_picker(
    qtbot, temp_settings, tiny_masks, tmp_path
) -> None:
    from cocoseg_gui.core.jobs import CancelToken
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.trainer import train

    run = tmp_path / "run"
    options = dict(
        data=tiny_masks, out=run, model="unet", model_kwargs={"width": 8, "depth": 2}, img_size=64,
        batch_size=2, epochs=2, device="cpu", workers=0, log_every=1, val_on_train=True, lr=1e-2,
        time_budget_s=None,
    )  # fmt: skip
    token = CancelToken()
    stopped_end = train(
        TrainConfig(**options),  # type: ignore[arg-type]
        callbacks=[lambda e: token.cancel() if e.type == "step" and e.global_step == 6 else None],
        cancel=token,
    )
    assert stopped_end.status == "cancelled" and stopped_end.global_step == 6  # inside epoch 2
    straight = train(TrainConfig(**{**options, "out": tmp_path / "straight"}))  # type: ignore[arg-type]

    state = AppState(settings=temp_settings)
    add_recent_run(temp_settings, run)
    predict = PredictPanel(state)
    qtbot.addWidget(predict)
    listed = [predict.checkpoint_combo.itemText(i) for i in range(predict.checkpoint_combo.count())]
    assert listed == ["run / best.pt", "run / last.pt"]  # the stopped run offers its last.pt too
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    assert panel.open_run(run)
    # the stopped run is selected: Resume names it and needs no folder picker (the autouse guard fails
    # the test on any file dialog)
    assert panel.resume_button.text() == "Resume run"
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert panel.status.end_status == "finished", panel.last_error
    assert f"resuming {run} at epoch 2, step 2 of 4" in panel.log.toPlainText()
    final = load_checkpoint(run / "last.pt")["train_state"]
    assert final["global_step"] == straight.global_step == 8  # the steps done were not redone
    a = load_checkpoint(run / "last.pt")["model"]["state_dict"]
    b = load_checkpoint(tmp_path / "straight" / "last.pt")["model"]["state_dict"]
    import torch

    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    assert panel.resume_button.text() == "Resume..."  # a finished run is not resumed: the folder picker

    # after a restart: the project's newest run, stopped before its end, is the one Resume continues
    from cocoseg_gui.core.project.project import new_project

    stopped_again = tmp_path / "stopped"
    token2 = CancelToken()
    train(
        TrainConfig(**{**options, "out": stopped_again}),  # type: ignore[arg-type]
        callbacks=[lambda e: token2.cancel() if e.type == "step" else None],
        cancel=token2,
    )
    project = new_project(tmp_path / "project")
    project.add_run(stopped_again)
    later = TrainPanel(AppState(settings=temp_settings))
    qtbot.addWidget(later)
    later.state.workbench.open_project(project)
    assert later.resume_button.text() == "Resume stopped"


def test_start_from_checkpoint_is_said_beside_start_and_clear_removes_it(
    qtbot, temp_settings, tiny_run, tmp_path
) -> None:
    panel = TrainPanel(AppState(settings=temp_settings))
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.init_notice.isVisible() and panel.start_button.text() == "Start"
    panel.form.init_from.setText(str(tiny_run / "best.pt"))  # e.g. restored from the last session
    assert panel.init_notice.isVisible() and panel.clear_init_button.isVisible()
    assert panel.init_notice.text() == f"Start fine-tunes from {tiny_run.name}/best.pt"
    assert panel.start_button.text() == "Start fine-tune"
    qtbot.mouseClick(panel.clear_init_button, Qt.MouseButton.LeftButton)
    assert panel.form.init_from.text() == "" and not panel.init_notice.isVisible()
    assert panel.start_button.text() == "Start"
