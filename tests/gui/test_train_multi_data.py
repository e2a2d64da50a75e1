"""Train workspace on a project with several train datasets (issue 19 items 1 and 3): the form takes every
train dataset's masks and the val dataset's, shows each folder's images and edited masks before Start,
refuses folders whose classes differ before anything starts, and "Fine-tune on corrections" is one action:
from the project's model, on every train dataset, edited images drawn more often, validated on val."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cocoseg_gui.core.project.project import DatasetEntry, Project, Role, new_project
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.run_inputs import read_run_inputs
from cocoseg_gui.core.training.train_request import FINE_TUNE_EDITED_WEIGHT, FINE_TUNE_EPOCHS, VAL_FOLDER
from cocoseg_gui.core.training.trainer import train
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.workspaces.train_panel import TrainPanel
from tests.gui.training_panel_fixtures import temp_settings  # noqa: F401
from tests.trainer_fixtures import edit_first, part_of, person_folder


@pytest.fixture(scope="module")
def person6(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six sample val images with persons, background/person (read-only: tests copy parts of it)."""
    return person_folder(tmp_path_factory.mktemp("person6"), 6)


def three_dataset_project(person6: Path, root: Path) -> Project:
    """train2017 + corr (both train) + val2017 (val), each a part of person6, saved in ``root``."""
    project = new_project(root / "proj")
    for name, role, keep in (
        ("train2017", Role.TRAIN, slice(0, 2)),
        ("corr", Role.TRAIN, slice(2, 4)),
        ("val2017", Role.VAL, slice(4, 6)),
    ):
        masks = part_of(person6, root / name, keep)
        project.add_dataset(DatasetEntry(name, role, images=root / f"{name}-images", masks=masks))
    project.save()
    return project


def panel_on(qtbot, settings, project: Project) -> TrainPanel:  # type: ignore[no-untyped-def]
    state = AppState(settings=settings)
    panel = TrainPanel(state)
    qtbot.addWidget(panel)
    state.workbench.open_project(project)
    f = panel.form
    f.device.setCurrentIndex(f.device.findData("cpu"))
    f.workers.setValue(0)
    f.batch_size.setValue(2)
    f.img_size.setValue(64)
    f.time_budget.setText("")
    qtbot.waitUntil(lambda: not f.inputs_pending(), timeout=30000)
    return panel


