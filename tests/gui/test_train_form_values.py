"""The Train form shows a typed TrainRequest: a real run's config.json loads into the form and comes back
as an equal request (and the same run options), an older config.json without the newer keys loads with
what that run used, and the remembered settings come back in a new form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import QSettings

from cocoseg_gui.core.training.run_reader import read_config
from cocoseg_gui.core.training.train_request import SETTINGS_KEYS, TrainRequest
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.train_form import TrainForm
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.training_panel_fixtures import *  # noqa: F403


def _form(qtbot) -> TrainForm:  # type: ignore[no-untyped-def]
    form = TrainForm()
    qtbot.addWidget(form)
    return form


def test_a_real_runs_config_loads_into_the_form_and_back(qtbot, tiny_run: Path) -> None:
    written = read_config(tiny_run)  # by a real three-epoch train() (training_panel_fixtures)
    request = TrainRequest.from_config(written)
    form = _form(qtbot)
    form.set_values(request)
    assert form.request() == request
    assert form.model_options.text() == "width=8 depth=2" and form.img_size.value() == 64
    again = form.request().config().to_json()  # the run's options, as the run wrote them
    assert {k: again[k] for k in (*SETTINGS_KEYS, "out")} == {k: written[k] for k in (*SETTINGS_KEYS, "out")}


def test_an_older_config_without_the_newer_keys_loads_with_what_that_run_used(
    qtbot, temp_settings, tiny_run: Path, tmp_path: Path
) -> None:
    """A run from before several folders were trained together (no extra_data) and before edited images
    were weighted (no edited_weight): Open run shows one folder and weight 1, not what the form held."""
    old = tmp_path / "old_run"
    shutil.copytree(tiny_run, old)
    config = json.loads((old / "config.json").read_text())
    for key in ("extra_data", "edited_weight", "init_from", "checkpoint_every_s", "overwrite"):
        config.pop(key)
    (old / "config.json").write_text(json.dumps(config))
    panel = TrainPanel(AppState(settings=temp_settings))
    qtbot.addWidget(panel)
    extra = tmp_path / "more_masks"
    extra.mkdir()
    panel.form.extra_data.set_folders([extra])
    panel.form.edited_weight.setValue(3.0)
    assert panel.open_run(old)
    assert panel.form.extra_data.folders() == [] and panel.form.edited_weight.value() == 1.0
    assert panel.form.request().init_from == "" and panel.form.img_size.value() == 64


def test_the_remembered_options_come_back_in_a_new_form(
    qtbot, temp_settings, tiny_run: Path, tmp_path: Path
) -> None:
    first = _form(qtbot)
    first.set_values(TrainRequest.from_config(read_config(tiny_run)))
    first.edited_weight.setValue(2.5)
    first.time_budget.setText("90m")
    first.save_settings(temp_settings)
    second = _form(qtbot)
    second.out.setText("/elsewhere/run-1")  # not remembered: each run gets a new folder
    assert second.load_settings(temp_settings)
    assert second.request() == TrainRequest.from_config({"out": "/elsewhere/run-1"}, first.request())
    nothing = QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat)
    assert not _form(qtbot).load_settings(nothing)  # a first session: the form keeps its defaults
