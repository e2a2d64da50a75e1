"""Errors speak the GUI's language: field and button names, never a command-line flag (issue 9 item 6)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFormLayout, QMessageBox

from cocoseg_gui.core.coco.image_entry import image_entry_problem
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.masks.folder import MasksExistError
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.training.predict_output import OVERWRITE_HINT
from cocoseg_gui.core.training.run_reader import read_events
from cocoseg_gui.core.types import ImageInfo
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.error_hints import describe_error, gui_wording
from cocoseg_gui.gui.widgets.dialogs import error_text, show_error
from cocoseg_gui.gui.widgets.train_form import VAL_FOLDER
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.bad_datasets import tiny_dataset
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401


def _symlink_error(tmp_path: Path) -> BaseException:
    images, outside = tmp_path / "images", tmp_path / "elsewhere.jpg"
    images.mkdir()
    outside.write_bytes(b"x")
    os.symlink(outside, images / "a.jpg")
    try:
        SafeRoot(images).resolve("a.jpg")
    except Exception as exc:
        return exc
    raise AssertionError("a link out of the folder was followed")


def _options_error() -> BaseException:
    try:
        MaskOptions(overlap="priority", priority=())
    except OptionsError as exc:
        return exc
    raise AssertionError("priority without an order was accepted")


def _not_a_run(tmp_path: Path) -> BaseException:
    try:
        read_events(tmp_path)
    except Exception as exc:
        return exc
    raise AssertionError("an empty folder was read as a run")


# (how to make the real core error, the GUI name the text must use instead of the flag)
CASES = {
    "image too large": (
        lambda tmp: OptionsError(image_entry_problem(ImageInfo(1, "a.jpg", 20000, 20000))[1]),
        "the GUI skips images this large",
    ),
    "symlink": (_symlink_error, "the GUI does not follow such links"),
    "masks exist": (lambda tmp: MasksExistError(tmp / "out", "masks of another dataset"), "Replace"),
    "predict overwrite": (lambda tmp: OptionsError(f"out holds files; {OVERWRITE_HINT}"), "output folder"),
    "priority": (lambda tmp: _options_error(), "Priority list"),
    "not a run folder": (_not_a_run, "Run folder"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dialogs_name_the_gui_field_not_the_cli_flag(tmp_path, monkeypatch, case: str) -> None:
    make, words = CASES[case]
    exc = make(tmp_path)
    assert "--" in str(exc)  # core speaks the CLI's language ...
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    show_error(None, "Generate masks", exc)
    report = describe_error(exc)
    for text in (shown[0], error_text(exc), report.text()):
        assert "--" not in text, text  # ... the GUI its own
        assert words in text, text


def test_status_bar_says_what_to_do_about_a_too_large_image_in_gui_words(qtbot, tmp_path) -> None:
    annotations = tiny_dataset(tmp_path / "data")
    data = json.loads(annotations.read_text(encoding="utf-8"))
    first = min(data["images"], key=lambda i: i["file_name"])
    first["width"] = first["height"] = 20000  # 400 M pixels in the JSON: no mask is drawn for it
    annotations.write_text(json.dumps(data), encoding="utf-8")
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(annotations, annotations.parent / "images")
    message = window.statusBar().currentMessage()
    assert "above the limit" in message and "the GUI skips images this large" in message, message
    assert "--" not in message


def test_training_warnings_in_the_log_use_gui_names() -> None:
    text = gui_wording("--workers 8: only 2 CPUs are available; using 2 loader workers")
    assert text.startswith("Workers 8:") and "--" not in text


@pytest.fixture
def panel(qtbot, tmp_path) -> TrainPanel:
    from PySide6.QtCore import QSettings

    state = AppState(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    return panel


def _label_of(panel: TrainPanel, field) -> str:
    form = panel.form.layout()
    assert isinstance(form, QFormLayout)
    return form.labelForField(field).text()


@pytest.mark.parametrize("case", ["data", "out", "val_data", "time_budget", "model_options"])
def test_train_form_errors_name_the_field_as_labelled(panel, tmp_path, case: str) -> None:
    f = panel.form
    f.data.setText(str(tmp_path / "masks"))
    f.out.setText(str(tmp_path / "run"))
    field = getattr(f, case)
    if case in ("data", "out"):
        field.setText("")
    elif case == "val_data":
        f.val_mode.setCurrentIndex(f.val_mode.findData(VAL_FOLDER))
    elif case == "time_budget":
        f.time_budget.setText("soon")
    else:
        f.model_options.setText("width")
    statuses: list[str] = []
    panel.state.status_message.connect(statuses.append)
    assert panel.start() is False
    label = _label_of(panel, field)
    for text in (panel.last_error.message, statuses[-1], panel.error_label.text()):
        assert f"{label}:" in text, text
        assert "--" not in text
