"""Export a checkpoint's model to ONNX (optional: needs the ``onnx`` package, ``pip install onnx``)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from cocoseg_gui.core.errors import CocoSegError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.files.output_guard import check_output_file

DEFAULT_OPSET = 17
# The oldest opset every cocoseg model exports to: torch's exporter starts at 7, but before 10 ONNX
# has no Slice with dynamic bounds (unet) and torchvision's heads fail below 9 (torch prints the
# whole graph to stderr from C++ before raising, so such opsets are refused up front).
MIN_OPSET = 10


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def opset_range() -> tuple[int, int]:
    """Opsets accepted: MIN_OPSET up to the newest that torch's TorchScript exporter writes (20 in 2.x)."""
    from torch.onnx import _constants

    high = getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", _constants.ONNX_MAX_OPSET)
    return max(MIN_OPSET, int(_constants.ONNX_MIN_OPSET)), int(high)


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
    option: str | None = None,
) -> Path:
    """Write ``out``: input ``image`` [N,3,S,S] (letterboxed, normalised), output ``logits`` [N,C,S,S].

    The batch size is dynamic; S is the checkpoint's input size. Class names, colours, input size
    and normalisation are stored in the model's metadata (``cocoseg.*`` keys). An opset outside
    torch's range, or one too old for the model's operators, raises OptionsError. ``out`` passes the
    output guard first (an existing file is replaced only with ``overwrite``).
    """
    check_output_file(out, reads={"the checkpoint": checkpoint}, overwrite=overwrite, option=option)
    low, high = opset_range()
    if not low <= opset <= high:
        raise OptionsError(f"--opset must be between {low} and {high} (default {DEFAULT_OPSET}), got {opset}")
    if not onnx_available():
        raise CocoSegError(
            "ONNX export needs the onnx package: pip install onnx (or pip install 'cocoseg-gui[onnx]')"
        )
    import onnx
    import torch

    from cocoseg_gui.core.training.predict import Predictor

    pred = Predictor.from_checkpoint(checkpoint, device="cpu")
    dummy = torch.zeros(1, 3, pred.img_size, pred.img_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy exporter deprecation, tracer notes on static shapes
        try:
            torch.onnx.export(
                pred.model, (dummy,),
                buf,  # type: ignore[arg-type]  # torch's stub lists paths only; this exporter takes a file too
                dynamo=False, opset_version=opset, input_names=["image"],
                output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            )  # fmt: skip
        except torch.onnx.OnnxExporterError as exc:  # an operator the opset lacks (a future model)
            first = (str(exc).splitlines() or [type(exc).__name__])[0].split("  [Caused by")[0]
            raise OptionsError(
                f"opset {opset} cannot express model {pred.model_name!r} ({first}); "
                f"use a newer opset, e.g. the default {DEFAULT_OPSET}"
            ) from None
    model = onnx.load_from_string(buf.getvalue())
    ckpt_input = {"img_size": pred.img_size, "resize": pred.resize, "mean": pred.transform.mean,
                  "std": pred.transform.std}  # fmt: skip
    meta = {
        "cocoseg.model": pred.model_name,
        "cocoseg.classes": json.dumps(
            [{"index": c["index"], "name": c["name"], "color": c["color"]} for c in pred.classes]
        ),
        "cocoseg.input": json.dumps(ckpt_input),
    }
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(model)
    out = Path(out)
    atomic_write_bytes(out, model.SerializeToString())
    return out
