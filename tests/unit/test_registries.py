"""The editing tools' and the models' registries (ADR 0033): every entry resolves, the derived lists
match what the app had, and a model added as one entry is built, checkpointed and loaded like the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cocoseg_gui.core.editing import tools
from cocoseg_gui.core.editing.tools import (
    ASSIST_TOOLS,
    BRUSH_TOOLS,
    STEP_NAMES,
    TOOLS,
    Tool,
    tool_spec,
)
from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.proposals.source import TORCHVISION_MODELS
from cocoseg_gui.core.training import model_registry
from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
from cocoseg_gui.core.training.model_registry import (
    MODEL_NAMES,
    MODELS,
    ModelOption,
    ModelSpec,
    builder_of,
    model_spec,
    options_hint,
)
from cocoseg_gui.core.training.models import build_model, model_kwargs_schema
from cocoseg_gui.core.training.pretrained import WEIGHTS, weights_for


def kept(derived: tuple, before: tuple) -> bool:  # type: ignore[type-arg]
    """``derived`` holds every entry of ``before`` in its order (entries added later may sit between)."""
    return tuple(x for x in derived if x in before) == before


def test_every_tool_has_one_entry_and_its_core_functions_resolve() -> None:
    assert [s.tool for s in TOOLS] == list(Tool)  # one entry per tool, in the toolbar's order
    assert len({s.key for s in TOOLS}) == len(TOOLS)
    for spec in TOOLS:
        for ref in (spec.operation, spec.image_job, spec.click_job):
            if ref is not None:
                assert callable(tools.resolve(ref)), ref
        assert f"({spec.key})" in spec.tooltip  # a hand-written tip names the key the table binds
    # the lists the app had by hand (a later tool joins them: only their order is held)
    assert kept(BRUSH_TOOLS, (Tool.BRUSH, Tool.ERASER, Tool.IGNORE))
    assert kept(ASSIST_TOOLS, (Tool.WAND, Tool.SUPERPIXEL, Tool.GRABCUT))
    assert not set(BRUSH_TOOLS) & set(ASSIST_TOOLS)
    assert Tool.PICKER not in STEP_NAMES and STEP_NAMES[Tool.GRABCUT] == "GrabCut"
    assert tool_spec("superpixel").image_job and tool_spec(Tool.GRABCUT).click_job
    assert kept(tuple(s.tool for s in TOOLS if s.cursor), (*BRUSH_TOOLS, Tool.SUPERPIXEL))
    assert kept(tuple(s.tool for s in TOOLS if s.sized), (*BRUSH_TOOLS, Tool.SUPERPIXEL, Tool.GRABCUT))
    with pytest.raises(AttributeError):
        tools.resolve("cocoseg_gui.core.assists.wand:no_such_function")


def test_the_model_registry_gives_the_lists_the_app_had() -> None:
    assert kept(
        MODEL_NAMES,
        (
            "unet",
            "deeplabv3_resnet50",
            "deeplabv3_mobilenet_v3_large",
            "lraspp_mobilenet_v3_large",
            "fcn_resnet50",
        ),
    )
    assert kept(
        TORCHVISION_MODELS,
        ("lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50", "fcn_resnet50"),
    )
    assert "unet" not in TORCHVISION_MODELS
    for spec in MODELS:
        assert callable(builder_of(spec))
        for kind, name in spec.weights.items():
            assert WEIGHTS[name].kind == kind and weights_for(spec.name, kind) is WEIGHTS[name]
    assert model_kwargs_schema("unet")["width"] == {
        "type": "int",
        "default": 32,
        "min": 4,
        "max": 128,
        "help": "channels at full resolution",
    }
    assert model_kwargs_schema("lraspp_mobilenet_v3_large") == {}
    assert "unet: width, depth" in options_hint()
    with pytest.raises(OptionsError, match="unet has no coco weights"):
        build_model("unet", 3, pretrained="coco")
    with pytest.raises(OptionsError, match="unknown model 'nope'; choose from unet, "):
        model_spec("nope")


class TinyNet(nn.Module):
    def __init__(self, num_classes: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, num_classes, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def build_tiny(spec: ModelSpec, num_classes: int, pretrained: str, kwargs: dict) -> nn.Module:  # type: ignore[type-arg]
    return TinyNet(num_classes, kwargs["width"])


def test_a_model_added_as_one_entry_builds_checkpoints_and_predicts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a new model needs: its builder and its entry; build_model, the checkpoint and the Predictor
    (prediction, evaluation, ONNX export) take it from there."""
    from cocoseg_gui.core.training.predict import Predictor

    spec = ModelSpec(
        "tiny",
        "Tiny test net",
        f"{__name__}:build_tiny",
        options=(ModelOption("width", "int", 4, "channels", 1, 16),),
        uses_torchvision=False,
    )
    monkeypatch.setitem(model_registry._BY_NAME, "tiny", spec)
    with pytest.raises(OptionsError, match="width must be an integer in"):
        build_model("tiny", 2, width=99)
    model = build_model("tiny", 2, width=6)
    assert isinstance(model, TinyNet) and model.model_kwargs == {"width": 6}
    with pytest.raises(OptionsError, match="tiny has no imagenet weights"):
        build_model("tiny", 2, pretrained="imagenet")
    classes = [
        {"index": 0, "name": "background", "color": [0, 0, 0]},
        {"index": 1, "name": "a", "color": [9, 9, 9]},
    ]
    ckpt = build_checkpoint(
        model_name="tiny",
        model_kwargs=model.model_kwargs,
        state_dict=model.state_dict(),
        classes=classes,
        ignore_index=255,
        img_size=32,
        resize="letterbox",
        metrics={},
        config={},
    )
    save_checkpoint(tmp_path / "tiny.pt", ckpt)
    predictor = Predictor.from_checkpoint(tmp_path / "tiny.pt", device="cpu")
    out = predictor.predict(np.zeros((20, 30, 3), np.uint8))
    assert predictor.model_name == "tiny" and out.shape == (20, 30) and set(np.unique(out)) <= {0, 1}


