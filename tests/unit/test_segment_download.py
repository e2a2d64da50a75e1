# ruff: noqa: F811  (fixtures imported from tests.unit.weights_server and tests.unit.segment_fixtures)
"""The explicit SAM / MobileSAM download against a real HTTP server on 127.0.0.1 (no network): the MD5
prefix in SAM's names and the announced length checked, the SHA-256 shown, cancel leaves nothing."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.segment import downloads
from cocoseg_gui.core.segment.downloads import SAM_WEIGHTS, download_sam_weights, resolve_sam_weights
from cocoseg_gui.core.segment.kinds import MOBILE_SAM
from cocoseg_gui.core.segment.weights import read_sam_weights
from cocoseg_gui.core.training.pretrained import PretrainedWeightsUnavailable
from tests.unit.segment_fixtures import mobile_sam_file, mobile_state  # noqa: F401
from tests.unit.weights_server import WeightsServer, weights_server_fixture  # noqa: F401

DATA = os.urandom(3 << 20)  # three 1 MiB chunks


def test_the_table_holds_the_official_addresses_and_their_name_hashes() -> None:
    assert SAM_WEIGHTS["sam_vit_b"].official_url() == (
        "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"
    )
    assert SAM_WEIGHTS["mobile_sam"].official_url() == (
        "https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt"
    )
    for entry in SAM_WEIGHTS.values():
        assert entry.md5_prefix is None or f"_{entry.md5_prefix}.pth" in entry.file_name


def _entry(root: Path, data: bytes, promised_md5: str) -> downloads.SamWeightsFile:
    entry = replace(
        SAM_WEIGHTS["sam_vit_b"], file_name=f"sam_test_{promised_md5}.pth", md5_prefix=promised_md5
    )
    (root / entry.file_name).write_bytes(data)
    return entry


def test_a_sam_file_is_checked_by_the_md5_in_its_name_and_its_sha256_reported(
    weights_server: WeightsServer,
) -> None:
    entry = _entry(weights_server.root, DATA, hashlib.md5(DATA).hexdigest()[:6])
    seen = []
    got = download_sam_weights(entry, progress=seen.append)
    assert got.path == entry.cache_path() and got.path.read_bytes() == DATA
    assert got.sha256 == hashlib.sha256(DATA).hexdigest() and got.size == len(DATA)
    assert seen and seen[-1].done == seen[-1].total
    requests = weights_server.requests
    assert download_sam_weights(entry).sha256 == got.sha256  # present and intact: kept, not fetched again
    assert weights_server.requests == requests


def test_a_file_whose_md5_is_not_the_promised_one_is_never_kept(weights_server: WeightsServer) -> None:
    entry = _entry(
        weights_server.root, DATA, "000000" if not hashlib.md5(DATA).hexdigest().startswith("0") else "fff"
    )
    with pytest.raises(PretrainedWeightsUnavailable, match=r"did not send the published .* MD5 starts"):
        download_sam_weights(entry)
    assert not entry.cache_path().exists()
    assert os.listdir(entry.cache_path().parent) == []  # no temporary left


def test_cancel_leaves_nothing(weights_server: WeightsServer) -> None:
    entry = _entry(weights_server.root, DATA, hashlib.md5(DATA).hexdigest()[:6])
    token = CancelToken()
    with pytest.raises(Cancelled):
        download_sam_weights(entry, progress=lambda _p: token.cancel(), cancel=token)
    assert not entry.cache_path().exists()


def test_cli_downloads_mobile_sam_prints_the_sha256_and_the_name_then_works(
    weights_server: WeightsServer, mobile_sam_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = SAM_WEIGHTS["mobile_sam"]
    with pytest.raises(DatasetError, match="download-weights mobile_sam"):
        resolve_sam_weights("mobile_sam")
    (weights_server.root / entry.file_name).write_bytes(mobile_sam_file.read_bytes())
    assert cli_main(["download-weights", "mobile_sam"]) == 0
    out = capsys.readouterr().out
    assert f"SHA-256 {hashlib.sha256(mobile_sam_file.read_bytes()).hexdigest()}" in out
    assert resolve_sam_weights("mobile_sam") == entry.cache_path()
    assert read_sam_weights(resolve_sam_weights("mobile_sam")).kind == MOBILE_SAM
    assert cli_main(["download-weights", "--list"]) == 0
    assert f"cached: {entry.cache_path()}" in capsys.readouterr().out


def test_offline_says_where_to_put_the_file(
    weights_server: WeightsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCOSEG_OFFLINE", "1")
    entry = SAM_WEIGHTS["sam_vit_h"]
    with pytest.raises(PretrainedWeightsUnavailable, match=f"download {entry.official_url()} on a machine"):
        download_sam_weights(entry)
    assert weights_server.requests == 0
