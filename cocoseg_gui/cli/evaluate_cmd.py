"""`cocoseg evaluate`: a checkpoint's per-class IoU, mIoU and pixel accuracy on a mask dataset folder."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import non_negative_int, positive_int
from cocoseg_gui.cli.project_opts import (
    add_project_option,
    load_project,
    missing_default,
    project_checkpoint,
    require,
    warn,
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a checkpoint on a mask dataset folder",
        description="Predict every image of MASKS_DIR at the model's input size, resize the prediction "
        "back to the mask's full resolution, and print per-class IoU, mIoU, pixel accuracy and mean Dice.",
    )
    p.add_argument("--checkpoint", type=Path, metavar="CKPT", help="with --project: the project's checkpoint")
    p.add_argument(
        "--data", type=Path, metavar="MASKS_DIR", help="with --project: the first val dataset's masks"
    )
    add_project_option(p)
    p.add_argument("--json", action="store_true", help="print the full result as JSON (machine readable)")
    p.add_argument(
        "--worst", type=non_negative_int, default=5, metavar="N", help="list the N worst images (default 5)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument(
        "--follow-symlinks", action="store_true",
        help="read images and masks through symbolic links leading outside their folders",
    )  # fmt: skip
    p.set_defaults(func=run)


def _f(v: float | None) -> str:
    return "     -" if v is None or math.isnan(v) else f"{v:6.4f}"


def format_table(result: Any, worst: int = 5) -> str:
    """The human-readable report: one row per class present, then the totals and worst images."""
    width = max([len(n) for n in result.class_names] + [5])
    lines = [f"{'class':<{width}}  {'IoU':>6}  {'Dice':>6}"]
    for name in result.class_names:
        iou = result.per_class_iou.get(name)
        if iou is not None:
            lines.append(f"{name:<{width}}  {_f(iou)}  {_f(result.per_class_dice.get(name))}")
    absent = sum(v is None for v in result.per_class_iou.values())
    if absent:
        lines.append(f"({absent} classes in neither ground truth nor prediction are left out)")
    lines.append(
        f"mIoU {_f(result.miou)}  pixel accuracy {_f(result.pixel_acc)}  mean Dice {_f(result.mean_dice)}  "
        f"({result.num_images} images)"
    )
    if worst > 0 and result.per_image:
        lines.append(
            "worst images: " + ", ".join(f"{s.file} {_f(s.miou).strip()}" for s in result.per_image[:worst])
        )
    if result.skipped:
        lines.append(f"skipped {len(result.skipped)} unreadable images, e.g. {result.skipped[0][1]}")
    return "\n".join(lines)


def _fill_from_project(args: argparse.Namespace, project: Any) -> None:
    """--checkpoint and --data from the project where not given; role warnings before the work."""
    from cocoseg_gui.core.project.project import Role

    if args.checkpoint is None:
        args.checkpoint = project_checkpoint(project)
    if args.data is None:
        val = project.first(Role.VAL)
        if val is None or val.masks is None:
            what = "the project has no val dataset" if val is None else f"{val.label} has no masks yet"
            fix = "add one"
            if val is not None:
                fix = f"make them with `cocoseg masks --project {project.file} --dataset {val.name}`"
            raise missing_default(project, "--data", what, fix)
        args.data = val.masks
    warn("evaluate", project.evaluation_warnings(args.data))


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.training.evaluate import evaluate
    from cocoseg_gui.core.training.sharding import sharded_job

    project = load_project(args)
    if project is not None:
        _fill_from_project(args, project)
    require(args, "--checkpoint", "--data")
    with sharded_job() as shard:  # under torchrun: each process its share, the matrix summed exactly
        result = run_cancellable(
            "evaluate", evaluate, args.checkpoint, args.data, cancelled="nothing reported",
            device=args.device, batch_size=args.batch_size, follow_symlinks=args.follow_symlinks,
            quiet=not shard.is_main, shard=shard,
        )  # fmt: skip
    if result is None:
        return 130
    if not shard.is_main:
        return 0  # rank 0 prints the one report
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(format_table(result, args.worst))
    return 0
