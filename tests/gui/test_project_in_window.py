"""The project in the window (issue 9): roles give every workspace its data, the dataset switcher, the
role question before Start, reopening, the title, New project…, Predict's ground truth from the project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import PROJECT_FILE, Project, Role, coco_folder_datasets, new_project
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.train_form import VAL_FOLDER, VAL_SPLIT
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401


@pytest.fixture
def coco(tmp_path: Path, sample_root: Path) -> Path:
    """A second COCO set with train and val (the sample copied: real files, its own name)."""
    root = tmp_path / "streets"
    shutil.copytree(sample_root, root, ignore=shutil.ignore_patterns("masks_*"))
    return root


def split(root: Path, name: str) -> tuple[Path, Path]:
    return root / "annotations" / f"instances_{name}.json", root / name


@pytest.fixture
def project_with_masks(tmp_path: Path, coco: Path) -> Project:
    """A saved project of ``coco`` whose train and val masks are generated (3 images each)."""
    project = new_project(tmp_path / "proj", coco_folder_datasets(coco), name="streets")
    for entry in project.datasets:
        out = project.default_masks_dir(entry)
        generate_masks(entry.annotations, entry.images, out, MaskOptions(max_images=3, workers=1))
        project.update_dataset(entry.name, masks=out)
    project.save()
    return project


def wait_loaded(qtbot, window: MainWindow, action) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        action()


def answer_role_question(qtbot, button: str) -> list[str]:
    """Press ``button`` in the role question once it shows; the list gets its title and text."""
    seen: list[str] = []

    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "role_question":
            QTimer.singleShot(20, press)
            return
        seen.extend([box.windowTitle(), box.informativeText()])
        target = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press)
    return seen


def test_train_and_evaluate_take_their_data_from_the_roles(
    qtbot, tmp_path: Path, project_with_masks: Project
) -> None:
    project = project_with_masks
    train_masks = project.dataset("train2017").masks
    val_masks = project.dataset("val2017").masks
    window = make_window(qtbot, tmp_path)
    train, evaluate = window.panels["train"], window.panels["evaluate"]
    # what the user had last time (the val masks) must not survive opening the project
    train.form.data.setText(str(val_masks))
    evaluate.data.setText(str(train_masks))
    wait_loaded(qtbot, window, lambda: window.projects.open_project_file(project.file, "val2017"))
    assert train.form.data.text() == str(train_masks)  # trains on train
    assert train.form.val_mode.currentData() == VAL_FOLDER and train.form.val_data.text() == str(val_masks)
    assert evaluate.data.text() == str(val_masks)  # evaluates on val
    assert window.state.masks_dir == val_masks  # the open dataset's masks are shown
    # runs go into the project (as `cocoseg train --project`), not ~/cocoseg-runs (found in a real window)
    assert Path(train.form.out.text()).parent == project.folder / "runs"
    assert train._new_run_folder("finetune").parent == project.folder / "runs"
    # ...and proposals into its proposals/ folder (the Images workspace was not told the project: a real
    # window wrote them beside the masks)
    assert window.images.proposals.proposals_dir() == project.folder / "proposals" / val_masks.name
    # attaching a mask folder moves neither Train's nor Evaluate's data
    window.open_masks(train_masks)
    window.open_masks(val_masks)
    assert train.form.data.text() == str(train_masks) and train.form.val_data.text() == str(val_masks)
    assert evaluate.data.text() == str(val_masks)


def test_train_validates_on_the_val_masks_only_once_they_exist(qtbot, tmp_path: Path, coco: Path) -> None:
    """Before the val masks are generated, Start must not fail on a folder nobody made: the form keeps its
    own validation choice; generating them switches validation to them."""
    project = new_project(tmp_path / "proj", coco_folder_datasets(coco), name="streets")
    train_entry = project.dataset("train2017")
    out = project.default_masks_dir(train_entry)
    generate_masks(train_entry.annotations, train_entry.images, out, MaskOptions(max_images=3, workers=1))
    project.update_dataset("train2017", masks=out)
    project.save()
    window = make_window(qtbot, tmp_path)
    train = window.panels["train"]
    wait_loaded(qtbot, window, lambda: window.projects.open_project_file(project.file, "train2017"))
    assert train.form.data.text() == str(out)
    assert train.form.val_mode.currentData() == VAL_SPLIT
    val_entry = project.dataset("val2017")
    val_out = project.default_masks_dir(val_entry)
    generate_masks(val_entry.annotations, val_entry.images, val_out, MaskOptions(max_images=3, workers=1))
    window.open_masks(val_out)  # attached: the project records them, the workspaces restore
    assert train.form.val_mode.currentData() == VAL_FOLDER and train.form.val_data.text() == str(val_out)
    assert train.form.data.text() == str(out)


def test_a_coco_folder_opens_as_train_and_val_and_masks_follow_the_switch(
    qtbot, tmp_path: Path, coco: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    wait_loaded(qtbot, window, lambda: window.open_path(coco))
    project = window.state.project
    assert [(d.name, d.role) for d in project.datasets] == [("train2017", Role.TRAIN), ("val2017", Role.VAL)]
    assert window.windowTitle() == "streets — val2017 (val) — cocoseg"
    masks = window.masks_panel
    folder = tmp_path / "projects" / "streets"
    assert masks.output_dir() == folder / "masks" / "val2017"
    # the user points Output elsewhere for val; switching to train follows train, in the project folder
    masks.set_output_dir(tmp_path / "elsewhere")
    combo = window.projects.combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["train2017 (train)", "val2017 (val)"]
    wait_loaded(qtbot, window, lambda: qtbot.keyClick(combo, Qt.Key.Key_Up))
    assert window.state.annotations_path.name == "instances_train2017.json"
    assert window.windowTitle() == "streets — train2017 (train) — cocoseg"
    assert masks.output_dir() == folder / "masks" / "train2017"
    assert not masks.output_dir().is_relative_to(coco)
    # generating saves the implicit project and records the masks for train
    masks.max_images.setValue(2)
    with qtbot.waitSignal(masks.generation_finished, timeout=120000):
        qtbot.mouseClick(masks.generate_button, Qt.MouseButton.LeftButton)
    saved = Project.load(folder / PROJECT_FILE)
    assert saved.dataset("train2017").masks == folder / "masks" / "train2017"
    assert saved.dataset("val2017").masks is None
    # switching back to val and again to train reattaches train's masks
    wait_loaded(qtbot, window, lambda: qtbot.keyClick(combo, Qt.Key.Key_Down))
    assert window.state.masks_dir is None and masks.output_dir() == folder / "masks" / "val2017"
    wait_loaded(qtbot, window, lambda: qtbot.keyClick(combo, Qt.Key.Key_Up))
    assert window.state.masks_dir == folder / "masks" / "train2017"


def test_the_role_question_comes_before_start_and_cancel_starts_nothing(
    qtbot, tmp_path: Path, project_with_masks: Project
) -> None:
    project = project_with_masks
    window = make_window(qtbot, tmp_path)
    wait_loaded(qtbot, window, lambda: window.projects.open_project_file(project.file))
    train = window.panels["train"]
    run = tmp_path / "run"
    train.form.data.setText(str(project.dataset("val2017").masks))
    train.form.val_mode.setCurrentIndex(train.form.val_mode.findData(VAL_SPLIT))
    train.form.out.setText(str(run))
    seen = answer_role_question(qtbot, "Cancel")
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    assert seen[0] == "Train on the validation masks?" and "val2017 (val)" in seen[1]
    assert "--" not in seen[1]  # the GUI's words, not CLI flags
    assert not train.running and not run.exists()
    evaluate = window.panels["evaluate"]
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"never loaded: the question comes first")
    evaluate.checkpoint.setCurrentText(str(checkpoint))
    evaluate.data.setText(str(project.dataset("train2017").masks))
    seen = answer_role_question(qtbot, "Cancel")
    qtbot.mouseClick(evaluate.run_button, Qt.MouseButton.LeftButton)
    assert seen[0] == "Evaluate on the training images?" and "train2017 (train)" in seen[1]
    assert not evaluate.running


def test_reopening_brings_back_the_last_project_and_dataset(
    qtbot, tmp_path: Path, project_with_masks: Project
) -> None:
    first = make_window(qtbot, tmp_path)
    wait_loaded(qtbot, first, lambda: first.projects.open_project_file(project_with_masks.file))
    wait_loaded(qtbot, first, lambda: first.projects.switch_dataset("train2017"))
    first.close()
    second = make_window(qtbot, tmp_path)
    wait_loaded(qtbot, second, lambda: second.projects.reopen_last())
    assert second.state.project.file == project_with_masks.file
    assert second.state.dataset_entry.name == "train2017"
    assert second.state.masks_dir == project_with_masks.dataset("train2017").masks
    assert second.windowTitle() == "streets — train2017 (train) — cocoseg"
    assert second.projects.recent_projects() == [project_with_masks.file]
    second.recent_menu.aboutToShow.emit()
    assert any(a.text().startswith("streets — ") for a in second.recent_menu.actions())


def test_new_project_dialog_makes_and_opens_the_project(qtbot, tmp_path: Path, coco: Path) -> None:
    window = make_window(qtbot, tmp_path)
    dialog = window.projects.new_project_dialog()
    dialog.add_annotations(split(coco, "train2017")[0])
    dialog.add_annotations(split(coco, "val2017")[0])
    assert dialog.name.text() == "streets"
    roles = [dialog.table.cellWidget(r, 1).currentData() for r in range(dialog.table.rowCount())]
    assert roles == [Role.TRAIN, Role.VAL]  # guessed from train/val in the names
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert "Folder field is empty" in dialog.message.text() and dialog.isVisible()
    dialog.folder.setText(str(tmp_path / "new"))
    wait_loaded(qtbot, window, lambda: qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton))
    saved = Project.load(tmp_path / "new" / PROJECT_FILE)
    assert [(d.name, d.role) for d in saved.datasets] == [("train2017", Role.TRAIN), ("val2017", Role.VAL)]
    assert window.windowTitle() == "streets — train2017 (train) — cocoseg"


def test_predict_finds_truth_in_another_dataset_and_in_a_chosen_folder(
    qtbot, tmp_path: Path, tiny_run: Path, tiny_masks: Path, sample_root: Path
) -> None:
    from tests.gui.test_predict_panel import load, make_panel, show

    train_masks = tmp_path / "train_masks"
    generate_masks(*split(sample_root, "train2017"), train_masks, MaskOptions(max_images=2, workers=1))
    datasets = coco_folder_datasets(sample_root)
    project = new_project(tmp_path / "proj", datasets)
    project.update_dataset("train2017", masks=train_masks)
    panel = make_panel(qtbot, temp_settings_for(tmp_path))
    panel.state.workbench.open_project(project, "val2017")  # val open; the image is a train image
    load(qtbot, panel, tiny_run / "best.pt")
    train_image = sample_root / "train2017" / next(iter(_image_map(train_masks)))
    c = show(qtbot, panel, train_image)
    assert c.truth is not None and c.truth_source == "mask dataset"
    val_image = sample_root / "val2017" / next(iter(_image_map(tiny_masks)))
    assert show(qtbot, panel, val_image).truth is None  # val has no masks in the project
    panel.truth_folder.setText(str(tiny_masks))  # the user points Predict at a mask folder
    with qtbot.waitSignal(panel.comparison_shown, timeout=60000) as blocker:
        panel.truth_folder.edit.editingFinished.emit()
    assert blocker.args[0].truth is not None and blocker.args[0].image_path == val_image


def _image_map(masks: Path) -> dict[str, str]:
    return json.loads((masks / "image_mask_map.json").read_text())


def temp_settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "predict.ini"), QSettings.Format.IniFormat)


def test_workspaces_built_after_the_project_opened_take_its_roles(
    qtbot, tmp_path: Path, project_with_masks: Project
) -> None:
    """Train and Evaluate are built on first show (ADR 0035): built after the project opened, they read it."""
    project = project_with_masks
    train_masks = project.dataset("train2017").masks
    val_masks = project.dataset("val2017").masks
    window = make_window(qtbot, tmp_path)
    wait_loaded(qtbot, window, lambda: window.projects.open_project_file(project.file, "val2017"))
    assert not window.panels.is_built("train") and not window.panels.is_built("evaluate")
    train, evaluate = window.show_panel("train"), window.show_panel("evaluate")
    assert train.form.data.text() == str(train_masks)  # trains on train
    assert train.form.val_mode.currentData() == VAL_FOLDER and train.form.val_data.text() == str(val_masks)
    assert Path(train.form.out.text()).parent == project.folder / "runs"
    assert evaluate.data.text() == str(val_masks)  # evaluates on val
