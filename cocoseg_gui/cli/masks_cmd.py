"""`cocoseg masks`: a COCO instances file -> palette PNG class masks + mapping, manifest and report."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import number, out_dir, positive_int
from cocoseg_gui.cli.project_opts import (
    add_project_option,
    load_project,
    missing_default,
    named_dataset,
    require,
)
from cocoseg_gui.core.coco.image_entry import DEFAULT_MAX_IMAGE_PIXELS
from cocoseg_gui.core.masks.options import CROWD_POLICIES, OVERLAP_POLICIES, default_workers


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "masks",
        help="generate semantic segmentation masks from COCO annotations",
        description="Write OUT/masks/<image stem>.png (palette PNG: 0 background, 1..K classes in "
        "category-id order, 255 ignore) plus category_mapping.json, image_mask_map.json, manifest.json "
        "and report.json. A rerun with the same options resumes.",
    )
    p.add_argument("--annotations", type=Path, help="COCO instances JSON (required without --project)")
    p.add_argument("--images", type=Path, help="the image folder (required without --project)")
    p.add_argument("--out", type=out_dir, help="output folder (with --project: masks/<dataset> in it)")
    add_project_option(p)
    p.add_argument(
        "--dataset", metavar="NAME",
        help="with --project: the dataset to make masks for (needed when several have annotations)",
    )  # fmt: skip
    p.add_argument("--classes", help="comma list of category names or ids to keep (default: all)")
    p.add_argument(
        "--overlap", choices=OVERLAP_POLICIES, default="smaller-on-top",
        help="who wins where objects overlap (default: smaller-on-top; later = later annotation in the file)",
    )  # fmt: skip
    p.add_argument("--priority", help="class order for --overlap priority, first listed on top")
    p.add_argument(
        "--crowd", choices=CROWD_POLICIES, default="ignore",
        help="crowd regions: ignore (255 where no object covers them; default), class, or skip",
    )  # fmt: skip
    p.add_argument(
        "--min-area", type=number(0), default=0, help="skip annotations with fewer pixels than this"
    )
    p.add_argument("--max-images", type=positive_int, help="only the first N images of the file")
    p.add_argument(
        "--workers", type=positive_int, default=default_workers(),
        help="worker processes (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--max-image-pixels", type=number(1, integer=True), default=DEFAULT_MAX_IMAGE_PIXELS, metavar="N",
        help="refuse (report, no mask) image entries whose width x height in the JSON is above N "
        "(default: %(default)s, Pillow's decompression-bomb limit)",
    )  # fmt: skip
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace masks made in OUT with other options (only the masks cocoseg made are deleted)",
    )  # fmt: skip
    p.add_argument(
        "--follow-symlinks", action="store_true",
        help="read images through symbolic links that lead outside --images (refused by default)",
    )  # fmt: skip
    p.set_defaults(func=run)


def _split(text: str | None) -> list[str] | None:
    from cocoseg_gui.core.masks.class_map import parse_class_list

    return parse_class_list(text)


def _project_dataset(args: argparse.Namespace) -> tuple[Any, Any]:
    """Fill --annotations/--images/--out from the project's dataset; (project, entry) or (None, None)."""
    from cocoseg_gui.core.errors import OptionsError

    project = load_project(args)
    if project is None:
        if args.dataset is not None:
            raise OptionsError("--dataset needs --project")
        return None, None
    if args.dataset is None and None not in (args.annotations, args.images, args.out):
        return project, None  # nothing to fill, nothing to record
    if args.dataset is not None:
        entry = named_dataset(project, args.dataset)
    else:
        labelled = [d for d in project.datasets if d.annotations is not None]
        if len(labelled) != 1:
            names = ", ".join(d.name for d in labelled)
            raise missing_default(
                project, "--annotations",
                f"the project has {len(labelled)} datasets with annotations ({names or 'none'})",
                "choose one with --dataset NAME" if labelled else "add a dataset with annotations",
            )  # fmt: skip
        entry = labelled[0]
    if args.annotations is None:
        if entry.annotations is None:
            raise missing_default(
                project, "--annotations", f"dataset {entry.name!r} has no annotations", "add them to it"
            )
        args.annotations = entry.annotations
    if args.images is None:
        if entry.images is None:
            raise missing_default(
                project, "--images", f"dataset {entry.name!r} has no image folder", "add one to it"
            )
        args.images = entry.images
    if args.out is None:
        args.out = project.masks_dir(entry)
    return project, entry


def run(args: argparse.Namespace) -> int:
    project, entry = _project_dataset(args)
    require(args, "--annotations", "--images", "--out")
    code = _run(args)
    if code == 0 and entry is not None:
        project.update_dataset(entry.name, masks=args.out)
        project.save()
        print(f"recorded {args.out} as the masks of {entry.label} in {project.file}")
    return code


def _run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import ProgressBar
    from cocoseg_gui.core.jobs import Cancelled, CancelToken
    from cocoseg_gui.core.masks.job import generate_masks
    from cocoseg_gui.core.masks.options import MaskOptions
    from cocoseg_gui.core.masks.report import classes_with_pixels

    classes = _split(args.classes)
    options = MaskOptions(
        classes=tuple(classes) if classes else None,
        overlap=args.overlap,
        priority=tuple(_split(args.priority) or ()),
        crowd=args.crowd,
        min_area=args.min_area,
        max_images=args.max_images,
        workers=args.workers,
        follow_symlinks=args.follow_symlinks,
        max_image_pixels=args.max_image_pixels,
    )
    cancel = CancelToken()

    def on_sigint(signum: int, frame: Any) -> None:
        if cancel.cancelled:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        cancel.cancel()
        print(
            "\ncocoseg masks: stopping after the images in progress (Ctrl-C again to abort)", file=sys.stderr
        )

    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = ProgressBar("masks")
    try:
        result = generate_masks(
            args.annotations,
            args.images,
            args.out,
            options,
            progress=bar,
            cancel=cancel,
            overwrite=args.overwrite,
        )
    except Cancelled:
        bar.close()
        print(f"cocoseg masks: cancelled; {args.out} holds the masks written so far. "
              "Run the same command again to resume.", file=sys.stderr)  # fmt: skip
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    bar.close()
    rep = result.report
    skipped = {k: v for k, v in rep["skipped"].items() if v}
    print(
        f"{result.written + result.reused} masks in {result.out / 'masks'} "
        f"({result.written} written, {result.reused} kept) in {result.elapsed_s:.1f}s; "
        f"{rep['annotations_drawn']} annotations drawn"
    )
    if skipped:
        print("skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    for key in ("size_mismatches", "unreadable_images", "images_without_annotations"):
        if rep[key]:
            print(f"{key.replace('_', ' ')}: {len(rep[key])} (see report.json)")
    refused = rep["refused_images"]
    for item in refused[:3]:
        print(
            f"cocoseg masks: warning: no mask for image id {item['image_id']} {item['file_name']!r}: "
            f"{item['error']}",
            file=sys.stderr,
        )
    if refused:
        n = len(refused)
        print(
            f"cocoseg masks: warning: {n} image {'entry' if n == 1 else 'entries'} of {args.annotations} "
            "refused (no mask; listed in report.json refused_images)",
            file=sys.stderr,
        )
    if result.num_images and not classes_with_pixels(rep):
        print(
            f"cocoseg masks: warning: all {result.num_images} masks are background only: no annotation "
            "of the selected classes was drawn (see the skip counts above and report.json)",
            file=sys.stderr,
        )
    return 0
