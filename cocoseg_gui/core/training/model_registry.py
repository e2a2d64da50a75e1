"""The models' registry: one ``ModelSpec`` per model cocoseg builds (ADR 0033), importable without torch.

The CLI's ``--model`` choices, the Train form's model list and options hint, ``build_model`` (training,
checkpoint loading, prediction, ONNX export), the pretrained weights files and the proposal sources
all read it, so a new model is its builder plus one entry of ``MODELS``. Builders are named
"module:function" and imported only when a model is built (they import torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cocoseg_gui.core.errors import OptionsError


class ModelKind(str, Enum):
    """What a model is for. SEMANTIC: per-pixel class logits, trained by ``cocoseg train``. (A promptable
    model such as SAM, used by a click tool rather than trained, would be another kind: not in the train
    choices, built by its own builder.)"""

    SEMANTIC = "semantic"


@dataclass(frozen=True)
class ModelOption:
    """One keyword argument of a model's builder: the Train form's and ``--model-kwargs``' key=value."""

    name: str
    type: str  # "int" or "bool"
    default: int | bool
    help: str
    min: int = 0
    max: int = 0

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "default": self.default, "help": self.help}
        if self.type == "int":
            out |= {"min": self.min, "max": self.max}
        return out


@dataclass(frozen=True, eq=False)
class ModelSpec:
    name: str  # the id in configs, checkpoints and the CLI
    title: str  # what the Train form shows next to the name
    builder: str  # "module:function" (spec, num_classes, pretrained, kwargs) -> torch.nn.Module
    kind: ModelKind = ModelKind.SEMANTIC
    options: tuple[ModelOption, ...] = ()
    # the published weights it can start from: "coco" / "imagenet" -> the weights file's name
    # (core.training.pretrained.WEIGHTS); none for a model trained from scratch only
    weights: dict[str, str] = field(default_factory=dict)
    proposal_rank: int | None = None  # its COCO weights propose in the editor, in this order (fastest first)
    uses_torchvision: bool = True  # building it imports torchvision (the GUI preloads it)

    def option(self, name: str) -> ModelOption | None:
        return next((o for o in self.options if o.name == name), None)


_MODELS = "cocoseg_gui.core.training.models"
_AUX = (ModelOption("aux_loss", "bool", False, "auxiliary head (training returns out and aux)"),)

MODELS: tuple[ModelSpec, ...] = (  # the CLI's and the Train form's order
    ModelSpec(
        "unet",
        "U-Net (small, from scratch)",
        f"{_MODELS}:build_unet",
        options=(
            ModelOption("width", "int", 32, "channels at full resolution", 4, 128),
            ModelOption("depth", "int", 4, "number of down-samplings", 1, 6),
        ),
        uses_torchvision=False,
    ),
    ModelSpec(
        "deeplabv3_resnet50",
        "DeepLabV3, ResNet-50 backbone",
        f"{_MODELS}:build_torchvision",
        options=_AUX,
        weights={"coco": "deeplabv3_resnet50", "imagenet": "resnet50"},
        proposal_rank=2,
    ),
    ModelSpec(
        "deeplabv3_mobilenet_v3_large",
        "DeepLabV3, MobileNetV3-Large backbone",
        f"{_MODELS}:build_torchvision",
        options=_AUX,
        weights={"coco": "deeplabv3_mobilenet_v3_large", "imagenet": "mobilenet_v3_large"},
        proposal_rank=1,
    ),
    ModelSpec(
        "lraspp_mobilenet_v3_large",
        "LR-ASPP, MobileNetV3-Large backbone (fastest)",
        f"{_MODELS}:build_torchvision",
        weights={"coco": "lraspp_mobilenet_v3_large", "imagenet": "mobilenet_v3_large"},
        proposal_rank=0,
    ),
    ModelSpec(
        "fcn_resnet50",
        "FCN, ResNet-50 backbone",
        f"{_MODELS}:build_torchvision",
        options=_AUX,
        weights={"coco": "fcn_resnet50", "imagenet": "resnet50"},
        proposal_rank=3,
    ),
)

_BY_NAME = {m.name: m for m in MODELS}
MODEL_NAMES: tuple[str, ...] = tuple(m.name for m in MODELS if m.kind is ModelKind.SEMANTIC)  # trainable
PROPOSAL_MODELS: tuple[str, ...] = tuple(
    m.name
    for m in sorted((m for m in MODELS if m.proposal_rank is not None), key=lambda m: m.proposal_rank or 0)
)


def model_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; OptionsError naming the choices when there is none."""
    spec = _BY_NAME.get(name)
    if spec is None:
        raise OptionsError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return spec


def uses_torchvision(name: str) -> bool:
    """Whether building ``name`` imports torchvision (an unknown name: assume it does)."""
    spec = _BY_NAME.get(name)
    return spec is None or spec.uses_torchvision


def options_hint() -> str:
    """ "unet: width, depth; deeplabv3_resnet50: aux_loss; ...": the model options each model takes."""
    return "; ".join(f"{m.name}: {', '.join(o.name for o in m.options)}" for m in MODELS if m.options)


def builder_of(spec: ModelSpec) -> Callable[..., Any]:
    module_name, _, attr = spec.builder.partition(":")
    return getattr(importlib.import_module(module_name), attr)
