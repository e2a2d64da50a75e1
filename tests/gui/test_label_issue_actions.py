"""Tools › Find likely label errors… in a real window: the browser sorts most suspicious first, the
shown image's regions are outlined (tooltip with the score), and the ranking comes back when the mask
folder is reopened; Tools › Rank images by uncertainty… sorts the dataset's images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt

from cocoseg_gui.core.quality.issues_file import (
    LABEL_ISSUES_FILE,
    UNCERTAINTY_FILE,
    read_label_issues,
    read_uncertainty,
)
from cocoseg_gui.gui.label_issue_actions import OUTLINES_KEY
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets.browser.filtering import SortKey
from tests.gui.training_panel_fixtures import *  # noqa: F403
from tests.gui.window_helpers import (  # noqa: F401
    WAIT_MS,
    answer_question,
    make_window,
    no_blocking_dialogs,
    open_and_wait,
)
from tests.label_corruption import copy_mask_folder


def shown_names(window: MainWindow, n: int) -> list[str]:
    browser = window.images.browser
    return [browser.table.names[int(p)] for p in browser.model._rows[:n]]


def test_find_label_issues_sorts_the_browser_and_outlines_regions(
    qtbot, tmp_path: Path, val_annotations, val_images, tiny_masks: Path, tiny_run: Path
) -> None:
    masks = copy_mask_folder(tiny_masks, tmp_path / "masks")
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(masks)
    actions = window.label_issues
    browser = window.images.browser
    assert browser.sort.findData(SortKey.SUSPICIOUS.value) < 0  # no ranking yet: no such sort
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS * 3):  # the top image is shown
        asked = answer_question(qtbot, "weak_model_question", "Run anyway")  # the tiny run is weak
        job = actions.find_issues(tiny_run / "last.pt")
        assert asked
        assert job is not None
        assert "finding likely label errors" in window.running_jobs()  # the quit question names it
    qtbot.waitUntil(lambda: actions.job is None, timeout=WAIT_MS)
    assert window.running_jobs() == []
    result = read_label_issues(masks / LABEL_ISSUES_FILE)
    assert actions.issues == result and len(result.images) == 8
    # the browser: sorted by the ranking, scored images first in its order, the first one shown
    assert browser.sort.currentData() == SortKey.SUSPICIOUS.value
    assert shown_names(window, 8) == [im.file for im in result.images]
    assert browser.model.rowCount() == 50  # unscored images stay, after the ranked ones
    assert window.images.current.file_name == result.images[0].file

    # a known region on the second image: written as a ranking file, reloaded with the mask folder
    second = result.images[1].file
    data = json.loads((masks / LABEL_ISSUES_FILE).read_text(encoding="utf-8"))
    entry = next(e for e in data["images"] if e["file"] == second)
    entry["score"] = 9.0  # now the most suspicious
    entry["regions"] = [
        {"bbox": [40, 30, 100, 60], "area": 4321, "given": "background", "predicted": "person", "score": 0.87}
    ]
    (masks / LABEL_ISSUES_FILE).write_text(json.dumps(data), encoding="utf-8")
    window.open_masks(masks)  # reopened: the ranking file is read again
    qtbot.waitUntil(
        lambda: actions.issues is not None and actions.issues.images[0].score == 9.0, timeout=WAIT_MS
    )
    assert actions.issues.images[0].file == second  # read back most suspicious first
    assert shown_names(window, 1) == [second]
    # another image first (not the shown one: after the re-sort the shown image may be on row 1, and
    # selecting it again shows nothing new; CI hit that), then a click on the top thumbnail
    other = next(r for r in (1, 2) if browser.model.image_id_at(r) != browser.current_image_id())
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        browser.select_row(other)
    view = browser.view
    cell = view.visualRect(browser.model.index(0)).center()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):  # a click on the first thumbnail
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert window.images.current.file_name == second
    outline = actions.outline
    assert outline.visible()
    shown = window.images.current
    (mh, mw), (w, h) = shown.labels.shape, shown.size
    box = outline.path().boundingRect()
    sx, sy = w / mw, h / mh
    assert (box.x(), box.y(), box.width(), box.height()) == (40 * sx, 30 * sy, 100 * sx, 60 * sy)
    tip = outline.items[1].toolTip()
    assert "score 0.87" in tip and "background → model says person" in tip
    assert "score 9.000" in window.statusBar().currentMessage()
    # the outline item is in the viewer's scene, over the region
    items = window.images.viewer.scene().items(QPointF(40 * sx, (30 + 30) * sy))
    assert outline.items[1] in items
    # Tools › Outline likely label errors: off hides them (remembered), on shows them again
    actions.act_show_outlines.trigger()
    assert not outline.visible() and window.state.settings.value(OUTLINES_KEY) == "false"
    actions.act_show_outlines.trigger()
    assert outline.visible()
    # an image without regions: no outline
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        browser.select_row(20)  # unscored
    assert not outline.visible()


def test_rank_by_uncertainty_sorts_the_dataset(
    qtbot, tmp_path: Path, val_annotations, val_images, tiny_masks: Path, tiny_run: Path
) -> None:
    masks = copy_mask_folder(tiny_masks, tmp_path / "masks")
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(masks)
    actions = window.label_issues
    asked = answer_question(qtbot, "weak_model_question", "Run anyway")  # the tiny run is weak
    job = actions.rank_uncertain(tiny_run / "last.pt")
    assert job is not None and asked
    qtbot.waitUntil(lambda: actions.job is None, timeout=WAIT_MS * 5)
    result = read_uncertainty(masks / UNCERTAINTY_FILE)
    assert len(result.images) == 50 and actions.uncertainty == result
    assert sum(im.labelled for im in result.images) == 8
    values = [im.uncertainty for im in result.images]
    assert values == sorted(values, reverse=True) and np.ptp(values) > 0
    browser = window.images.browser
    assert browser.sort.currentData() == SortKey.UNCERTAIN.value
    assert shown_names(window, 50) == [im.file for im in result.images]


def test_find_dialog_cross_fits_with_the_options_chosen(
    qtbot, tmp_path: Path, val_annotations, val_images, tiny_masks: Path, tiny_run: Path
) -> None:
    """Tools › Find likely label errors… asks first: the session's checkpoint filled in, the run's
    epochs per model, the cost in words; ticking cross-fitting (a real click) and Find rank every image
    with models trained without it, recorded in label_issues.json."""
    masks = copy_mask_folder(tiny_masks, tmp_path / "masks")
    window = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, window, val_annotations, val_images)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        window.open_masks(masks)
    window.state.set_checkpoint(tiny_run / "last.pt")
    actions = window.label_issues
    actions.act_find.trigger()
    dialog = actions.options_dialog
    assert dialog is not None and dialog.isVisible() and actions.job is None  # nothing runs yet
    assert dialog.checkpoint_edit.text() == str(tiny_run / "last.pt")
    assert dialog.epochs.value() == 3  # the run's config.json
    assert not dialog.folds.isEnabled() and "Ranks with the checkpoint itself" in dialog.cost.text()
    box = dialog.cross_fit
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked() and dialog.folds.isEnabled()
    dialog.folds.setValue(2)
    dialog.epochs.setValue(1)
    assert "Trains 2 models of 1 epochs each" in dialog.cost.text()
    # a checkpoint that is not a file: Find says so and keeps the dialog open
    dialog.checkpoint_edit.setText(str(tmp_path / "missing.pt"))
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "missing.pt is not a file" in dialog.problem.text()
    assert actions.job is None
    dialog.checkpoint_edit.setText(str(tiny_run / "last.pt"))
    asked = answer_question(qtbot, "weak_model_question", "Run anyway")  # the tiny run is weak
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS * 6):
        qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
        assert asked and actions.job is not None and "cross-fitting, 2 models" in window.running_jobs()[0]
    qtbot.waitUntil(lambda: actions.job is None, timeout=WAIT_MS)
    assert actions.options_dialog is None
    result = read_label_issues(masks / LABEL_ISSUES_FILE)
    assert result.cross_fit == 2 and len(result.images) == 8 and actions.issues == result
    assert window.images.browser.sort.currentData() == SortKey.SUSPICIOUS.value
