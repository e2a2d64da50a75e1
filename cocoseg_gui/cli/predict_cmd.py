"""`cocoseg predict`: palette PNG masks (and overlays) for images, at their original size."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import number, out_dir, positive_int
from cocoseg_gui.cli.project_opts import add_project_option, load_project, project_checkpoint, require


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict masks for images with a checkpoint",
        description="Write OUT/<image stem>.png (palette PNG, pixel = class index) for every INPUT image "
        "(folders are searched recursively), at the image's original size; --overlay also writes "
        "OUT/overlays/<stem>.jpg, the image blended with the class colours. Under torchrun each process "
        "predicts its share of the images (the same files as one process; OUT on a file system all see).",
    )
    p.add_argument("--checkpoint", type=Path, metavar="CKPT", help="with --project: the project's checkpoint")
    add_project_option(p)
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders")
    p.add_argument("--out", required=True, type=out_dir, metavar="DIR")
    p.add_argument("--overlay", action="store_true", help="also write overlay pictures")
    p.add_argument("--overlay-format", choices=("jpg", "png"), default="jpg")
    p.add_argument("--alpha", type=number(0, 1), default=0.5, help="overlay opacity of the class colours")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace files in DIR at the output names that predict did not write (its own are replaced "
        "anyway); DIR may still not be an input folder or inside a mask dataset folder",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.training.predict import predict_files
    from cocoseg_gui.core.training.sharding import sharded_job

    project = load_project(args)
    if project is not None and args.checkpoint is None:
        args.checkpoint = project_checkpoint(project)
    require(args, "--checkpoint")
    with sharded_job() as shard:  # under torchrun: each process predicts its share of the images
        result = run_cancellable(
            "predict", predict_files, args.checkpoint, args.inputs, args.out,
            cancelled=f"{args.out} holds the masks written so far", quiet=not shard.is_main,
            overlay=args.overlay, device=args.device, batch_size=args.batch_size, alpha=args.alpha,
            overwrite=args.overwrite, overlay_format=args.overlay_format, shard=shard,
        )  # fmt: skip
    if result is None:
        return 130
    if not shard.is_main:
        return 0 if result.masks else 2
    for path, problem in result.failed:
        print(f"cocoseg predict: warning: skipped {path}: {problem}", file=sys.stderr)
    extra = f" and {len(result.overlays)} overlays" if args.overlay else ""
    print(f"{len(result.masks)} masks{extra} written to {args.out}")
    return 0 if result.masks else 2
