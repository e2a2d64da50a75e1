"""Segmentation models by name (the registry: ``model_registry.MODELS``): a small U-Net and torchvision's
DeepLabV3 / LR-ASPP / FCN.

Every model's ``forward(x)`` returns logits [N, num_classes, H, W] at the input size (with
``aux_loss=True`` a torchvision model returns ``{"out", "aux"}`` in training mode instead).
Built models carry ``model_name`` and ``model_kwargs`` for checkpoints.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.training.model_registry import MODEL_NAMES, ModelSpec, builder_of, model_spec
from cocoseg_gui.core.training.pretrained import (
    PretrainedWeightsUnavailable,
    cached_state_dict,
    check_hash,
    weights_for,
)
from cocoseg_gui.core.training.unet import UNet

__all__ = [
    "MODEL_NAMES",
    "PretrainedWeightsUnavailable",
    "build_model",
    "build_torchvision",
    "build_torchvision_from_state",
    "build_unet",
    "load_weights_file",
    "model_kwargs_schema",
    "weights_cache_path",
]

log = logging.getLogger(__name__)


def model_kwargs_schema(name: str) -> dict[str, dict[str, Any]]:
    """The kwargs ``build_model`` accepts for ``name``: {kwarg: {type, default, min, max, help}}."""
    return {o.name: o.as_dict() for o in model_spec(name).options}


def _check_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    schema = model_kwargs_schema(name)
    unknown = sorted(set(kwargs) - set(schema))
    if unknown:
        raise OptionsError(
            f"model {name!r} does not take {unknown}; it takes {sorted(schema) or 'no options'}"
        )
    out = {k: spec["default"] for k, spec in schema.items()}
    for k, v in kwargs.items():
        spec = schema[k]
        if spec["type"] == "int":
            if isinstance(v, bool) or not isinstance(v, int) or not spec["min"] <= v <= spec["max"]:
                raise OptionsError(f"model option {k} must be an integer in [{spec['min']}, {spec['max']}]")
        elif not isinstance(v, bool):
            raise OptionsError(f"model option {k} must be true or false, got {v!r}")
        out[k] = v
    return out


class TorchvisionSegmenter(nn.Module):
    """Wraps a torchvision segmentation model: returns ``out["out"]`` (and aux when asked)."""

    def __init__(self, net: nn.Module, aux: bool = False) -> None:
        super().__init__()
        self.net = net
        self.aux = aux

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        out = self.net(x)
        if self.aux and self.training and "aux" in out:
            return {"out": out["out"], "aux": out["aux"]}
        return out["out"]


def weights_cache_path(weights: Any) -> Path:
    """Where torch keeps a torchvision ``WeightsEnum`` file (TORCH_HOME/hub/checkpoints/<file>)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def _builder(name: str) -> Any:
    from torchvision.models import segmentation as seg

    return getattr(seg, name)