def test_every_train_dataset_is_trained_on_and_fine_tune_is_one_action(
    qtbot,
    temp_settings,  # noqa: F811
    person6: Path,
    tmp_path: Path,
) -> None:
    project = three_dataset_project(person6, tmp_path)
    first = project.folder / "runs" / "first"
    folders = {d.name: d.masks for d in project.datasets}
    base = TrainConfig(
        data=folders["train2017"], out=first, model="unet", model_kwargs={"width": 8, "depth": 2},
        epochs=1, batch_size=2, img_size=64, workers=0, time_budget_s=None, device="cpu", lr=1e-2,
        val_data=folders["val2017"],
    )  # fmt: skip
    assert train(base).status == "finished"
    project.add_run(first)
    project.checkpoint = first / "best.pt"
    project.save()
    edited = edit_first(folders["corr"])  # a correction saved after the first training

    panel = panel_on(qtbot, temp_settings, project)
    f = panel.form
    assert f.data.text() == str(folders["train2017"])
    assert f.extra_data.folders() == [folders["corr"]]
    assert f.val_mode.currentData() == VAL_FOLDER and f.val_data.text() == str(folders["val2017"])
    shown = f.inputs_info.text()  # before Start: each training folder, its images and edited masks
    assert "train2017: 2 images, 0 edited" in shown and "corr: 2 images, 1 edited" in shown
    assert f.inputs_info.isVisibleTo(f)

    panel.state.set_checkpoint(first / "last.pt")  # another model opened: the preset takes the project's
    f.extra_data.set_folders([])  # the user had taken the corrections out: the preset puts them back
    f.val_mode.setCurrentIndex(0)
    qtbot.mouseClick(f.fine_tune_button, Qt.MouseButton.LeftButton)
    assert panel.last_error is None
    assert f.init_from.text() == str(first / "best.pt")  # the project's model
    assert f.extra_data.folders() == [folders["corr"]]
    assert f.val_mode.currentData() == VAL_FOLDER and f.val_data.text() == str(folders["val2017"])
    assert f.epochs.value() == FINE_TUNE_EPOCHS
    assert f.edited_weight.value() == FINE_TUNE_EDITED_WEIGHT
    assert f.edited_weight.isVisibleTo(f) and f.edited_weight.text() == "drawn 3.0x as often"
    assert "2 training folders, edited images drawn 3x as often" in panel.log.toPlainText()
    # the corrections folder was not trained on by the checkpoint's run: its edit counts, and is said
    assert f.edited_info.text().startswith("1 mask edited since the last training (ended ")
    assert f.edited_info.text().endswith("or in folders it did not train on")
    qtbot.waitUntil(lambda: not f.inputs_pending(), timeout=30000)
    assert "corr: 2 images, 1 edited" in f.inputs_info.text()  # edited since the checkpoint's training

    f.epochs.setValue(1)  # the preset is the user's to change
    run = Path(f.out.text())
    with qtbot.waitSignal(panel.run_finished, timeout=180000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.status.end_status == "finished", panel.last_error
    inputs = read_run_inputs(run)
    assert inputs is not None
    assert [(Path(d.data).name, d.images, d.edited) for d in inputs.datasets] == [
        ("train2017", 2, []),
        ("corr", 2, [edited]),
    ]
    config = json.loads((run / "config.json").read_text())
    assert config["extra_data"] == [folders["corr"].as_posix()]
    assert config["edited_weight"] == FINE_TUNE_EDITED_WEIGHT
    assert config["val_data"] == folders["val2017"].as_posix() and config["epochs"] == 1
    assert "corr: 2 images, 1 edited" in panel.log.toPlainText()


def test_folders_whose_classes_differ_are_shown_and_refused_before_start(
    qtbot,
    temp_settings,  # noqa: F811
    person6: Path,
    tmp_path: Path,
) -> None:
    project = three_dataset_project(person6, tmp_path)
    corr = project.dataset("corr").masks
    assert corr is not None
    mapping = json.loads((corr / "category_mapping.json").read_text())
    mapping["classes"][1]["category_id"] = 7
    (corr / "category_mapping.json").write_text(json.dumps(mapping))

    panel = panel_on(qtbot, temp_settings, project)
    f = panel.form
    assert "COCO category id 1 in the first training folder and 7 here" in f.inputs_info.text()
    run = tmp_path / "run"
    f.out.setText(str(run))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.running
    assert panel.last_error is not None
    assert str(corr / "category_mapping.json") in panel.last_error.message
    assert "--" not in panel.last_error.message + panel.last_error.hint
    assert not run.exists()

    panel.form.extra_data.list.setCurrentRow(0)  # removing the folder from the list: Start works
    qtbot.mouseClick(f.extra_data.remove_button, Qt.MouseButton.LeftButton)
    assert f.extra_data.folders() == []
    qtbot.waitUntil(lambda: not f.inputs_pending(), timeout=30000)
    assert "category id" not in f.inputs_info.text()


def test_resume_takes_the_runs_folders_not_the_forms(
    qtbot,
    temp_settings,  # noqa: F811
    person6: Path,
    tmp_path: Path,
) -> None:
    project = three_dataset_project(person6, tmp_path)
    folders = {d.name: d.masks for d in project.datasets}
    run = tmp_path / "two-folder-run"
    config = TrainConfig(
        data=folders["train2017"], extra_data=[folders["corr"]], out=run, model="unet",
        model_kwargs={"width": 8, "depth": 2}, epochs=1, batch_size=2, img_size=64, workers=0,
        time_budget_s=None, device="cpu", val_data=folders["val2017"], edited_weight=2.0,
    )  # fmt: skip
    assert train(config).status == "finished"
    panel = panel_on(qtbot, temp_settings, project)
    f = panel.form
    f.extra_data.set_folders([])
    f.edited_weight.setValue(1.0)
    with qtbot.waitSignal(panel.run_finished, timeout=180000):
        assert panel.resume_from(run), panel.last_error
    assert panel.status.end_status == "finished", panel.last_error
    assert f.extra_data.folders() == [folders["corr"]] and f.edited_weight.value() == 2.0

    # a run written before several folders existed (no extra_data in its config.json) resumes on its one
    old = tmp_path / "old-run"
    assert train(TrainConfig(**{**config.to_json(), "out": old, "extra_data": []})).status == "finished"
    saved = json.loads((old / "config.json").read_text())
    del saved["extra_data"], saved["edited_weight"]
    (old / "config.json").write_text(json.dumps(saved))
    with qtbot.waitSignal(panel.run_finished, timeout=180000):
        assert panel.resume_from(old), panel.last_error
    assert panel.status.end_status == "finished", panel.last_error
    assert f.extra_data.folders() == [] and f.edited_weight.value() == 1.0


def test_training_on_a_dataset_that_is_not_train_asks_and_says_where_roles_change(
    qtbot,
    temp_settings,  # noqa: F811
    person6: Path,
    tmp_path: Path,
) -> None:
    project = three_dataset_project(person6, tmp_path)
    corr = project.dataset("corr")
    project.update_dataset("corr", role=Role.UNLABELLED)  # a dataset labelled from an image folder
    project.save()
    panel = panel_on(qtbot, temp_settings, project)
    f = panel.form
    assert f.extra_data.folders() == []  # not a train dataset: not trained on by default
    f.extra_data.add_folder(corr.masks)  # the user adds it anyway
    f.out.setText(str(tmp_path / "run"))
    seen: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "role_question":
            QTimer.singleShot(20, answer)
            return
        seen.append(box.informativeText())
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.running and not (tmp_path / "run").exists()
    assert "training on corr (unlabelled), which is not a training dataset" in seen[0].lower()
    assert "File › Project datasets…" in seen[0]
