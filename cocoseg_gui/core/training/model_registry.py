"""The models' registry: one ``ModelSpec`` per model cocoseg builds (ADR 0033), importable without torch.

The CLI's ``--model`` choices and per-model flags (``--unet-width``: ``option_flags``), the Train form's
model list and options hint, ``build_model`` (training, checkpoint loading, prediction, ONNX export), the
pretrained weights files and the proposal sources all read it, so a new model, options included, is its
builder plus one entry of ``MODELS``. Builders are named "module:function" and imported only when a model
is built (they import torch).
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
    """One keyword argument of a model's builder: a key=value of the Train form's Model options and a
    ``cocoseg train`` flag (``option_flags``)."""

    name: str
    type: str  # "int" or "bool"
    default: int | bool
    help: str
    min: int = 0
    max: int = 0
    # the CLI flag: False: --<model>-<name> (--unet-width); True: one --<name> for every model declaring it
    # (--aux-loss), so the same option of several models is one flag
    shared: bool = False

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
_AUX = (ModelOption("aux_loss", "bool", False, "train the auxiliary head", shared=True),)

MODELS: tuple[ModelSpec, ...] = (  # the CLI's and the Train form's order
    ModelSpec(
        "unet",
        "U-Net (small, from scratch)",
        f"{_MODELS}:build_unet",
        options=(
            ModelOption("width", "int", 32, "channels at full resolution", 4, 128),
            ModelOption("depth", "int", 4, "down-samplings", 1, 6),
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


@dataclass(frozen=True)
class OptionFlag:
    """One ``cocoseg train`` flag made from the registry's options: ``--unet-width`` sets unet's width."""

    flag: str  # "--unet-width"
    option: ModelOption
    models: tuple[str, ...]  # the models that take it (one, unless the option is shared)

    @property
    def dest(self) -> str:
        """The argparse attribute of the flag ("unet_width")."""
        return self.flag[2:].replace("-", "_")

    def help(self) -> str:
        if self.option.shared:
            return f"{self.option.help} ({', '.join(self.models)})"
        return f"{self.models[0]} {self.option.help} (default {self.option.default})"


def _dashed(name: str) -> str:
    return name.replace("_", "-")


def option_flags() -> tuple[OptionFlag, ...]:
    """The flags of every model's options, in the registry's order (read when the parser is built, so a
    spec added to ``MODELS`` gets its flags). ValueError when two options would make one flag, or one
    shared option is declared differently by two models: a mistake in the registry, not the user's."""
    flags: dict[str, OptionFlag] = {}
    for spec in MODELS:
        for option in spec.options:
            name = (
                f"--{_dashed(option.name)}"
                if option.shared
                else f"--{_dashed(spec.name)}-{_dashed(option.name)}"
            )
            seen = flags.get(name)
            if seen is None:
                flags[name] = OptionFlag(name, option, (spec.name,))
            elif option.shared and seen.option == option:
                flags[name] = OptionFlag(name, option, (*seen.models, spec.name))
            else:
                raise ValueError(
                    f"model registry: {spec.name}'s option {option.name!r} gives the flag {name}, which "
                    f"{', '.join(seen.models)}'s option {seen.option.name!r} already has"
                )
    return tuple(flags.values())


def option_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """The builder kwargs of parsed flags (``{"unet_width": 8, "aux_loss": None}`` -> ``{"width": 8}``):
    the flags given; a model's own defaults fill the rest when it is built."""
    return {f.option.name: values[f.dest] for f in option_flags() if values.get(f.dest) is not None}
