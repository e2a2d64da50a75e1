"""Tools › Download pretrained weights…: the dialog, a real download from a 127.0.0.1 server through the
one worker pattern with its progress dialog, Cancel clicked while the transfer is provably under way,
and a server that sends the wrong bytes (issue 19 item 6)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.segment.downloads import SAM_WEIGHTS
from cocoseg_gui.core.training.models import build_model
from cocoseg_gui.core.training.pretrained import WEIGHTS, WeightsFile
from cocoseg_gui.gui.services.error_hints import describe_error
from tests.gui.window_helpers import make_window
from tests.unit.weights_server import (
    WeightsServer,
    named_by_hash,
    weights_server_fixture,  # noqa: F401 (the fixture)
)

WAIT_MS = 60_000


def _payload() -> bytes:
    buf = io.BytesIO()
    torch.save({"w": torch.arange(700_000, dtype=torch.float32)}, buf)  # 2.8 MB: three chunks
    return buf.getvalue()


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_the_menu_opens_the_list_of_torchvisions_files(
    qtbot, tmp_path: Path, weights_server: WeightsServer
) -> None:
    window = make_window(qtbot, tmp_path)
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    action = next(a for a in tools.actions() if a.text() == "Download pretrained &weights…")
    action.trigger()
    dialog = window.weights.dialog
    assert dialog is not None and dialog.isVisible()
    names = [dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())]
    assert names == [*WEIGHTS, *SAM_WEIGHTS]


def test_a_download_lands_in_torchs_cache_with_progress(
    qtbot, tmp_path: Path, weights_server: WeightsServer
) -> None:
    window = make_window(qtbot, tmp_path)
    served = named_by_hash(weights_server.root, "tiny", _payload())
    entry = WeightsFile("tiny", "coco", served.name, 2.8, "tiny test weights")
    seen = []
    job = window.weights.download(entry)
    assert job is not None and window.weights.progress_dialog is not None
    assert window.running_jobs() == ["the weights download"]
    job.progress.connect(seen.append)
    with qtbot.waitSignal(job.done, timeout=WAIT_MS):
        pass
    assert (_cache(tmp_path) / served.name).read_bytes() == served.read_bytes()
    assert os.listdir(_cache(tmp_path)) == [served.name]
    assert window.weights.progress_dialog is None and window.weights.job is None
    assert seen and seen[-1].done == seen[-1].total


def test_cancel_clicked_during_the_transfer_keeps_nothing(
    qtbot, tmp_path: Path, weights_server: WeightsServer
) -> None:
    window = make_window(qtbot, tmp_path)
    dialog = window.weights.open_dialog()
    dialog.list.setCurrentRow(list(WEIGHTS).index("lraspp_mobilenet_v3_large"))
    (weights_server.root / WEIGHTS["lraspp_mobilenet_v3_large"].file_name).write_bytes(_payload())
    weights_server.gate = threading.Event()  # the server sends one MiB, then waits
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    job, progress = window.weights.job, window.weights.progress_dialog
    assert job is not None and progress is not None
    qtbot.waitUntil(lambda: progress.value() >= 1024, timeout=WAIT_MS)  # the first MiB arrived
    cancel = next(b for b in progress.findChildren(QPushButton) if b.text() == "Cancel")
    with qtbot.waitSignal(job.cancelled, timeout=WAIT_MS):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
        weights_server.gate.set()
    qtbot.waitUntil(lambda: window.weights.job is None, timeout=WAIT_MS)
    assert "cancelled; nothing was kept" in dialog.status.text()
    assert os.listdir(_cache(tmp_path)) == []


def test_wrong_bytes_are_refused_with_a_message(
    qtbot, tmp_path: Path, weights_server: WeightsServer, monkeypatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    window = make_window(qtbot, tmp_path)
    entry = WEIGHTS["mobilenet_v3_large"]
    (weights_server.root / entry.file_name).write_bytes(_payload())
    dialog = window.weights.open_dialog()
    dialog.list.setCurrentRow(list(WEIGHTS).index(entry.name))
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.weights.job is None and bool(shown), timeout=WAIT_MS)
    assert "did not send the published mobilenet_v3_large-8738ca79.pth" in shown[0]
    assert "was not downloaded" in dialog.status.text()
    assert not (_cache(tmp_path) / entry.file_name).exists()


def test_the_window_names_the_menu_not_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    entry = WEIGHTS["lraspp_mobilenet_v3_large"]
    _cache(tmp_path).mkdir(parents=True)
    (_cache(tmp_path) / entry.file_name).write_bytes(_payload())  # not the published file
    with pytest.raises(DatasetError) as err:
        build_model(entry.name, 3, pretrained="coco")
    message = describe_error(err.value).message
    assert "Tools › Download pretrained weights… (lraspp_mobilenet_v3_large)" in message
    assert "cocoseg download-weights" not in message and entry.file_name in message


def test_mobile_sam_is_downloaded_from_the_dialog_and_its_sha256_shown(
    qtbot, tmp_path: Path, weights_server: WeightsServer
) -> None:
    import hashlib

    window = make_window(qtbot, tmp_path)
    dialog = window.weights.open_dialog()
    dialog.list.setCurrentRow(len(WEIGHTS) + list(SAM_WEIGHTS).index("mobile_sam"))
    data = _payload()
    (weights_server.root / "mobile_sam.pt").write_bytes(data)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    job = window.weights.job
    assert job is not None
    with qtbot.waitSignal(job.done, timeout=WAIT_MS):
        pass
    assert (_cache(tmp_path) / "mobile_sam.pt").read_bytes() == data
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in dialog.status.text()
