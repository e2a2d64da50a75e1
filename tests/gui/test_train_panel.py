"""Train panel: a real short training from the form, live curves, Stop -> last.pt, replay of a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.masks.palette import display_color
from cocoseg_gui.core.training.run_reader import read_events
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets import existing_run_dialog as existing_run
from cocoseg_gui.gui.widgets.training_plots import Ema, SeriesBuffer
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.training_panel_fixtures import TINY_MODEL


def make_panel(qtbot, settings, masks: Path | None = None) -> TrainPanel:
    state = AppState(settings=settings)
    if masks is not None:
        state.set_masks_dir(masks)
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    return panel


def fill_tiny(panel: TrainPanel, out: Path, epochs: int) -> None:
    f = panel.form
    f.out.setText(str(out))
    f.model.setCurrentText("unet")
    f.model_options.setText(" ".join(f"{k}={v}" for k, v in TINY_MODEL.items()))
    f.img_size.setValue(64)
    f.batch_size.setValue(2)
    f.epochs.setValue(epochs)
    f.time_budget.setText("")
    f.log_every.setValue(1)
    f.device.setCurrentIndex(f.device.findData("cpu"))


@pytest.mark.slow
def test_training_from_the_panel_plots_live_and_stops_with_last_pt(
    qtbot, temp_settings, tiny_masks, tmp_path
) -> None:
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    assert panel.form.data.text() == str(tiny_masks)  # prefilled from the app state
    run = tmp_path / "run"
    fill_tiny(panel, run, epochs=50)
    checkpoints: list[Path] = []
    panel.state.checkpoint_changed.connect(lambda: checkpoints.append(panel.state.checkpoint_path))

    assert panel.start(), panel.last_error
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert panel.start() is False  # a second start while running is refused
    loss_curve = panel.plots.curves["step_loss"]
    qtbot.waitUntil(
        lambda: len(loss_curve.getData()[0] if loss_curve.getData()[0] is not None else []) > 0,
        timeout=120000,
    )
    qtbot.waitUntil(lambda: panel.plots.series["miou"].size >= 1, timeout=120000)
    panel.plots.flush()
    panel.stop()
    qtbot.waitUntil(lambda: not panel.running and panel.start_button.isEnabled(), timeout=120000)

    assert (run / "last.pt").is_file()
    assert panel.status.end_status == "cancelled"
    assert checkpoints and checkpoints[-1].parent == run
    assert panel.state.run_dir == run

    events = read_events(run)
    steps = [e for e in events if e.type == "step"]
    epochs = [e for e in events if e.type == "epoch"]
    # every step of the file is on the curve, in order, and the EMA curve has as many points
    xs, ys = panel.plots.curves["step_loss"].getData()
    np.testing.assert_allclose(ys, [e.loss for e in steps])
    np.testing.assert_array_equal(xs, [e.global_step for e in steps])
    assert len(panel.plots.curves["step_ema"].getData()[0]) == len(steps)
    # epoch metrics reached the plots and the figures
    mx, my = panel.plots.curves["miou"].getData()
    assert list(mx) == [e.epoch + 1 for e in epochs]
    np.testing.assert_allclose(my, [e.miou for e in epochs])
    assert panel.status_view.labels["best"].text().startswith(f"{max(e.miou for e in epochs):.4f}")
    assert "epoch 1, train loss" in panel.log.toPlainText()
    # per-class IoU bars: one per class with a value, in class colours
    last = {k: v for k, v in epochs[-1].per_class_iou.items() if v is not None}
    assert list(panel.plots.class_iou) == list(last)  # in class index order, as in the file
    best_first = sorted(last, key=lambda k: -last[k])[:20]  # ties keep the class order
    bars = panel.plots.bars.opts
    assert list(bars["width"]) == pytest.approx([last[k] for k in best_first])
    names = json.loads((tiny_masks / "category_mapping.json").read_text())["classes"]
    index_of = {c["name"]: c["index"] for c in names}
    for brush, name in zip(bars["brushes"], best_first):
        assert brush.color().getRgb()[:3] == display_color(index_of[name])
    # the form was remembered; the Run folder still shows the stopped run (issue 9: it silently changed)
    assert panel.form.out.text() == str(run)
    again = make_panel(qtbot, temp_settings, tiny_masks)
    assert again.form.img_size.value() == 64 and again.form.model_options.text() == "width=8 depth=2"


def test_reopening_a_run_folder_replays_its_curves(qtbot, temp_settings, tiny_run):
    panel = make_panel(qtbot, temp_settings)
    panel.form.img_size.setValue(512)
    assert panel.open_run(tiny_run)
    # the form shows the run's own options (issue 9: Open run reloaded the plots but not the form)
    assert panel.form.img_size.value() == 64 and panel.form.out.text() == str(tiny_run)
    events = read_events(tiny_run)
    steps = [e for e in events if e.type == "step"]
    _, ys = panel.plots.curves["step_loss"].getData()
    np.testing.assert_allclose(ys, [e.loss for e in steps])
    epochs = [e for e in events if e.type == "epoch"]
    assert len(epochs) == 3
    np.testing.assert_allclose(panel.plots.curves["val_loss"].getData()[1], [e.val_loss for e in epochs])
    np.testing.assert_allclose(panel.plots.curves["pixel_acc"].getData()[1], [e.pixel_acc for e in epochs])
    assert panel.status.end_status == "finished"
    assert panel.state.checkpoint_path == tiny_run / "best.pt"
    assert "end: finished" in panel.log.toPlainText()


def test_start_without_a_mask_dataset_explains_and_keeps_working(qtbot, temp_settings, tmp_path):
    panel = make_panel(qtbot, temp_settings)
    panel.form.data.setText(str(tmp_path))  # a folder that is not a mask dataset
    panel.form.out.setText(str(tmp_path / "run"))
    assert panel.start() is False
    assert panel.error_label.isVisibleTo(panel)
    assert "category_mapping.json" in panel.last_error.message
    assert "Generate a mask dataset" in panel.last_error.hint
    assert panel.start_button.isEnabled() and not panel.running

    panel.form.data.setText("")
    assert panel.start() is False
    assert "Mask dataset: no folder chosen" in panel.last_error.message


def test_bad_option_and_existing_run_folder_are_refused(
    qtbot, temp_settings, tiny_masks, tiny_run, monkeypatch
):
    asked: list[Path] = []
    monkeypatch.setattr(
        existing_run, "ask_existing_run", lambda parent, out, *a: asked.append(out) or "cancel"
    )
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    panel.form.out.setText(str(tiny_run))
    assert panel.start() is False
    assert asked == [tiny_run]  # Cancel in the dialog: nothing starts, nothing is replaced
    assert "already holds a run" in panel.last_error.message
    panel.form.out.setText(str(tiny_run.parent / "new_run"))
    panel.form.time_budget.setText("soon")
    assert panel.start() is False
    assert panel.last_error.title == "Invalid option" and "duration" in panel.last_error.message


def test_out_of_memory_gets_a_batch_size_hint() -> None:
    from cocoseg_gui.gui.services.error_hints import describe_error

    report = describe_error(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert report.title == "Out of memory" and "batch size" in report.hint


@pytest.mark.slow
def test_full_disk_at_a_checkpoint_is_reported_with_a_resume_hint(
    qtbot, temp_settings, tiny_masks, tmp_path, monkeypatch
) -> None:
    import errno

    from cocoseg_gui.core.training import checkpoint

    def disk_full(path, writer) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint, "atomic_write_with", disk_full)
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    fill_tiny(panel, tmp_path / "run", epochs=1)
    with qtbot.waitSignal(panel.run_finished, timeout=120000):
        assert panel.start(), panel.last_error
    report = panel.last_error
    assert report.title == "Disk full"
    assert "last.pt: No space left on device" in report.message and "Resume" in report.hint
    assert panel.start_button.isEnabled()  # the app keeps working


def test_series_buffer_grows_and_ema_is_debiased() -> None:
    s = SeriesBuffer(capacity=2)
    for i in range(5):
        s.append(i, i * 10)
    assert list(s.x) == [0, 1, 2, 3, 4] and list(s.y) == [0, 10, 20, 30, 40]
    ema = Ema(0.9)
    assert ema.update(4.0) == pytest.approx(4.0)  # debiased: the first value is itself
    assert ema.update(2.0) == pytest.approx((0.09 * 4 + 0.1 * 2) / (1 - 0.81))


def run_to_its_end(qtbot, panel) -> None:
    """Start the form's run and wait until the panel has handled its end (run_finished)."""
    with qtbot.waitSignal(panel.run_finished, timeout=120000):
        assert panel.start(), panel.last_error


