"""`cocoseg find-label-issues` and `cocoseg rank-uncertain`: rankings of images from a checkpoint's view.

find-label-issues ranks the images of a mask folder by how confidently the model disagrees with their
masks (likely label errors, with the regions); rank-uncertain ranks images by how unsure the model is
(the ones to label next). Both write a JSON file (docs/formats.md) and print the top of the ranking.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import non_negative_int, out_file, positive_int
from cocoseg_gui.cli.model_quality import checkpoint_score, warn_if_weak
from cocoseg_gui.cli.progress_bar import run_cancellable
from cocoseg_gui.core.quality.image_scores import DEFAULT_SCORE, SCORES


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, metavar="CKPT", help="a cocoseg checkpoint")
    p.add_argument("--out", type=out_file, required=True, metavar="FILE", help="the JSON file to write")
    p.add_argument(
        "--top", type=non_negative_int, default=10, metavar="N", help="print the first N images (default 10)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=positive_int, default=2)
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing FILE (never an input, an image, an annotations file or a mask folder's "
        "own files)",
    )  # fmt: skip


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "find-label-issues",
        help="rank a mask folder's images by likely label errors",
        description="Predict every image of MASKS_DIR and rank the images, most suspicious first, by how "
        "confidently the model disagrees with their masks (confident learning: per-class thresholds on "
        "p[given label]); flagged pixels are grouped into 8-connected regions with their bounding box.",
    )
    _common(p)
    p.add_argument("--data", type=Path, required=True, metavar="MASKS_DIR", help="a mask dataset folder")
    p.add_argument("--images", type=Path, metavar="DIR", help="the images (default: the folder's manifest)")
    p.add_argument(
        "--min-region-area", type=positive_int, default=16, metavar="PX",
        help="smallest region counted, in mask pixels (default 16)",
    )  # fmt: skip
    p.add_argument(
        "--score", choices=SCORES, default=DEFAULT_SCORE,
        help=f"what orders the images (default {DEFAULT_SCORE}; all are written): regions = share of the "
        "image the model confidently relabels; softmin = soft minimum of p[given label]; balanced = "
        "softmin per class compared with the same class in the other images (a model's usual misses "
        "do not dominate)",
    )  # fmt: skip
    p.add_argument(
        "--cross-fit", type=positive_int, default=0, metavar="K",
        help="score each image with a model trained without it: K folds, K models trained like "
        "CKPT's run (its options, not its weights) on the other folds; for a checkpoint trained on "
        "these masks (it memorises their errors). Takes K trainings",
    )  # fmt: skip
    p.add_argument(
        "--fold-epochs",
        type=positive_int,
        metavar="N",
        help="with --cross-fit: epochs of each fold's training (default: CKPT's run's)",
    )
    p.set_defaults(func=run_issues)
    p = subparsers.add_parser(
        "rank-uncertain",
        help="rank images by model uncertainty (label these next)",
        description="Predict images and rank them by the model's mean 1 - max softmax, most uncertain "
        "first: the images worth labelling next. Give a mask folder (--data: its images; "
        "--unlabelled-only keeps those without a mask) or an image folder (--images).",
    )
    _common(p)
    p.add_argument("--data", type=Path, metavar="MASKS_DIR", help="a mask dataset folder: rank its images")
    p.add_argument("--images", type=Path, metavar="DIR", help="an image folder (searched recursively)")
    p.add_argument("--unlabelled-only", action="store_true", help="with --data: only images without a mask")
    p.set_defaults(func=run_uncertain)


def run_issues(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.quality.job import find_label_issues
    from cocoseg_gui.core.training.sharding import sharded_job

    if args.fold_epochs is not None and not args.cross_fit:
        raise OptionsError("--fold-epochs needs --cross-fit K")
    folds = {"epochs": args.fold_epochs} if args.fold_epochs else None
    with sharded_job() as shard:  # under torchrun: each process predicts its share, rank 0 writes
        if shard.is_main:
            warn_if_weak("find-label-issues", checkpoint_score(args.checkpoint))
        result = run_cancellable(
            "find-label-issues", find_label_issues, args.checkpoint, args.data, args.images,
            cancelled=f"{args.out} not written", out=args.out, device=args.device, batch_size=args.batch_size,
            min_region_area=args.min_region_area, overwrite=args.overwrite, option="--out",
            score=args.score, cross_fit=args.cross_fit, fold_options=folds, quiet=not shard.is_main,
            shard=shard,
        )  # fmt: skip
    if result is None:
        return 130
    if not shard.is_main:
        return 0
    names = result.class_names
    how = f"cross-fitted ({result.cross_fit} folds)" if result.cross_fit else "by the checkpoint itself"
    print(
        f"{len(result.images)} images ranked in {result.seconds:.1f} s, most suspicious first "
        f"({result.score} score, {how}) -> {args.out}"
    )
    for im in result.images[: args.top]:
        top = im.regions[0] if im.regions else None
        where = (
            f"  largest region {top.bbox} {top.area} px: {names[top.given]} -> {names[top.predicted]}"
            if top
            else ""
        )
        print(f"{im.score:8.4f}  {im.file}{where}")
    if result.skipped:
        print(f"skipped {len(result.skipped)} images, e.g. {result.skipped[0][1]}", file=sys.stderr)
    return 0


def run_uncertain(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
    from cocoseg_gui.core.masks.new_dataset import list_images
    from cocoseg_gui.core.quality.job import rank_uncertain
    from cocoseg_gui.core.training.sharding import sharded_job

    if (args.data is None) == (args.images is None):
        raise OptionsError("give either --data MASKS_DIR or --images DIR")
    if args.unlabelled_only and args.data is None:
        raise OptionsError("--unlabelled-only needs --data MASKS_DIR (the masks say what is labelled)")
    labelled: frozenset[str] = frozenset()
    if args.data is not None:
        folder = MaskDatasetFolder(args.data)
        images_dir = folder.images_dir
        if images_dir is None:
            raise OptionsError(f"{args.data}: its manifest names no image folder; use --images DIR")
        labelled = frozenset(s.file_name for s in folder.samples())
    else:
        images_dir = args.images
    names = list_images(images_dir)
    if args.unlabelled_only:
        names = [n for n in names if n not in labelled]
    with sharded_job() as shard:  # under torchrun: each process predicts its share, rank 0 writes
        if shard.is_main:
            warn_if_weak("rank-uncertain", checkpoint_score(args.checkpoint))
        result = run_cancellable(
            "rank-uncertain", rank_uncertain, args.checkpoint, images_dir,
            cancelled=f"{args.out} not written", names=names, labelled=labelled, out=args.out,
            device=args.device, batch_size=args.batch_size, overwrite=args.overwrite, option="--out",
            quiet=not shard.is_main, shard=shard,
        )  # fmt: skip
    if result is None:
        return 130
    if not shard.is_main:
        return 0
    print(f"{len(result.images)} images ranked in {result.seconds:.1f} s, most uncertain first: {args.out}")
    for im in result.images[: args.top]:
        print(f"{im.uncertainty:8.4f}  {im.file}{'' if not im.labelled else '  (labelled)'}")
    if result.skipped:
        print(f"skipped {len(result.skipped)} images, e.g. {result.skipped[0][1]}", file=sys.stderr)
    return 0
