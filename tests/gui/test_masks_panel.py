"""Masks panel in the window: generate from the UI, see the masks and the report; cancel; options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.browser.filtering import Presence
from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel
from tests.gui.window_helpers import make_window, no_blocking_dialogs, open_and_wait  # noqa: F401

GEN_MS = 120000


@pytest.fixture
def window(qtbot, tmp_path, val_annotations, val_images) -> MainWindow:
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, val_annotations, val_images)
    return win


def generate(qtbot, panel: MasksPanel, expected: str = "finished") -> None:
    with qtbot.waitSignal(panel.generation_finished, timeout=GEN_MS) as blocker:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [expected]


def test_defaults_follow_the_dataset(window: MainWindow, tmp_path) -> None:
    panel = window.masks_panel
    # a folder of the (implicit) project, never inside the dataset folder (issue 9)
    assert panel.output_dir() == tmp_path / "projects" / "sample_coco" / "masks" / "val2017"
    assert len(panel.classes.checked_ids()) == 80
    options = panel.options()
    assert options.classes is None and options.overlap == "smaller-on-top" and options.crowd == "ignore"
    assert not panel.priority.isEnabled() and panel.priority.isHidden()
    panel.overlap.setCurrentText("priority")
    assert panel.priority.isEnabled() and panel.priority.count() == 80 and not panel.priority.isHidden()


def test_generate_from_the_panel_then_browse_the_masks(qtbot, window: MainWindow, tmp_path) -> None:
    panel = window.masks_panel
    out = tmp_path / "masks"
    panel.set_output_dir(out)
    shown_before = window.images.current.image_id
    with qtbot.waitSignal(window.image_shown, timeout=GEN_MS):  # the current image is reloaded from its file
        generate(qtbot, panel)
    pngs = sorted((out / "masks").glob("*.png"))
    assert len(pngs) == 50
    assert (out / "report.json").is_file() and (out / "image_mask_map.json").is_file()
    report = json.loads((out / "report.json").read_text())
    # the report: one table row per class of report.json, bars for the classes with pixels
    view = panel.report_view
    assert view.classes_table.rowCount() == len(report["classes"]) > 2
    assert view.skips_table.rowCount() >= len(report["skipped"])
    assert len(view.chart.bars) > 0 and view.chart.bars[0][1] == max(
        c["pixels"] for c in report["classes"] if c["index"] != 0
    )
    assert window.state.masks_dir == out
    assert "background only" not in view.summary.text()
    # a report whose masks hold no object pixel says so (what a broken generation looks like)
    blank = {**report, "classes": [{**c, "pixels": 0} if c["index"] else c for c in report["classes"]]}
    view.set_report(blank)
    assert view.summary.text().startswith("Warning: every mask is background only")
    view.set_report(report)
    # the browser knows which images have masks; the viewer shows the file
    browser = window.images.browser
    browser.presence.setCurrentIndex(browser.presence.findData(Presence.WITH_MASK))
    assert browser.model.rowCount() == 50
    assert window.images.current.image_id == shown_before and window.images.current.mask_source == "mask file"
    name = json.loads((out / "image_mask_map.json").read_text())[window.images.current.file_name]
    assert np.array_equal(window.images.current.mask, np.asarray(Image.open(out / "masks" / name)))
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isEnabled()


def big_dataset(tmp_path: Path, val_annotations: Path, val_images: Path, copies: int) -> tuple[Path, Path]:
    """The val sample repeated ``copies`` times (new ids and file names; images are symlinks to copies in
    the image folder: links leading outside it are refused, docs/adr/0003-paths-outside-the-dataset.md)."""
    data = json.loads(val_annotations.read_text(encoding="utf-8"))
    images_dir = tmp_path / "big2017"
    (images_dir / "_src").mkdir(parents=True)
    for img in data["images"]:
        shutil.copyfile(val_images / img["file_name"], images_dir / "_src" / img["file_name"])
    images, anns = [], []
    for k in range(copies):
        for img in data["images"]:
            name = f"{k:03d}_{img['file_name']}"
            (images_dir / name).symlink_to(images_dir / "_src" / img["file_name"])
            images.append(dict(img, id=k * 10_000_000 + img["id"], file_name=name))
        anns += [
            dict(a, id=k * 10_000_000 + a["id"], image_id=k * 10_000_000 + a["image_id"])
            for a in data["annotations"]
        ]
    path = tmp_path / "instances_big2017.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": data["categories"]}))
    return path, images_dir


@pytest.mark.slow
def test_cancel_midway_leaves_only_complete_files(qtbot, tmp_path, val_annotations, val_images) -> None:
    annotations, images_dir = big_dataset(tmp_path, val_annotations, val_images, copies=60)  # 3000 images
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, annotations, images_dir)
    panel = window.masks_panel
    out = tmp_path / "cancelled"
    panel.set_output_dir(out)
    panel.workers.setValue(1)
    seen: list[int] = []

    def cancel_once_started(event) -> None:  # like pressing Cancel while masks are being written
        seen.append(event.done)
        if event.done > 0 and panel.cancel_button.isEnabled():
            qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)

    with qtbot.waitSignal(panel.generation_finished, timeout=GEN_MS) as blocker:
        panel.generate()
        panel.worker.progress.connect(cancel_once_started)
    assert blocker.args == ["cancelled"]
    pngs = list((out / "masks").glob("*.png"))
    assert 0 < len(pngs) < 3000, f"progress seen: {seen}"
    for png in pngs:
        with Image.open(png) as im:
            im.load()  # decodes completely
            assert im.mode == "P"
    assert not list(out.rglob("*.tmp"))
    assert "Cancelled" in panel.progress_label.text()
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isEnabled()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    written = json.loads((out / "image_mask_map.json").read_text())  # the masks finished so far
    assert set(written.values()) <= {p.name for p in pngs} and written
    assert window.state.masks_dir == out  # the browser shows them as "has mask"


@pytest.mark.parametrize("answer", [True, False])
def test_other_options_in_the_same_folder_ask_before_replacing(
    qtbot, window: MainWindow, tmp_path, monkeypatch, answer: bool
) -> None:
    from cocoseg_gui.gui.workspaces import masks_panel

    asked: list[str] = []
    monkeypatch.setattr(
        masks_panel, "ask_replace_masks", lambda _p, error: (asked.append(error.what), answer)[1]
    )
    panel = window.masks_panel
    out = tmp_path / "m"
    panel.set_output_dir(out)
    panel.max_images.setValue(6)
    generate(qtbot, panel)
    person = next(c.id for c in window.state.index.categories if c.name == "person")
    panel.classes.set_checked([person])
    assert panel.options().classes == ("person",)
    generate(qtbot, panel, "finished" if answer else "cancelled")  # no error box (the autouse fixture)
    # what changed, in words: no JSON dump of every option, no CLI flag
    assert asked == ["masks made with other options (classes None -> ['person'])"]
    mapping = json.loads((out / "category_mapping.json").read_text())
    if answer:
        assert [c["name"] for c in mapping["classes"]] == ["background", "person"]
    else:
        assert len(mapping["classes"]) == 81  # kept
        assert "Not generated" in panel.progress_label.text() and "--" not in panel.progress_label.text()
    assert len(list((out / "masks").glob("*.png"))) == 6


def test_options_are_remembered(qtbot, tmp_path, val_annotations, val_images) -> None:
    first = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, first, val_annotations, val_images)
    panel = first.masks_panel
    panel.overlap.setCurrentText("later")
    panel.crowd.setCurrentText("skip")
    panel.min_area.setValue(25)
    panel.max_images.setValue(10)
    dog = next(c.id for c in first.state.index.categories if c.name == "dog")
    panel.classes.set_checked([dog])
    first.close()
    second = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, second, val_annotations, val_images)
    options = second.masks_panel.options()
    assert (options.overlap, options.crowd, options.min_area, options.max_images) == ("later", "skip", 25, 10)
    assert options.classes == ("dog",)


def test_no_dataset_or_no_class_is_an_error_dialog(qtbot, window: MainWindow, monkeypatch, tmp_path) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    panel = window.masks_panel
    panel.set_output_dir(tmp_path / "x")
    panel.classes.none_button.click()
    panel.generate()
    assert panel.worker is None and "no class selected" in shown[-1]
    assert not Path(tmp_path / "x").exists()


def test_another_dataset_clears_the_last_report_and_its_output(
    qtbot, window: MainWindow, tmp_path, train_annotations, train_images, sample_root
) -> None:
    """Issue 9: the val report and "Done: masks in ..." stayed after the train set was opened."""
    panel = window.masks_panel
    panel.set_output_dir(tmp_path / "val_masks")
    panel.max_images.setValue(3)
    generate(qtbot, panel)
    assert panel.report_view.report is not None and "Done" in panel.progress_label.text()
    assert panel.tabs.currentWidget() is panel.report_view
    open_and_wait(qtbot, window, train_annotations, train_images)
    assert panel.report_view.report is None and panel.progress_label.text() == ""
    assert panel.tabs.currentIndex() == 0  # the options, for the new dataset
