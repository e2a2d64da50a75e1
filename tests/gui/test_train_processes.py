"""Several processes from the window: Start with 2 processes runs torchrun as a child process group, the
plots grow from what the run writes, Stop (a real click) saves last.pt, Resume continues on 1 process."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.core.training.checkpoint import load_checkpoint
from cocoseg_gui.gui.services.devices import DeviceChoice
from tests.gui.test_train_panel import fill_tiny, make_panel
from tests.gui.training_panel_fixtures import *  # noqa: F403


def test_the_process_choice_lists_the_gpus_found(qtbot, temp_settings) -> None:
    panel = make_panel(qtbot, temp_settings)
    panel.processes.set_devices([DeviceChoice("cpu", "cpu")])
    assert "no GPU" in panel.processes.found.text() and panel.processes.spin.maximum() == 4
    gpus = [DeviceChoice("cpu", "cpu")] + [
        DeviceChoice(f"cuda:{i}", f"cuda:{i} - H100 (80 GiB)") for i in range(2)
    ]
    panel.processes.set_devices(gpus)
    assert panel.processes.found.text() == "of 2 GPUs" and panel.processes.spin.maximum() == 2
    assert "cuda:1 - H100" in panel.processes.found.toolTip()


@pytest.mark.slow
def test_two_processes_from_the_window_stop_and_resume(
    qtbot, temp_settings, tiny_masks, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    panel = make_panel(qtbot, temp_settings, tiny_masks)
    panel.show()
    run = tmp_path / "run"
    fill_tiny(panel, run, epochs=1000)  # never ends before the Stop, even under load
    panel.processes.spin.setValue(2)
    assert panel.start(), panel.last_error
    qtbot.waitUntil(lambda: panel.plots.series["step_loss"].size > 0, timeout=240000)  # from the run folder
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running and panel.start_button.isEnabled(), timeout=240000)
    assert panel.status.end_status == "cancelled"
    assert load_checkpoint(run / "last.pt")["train_state"]["world_size"] == 2

    panel.processes.spin.setValue(1)  # Resume in the window's own process: the global batch is kept
    # the resumed run's own steps: the status replays the first run's (its step counts are met at once)
    resumed_steps: list[ev.StepEvent] = []
    on_events = panel._on_events

    def count_steps(batch: list[ev.Event]) -> None:
        resumed_steps.extend(e for e in batch if isinstance(e, ev.StepEvent))
        on_events(batch)

    monkeypatch.setattr(panel, "_on_events", count_steps)
    assert panel.resume_from(run), panel.last_error
    qtbot.waitUntil(lambda: len(resumed_steps) >= 1, timeout=240000)  # stopped after a step: it saves
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running and panel.start_button.isEnabled(), timeout=240000)
    state = load_checkpoint(run / "last.pt")["train_state"]
    assert state["world_size"] == 1 and panel.status.end_status == "cancelled"
