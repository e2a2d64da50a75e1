"""File › Import labels… and File › Export labels… in the window (issue 22; pytest-qt, real clicks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.core.formats.export_job import export_labels
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.project.project import Project, Role
from cocoseg_gui.gui.widgets.export_dialog import ExportDialog
from cocoseg_gui.gui.widgets.import_dialog import ImportDialog
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs  # noqa: F401


@pytest.fixture
def masks(tmp_path: Path, val_annotations: Path, val_images: Path) -> Path:
    out = tmp_path / "masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=3))
    return out


def _click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_import_makes_a_mask_folder_that_joins_the_project_with_its_role(
    qtbot, tmp_path: Path, masks: Path, val_images: Path
) -> None:
    voc = tmp_path / "voc"
    export_labels(masks, "voc", voc)
    window = make_window(qtbot, tmp_path)
    window.formats.act_import.trigger()
    dialog = window.formats.dialog
    assert isinstance(dialog, ImportDialog) and dialog.isVisible()
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("voc"))
    _click(qtbot, dialog.import_button)  # no labels chosen yet: said in the dialog
    assert dialog.summary.text() == "Choose the labels to import." and not dialog.busy()
    qtbot.keyClicks(dialog.source_edit, str(voc))
    assert dialog.name_edit.text() == "voc" and "masks/voc" in dialog.target_label.text()
    dialog.role_combo.setCurrentIndex(dialog.role_combo.findData(Role.VAL))
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        _click(qtbot, dialog.import_button)
    entry = window.state.workbench.dataset
    assert entry is not None and entry.name == "voc" and entry.role is Role.VAL
    assert entry.images == (voc / "JPEGImages").resolve()  # the images VOC names
    assert Project.load(window.state.workbench.project.file).dataset("voc") == entry  # saved
    assert window.state.masks_dir == entry.masks and window.images.browser.model.rowCount() == 3
    before, after = MaskDatasetFolder(masks), MaskDatasetFolder(entry.masks)
    assert all(np.array_equal(before.read_mask(n), after.read_mask(n)) for n in before.image_mask_map)
    assert dialog.summary.text().startswith("Imported 3 images with 80 classes into")


def test_import_of_bad_labels_says_what_and_adds_nothing(qtbot, tmp_path: Path) -> None:
    (tmp_path / "not_voc").mkdir()
    window = make_window(qtbot, tmp_path)
    dialog = window.formats.import_dialog()
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("voc"))
    qtbot.keyClicks(dialog.source_edit, str(tmp_path / "not_voc"))
    _click(qtbot, dialog.import_button)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)
    text = dialog.summary.text()
    assert text.startswith("Nothing was imported:") and "no SegmentationClass/ folder" in text, text
    assert "--" not in text and dialog.isVisible() and window.state.workbench.project is None
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("class_pngs"))
    _click(qtbot, dialog.import_button)  # class PNGs do not say where their images are: asked first
    assert dialog.summary.text().startswith("Choose the image folder: Class PNGs") and not dialog.busy()


def test_codecs_still_to_come_are_listed_but_cannot_be_chosen(qtbot, tmp_path: Path, masks: Path) -> None:
    dialog = ExportDialog(masks, None)
    qtbot.addWidget(dialog)
    model = dialog.label_format_combo.model()
    for row in range(dialog.label_format_combo.count()):
        name = dialog.label_format_combo.itemData(row)
        from cocoseg_gui.core.formats.registry import label_format

        assert model.item(row).isEnabled() == label_format(name).available
        assert ("not in this build" in dialog.label_format_combo.itemText(row)) != label_format(
            name
        ).available


def test_export_to_class_pngs_hides_coco_rows_and_asks_before_replacing(
    qtbot, tmp_path: Path, val_annotations: Path, val_images: Path, masks: Path, monkeypatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda parent, title, text, *a: asked.append(text) or QMessageBox.StandardButton.Yes,
    )
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignals([window.dataset_loaded, window.image_shown], timeout=WAIT_MS):
        window.open_dataset(val_annotations, val_images, masks)
    window.formats.act_export.trigger()
    dialog = window.formats.dialog
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    assert dialog.use_original.isVisible() and dialog.out_edit.text().endswith("masks-coco.json")
    dialog.label_format_combo.setCurrentIndex(dialog.label_format_combo.findData("class_pngs"))
    assert not dialog.use_original.isVisible() and not dialog.format_combo.isVisible()
    out = Path(dialog.out_edit.text())
    assert out == tmp_path / "masks-class-pngs" and dialog.out_label.text() == "Output folder"
    assert dialog.loses_label.text() == "Loses: nothing (class masks bit-exact)"

    def export() -> None:
        _click(qtbot, dialog.export_button)
        qtbot.waitUntil(lambda: not dialog.busy(), timeout=WAIT_MS)

    export()
    assert dialog.result is not None and dialog.result.images == 3, dialog.summary.text()
    pngs = [Path(m).name for m in MaskDatasetFolder(masks).image_mask_map.values()]
    assert sorted(p.name for p in out.iterdir()) == sorted([".cocoseg-export.json", "classes.txt", *pngs])
    assert "Wrote 3 images (4 files)" in dialog.summary.text() and not asked
    first = dialog.result
    export()  # its own files are there: asked, then replaced
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.result is not first, timeout=WAIT_MS)
    assert len(asked) == 1 and "already exists" in asked[0] and "--" not in asked[0]
    assert dialog.result.images == 3
