"""`cocoseg propose`: model proposals for every unlabelled image of a mask folder, to review in the GUI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cocoseg_gui.core.proposals.source import TORCHVISION_MODELS


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "propose",
        help="propose masks for the unlabelled images of a mask folder (reviewed in the editor)",
        description="Runs a model on every image of the mask folder's image folder that has no saved mask "
        "and writes a proposals folder: a palette PNG and a confidence PNG per image and proposals.json. "
        "Rerunning continues where a cancelled run stopped. Torchvision weights are never downloaded: "
        "they come from torch's cache or --weights. Their VOC classes are matched to the folder's by name. "
        "With --sam-weights W --from-boxes, SAM or MobileSAM turns the boxes of a COCO file (--annotations, "
        "default the mask folder's) into masks of the boxes' classes: annotations without a segmentation, "
        "or every box with --all-boxes.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, metavar="C", help="a cocoseg checkpoint (.pt)")
    source.add_argument(
        "--torchvision", choices=TORCHVISION_MODELS, metavar="NAME",
        help=f"torchvision COCO_WITH_VOC_LABELS weights: {', '.join(TORCHVISION_MODELS)}",
    )  # fmt: skip
    source.add_argument("--sam-weights", metavar="W", help="SAM / MobileSAM weights (with --from-boxes)")
    p.add_argument("--weights", type=Path, metavar="FILE", help="with --torchvision: the weights file")
    p.add_argument("--from-boxes", action="store_true", help="with --sam-weights: prompt with the COCO boxes")
    p.add_argument(
        "--annotations", type=Path, metavar="A", help="with --from-boxes: the COCO file of the boxes"
    )
    p.add_argument("--all-boxes", action="store_true", help="with --from-boxes: boxes of annotations with a "
                   "segmentation too (default: only those without)")  # fmt: skip
    p.add_argument("--masks", type=Path, required=True, metavar="DIR", help="the mask folder")
    p.add_argument("--images", type=Path, metavar="DIR", help="the image folder (default: the manifest's)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="the proposals folder")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.model_quality import checkpoint_score, warn_if_weak
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.proposals.batch import propose_folder
    from cocoseg_gui.core.proposals.source import SourceSpec, source_score

    if args.weights is not None and args.torchvision is None:
        raise OptionsError("--weights goes with --torchvision")
    if (args.sam_weights is not None) != args.from_boxes:
        raise OptionsError("--sam-weights and --from-boxes go together (SAM needs the boxes as prompts)")
    if (args.annotations is not None or args.all_boxes) and not args.from_boxes:
        raise OptionsError("--annotations and --all-boxes go with --from-boxes")
    if args.from_boxes:
        return _from_boxes(args)
    spec = SourceSpec(checkpoint=args.checkpoint, torchvision=args.torchvision, weights=args.weights)
    warn_if_weak("propose", checkpoint_score(spec.checkpoint) if spec.checkpoint else source_score(spec))
    result = run_cancellable(
        "propose", propose_folder, spec, args.masks, args.out, args.images,
        cancelled=f"rerun to continue ({args.out} keeps what was written)", device=args.device,
    )  # fmt: skip
    if result is None:
        return 130
    for name, problem in result.failed:
        print(f"cocoseg propose: warning: skipped {name}: {problem}", file=sys.stderr)
    resumed = f" ({result.resumed} already there)" if result.resumed else ""
    print(f"{len(result.written)} proposals written to {args.out}{resumed}; {result.total} unlabelled images")
    return 0


def _from_boxes(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
    from cocoseg_gui.core.segment.from_boxes import BoxPrompts, propose_from_boxes

    annotations = args.annotations or MaskDatasetFolder(args.masks, browse=True).annotations
    if annotations is None:
        raise OptionsError(
            f"{args.masks}: its manifest names no COCO file; give the boxes' file with --annotations"
        )
    from cocoseg_gui.core.segment.downloads import resolve_sam_weights

    prompts = BoxPrompts(resolve_sam_weights(args.sam_weights), Path(annotations), args.all_boxes)
    result = run_cancellable(
        "propose", propose_from_boxes, prompts, args.masks, args.out, args.images,
        cancelled=f"rerun to continue ({args.out} keeps what was written)",
    )  # fmt: skip
    if result is None:
        return 130
    for name, problem in result.failed:
        print(f"cocoseg propose: warning: skipped {name}: {problem}", file=sys.stderr)
    resumed = f" ({result.resumed} already there)" if result.resumed else ""
    print(
        f"{len(result.written)} proposals from boxes written to {args.out}{resumed}; "
        f"{result.total} unlabelled images"
    )
    return 0
