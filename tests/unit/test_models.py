"""Models: every name builds offline and returns logits at the input size; pretrained weights handling."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.training.models import (
    MODEL_NAMES,
    PretrainedWeightsUnavailable,
    build_model,
    model_kwargs_schema,
    weights_cache_path,
)
from cocoseg_gui.core.training.transforms import build_transforms, load_rgb

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_coco"


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty TORCH_HOME and sockets that refuse to connect."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("TORCH_HUB", raising=False)
    monkeypatch.delenv("COCOSEG_OFFLINE", raising=False)
    return tmp_path / "torch_home"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_builds_offline_and_returns_logits_at_input_size(name: str, no_network: Path) -> None:
    kwargs = {"width": 8} if name == "unet" else {}
    model = build_model(name, 7, **kwargs).eval()
    assert model.model_name == name
    with torch.no_grad():
        out = model(torch.randn(2, 3, 72, 90))  # not a multiple of 16 or 32
    assert out.shape == (2, 7, 72, 90)
    assert torch.isfinite(out).all()


def test_aux_head_on_request() -> None:
    model = build_model("deeplabv3_mobilenet_v3_large", 4, aux_loss=True).train()
    out = model(torch.randn(2, 3, 64, 64))
    assert set(out) == {"out", "aux"} and out["aux"].shape == (2, 4, 64, 64)
    assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 4, 64, 64)


def test_unet_trains_on_one_image() -> None:
    torch.manual_seed(0)
    image = load_rgb(SAMPLE / "val2017" / "000000006818.jpg")
    mask = torch.zeros(image.size[1], image.size[0], dtype=torch.uint8)
    mask[: image.size[1] // 2, : image.size[0] // 3] = 1  # a block of class 1, the rest background
    mask[-5:, :] = 255
    from PIL import Image

    x, y = build_transforms(64, train=False)(image, Image.fromarray(mask.numpy()))
    x, y = x[None], y[None]
    model = build_model("unet", 2, width=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = torch.nn.functional.cross_entropy(model(x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("pretrained", ["coco", "imagenet"])
def test_missing_pretrained_weights_raise_clear_error(pretrained: str, no_network: Path) -> None:
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        build_model("lraspp_mobilenet_v3_large", 3, pretrained=pretrained)
    message = str(info.value)
    assert str(no_network) in message and "without pretrained weights" in message
    assert ("COCO_WITH_VOC_LABELS" if pretrained == "coco" else "IMAGENET1K") in message


def test_offline_env_refuses_download(no_network: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCOSEG_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsUnavailable, match="COCOSEG_OFFLINE"):
        build_model("deeplabv3_resnet50", 3, pretrained="imagenet")


def test_cached_coco_weights_of_another_content_are_refused(no_network: Path) -> None:
    """Tensors of the right model under the published name, but not the published bytes: refused by the
    hash prefix in the name (loading a good file is in test_pretrained.py)."""
    from torchvision.models.segmentation import (
        DeepLabV3_MobileNet_V3_Large_Weights,
        deeplabv3_mobilenet_v3_large,
    )

    torch.manual_seed(0)
    voc = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    path = weights_cache_path(DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1)
    path.parent.mkdir(parents=True)
    torch.save(voc.state_dict(), path)
    with pytest.raises(DatasetError) as err:
        build_model("deeplabv3_mobilenet_v3_large", 6, pretrained="coco")
    assert str(path) in str(err.value) and "download-weights deeplabv3_mobilenet_v3_large" in str(err.value)


def test_weights_file_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("unet", 4, width=8)
    plain = tmp_path / "unet.pt"
    torch.save({"module." + k: v for k, v in src.state_dict().items()}, plain)  # as saved from DDP
    model = build_model("unet", 4, pretrained=str(plain), width=8)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    ckpt = tmp_path / "ckpt.pt"
    torch.save(
        {
            "format": "cocoseg-checkpoint",
            "version": 1,
            "model": {"name": "unet", "kwargs": {"width": 8, "depth": 4}, "state_dict": src.state_dict()},
        },
        ckpt,
    )
    from_ckpt = build_model("unet", 4, pretrained=str(ckpt))  # kwargs taken from the checkpoint
    assert from_ckpt.model_kwargs == {"width": 8, "depth": 4}
    assert torch.equal(from_ckpt.head.weight, src.head.weight)
    other_classes = build_model("unet", 9, pretrained=str(ckpt))  # head skipped, encoder loaded
    assert torch.equal(other_classes.stem[0].weight, src.stem[0].weight)
    assert other_classes.head.out_channels == 9


def test_bad_weights_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="weights file not found"):
        build_model("unet", 3, pretrained=str(tmp_path / "missing.pt"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(DatasetError, match="cannot load weights"):
        build_model("unet", 3, pretrained=str(junk))
    other = tmp_path / "other.pt"
    torch.save({"format": "cocoseg-checkpoint", "model": {"name": "fcn_resnet50", "state_dict": {}}}, other)
    with pytest.raises(DatasetError, match="checkpoint of model 'fcn_resnet50'"):
        build_model("unet", 3, pretrained=str(other))
    unrelated = tmp_path / "unrelated.pt"
    torch.save({"foo.weight": torch.zeros(2)}, unrelated)
    with pytest.raises(DatasetError, match="no weights in this file match"):
        build_model("unet", 3, pretrained=str(unrelated), width=8)


def test_option_errors_and_schema() -> None:
    with pytest.raises(OptionsError, match="unknown model"):
        build_model("resnet", 3)
    with pytest.raises(OptionsError, match="does not take"):
        build_model("unet", 3, widht=8)
    with pytest.raises(OptionsError, match="integer"):
        build_model("unet", 3, width=0)
    with pytest.raises(OptionsError, match="no imagenet weights"):
        build_model("unet", 3, pretrained="imagenet")
    assert model_kwargs_schema("unet")["width"]["default"] == 32
    assert model_kwargs_schema("lraspp_mobilenet_v3_large") == {}
    assert set(model_kwargs_schema("deeplabv3_resnet50")) == {"aux_loss"}
    assert sum(p.numel() for p in build_model("unet", 3, width=8).parameters()) < 2_000_000
    assert np.isfinite(
        build_model("unet", 3, width=8, depth=2)(torch.randn(1, 3, 10, 10)).detach().numpy()
    ).all()
