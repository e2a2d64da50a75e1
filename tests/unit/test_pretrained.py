"""Pretrained weights: read by us (hash prefix checked, ``weights_only=True``), never unpickled by
torchvision; the explicit download streams from a real HTTP server on 127.0.0.1, checks the hash,
cancels cleanly and says what to do offline."""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

import pytest
import torch

from cocoseg_gui.cli import main as cli_main
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import Cancelled, CancelToken
from cocoseg_gui.core.proposals.source import SourceSpec, load_predictor
from cocoseg_gui.core.training.models import build_model, build_torchvision_from_state
from cocoseg_gui.core.training.pretrained import (
    WEIGHTS,
    PretrainedWeightsUnavailable,
    download_file,
    download_weights,
    read_state_dict,
)
from tests.unit.weights_server import (
    WeightsServer,
    named_by_hash,
    weights_server_fixture,  # noqa: F401 (the fixture)
)


class _Evil:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _evil_bytes(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"backbone.0.0.weight": _Evil(marker)}, buf)
    return buf.getvalue()


def _tensor_bytes(n: int = 700_000) -> bytes:
    buf = io.BytesIO()
    torch.save({"w": torch.arange(n, dtype=torch.float32)}, buf)  # 2.8 MB: three chunks
    return buf.getvalue()


def _cache(home: Path) -> Path:
    return home / "hub" / "checkpoints"


def test_the_table_is_torchvisions() -> None:
    from torchvision.models import get_model_weights

    for entry in WEIGHTS.values():
        member = getattr(get_model_weights(entry.name), entry.label.split(".")[1])
        assert str(member) == entry.label and member.url.endswith("/" + entry.file_name)
        assert abs(member.meta["_file_size"] - entry.size_mb) < 0.1