def _pair(values: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d's size attribute (typed tuple[int, ...]) as the (int, int) its constructor takes."""
    return values[0], values[1]


def _new_conv(old: nn.Module, out_channels: int) -> nn.Conv2d:
    assert isinstance(old, nn.Conv2d)  # every torchvision segmentation head ends in one
    padding = old.padding if isinstance(old.padding, str) else _pair(old.padding)
    return nn.Conv2d(
        old.in_channels,
        out_channels,
        _pair(old.kernel_size),
        _pair(old.stride),
        padding,
        bias=old.bias is not None,
    )


def _replace_heads(net: nn.Module, num_classes: int) -> None:
    """Swap the last (21-class VOC) layers of a COCO-pretrained model for ``num_classes`` outputs."""
    cls = net.get_submodule("classifier")
    if hasattr(cls, "low_classifier"):  # LR-ASPP
        for name in ("low_classifier", "high_classifier"):
            setattr(cls, name, _new_conv(cls.get_submodule(name), num_classes))
        return
    heads = [cls]
    if getattr(net, "aux_classifier", None) is not None:
        heads.append(net.get_submodule("aux_classifier"))
    for head in heads:
        assert isinstance(head, nn.Sequential)  # DeepLabHead, FCNHead
        head[-1] = _new_conv(head[-1], num_classes)


def build_unet(spec: ModelSpec, num_classes: int, pretrained: str, kwargs: dict[str, Any]) -> nn.Module:
    """The registry's builder of "unet" (no published weights: ``pretrained`` is "none")."""
    return UNet(num_classes, width=kwargs["width"], depth=kwargs["depth"])


def build_torchvision(
    spec: ModelSpec, num_classes: int, pretrained: str, kwargs: dict[str, Any]
) -> nn.Module:
    """The registry's builder of torchvision's models: built with ``weights=None`` and the pretrained state
    loaded by us (``pretrained.py``): torchvision's own loading unpickles the hub cache without
    ``weights_only``."""
    state = None if pretrained == "none" else cached_state_dict(weights_for(spec.name, pretrained))
    return build_torchvision_from_state(
        spec.name, num_classes, pretrained, state, bool(kwargs.get("aux_loss"))
    )


def build_torchvision_from_state(
    name: str, num_classes: int, pretrained: str, state: dict[str, Any] | None, aux: bool = False
) -> nn.Module:
    """A torchvision model with ``state`` loaded: for "coco" the whole 21-class model (its last layers
    then replaced for ``num_classes``), for "imagenet" the backbone; every tensor must fit."""
    builder = _builder(name)
    lraspp = name == "lraspp_mobilenet_v3_large"
    if pretrained == "coco":
        voc_aux = {} if lraspp else {"aux_loss": True}  # the published files hold the aux head
        net = builder(weights=None, weights_backbone=None, num_classes=21, **voc_aux)
        _load_exactly(net, state or {}, name, pretrained)
        _replace_heads(net, num_classes)
        if not aux and hasattr(net, "aux_classifier"):
            net.aux_classifier = None
    else:
        extra = {} if lraspp else {"aux_loss": aux}
        net = builder(weights=None, weights_backbone=None, num_classes=num_classes, **extra)
        if state is not None:
            _load_backbone(net.backbone, state, name)
    return TorchvisionSegmenter(net, aux=aux)


def _load_exactly(net: nn.Module, state: dict[str, Any], name: str, pretrained: str) -> None:
    own = net.state_dict()
    missing = sorted(k for k in own if k not in state or state[k].shape != own[k].shape)
    if missing:
        entry = weights_for(name, pretrained)
        raise DatasetError(
            entry.cache_path(),
            f"does not hold {entry.label} ({len(missing)} of {len(own)} tensors missing or of another shape, "
            f"e.g. {missing[0]}); {entry.how_to_fetch()}",
        )
    net.load_state_dict({k: state[k] for k in own})


def _load_backbone(backbone: nn.Module, state: dict[str, Any], name: str) -> None:
    """ImageNet classifier weights into the segmentation backbone (MobileNet's ``features.`` dropped)."""
    own = backbone.state_dict()
    picked = {}
    for key, tensor in own.items():
        theirs = state.get(key, state.get(f"features.{key}"))
        if theirs is None or theirs.shape != tensor.shape:
            entry = weights_for(name, "imagenet")
            raise DatasetError(
                entry.cache_path(),
                f"does not hold {entry.label} (no tensor {key} of shape {tuple(tensor.shape)}); "
                f"{entry.how_to_fetch()}",
            )
        picked[key] = theirs
    backbone.load_state_dict(picked)


def _state_dict_of(obj: Any, path: Path, name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """(state_dict, cocoseg model kwargs or None) of a loaded weights file; else DatasetError saying why."""
    kwargs = None
    if isinstance(obj, dict) and obj.get("format") == "cocoseg-checkpoint":
        model = obj.get("model", {})
        if not isinstance(model, dict):
            raise DatasetError(path, "damaged cocoseg checkpoint (its 'model' entry is not a dict)")
        if model.get("name") not in (None, name):
            raise DatasetError(path, f"this is a checkpoint of model {model.get('name')!r}, not {name!r}")
        obj, kwargs = model.get("state_dict", {}), dict(model.get("kwargs") or {})
    elif isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise DatasetError(
            path, f"not a state_dict or a cocoseg checkpoint (it holds {_describe(obj)}, not named tensors)"
        )
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise DatasetError(
            path,
            f"not a state_dict: {len(bad)} of its {len(obj)} entries are not tensors named by strings "
            f"(e.g. {bad[0]!r}: {_describe(obj[bad[0]])})",
        )
    return obj, kwargs


def _describe(obj: Any) -> str:
    if isinstance(obj, dict):
        return f"a dict of {len(obj)} entries" if obj else "an empty dict"
    name = type(obj).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _read_weights(path: Path) -> Any:
    from cocoseg_gui.core.training.checkpoint import load_failure_reason

    if not path.is_file():
        raise DatasetError(path, "weights file not found")
    check_hash(path)  # a torchvision-style name (``-<sha256 prefix>.pth``) must match its content
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise DatasetError(path, f"cannot load weights: {load_failure_reason(path, exc)}") from None


def load_weights_file(model: nn.Module, path: Path | str) -> tuple[list[str], list[str]]:
    """Load matching tensors of a state_dict / cocoseg checkpoint file into ``model``.

    Keys are matched with or without the ``module.`` (DDP) and ``net.`` (wrapper) prefixes; tensors whose
    shape differs (e.g. another class count) are skipped. Returns (loaded keys, skipped keys);
    raises DatasetError when nothing matches.
    """
    path = Path(path)
    state, _ = _state_dict_of(_read_weights(path), path, getattr(model, "model_name", None) or "")
    return _load_matching(model, state, path)


def _load_matching(model: nn.Module, state: dict[str, Any], path: Path) -> tuple[list[str], list[str]]:
    own = model.state_dict()
    wrapped = any(k.startswith("net.") for k in own)
    matched: dict[str, torch.Tensor] = {}
    skipped: list[str] = []
    for key, tensor in state.items():
        k = re.sub(r"^module\.", "", key)
        if wrapped and not k.startswith("net."):
            k = "net." + k
        if k in own and isinstance(tensor, torch.Tensor) and own[k].shape == tensor.shape:
            matched[k] = tensor
        else:
            skipped.append(key)
    if not matched:
        own_keys = sorted(own)[:2]
        raise DatasetError(
            path,
            f"no weights in this file match model {getattr(model, 'model_name', '?')!r}: none of its "
            f"{len(state)} tensors has a name and shape of the model (a state_dict of another model? "
            f"its keys are like {sorted(state)[:2]}, the model's like {own_keys})",
        )
    model.load_state_dict(matched, strict=False)
    if skipped:
        log.warning(
            "%s: %d tensors not loaded (other shape or name), e.g. %s", path, len(skipped), skipped[:3]
        )
    return list(matched), skipped


def build_model(name: str, num_classes: int, pretrained: str = "none", **kwargs: Any) -> nn.Module:
    """A segmentation model by name with ``num_classes`` outputs.

    pretrained: "none"; "imagenet" (backbone weights); "coco" (torchvision's COCO-with-VOC-labels weights,
    the last layer replaced for num_classes); or a path to a state_dict / cocoseg checkpoint (a checkpoint's
    model kwargs are used unless given). Missing weights raise PretrainedWeightsUnavailable, never hang.
    """
    spec = model_spec(name)
    if num_classes < 1:
        raise OptionsError(f"number of classes must be >= 1, got {num_classes}")
    pretrained = str(pretrained)
    state: dict[str, Any] | None = None
    weights_path: Path | None = None
    if pretrained not in ("none", "imagenet", "coco"):
        weights_path = Path(pretrained)
        state, ckpt_kwargs = _state_dict_of(_read_weights(weights_path), weights_path, name)
        if ckpt_kwargs and not kwargs:
            kwargs = {k: v for k, v in ckpt_kwargs.items() if k in model_kwargs_schema(name)}
    kw = _check_kwargs(name, dict(kwargs))
    if pretrained in ("imagenet", "coco") and pretrained not in spec.weights:
        raise OptionsError(f"{name} has no {pretrained} weights; use pretrained='none' or a weights file")
    model: nn.Module = builder_of(spec)(spec, num_classes, "none" if weights_path else pretrained, kw)
    model.model_name = name  # type: ignore[assignment]  # torch types Module attributes as Tensor | Module
    model.model_kwargs = kw  # type: ignore[assignment]  # the same; these two are plain Python values
    if state is not None and weights_path is not None:
        _load_matching(model, state, weights_path)
    return model
