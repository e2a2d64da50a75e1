"""`cocoseg export-onnx`: a checkpoint's model as ONNX (needs `pip install onnx`; was `cocoseg export`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import number, out_file


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export-onnx",
        help="export a checkpoint to ONNX",
        description="Write an ONNX model: input 'image' [N,3,S,S] (letterboxed to the checkpoint's input "
        "size S, ImageNet-normalised), output 'logits' [N,C,S,S]; class names and colours in its metadata. "
        "Needs the onnx package (pip install onnx).",
    )
    p.add_argument("--checkpoint", required=True, type=Path, metavar="CKPT")
    p.add_argument("--onnx", required=True, type=out_file, metavar="OUT.onnx")
    p.add_argument("--opset", type=number(integer=True), default=17)
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT.onnx")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.training.export import export_onnx

    out = export_onnx(args.checkpoint, args.onnx, opset=args.opset, overwrite=args.overwrite, option="--onnx")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
