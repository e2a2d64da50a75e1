"""Following a run folder another process writes (its plots grow, its state read from the folder), and
finished runs compared side by side."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from cocoseg_gui.gui.widgets.run_monitor import RunMonitor


def append(run: Path, *events: dict) -> None:
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(e) + "\n" for e in events))


def epoch(n: int, loss: float, miou: float) -> dict:
    return {"type": "epoch", "epoch": n, "train_loss": loss, "val_loss": loss, "miou": miou, "pixel_acc": 0.9}


def step(n: int, loss: float) -> dict:
    return {"type": "step", "epoch": 0, "step": n, "global_step": n, "loss": loss, "lr": 0.01}


def test_follow_a_run_written_elsewhere_to_its_end(qtbot, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.show()
    view = monitor.follow_view
    view.follow(run)  # no log yet: the run has not set up
    qtbot.waitUntil(lambda: "waiting" in view.state_label.text())
    append(run, {"type": "start", "model": "unet", "world_size": 2}, step(1, 0.9), step(2, 0.8))
    qtbot.waitUntil(lambda: view.plots.series["step_loss"].size == 2, timeout=5000)
    assert view.state_label.text().startswith("running")
    append(run, epoch(0, 0.7, 0.4), {"type": "end", "status": "finished", "reason": ""})
    qtbot.waitUntil(lambda: view.state_label.text().startswith("finished"), timeout=5000)
    assert "epoch 1 done" in view.state_label.text()
    assert list(view.plots.series["miou"].y) == [0.4]
    # a fresh run over the folder: the plots start again
    (run / "metrics.jsonl").write_text(json.dumps({"type": "start", "model": "unet"}) + "\n")
    qtbot.waitUntil(lambda: view.plots.series["step_loss"].size == 0 and "running" in view.state_label.text())
    monitor.close()
    assert view.watch.wait_idle()


def test_a_failed_run_says_why_and_a_missing_folder_is_named(qtbot, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    append(run, {"type": "start"}, {"type": "end", "status": "failed", "reason": "the loss is not finite"})
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.follow_view.follow(run)
    qtbot.waitUntil(lambda: monitor.follow_view.state_label.text().startswith("failed"))
    assert "the loss is not finite" in monitor.follow_view.state_label.text()
    monitor.follow_view.follow(tmp_path / "gone")
    qtbot.waitUntil(lambda: "run folder not found" in monitor.follow_view.state_label.text())
    monitor.follow_view.watch.wait_idle()


def test_compare_finished_runs_side_by_side(qtbot, tmp_path: Path) -> None:
    runs = []
    for name, miou in (("small", 0.3), ("large", 0.6)):
        run = tmp_path / name
        run.mkdir()
        append(
            run,
            {"type": "start"},
            epoch(0, 1.0, miou / 2),
            epoch(1, 0.5, miou),
            {"type": "end", "status": "finished"},
        )
        runs.append(run)
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    append(stopped, {"type": "start"}, epoch(0, 1.1, 0.1), {"type": "end", "status": "cancelled"})
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.show()
    qtbot.waitExposed(monitor)
    bar = monitor.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())  # the Compare tab
    assert monitor.tabs.currentWidget() is monitor.compare_view
    compare = monitor.compare_view
    for run in [*runs, stopped]:
        compare.add_run(run)
    qtbot.waitUntil(lambda: len(compare.runs) == 3)
    assert {r.run_dir.name: r.state.value for r in compare.runs} == {
        "small": "finished",
        "large": "finished",
        "stopped": "stopped",
    }
    curves = compare.miou_plot.getPlotItem().listDataItems()
    assert sorted(c.name() for c in curves) == ["large (finished)", "small (finished)", "stopped (stopped)"]
    large = next(c for c in curves if c.name().startswith("large"))
    assert list(large.getData()[1]) == [0.3, 0.6]
    assert "large 0.600" in compare.message.text()
    compare.add_run(tmp_path / "not-a-run")
    qtbot.waitUntil(lambda: "not added" in compare.message.text())