def wait_handled_end(qtbot, panel) -> None:
    """The thread ended *and* the panel handled it (the last events drawn): ``running`` alone turns False
    before the queued finished signal reaches the panel, and a loaded machine shows the gap."""
    qtbot.waitUntil(lambda: not panel.running and panel.start_button.isEnabled(), timeout=120000)


@pytest.mark.slow
def test_resume_continues_the_run_and_keeps_its_curves(qtbot, temp_settings, tiny_masks, tmp_path):
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    run = tmp_path / "run"
    fill_tiny(panel, run, epochs=50)
    assert panel.start(), panel.last_error
    qtbot.waitUntil(lambda: panel.plots.series["miou"].size >= 1, timeout=120000)
    panel.stop()
    wait_handled_end(qtbot, panel)
    before = [e for e in read_events(run) if e.type == "step"]

    assert panel.resume_from(run), panel.last_error
    assert panel.form.out.text() == str(run) and panel.form.img_size.value() == 64  # the run's own options
    assert panel.plots.series["step_loss"].size >= len(before)  # the history is replayed first
    qtbot.waitUntil(lambda: panel.plots.series["miou"].size >= 2, timeout=120000)
    panel.stop()
    wait_handled_end(qtbot, panel)

    events = read_events(run)
    starts = [e for e in events if e.type == "start"]
    assert len(starts) == 2 and starts[1].resumed_from == str(run / "last.pt")
    steps = [e.global_step for e in events if e.type == "step"]
    assert steps == sorted(steps) and steps[-1] > before[-1].global_step  # continues, never restarts
    xs, _ = panel.plots.curves["step_loss"].getData()
    np.testing.assert_array_equal(xs, steps)


