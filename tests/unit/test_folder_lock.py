"""Two editors, one folder (issue 18 item 7) and stale temporaries (item 10), with real processes:
saves from several processes into one mask folder all land in the map, report.json and edited.json;
a killed holder's lock is taken over; a busy folder names who holds it; our stale temporaries go."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.files.folder_lock import LOCK_FILE, FolderBusyError, FolderLock
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, read_edited, read_image_mask_map, read_report
from cocoseg_gui.core.masks.new_dataset import categories_from_names, create_new_dataset

ROOT = Path(__file__).resolve().parents[2]
PROCESSES, PER_PROCESS = 4, 5

SAVER = """
import json, sys, time
from pathlib import Path
import numpy as np
from cocoseg_gui.core.editing.save import save_edited_mask
folder, go, names = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
sizes = {i["file_name"]: (i["height"], i["width"], i["id"]) for i in
         json.loads((folder / "images.json").read_text())["images"]}
while not go.exists():
    time.sleep(0.005)
for k, name in enumerate(names):
    h, w, image_id = sizes[name]
    label = np.zeros((h, w), np.uint8)
    label[: h // (k + 2), : w // 2] = 1 + k % 3
    save_edited_mask(folder, name, label, (h, w), image_id, lock_timeout=240)  # a loaded machine waits
"""

HOLDER = """
import sys, time
from cocoseg_gui.core.files.folder_lock import FolderLock
lock = FolderLock(sys.argv[1], program="cocoseg masks")
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture
def new_folder(tmp_path: Path, val_images: Path) -> tuple[Path, list[str]]:
    made = create_new_dataset(val_images, categories_from_names("person,dog,airplane"), tmp_path / "masks")
    names = [i["file_name"] for i in json.loads(made.annotations.read_text())["images"]]
    return made.folder, names[: PROCESSES * PER_PROCESS]


def _start_holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_four_processes_saving_into_one_folder_lose_nothing(new_folder, tmp_path: Path) -> None:
    folder, names = new_folder
    go = tmp_path / "go"
    chunks = [names[i::PROCESSES] for i in range(PROCESSES)]
    procs = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(folder), str(go), json.dumps(chunk)], env=_env())
        for chunk in chunks
    ]
    go.touch()  # all start saving at once
    assert [p.wait(timeout=300) for p in procs] == [0] * PROCESSES
    image_map = read_image_mask_map(folder)
    assert sorted(image_map) == sorted(names)  # 20 mapped
    report = read_report(folder)
    assert sorted(report["per_image"]) == sorted(image_map.values())  # 20 counted
    reader = MaskDatasetFolder(folder)
    counts = [np.bincount(reader.read_mask(f).ravel(), minlength=256) for f in names]
    total, images = sum(counts), sum(c > 0 for c in counts)
    for entry in report["classes"]:
        assert (entry["pixels"], entry["images"]) == (total[entry["index"]], images[entry["index"]])
    edited = read_edited(folder)
    assert sorted(edited) == sorted(names) and {e["saves"] for e in edited.values()} == {1}  # 20 recorded
    assert not list(folder.glob(".*.tmp")) and not list((folder / "masks").glob(".*.tmp"))


def test_a_busy_folder_names_its_holder_and_a_killed_holders_lock_is_taken(new_folder) -> None:
    folder, names = new_folder
    holder = _start_holder(folder)
    label = np.zeros((480, 640), np.uint8)
    try:
        with pytest.raises(FolderBusyError) as info:
            save_edited_mask(folder, names[0], label, None, lock_timeout=0.2)
        message = str(info.value)
        assert "cocoseg masks" in message and f"process {holder.pid}" in message and "since" in message
        assert info.value.holder is not None and info.value.holder.pid == holder.pid
        assert read_image_mask_map(folder) == {} and not list((folder / "masks").iterdir())  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the killed holder's sidecar is still there, its lock is not: the next save takes it at once
    assert json.loads((folder / (LOCK_FILE + ".json")).read_text())["pid"] == holder.pid
    saved = save_edited_mask(folder, names[0], label, None, lock_timeout=5)
    assert read_image_mask_map(folder) == {names[0]: saved.mask_name}
    lock = FolderLock(folder)
    assert lock.try_acquire() is None and lock.holder().pid == os.getpid()
    lock.release()


def test_opening_a_folder_for_writing_removes_only_our_stale_temporaries(new_folder) -> None:
    folder, names = new_folder
    masks = folder / "masks"
    ours_old = [folder / ".report.json.k3j_9xq2.tmp", masks / f".{names[0]}.png.4242.tmp"]
    not_ours = [masks / ".notes.tmp", folder / "draft.tmp", masks / "x.png.tmp"]
    fresh = masks / ".other.png.ab12cd34.tmp"  # written after the lock was taken: a live writer's
    for p in [*ours_old, *not_ours, fresh]:
        p.write_bytes(b"partial")
    past, future = time.time() - 3600, time.time() + 3600
    for p in [*ours_old, *not_ours]:
        os.utime(p, (past, past))
    os.utime(fresh, (future, future))
    save_edited_mask(folder, names[1], np.zeros((480, 640), np.uint8), None)
    assert not any(p.exists() for p in ours_old)
    assert all(p.exists() for p in [*not_ours, fresh])


def test_cocoseg_masks_into_a_folder_being_written_names_the_holder(
    tmp_path: Path, val_annotations: Path, val_images: Path, monkeypatch, capsys
) -> None:
    from cocoseg_gui.cli import main as cli_main
    from cocoseg_gui.core.masks import job as mask_job

    monkeypatch.setenv("COCOSEG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mask_job, "JOB_LOCK_WAIT_S", 0.2)
    out = tmp_path / "out"
    out.mkdir()
    holder = _start_holder(out)
    args = ["masks", "--annotations", str(val_annotations), "--images", str(val_images), "--out", str(out)]
    try:
        assert cli_main([*args, "--max-images", "3", "--workers", "1"]) == 2
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    err = capsys.readouterr().err
    assert f"{out} is being written by cocoseg masks (process {holder.pid})" in err and "since" in err
    assert not (out / "masks").exists() and not (out / "manifest.json").exists()  # nothing written
    assert cli_main([*args, "--max-images", "3", "--workers", "1"]) == 0  # the killed holder's lock is free


KILLED_WRITER = """
import sys, time
from pathlib import Path
from cocoseg_gui.core.files.atomic import atomic_open
with atomic_open(Path(sys.argv[1]) / "report.json") as fh:
    fh.write(b'{"half": ')
    fh.flush()
    print("writing", flush=True)
    time.sleep(120)
"""


def test_a_temporary_left_by_a_killed_writer_goes_when_the_folder_is_next_written(new_folder) -> None:
    folder, names = new_folder
    report = (folder / "report.json").read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(folder)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    left = list(folder.glob(".report.json.*.tmp"))
    assert len(left) == 1 and (folder / "report.json").read_bytes() == report  # the kill's debris
    save_edited_mask(folder, names[0], np.zeros((480, 640), np.uint8), None)
    assert not left[0].exists() and not list(folder.glob(".*.tmp"))
