"""File › New dataset from an image folder and File › Export labels… (COCO) in the window (pytest-qt)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import Project, Role
from cocoseg_gui.gui.widgets.export_dialog import ExportDialog
from cocoseg_gui.gui.widgets.new_dataset_dialog import COCO, NewDatasetDialog
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401


def test_new_dataset_dialog_makes_an_unlabelled_dataset_and_opens_it(
    qtbot, tmp_path: Path, val_images: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    window.datasets.act_new_dataset.trigger()
    dialog = window.datasets.dialog
    assert isinstance(dialog, NewDatasetDialog) and dialog.isVisible()
    qtbot.keyClicks(dialog.images_edit, str(val_images))
    assert dialog.name_edit.text() == "val2017"
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)  # no classes yet: said in the dialog
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    assert "no class given" in dialog.error_label.text() and dialog.isVisible()
    qtbot.keyClicks(dialog.classes_edit, "cat, dog")
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    workbench = window.state.workbench
    entry = workbench.dataset
    assert entry is not None and entry.role is Role.UNLABELLED and entry.name == "val2017"
    assert entry.masks == tmp_path / "projects" / "val2017" / "masks" / "val2017"
    assert Project.load(workbench.project.file).dataset("val2017") == entry  # saved in the project
    assert window.state.masks_dir == entry.masks and window.images.browser.model.rowCount() == 50
    assert MaskDatasetFolder(entry.masks).samples() == []  # nothing labelled yet


def test_new_dataset_dialog_refuses_a_typed_name_that_leads_elsewhere(
    qtbot, tmp_path: Path, val_images: Path
) -> None:
    """Issue 18 item 11: a typed dataset name is checked, not silently changed; nothing is made."""
    window = make_window(qtbot, tmp_path)
    window.datasets.act_new_dataset.trigger()
    dialog = window.datasets.dialog
    qtbot.keyClicks(dialog.images_edit, str(val_images))
    qtbot.keyClicks(dialog.classes_edit, "cat")
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "../../evil")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    text = dialog.error_label.text()
    assert "'../../evil' may not contain '/'" in text and "--" not in text and not dialog.busy()
    assert not (tmp_path / "projects").exists() or not any((tmp_path / "projects").rglob("*.json"))


def test_new_dataset_classes_from_a_bad_coco_json_name_the_file(
    qtbot, tmp_path: Path, val_images: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": []}')
    dialog = window.datasets.new_dataset_dialog()
    dialog.images_edit.setText(str(val_images))
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(COCO))
    dialog.classes_edit.setText(str(bad))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    assert "broken.json" in dialog.error_label.text() and "categories" in dialog.error_label.text()
    assert window.state.workbench.project is None  # nothing added


@pytest.fixture
def edited_masks(tmp_path: Path, val_annotations: Path, val_images: Path) -> Path:
    """Masks of 3 sample val images, one of them edited by the editor's save (a rectangle of class 1)."""
    out = tmp_path / "masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=3))
    folder = MaskDatasetFolder(out)
    name = sorted(folder.image_mask_map)[0]
    label = folder.read_mask(name).copy()
    label[5:40, 5:60] = 1
    save_edited_mask(out, name, label, label.shape)
    return out