def test_resume_needs_last_pt(qtbot, temp_settings, tmp_path):
    panel = make_panel(qtbot, temp_settings)
    assert panel.resume_from(tmp_path) is False
    assert "last.pt" in panel.last_error.message


def test_run_status_progress_remaining_time_and_gpu_memory(qtbot) -> None:
    from cocoseg_gui.gui.widgets.run_status import RunStatus, RunStatusView

    s = RunStatus()
    s.update(
        {
            "type": "start",
            "time": 1000.0,
            "device": "cuda:0",
            "batches_per_epoch": 10,
            "config": {"epochs": 4, "time_budget_s": 100.0},
        }
    )
    s.update(
        {
            "type": "step",
            "time": 1010.0,
            "epoch": 0,
            "step": 5,
            "global_step": 5,
            "loss": 1.0,
            "images_per_s": 12.5,
        }
    )
    assert s.progress_fraction() == pytest.approx(5 / 40)
    s.update({"type": "epoch", "time": 1020.0, "epoch": 0, "miou": 0.25, "elapsed_s": 20.0})
    s.update({"type": "epoch", "time": 1040.0, "epoch": 1, "miou": 0.2, "elapsed_s": 40.0})
    s.update({"type": "end", "time": 1040.0, "status": "time_budget", "best_miou": 0.25})
    assert s.progress_fraction() == pytest.approx(0.5) and s.best_miou == 0.25
    assert s.remaining_s() == pytest.approx(40.0)  # 2 epochs at 20 s, within the 60 s left of the budget
    s.gpu_memory_bytes = 3 * 2**30
    view = RunStatusView()
    qtbot.addWidget(view)
    view.show_status(s)
    assert view.labels["device"].text() == "cuda:0   (peak GPU memory 3.00 GiB)"
    assert view.labels["speed"].text() == "12.5 images/s"
    assert view.labels["best"].text().startswith("0.2500")
    assert "time_budget" in view.progress.format()


def test_run_status_after_a_resume_counts_on_from_the_stop() -> None:
    from cocoseg_gui.gui.widgets.run_status import RunStatus

    s = RunStatus()
    s.update({"type": "start", "time": 0.0, "config": {"epochs": 4}})
    s.update({"type": "epoch", "time": 30.0, "epoch": 0, "elapsed_s": 30.0})
    s.update({"type": "end", "time": 31.0, "status": "cancelled"})
    s.update({"type": "start", "time": 5000.0, "config": {"epochs": 4}})  # resumed much later
    assert s.running and s.end_status == ""
    s.update({"type": "epoch", "time": 5030.0, "epoch": 1, "elapsed_s": 61.0})
    assert s.elapsed_s == pytest.approx(61.0)


