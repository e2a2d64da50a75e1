"""Two editors, one folder (issue 18 item 7) in real windows: the second window entering Edit mode is
told who else edits the folder, since when; both windows' saves land; a folder held by another
process fails the save naming it, the edits kept; a save that set a journal aside says so."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from cocoseg_gui.core.editing import save_journal
from cocoseg_gui.core.masks.dataset import read_edited, read_image_mask_map, read_report
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.widgets import edit_saving
from tests.gui.window_helpers import WAIT_MS, make_window, no_blocking_dialogs, open_and_wait  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from cocoseg_gui.core.files.folder_lock import FolderLock
lock = FolderLock(sys.argv[1], program="cocoseg masks")
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory, val_annotations, val_images) -> Path:
    out = tmp_path_factory.mktemp("two_editors") / "masks"
    generate_masks(val_annotations, val_images, out, MaskOptions(workers=1, max_images=6))
    return out


@pytest.fixture
def masks(generated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "masks"
    shutil.copytree(generated, copy)
    return copy


def open_window(qtbot, tmp_path: Path, settings: str, annotations, images, masks: Path) -> MainWindow:
    win = make_window(qtbot, tmp_path, settings)
    open_and_wait(qtbot, win, annotations, images)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        win.open_masks(masks)
    return win


def paint_and_save(qtbot, win: MainWindow) -> np.ndarray:
    """A stroke of class 1 across the shown image's centre, then Save mask; the map painted."""
    images = win.images
    h, w = images.view_state.labels.shape
    images.viewer.set_view_state((2.0, images.viewer.mapToScene(0, 0)))
    images.viewer.centerOn(w / 2, h / 2)
    images.editor.set_class(1)
    viewport = images.viewer.viewport()
    a = images.viewer.mapFromScene(w / 2 - 10, h / 2)
    b = images.viewer.mapFromScene(w / 2 + 10, h / 2 + 4)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    qtbot.mouseMove(viewport, b)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    assert images.editor.dirty
    painted = np.array(images.view_state.labels.array)
    images.act_save.trigger()
    return painted


def test_a_second_window_is_told_and_both_windows_saves_land(
    qtbot, tmp_path, monkeypatch, val_annotations, val_images, masks
) -> None:
    told: list[str] = []
    monkeypatch.setattr(edit_saving, "tell_other_editor", lambda parent, text: told.append(text))
    first = open_window(qtbot, tmp_path, "a.ini", val_annotations, val_images, masks)
    second = open_window(qtbot, tmp_path, "b.ini", val_annotations, val_images, masks)
    first.images.act_edit.trigger()
    assert first.images.editing and told == []  # the first editor of the folder: nothing to say
    second.images.act_edit.trigger()
    assert second.images.editing and len(told) == 1  # editing goes on, the user knows
    assert f"{masks}" in told[0] and f"process {os.getpid()}" in told[0] and "since" in told[0]
    assert "Another window is editing" in second.statusBar().currentMessage()

    with qtbot.waitSignal(second.image_shown, timeout=WAIT_MS):
        second.images.step(1)  # the second window edits another image
    one = paint_and_save(qtbot, first)
    two = paint_and_save(qtbot, second)
    names = [first.images.current.file_name, second.images.current.file_name]
    assert names[0] != names[1]
    image_map = read_image_mask_map(masks)
    for name, painted in zip(names, [one, two]):
        assert np.array_equal(np.array(Image.open(masks / "masks" / image_map[name])), painted)
    assert set(names) <= set(read_edited(masks))
    assert {image_map[n] for n in names} <= set(read_report(masks)["per_image"])

    first.images.act_edit.trigger()  # the first window leaves Edit mode: its claim goes
    second.images.act_edit.trigger()
    second.images.act_edit.trigger()
    assert len(told) == 1


def test_a_folder_held_by_another_process_fails_the_save_naming_it(
    qtbot, tmp_path, monkeypatch, val_annotations, val_images, masks
) -> None:
    failed: list[str] = []
    monkeypatch.setattr(edit_saving, "ask_save_failed", lambda parent, text: failed.append(text) or False)
    win = open_window(qtbot, tmp_path, "a.ini", val_annotations, val_images, masks)
    win.images.editor.lock_timeout = 0.2
    win.images.act_edit.trigger()
    before = (masks / "report.json").read_bytes()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(masks)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        painted = paint_and_save(qtbot, win)
        assert len(failed) == 1 and "cocoseg masks" in failed[0] and f"process {holder.pid}" in failed[0]
        assert win.images.editor.dirty and np.array_equal(win.images.view_state.labels.array, painted)
        assert (masks / "report.json").read_bytes() == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    win.images.act_save.trigger()  # the holder is gone (killed): its lock with it
    assert len(failed) == 1 and not win.images.editor.dirty


def test_a_save_that_set_a_journal_aside_says_so(
    qtbot, tmp_path, monkeypatch, val_annotations, val_images, masks
) -> None:
    notes: list[list[str]] = []
    monkeypatch.setattr(edit_saving, "tell_notes", lambda parent, found: notes.append(found))
    entry = {"file_name": "x.jpg", "mask": "../../outside.png", "sha256": "0" * 64, "image_id": 1}
    (masks / save_journal.JOURNAL_FILE).write_text(json.dumps({"version": 1, "images": [entry]}))
    win = open_window(qtbot, tmp_path, "a.ini", val_annotations, val_images, masks)
    win.images.act_edit.trigger()  # opening the folder found it: shown on entering Edit mode
    assert len(notes) == 1 and "outside.png" in notes[0][0] and "saving goes on" in notes[0][0]
    paint_and_save(qtbot, win)
    assert not win.images.editor.dirty and len(notes) == 1  # the save then just works
    assert list(masks.glob(save_journal.JOURNAL_FILE + ".refused-*"))


def test_a_damaged_edited_json_is_recovered_when_the_folder_opens(
    qtbot, tmp_path, monkeypatch, val_annotations, val_images, masks
) -> None:
    from cocoseg_gui.core.editing.save import save_edited_mask
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    notes: list[list[str]] = []
    monkeypatch.setattr(edit_saving, "tell_notes", lambda parent, found: notes.append(found))
    reader = MaskDatasetFolder(masks)
    names = sorted(reader.image_mask_map)[:3]
    for name in names:
        label = reader.read_mask(name).copy()
        label[:8, :8] = 1
        save_edited_mask(masks, name, label, label.shape)
    data = (masks / "edited.json").read_bytes()
    (masks / "edited.json").write_bytes(data[: len(data) // 3])
    win = open_window(qtbot, tmp_path, "a.ini", val_annotations, val_images, masks)
    assert "edited.json was damaged" in win.notice_label.toolTip() and win.notice_label.isVisible()
    assert set(read_edited(masks)) == set(names)  # every record back, from the backup
    qtbot.waitUntil(
        lambda: win.images.source.inventory.edited_names() == frozenset(names), timeout=WAIT_MS
    )  # marks too
    win.images.act_edit.trigger()
    assert len(notes) == 1 and "3 from the backup" in notes[0][0] and "No record was lost" in notes[0][0]
    assert list(masks.glob("edited.json.damaged-*"))