def test_export_dialog_end_to_end(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, edited_masks: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(val_annotations, val_images, edited_masks)
    window.formats.act_export.trigger()
    dialog = window.formats.dialog
    assert isinstance(dialog, ExportDialog) and dialog.masks == edited_masks
    assert dialog.use_original.isChecked() and Path(dialog.original_edit.text()) == val_annotations.resolve()
    # an output that would replace a file of the mask folder: said in the GUI's words, nothing written
    dialog.out_edit.setText(str(edited_masks / "manifest.json"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    text = dialog.summary.text()
    assert (
        "The output file" in text and "manifest.json" in text and "--" not in text and dialog.report is None
    )
    out = tmp_path / "export" / "edited.json"
    out.parent.mkdir()
    dialog.out_edit.setText(str(out))
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("polygon"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    assert out.is_file() and dialog.report is not None, dialog.summary.text()
    expected = export_coco(edited_masks, tmp_path / "cli.json", val_annotations.resolve(), "polygon")
    got, want = dialog.report.to_json(), expected.to_json()
    for key in ("out", "elapsed_s"):
        got.pop(key), want.pop(key)
    assert got == want and got["edited"] == 1
    assert (
        json.loads(out.read_text())["annotations"]
        == json.loads((tmp_path / "cli.json").read_text())["annotations"]
    )
    summary = dialog.summary.text()
    assert "1 edited" in summary and "mean IoU" in summary and "--" not in summary


def test_export_dialog_asks_before_replacing_and_never_replaces_an_image(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, edited_masks: Path, monkeypatch
) -> None:
    """Issue 18 item 5: an existing output is replaced only after the user says yes; an image never."""
    from PySide6.QtWidgets import QMessageBox

    answers: list[QMessageBox.StandardButton] = []
    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(val_annotations, val_images, edited_masks)
    window.formats.act_export.trigger()
    dialog = window.formats.dialog
    out = tmp_path / "notes.json"
    out.write_text("{}\n")

    def export() -> None:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)

    dialog.out_edit.setText(str(out))
    answers.append(QMessageBox.StandardButton.No)
    export()
    assert len(asked) == 1 and str(out) in asked[0] and "--" not in asked[0]
    assert out.read_text() == "{}\n" and dialog.report is None and "already exists" in dialog.summary.text()
    answers.append(QMessageBox.StandardButton.Yes)
    export()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT_MS)  # the replacing export followed
    assert len(asked) == 2 and json.loads(out.read_text())["annotations"]
    # an image (a copy of one of the dataset's) is refused without a question, and left as it was
    photo = tmp_path / "photo.jpg"
    shutil.copyfile(next(iter(sorted(val_images.iterdir()))), photo)
    before = photo.read_bytes()
    dialog.out_edit.setText(str(photo))
    export()
    assert len(asked) == 2 and photo.read_bytes() == before
    text = dialog.summary.text()
    assert "Nothing was exported" in text and "is an image file" in text and "--" not in text


def test_export_without_a_mask_folder_says_what_to_do(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    window = make_window(qtbot, tmp_path)
    assert window.formats.export_dialog() is None
    assert "No mask folder is open" in shown[0] and "Masks panel" in shown[0]


def test_export_of_a_new_dataset_writes_labelled_images_only(qtbot, tmp_path: Path, val_images: Path) -> None:
    from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset

    made = create_new_dataset(val_images, categories_from_names("cat"), tmp_path / "new")
    name = json.loads(made.annotations.read_text())["images"][3]
    label = np.zeros((name["height"], name["width"]), np.uint8)
    label[:10, :10] = 1
    save_edited_mask(made.folder, name["file_name"], label, label.shape)
    dialog = ExportDialog(made.folder, None)
    qtbot.addWidget(dialog)
    assert not dialog.use_original.isChecked() and dialog.out_edit.text() == str(tmp_path / "new-coco.json")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    coco = json.loads((tmp_path / "new-coco.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == [name["file_name"]] and len(coco["annotations"]) == 1
    assert "Wrote 1 images, each from its mask" in dialog.summary.text()


def test_edited_images_are_marked_and_filtered(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, edited_masks: Path
) -> None:
    """edited.json written by the editor's save: a ✎ before the name, the "Edited" filter, and a later
    save while the window is open shows up without reopening."""
    from cocoseg_gui.gui.widgets.browser.filtering import Presence
    from cocoseg_gui.gui.widgets.browser.image_list_model import EDITED_MARK

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(val_annotations, val_images, edited_masks)
    browser = window.images.browser
    model = browser.model
    names = sorted(MaskDatasetFolder(edited_masks).image_mask_map)
    qtbot.waitUntil(
        lambda: browser.table is not None and int(browser.table.edited.sum()) == 1, timeout=WAIT_MS
    )
    labels = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert labels.count(f"{EDITED_MARK} {Path(names[0]).stem}") == 1
    assert sum(label.startswith(EDITED_MARK) for label in labels) == 1
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.EDITED.value))
    assert browser.presence.currentText() == "Edited" and model.rowCount() == 1
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole).endswith("edited in the mask editor")
    # a second image saved (as the editor does) while the window is open
    folder = MaskDatasetFolder(edited_masks)
    label = folder.read_mask(names[1]).copy()
    label[:4, :4] = 0
    save_edited_mask(edited_masks, names[1], label, label.shape)
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=WAIT_MS)
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.ALL.value))
    assert model.rowCount() == 50


