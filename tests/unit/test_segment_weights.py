# ruff: noqa: F811  (pytest fixtures imported from tests.unit.segment_fixtures)
"""SAM-family weights files: recognised from keys and shapes, loaded safely, every bad file named."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.segment.kinds import MOBILE_SAM, SAM2, VIT_B, VIT_H, VIT_L
from cocoseg_gui.core.segment.model import build_architecture, load_sam
from cocoseg_gui.core.segment.recognise import NotSamWeights, recognise
from cocoseg_gui.core.segment.weights import read_sam_weights, weights_identity
from tests.unit.segment_fixtures import mobile_sam_file, mobile_state, vit_shapes  # noqa: F401


@pytest.mark.parametrize(
    ("width", "blocks", "kind"), [(768, 12, VIT_B), (1024, 24, VIT_L), (1280, 32, VIT_H)]
)
def test_sam_vit_sizes_are_told_apart_by_width_and_depth(width: int, blocks: int, kind: object) -> None:
    assert recognise(vit_shapes(width, blocks)) == kind


def test_an_unknown_vit_size_is_named() -> None:
    with pytest.raises(NotSamWeights, match="width 768 with 16 blocks"):
        recognise(vit_shapes(768, 16))


def test_mobile_sam_is_recognised_from_its_real_state_dict(mobile_state: dict[str, torch.Tensor]) -> None:
    assert recognise({k: tuple(v.shape) for k, v in mobile_state.items()}) == MOBILE_SAM


def test_sam2_is_recognised_and_refused_with_the_reason(tmp_path: Path) -> None:
    shapes = {
        "image_encoder.trunk.patch_embed.proj.weight": (96, 3, 7, 7),
        "sam_mask_decoder.iou_token.weight": (1, 256),
    }
    assert recognise(shapes) == SAM2
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": {k: torch.zeros(s) for k, s in shapes.items()}}, path)
    with pytest.raises(DatasetError, match="SAM 2 weights are recognised but not supported") as info:
        read_sam_weights(path)
    assert info.value.path == path


def test_other_weights_are_named_by_what_they_hold(tmp_path: Path) -> None:
    from torchvision.models import mobilenet_v3_small

    path = tmp_path / "classifier.pth"
    torch.save(mobilenet_v3_small(weights=None).state_dict(), path)
    with pytest.raises(
        DatasetError, match=r"not SAM, MobileSAM or SAM 2 weights .*named classifier, features"
    ):
        read_sam_weights(path)


def test_the_weights_file_loads_strictly_into_the_real_architecture(mobile_sam_file: Path) -> None:
    loaded = load_sam(mobile_sam_file)
    assert loaded.kind == MOBILE_SAM
    expected = torch.load(mobile_sam_file, map_location="cpu", weights_only=True)
    name = "mask_decoder.iou_prediction_head.layers.0.weight"
    assert torch.equal(loaded.model.state_dict()[name], expected[name])
    assert not loaded.model.training


def test_a_state_dict_nested_under_model_is_unwrapped(tmp_path: Path, mobile_state: dict) -> None:
    path = tmp_path / "wrapped.pt"
    torch.save({"model": mobile_state, "epoch": 3}, path)
    assert read_sam_weights(path).kind == MOBILE_SAM


def test_missing_and_misshapen_tensors_are_counted(tmp_path: Path, mobile_state: dict) -> None:
    state = dict(mobile_state)
    del state["mask_decoder.iou_token.weight"]  # recognition still sees a decoder via its other key
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, 128)
    del state["mask_decoder.mask_tokens.weight"]
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    with pytest.raises(DatasetError, match=r"MobileSAM .* does not fit it: 1 tensors missing .*mask_tokens.*"
                       r"1 tensors of the wrong shape \(e.g. mask_decoder.iou_token.weight\)"):  # fmt: skip
        load_sam(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="SAM weights file not found"):
        read_sam_weights(tmp_path / "nothing.pt")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(DatasetError, match="empty file"):
        read_sam_weights(empty)


def test_a_truncated_download_is_called_truncated(tmp_path: Path, mobile_sam_file: Path) -> None:
    cut = tmp_path / "mobile_sam.pt"
    cut.write_bytes(mobile_sam_file.read_bytes()[: mobile_sam_file.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated") as info:
        read_sam_weights(cut)
    assert str(cut) in str(info.value)


@pytest.mark.parametrize("text", ["these are not weights\n", "not weights at all\n", "<html>404</html>"])
def test_a_text_file_is_not_weights(tmp_path: Path, text: str) -> None:
    # torch reads some text as a broken pickle (UnpicklingError): still "not torch.save's", not "code refused"
    path = tmp_path / "notes.pth"
    path.write_text(text)
    with pytest.raises(DatasetError, match=r"not a file written by torch\.save"):
        read_sam_weights(path)


class _Payload:
    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {_Payload.marker}",))

    marker = ""


def test_a_pickle_with_code_is_refused_and_its_code_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _Payload.marker = str(marker)
    path = tmp_path / "sam_vit_b_01ec64.pth"
    torch.save({"image_encoder.x": torch.zeros(1), "hook": _Payload()}, path)
    with pytest.raises(DatasetError, match=r"pickled objects .* refused for safety"):
        read_sam_weights(path)
    assert not marker.exists()


def test_a_cocoseg_checkpoint_and_a_bare_tensor_are_not_sam(tmp_path: Path) -> None:
    ckpt = tmp_path / "best.pt"
    torch.save({"format": "cocoseg-checkpoint", "model": {"w": torch.zeros(1)}}, ckpt)
    with pytest.raises(DatasetError, match="a cocoseg training checkpoint"):
        read_sam_weights(ckpt)
    bare = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), bare)
    with pytest.raises(DatasetError, match="not a state_dict"):
        read_sam_weights(bare)


def test_identity_follows_the_content_not_the_name(tmp_path: Path, mobile_sam_file: Path) -> None:
    copy = tmp_path / "renamed.pt"
    copy.write_bytes(mobile_sam_file.read_bytes())
    assert weights_identity(copy) == weights_identity(mobile_sam_file)
    state = torch.load(mobile_sam_file, map_location="cpu", weights_only=True)
    state["mask_decoder.iou_token.weight"] += 1.0  # one tensor in the middle of the file changes
    torch.save(state, copy)
    assert weights_identity(copy) != weights_identity(mobile_sam_file)


def test_a_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "segment_anything", None)
    with pytest.raises(
        CocoSegError, match=r"SAM ViT-B needs the package segment_anything .*cocoseg-gui\[sam\]"
    ):
        build_architecture(VIT_B)