def test_missing_images_fail_with_a_message_and_the_panel_recovers(qtbot, temp_settings, tmp_path):
    from tests.training_fixtures import build_mask_folder

    masks = build_mask_folder(tmp_path / "masks", max_images=4, copy_images=True)
    for image in (masks / "images").iterdir():
        image.unlink()
    panel = make_panel(qtbot, temp_settings, masks)
    fill_tiny(panel, tmp_path / "run", epochs=1)
    run_to_its_end(qtbot, panel)
    assert not panel.running and panel.start_button.isEnabled()
    # the trainer skips unreadable images with warnings; an epoch with none readable is an error
    # (issue 12 item 11: it used to end "finished")
    assert panel.error_label.isVisibleTo(panel)
    assert panel.status.end_status == "failed"
    assert "no training image of epoch 1 could be read (3 skipped" in panel.last_error.message  # 1 is val
    assert "images folder" in panel.last_error.hint
    assert "warning: skipped unreadable image or mask" in panel.log.toPlainText()


@pytest.mark.slow
def test_quitting_while_training_asks_then_stops_with_last_pt(
    qtbot, tmp_path, tiny_masks, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from tests.gui.window_helpers import make_window

    window = make_window(qtbot, tmp_path)
    window.state.set_masks_dir(tiny_masks)
    panel = window.panels["train"]
    run = tmp_path / "run"
    fill_tiny(panel, run, epochs=500)
    answers: list[str] = []

    def answer(reply):
        def ask(parent, title, text, *args):
            answers.append(text)
            return reply

        return ask

    assert panel.start(), panel.last_error
    qtbot.waitUntil(lambda: panel.status.step_in_epoch >= 1, timeout=120000)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    window.close()
    assert window.isVisible() and panel.running  # "No" keeps the app and the run going
    assert "Training still running" in answers[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.close()
    assert not window.isVisible() and not panel.running
    assert (run / "last.pt").is_file()


@pytest.mark.parametrize("answer", ["new_folder", "overwrite", "resume"])
def test_start_on_a_run_folder_asks_and_follows_the_answer(
    qtbot, temp_settings, tiny_masks, tiny_run, tmp_path, monkeypatch, answer
) -> None:
    """Issue 12 item 2: Start on a folder holding a run never replaces it silently; the dialog decides."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = {n: (run / n).read_bytes() for n in ("best.pt", "last.pt", "metrics.jsonl")}
    asked: list[tuple[Path, list[str], Path]] = []

    def ask(parent, out, found, new_folder):
        asked.append((out, found, new_folder))
        return answer

    monkeypatch.setattr(existing_run, "ask_existing_run", ask)
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    fill_tiny(panel, run, epochs=1)
    with qtbot.waitSignal(panel.run_finished, timeout=120000):
        assert panel.start(), panel.last_error
    assert asked == [(run, ["best.pt", "last.pt", "metrics.jsonl"], tmp_path / "run-2")]
    assert panel.status.end_status == "finished", panel.last_error
    after = {n: (run / n).read_bytes() for n in before}
    if answer == "new_folder":
        assert after == before and panel.state.run_dir == tmp_path / "run-2"
        assert (tmp_path / "run-2" / "best.pt").is_file()
    elif answer == "overwrite":
        events = read_events(run)
        assert [e.type for e in events].count("start") == 1 and events[-1].epochs_done == 1
    else:  # resume: the run continues with its own options and keeps its history
        assert after["metrics.jsonl"].startswith(before["metrics.jsonl"])
        starts = [e for e in read_events(run) if e.type == "start"]
        assert len(starts) == 2 and starts[-1].resumed_from == str(run / "last.pt")


def test_skipped_images_banner_follows_the_warning_kind_not_its_text(qtbot, temp_settings, tmp_path):
    """One unreadable image: the run finishes with the "Some images were skipped" banner, counted by the
    warning's kind (issue 9 item 4; the panel used to match the message text)."""
    from tests.training_fixtures import build_mask_folder

    masks = build_mask_folder(tmp_path / "masks", max_images=4, copy_images=True)
    sorted((masks / "images").iterdir())[0].write_bytes(b"not a jpeg at all")
    panel = make_panel(qtbot, temp_settings, masks)
    fill_tiny(panel, tmp_path / "run", epochs=1)
    run_to_its_end(qtbot, panel)
    assert panel.status.end_status == "finished" and panel.last_error is None
    assert panel.last_warning is not None and panel.last_warning.title == "Some images were skipped"
    assert "1 unreadable image or mask warnings" in panel.last_warning.message
    kinds = [e.kind for e in read_events(tmp_path / "run") if e.type == "warning"]
    assert kinds.count("skipped_images") == 1