def test_a_new_dataset_report_says_nothing_is_labelled_yet_not_0_masks_in_red(
    qtbot, tmp_path: Path, val_images: Path
) -> None:
    window = make_window(qtbot, tmp_path)
    dialog = window.datasets.new_dataset_dialog()
    qtbot.keyClicks(dialog.images_edit, str(val_images))
    qtbot.keyClicks(dialog.classes_edit, "cat, dog")
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    summary = window.masks_panel.report_view.summary
    assert summary.text().startswith("No masks yet")
    assert "color" not in summary.styleSheet()


def test_the_new_dataset_dialog_keeps_its_size_while_typing(qtbot, tmp_path: Path, val_images: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.datasets.act_new_dataset.trigger()
    dialog = window.datasets.dialog
    qtbot.waitExposed(dialog)
    label, button = dialog.target_label, dialog.create_button
    seen = set()
    deep = val_images / "a" / "deeper" / "folder" / "of" / "images" / "to" / "label"
    for char in str(deep):
        qtbot.keyClicks(dialog.images_edit, char)
        qtbot.wait(1)  # the layout settles as it would between keys
        # the wrapped "Masks will be saved in ..." text fits the room kept for it: nothing has to grow
        assert label.heightForWidth(label.width()) <= label.height(), label.text()
        seen.add(
            (dialog.size().toTuple(), label.geometry().getRect(), button.mapTo(dialog, button.pos()).y())
        )
    assert len(seen) == 1, seen  # no jump: the same size and places from the first key to the last
    dialog.reject()


def test_an_exported_coco_json_reopens_after_asking_for_its_image_folder_once(
    qtbot, tmp_path: Path, val_images: Path, edited_masks: Path, monkeypatch
) -> None:
    """Issue 19 item 9: its image folder was "not found" behind an OK-only dialog (any error box now fails
    the test: the autouse no_blocking_dialogs)."""
    from PySide6.QtWidgets import QFileDialog

    exported = tmp_path / "exports" / "val-edited.json"
    exported.parent.mkdir()
    export_coco(edited_masks, exported)
    asked: list[str] = []

    def choose(parent, title, start="", *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(title)
        return str(val_images)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_path(exported)
    assert asked == ["Choose the image folder of val-edited.json"]
    assert (
        window.state.annotations_path == exported.resolve()
        and window.state.images_dir == val_images.resolve()
    )
    assert window.images.browser.model.rowCount() == 3
    window.close()

    # after a restart it opens without asking: the folder was remembered for that file
    asked.clear()
    again = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([again.dataset_loaded, again.image_shown], timeout=WAIT_MS):
        again.open_path(exported)
    assert asked == [] and again.state.images_dir == val_images.resolve()


def test_an_image_folder_not_chosen_leaves_the_open_dataset_and_says_so(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, edited_masks: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    exported = tmp_path / "exports" / "val-edited.json"
    exported.parent.mkdir()
    export_coco(edited_masks, exported)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(val_annotations, val_images)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")  # Cancel
    window.open_path(exported)
    assert "val-edited.json not opened: no image folder chosen" in window.statusBar().currentMessage()
    assert window.state.annotations_path == val_annotations.resolve() and not window.is_loading()
