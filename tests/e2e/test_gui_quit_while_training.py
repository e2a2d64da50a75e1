"""Quitting the app while it trains: no "QThread: Destroyed while thread is still running", last.pt kept.

The app runs as `python -m cocoseg_gui --panel train --settings INI` in a subprocess (offscreen Qt); a
small driver, installed before the app's own main runs, fills the Train form, clicks Start, waits for
the first plotted step and closes the window (answering Yes to the "quit anyway?" question).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample_coco"

DRIVER = r"""
import runpy, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

masks, run = sys.argv[1], sys.argv[2]
sys.argv = ["cocoseg_gui", *sys.argv[3:]]
app = QApplication([sys.argv[0]])
state = {"phase": "start"}


def window():
    from cocoseg_gui.gui.main_window import MainWindow
    return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)


def tick():
    box = app.activeModalWidget()
    if isinstance(box, QMessageBox):  # "Training still running. Quit anyway?"
        yes = box.button(QMessageBox.StandardButton.Yes)
        if yes is None:  # another question (e.g. the role question before Start): fail, do not hang
            print("unexpected question:", box.text(), flush=True)
            box.reject()
            app.exit(3)
            return
        yes.click()
        return
    w = window()
    if w is None:
        return
    panel = w.panels.get("train")
    if state["phase"] == "start" and panel is not None and panel.isVisible():
        f = panel.form
        f.data.setText(masks)
        f.out.setText(run)
        f.model.setCurrentText("unet")
        f.model_options.setText("width=8 depth=2")
        f.img_size.setValue(64)
        f.batch_size.setValue(2)
        f.epochs.setValue(1000)
        f.time_budget.setText("")
        f.log_every.setValue(1)
        f.workers.setValue(0)
        f.device.setCurrentIndex(max(f.device.findData("cpu"), 0))
        panel.start_button.click()
        print("started", panel.running, panel.last_error, flush=True)
        state["phase"] = "running"
    elif state["phase"] == "running" and panel.plots.series["step_loss"].size >= 2:
        print("closing mid-run", flush=True)
        state["phase"] = "closing"
        QTimer.singleShot(0, w.close)  # from the event loop: the quit question needs this timer


timer = QTimer()
timer.timeout.connect(tick)
timer.start(50)
runpy.run_module("cocoseg_gui", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_closing_the_window_mid_training_stops_cleanly(tmp_path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        COCOSEG_CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),  # implicit projects go under ~/cocoseg-projects: not the real home
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    masks = tmp_path / "masks"
    made = subprocess.run(
        [sys.executable, "-m", "cocoseg_gui.cli", "masks", "--annotations",
         str(SAMPLE / "annotations" / "instances_train2017.json"), "--images", str(SAMPLE / "train2017"),
         "--out", str(masks), "--max-images", "8", "--workers", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(masks), str(run),
         "--panel", "train", "--settings", str(tmp_path / "settings.ini")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "closing mid-run" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    bad = [line for line in result.stderr.splitlines() if "QThread" in line or "Destroyed while" in line]
    assert not bad, result.stderr
    assert (run / "last.pt").is_file(), result.stdout + result.stderr
