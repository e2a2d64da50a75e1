"""Issue 19's rough edges, each seen the way a user met it in a real window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from cocoseg_gui.core.mask_job import generate_masks
from cocoseg_gui.core.mask_options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401


@pytest.fixture(scope="module")
def generated_masks(tmp_path_factory, val_annotations, val_images) -> Path:
    out = tmp_path_factory.mktemp("rough") / "masks_val2017"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1))
    return out


def open_with_masks(qtbot, tmp_path: Path, annotations: Path, images: Path, masks: Path) -> MainWindow:
    win = make_window(qtbot, tmp_path)
    open_and_wait(qtbot, win, annotations, images)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        win.open_masks(masks)
    return win


def test_after_a_restart_in_edit_mode_the_edit_bars_stay_hidden_until_edit_mode(
    qtbot, tmp_path, val_annotations, val_images, generated_masks
) -> None:
    masks = tmp_path / "masks"
    shutil.copytree(generated_masks, masks)
    first = open_with_masks(qtbot, tmp_path, val_annotations, val_images, masks)
    qtbot.keyClick(first, Qt.Key.Key_E)
    assert first.images.editing and first.images.edit_toolbar.isVisible()
    first.close()  # the layout is saved with the edit bars showing

    second = make_window(qtbot, tmp_path)
    images = second.images
    assert not images.editing
    assert not images.edit_toolbar.isVisible()
    assert not images.proposals.bar.isVisible()
    # nothing attached yet: the class box lists no class (it read "■ 1 1")
    assert images.edit_toolbar.class_box.count() == 0
    assert images.edit_toolbar.class_box.currentText() == ""