# -- the CLI's per-model flags come from the registry's options -------------------------------------


def _train_args(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    """Parse ``cocoseg train ARGV`` with a parser built now (from the registry as it is now): (exit code,
    the parsed arguments, what argparse printed when it exited)."""
    from cocoseg_gui.cli import build_parser

    try:
        args = build_parser().parse_args(["train", *argv])
    except SystemExit as exc:
        out = capsys.readouterr()
        return int(exc.code or 0), None, out.out + out.err
    return 0, args, ""


def test_the_train_flags_are_the_registrys_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A model's option is a flag without CLI code: a spec added to MODELS brings --<model>-<option>, and
    joins a shared flag (--aux-loss) by declaring the same option."""
    from cocoseg_gui.cli.train_cmd import build_config

    aux = model_spec("fcn_resnet50").option("aux_loss")
    spec = ModelSpec(
        "tiny_net",
        "Tiny test net",
        f"{__name__}:build_tiny",
        options=(ModelOption("levels", "int", 3, "pyramid levels", 1, 5), *([aux] if aux else [])),
        uses_torchvision=False,
    )
    monkeypatch.setattr(model_registry, "MODELS", (*MODELS, spec))
    flags = {f.flag: f for f in model_registry.option_flags()}
    assert list(flags)[:2] == ["--unet-width", "--unet-depth"] and "--tiny-net-levels" in flags
    assert flags["--aux-loss"].models[-1] == "tiny_net"
    code, _, help_text = _train_args(capsys, "--help")
    assert (
        code == 0 and "--tiny-net-levels" in help_text and "tiny_net pyramid levels (default 3)" in help_text
    )
    base = ["--data", str(tmp_path / "m"), "--out", str(tmp_path / "r"), "--model", "unet"]
    code, args, _ = _train_args(capsys, *base, "--tiny-net-levels", "2", "--aux-loss", "--unet-width", "8")
    assert code == 0 and build_config(args).model_kwargs == {"width": 8, "levels": 2, "aux_loss": True}
    code, args, _ = _train_args(capsys, *base)
    assert build_config(args).model_kwargs == {}  # flags not given: the model's defaults


def test_unet_width_keeps_its_flag_and_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    from cocoseg_gui.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", "m", "--out", "r", "--model", "unet", "--unet-width", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "cocoseg train: error: argument --unet-width: must be an integer at least 1, got '0'" in err


def test_two_options_making_one_flag_are_a_registry_error(monkeypatch: pytest.MonkeyPatch) -> None:
    clash = ModelSpec(
        "unet", "another unet", f"{__name__}:build_tiny", options=(ModelOption("width", "int", 1, "w"),)
    )
    monkeypatch.setattr(model_registry, "MODELS", (*MODELS, clash))
    with pytest.raises(ValueError, match="unet's option 'width' gives the flag --unet-width, which unet's"):
        model_registry.option_flags()
