"""ONNX export: the exported graph computes the same logits as the checkpoint's model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
from cocoseg_gui.core.training.export import export_onnx
from cocoseg_gui.core.training.models import build_model
from cocoseg_gui.core.training.predict import Predictor

CLASSES = [
    {"index": 0, "name": "background", "color": [0, 0, 0]},
    {"index": 1, "name": "cat", "color": [128, 0, 0]},
    {"index": 2, "name": "dog", "color": [0, 128, 0]},
]


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = build_model("unet", 3, width=4, depth=2)
    ckpt = build_checkpoint(
        model_name="unet", model_kwargs=model.model_kwargs, state_dict=model.state_dict(), classes=CLASSES,
        ignore_index=255, img_size=32, resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    save_checkpoint(tmp_path / "best.pt", ckpt)
    return tmp_path / "best.pt"


def test_export_matches_torch(tiny_checkpoint: Path, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    out = export_onnx(tiny_checkpoint, tmp_path / "model.onnx")
    model = onnx.load(str(out))
    meta = {p.key: p.value for p in model.metadata_props}
    assert [c["name"] for c in json.loads(meta["cocoseg.classes"])] == ["background", "cat", "dog"]
    assert json.loads(meta["cocoseg.input"])["img_size"] == 32
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)  # batch 2: dynamic axis
    (got,) = ReferenceEvaluator(model).run(None, {"image": x})
    with torch.no_grad():
        expected = Predictor.from_checkpoint(tiny_checkpoint, "cpu").model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_export_without_onnx_says_how_to_install(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(CocoSegError, match="pip install onnx"):
        export_onnx(tiny_checkpoint, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