@pytest.mark.parametrize(
    ("model", "pretrained"), [("lraspp_mobilenet_v3_large", "coco"), ("fcn_resnet50", "imagenet")]
)
def test_a_pickle_planted_in_the_hub_cache_never_runs(
    model: str, pretrained: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    marker = tmp_path / "marker"
    entry = WEIGHTS[model] if pretrained == "coco" else WEIGHTS["resnet50"]
    planted = _cache(tmp_path / "home") / entry.file_name
    planted.parent.mkdir(parents=True)
    planted.write_bytes(_evil_bytes(marker))
    with pytest.raises(DatasetError) as err:
        build_model(model, 3, pretrained=pretrained)
    text = str(err.value)
    assert str(planted) in text and "not the published file" in text
    assert f"cocoseg download-weights {entry.name}" in text
    assert not marker.exists()
    if pretrained == "coco":  # the proposals' source reads the same cache
        with pytest.raises(DatasetError, match="not the published file"):
            load_predictor(SourceSpec(torchvision=model))
        assert not marker.exists()


def test_a_pickle_whose_name_carries_its_own_hash_is_refused_by_weights_only(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = named_by_hash(tmp_path, "lraspp_mobilenet_v3_large", _evil_bytes(marker))
    with pytest.raises(DatasetError, match=r"pickled objects.*refused for safety"):
        read_state_dict(evil)
    with pytest.raises(DatasetError, match="refused for safety"):
        load_predictor(SourceSpec(torchvision="lraspp_mobilenet_v3_large", weights=evil))
    with pytest.raises(DatasetError, match="refused for safety"):
        build_model("lraspp_mobilenet_v3_large", 3, pretrained=str(evil))
    assert not marker.exists()


def test_a_weights_file_named_with_a_hash_prefix_must_match_it(tmp_path: Path) -> None:
    """`train --pretrained FILE` with a copy of torchvision's file: the name's promise is checked too."""
    copy = tmp_path / WEIGHTS["lraspp_mobilenet_v3_large"].file_name
    copy.write_bytes(_tensor_bytes(10))
    with pytest.raises(DatasetError, match="not the published file"):
        build_model("lraspp_mobilenet_v3_large", 3, pretrained=str(copy))
    good = named_by_hash(tmp_path, "unet", _tensor_bytes(10))  # the hash is right: read, then no match
    with pytest.raises(DatasetError, match="no weights in this file match"):
        build_model("unet", 3, pretrained=str(good), width=8)


def test_coco_state_loads_whole_then_gets_new_heads() -> None:
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

    torch.manual_seed(0)
    voc = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    state = voc.state_dict()
    model = build_torchvision_from_state("deeplabv3_mobilenet_v3_large", 6, "coco", state).eval()
    for key in ("backbone.0.0.weight", "classifier.0.convs.0.0.weight"):
        assert torch.equal(model.net.state_dict()[key], state[key])
    assert model.net.classifier[-1].out_channels == 6 and model.net.aux_classifier is None
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 6, 64, 64)
    del state["classifier.0.convs.0.0.weight"]
    with pytest.raises(DatasetError, match=r"1 of \d+ tensors missing.*download-weights"):
        build_torchvision_from_state("deeplabv3_mobilenet_v3_large", 6, "coco", state)


@pytest.mark.parametrize(
    ("model", "backbone", "ours", "theirs"),
    [
        ("lraspp_mobilenet_v3_large", "mobilenet_v3_large", "0.0.weight", "features.0.0.weight"),
        ("fcn_resnet50", "resnet50", "layer4.2.conv3.weight", "layer4.2.conv3.weight"),
    ],
)
def test_imagenet_state_fills_the_backbone(model: str, backbone: str, ours: str, theirs: str) -> None:
    import torchvision.models as tvm

    torch.manual_seed(1)
    classifier = getattr(tvm, backbone)(weights=None).state_dict()
    net = build_torchvision_from_state(model, 4, "imagenet", classifier).net
    assert torch.equal(net.backbone.state_dict()[ours], classifier[theirs])
    assert all(
        torch.equal(v, classifier.get(k, classifier.get(f"features.{k}")))
        for k, v in net.backbone.state_dict().items()
    )


def test_download_streams_checks_the_hash_and_renames_into_place(
    weights_server: WeightsServer, tmp_path: Path
) -> None:
    served = named_by_hash(weights_server.root, "tiny", _tensor_bytes())
    dest = tmp_path / "cache" / served.name
    seen = []
    path = download_file(f"{weights_server.url}/{served.name}", dest, progress=seen.append)
    assert path == dest and dest.read_bytes() == served.read_bytes()
    assert torch.equal(read_state_dict(dest)["w"], torch.arange(700_000, dtype=torch.float32))
    assert seen[-1].done == seen[-1].total == -(-served.stat().st_size // 1024) and len(seen) >= 2
    assert "MB" in seen[-1].message
    assert os.listdir(dest.parent) == [served.name]  # no temporary left


def test_wrong_bytes_are_never_renamed_into_place(weights_server: WeightsServer, tmp_path: Path) -> None:
    data = _tensor_bytes()
    (weights_server.root / "tiny-00000000.pth").write_bytes(data)
    dest = tmp_path / "cache" / "tiny-00000000.pth"
    with pytest.raises(PretrainedWeightsUnavailable, match=r"did not send the published tiny-00000000\.pth"):
        download_file(f"{weights_server.url}/tiny-00000000.pth", dest)
    assert not dest.parent.exists() or os.listdir(dest.parent) == []


def test_cancel_stops_the_download_and_leaves_nothing(weights_server: WeightsServer, tmp_path: Path) -> None:
    served = named_by_hash(weights_server.root, "tiny", _tensor_bytes())
    token = CancelToken()
    dest = tmp_path / "cache" / served.name
    with pytest.raises(Cancelled):
        download_file(
            f"{weights_server.url}/{served.name}", dest, progress=lambda p: token.cancel(), cancel=token
        )
    assert os.listdir(dest.parent) == []


def test_cancel_while_the_server_stalls_is_a_cancel(weights_server: WeightsServer, tmp_path: Path) -> None:
    """The server sends one MiB and then nothing: a cancel made while the read waits ends as a cancel
    (when the read times out), not as a broken download, and leaves nothing."""
    served = named_by_hash(weights_server.root, "tiny", _tensor_bytes())
    weights_server.gate = threading.Event()  # never set during the download
    token, first = CancelToken(), threading.Event()
    canceller = threading.Thread(target=lambda: (first.wait(60), token.cancel()))
    canceller.start()
    dest = tmp_path / "cache" / served.name
    with pytest.raises(Cancelled):
        download_file(
            f"{weights_server.url}/{served.name}",
            dest,
            progress=lambda p: first.set(),
            cancel=token,
            timeout_s=1,
        )
    canceller.join()
    assert os.listdir(dest.parent) == []


def test_offline_says_where_to_put_the_file(
    weights_server: WeightsServer, tmp_path: Path, monkeypatch
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("COCOSEG_WEIGHTS_URL", f"http://127.0.0.1:{port}/models")
    entry = WEIGHTS["lraspp_mobilenet_v3_large"]
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        download_weights(entry)
    text = str(err.value)
    assert "could not download" in text and str(entry.cache_path()) in text and entry.label in text
    monkeypatch.setenv("COCOSEG_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsUnavailable, match="COCOSEG_OFFLINE is set"):
        download_weights(entry)
    assert not entry.cache_path().parent.exists()


def test_cli_download_weights_refuses_a_wrong_file_and_lists(
    weights_server: WeightsServer, tmp_path: Path, capsys
) -> None:
    entry = WEIGHTS["lraspp_mobilenet_v3_large"]
    (weights_server.root / entry.file_name).write_bytes(_tensor_bytes())  # not the published content
    assert cli_main(["download-weights", entry.name]) == 2
    err = capsys.readouterr().err
    assert "cocoseg download-weights: error:" in err and "did not send the published" in err
    assert not entry.cache_path().exists()
    assert cli_main(["download-weights", "--list"]) == 0
    out = capsys.readouterr().out
    assert f"{entry.name}" in out and f"not cached: {entry.cache_path()}" in out
    assert cli_main(["download-weights"]) == 2 and "name the weights" in capsys.readouterr().err
