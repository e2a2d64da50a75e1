"""`cocoseg export-coco`: a mask dataset folder (edited, or labelled from scratch) -> a COCO JSON.

The same as `cocoseg export MASK_FOLDER --format coco` (cli/export_cmd.py, which uses this module's
project and report helpers), kept for the scripts that call it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import out_file
from cocoseg_gui.cli.project_opts import (
    add_project_option,
    load_project,
    missing_default,
    named_dataset,
    require,
    warn,
)

FORMATS = ("rle", "polygon")  # core.coco_components.FORMATS, without importing OpenCV for --help


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export-coco",
        help="write a COCO JSON from a mask folder (the same as `export --format coco`)",
        description="With --annotations (the file the masks were made from), images whose mask still "
        "equals what their annotations draw keep their annotations unchanged; edited images get one "
        "annotation per connected component per class. Without it, every image is written from its mask.",
    )
    p.add_argument("--masks", type=Path, metavar="DIR", help="the mask dataset folder (cocoseg masks --out)")
    p.add_argument(
        "--annotations", type=Path, metavar="ORIGINAL.json",
        help="the COCO JSON the masks were made from (omit for images labelled from scratch)",
    )  # fmt: skip
    p.add_argument("--out", type=out_file, required=True, metavar="NEW.json", help="the COCO JSON to write")
    p.add_argument(
        "--format", choices=FORMATS, default="rle",
        help="segmentations of the components: rle (exact; default) or polygon (components with holes "
        "stay RLE)",
    )  # fmt: skip
    p.add_argument("--report", type=out_file, metavar="REPORT.json", help="also write the report as JSON")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing --out (or --report) file; inputs, source images, annotations files and "
        "the mask folder's files are never replaced",
    )  # fmt: skip
    add_project_option(p)
    p.add_argument(
        "--dataset", metavar="NAME",
        help="with --project: the dataset whose masks (and annotations) to export (needed when several "
        "have masks)",
    )  # fmt: skip
    p.add_argument(
        "--follow-symlinks", action="store_true",
        help="read images and masks through symbolic links leading outside their folders",
    )  # fmt: skip
    p.set_defaults(func=run)


def _fill_from_project(args: argparse.Namespace) -> None:
    """--masks (and --annotations, when the dataset has them) from the project's dataset."""
    from cocoseg_gui.core.errors import OptionsError

    project = load_project(args)
    if project is None:
        if args.dataset is not None:
            raise OptionsError("--dataset needs --project")
        return
    if args.masks is not None and args.dataset is None:
        return
    if args.dataset is not None:
        entry = named_dataset(project, args.dataset)
    else:
        with_masks = [d for d in project.datasets if d.masks is not None]
        if len(with_masks) != 1:
            names = ", ".join(d.name for d in with_masks) or "none"
            fix = "choose one with --dataset NAME" if with_masks else "run `cocoseg masks --project`"
            what = f"the project has {len(with_masks)} datasets with masks ({names})"
            raise missing_default(project, "--masks", what, fix)
        entry = with_masks[0]
    if args.masks is None:
        if entry.masks is None:
            raise missing_default(project, "--masks", f"dataset {entry.name!r} has no masks", "make them")
        args.masks = entry.masks
    if args.annotations is None and not _labelled_from_scratch(args.masks):
        args.annotations = entry.annotations


def _labelled_from_scratch(masks: Path) -> bool:
    """A folder made by `cocoseg new-dataset` or `cocoseg import`: its images.json is no original to keep
    (only labelled images are written)."""
    from cocoseg_gui.core.formats.export_job import SCRATCH_CREATORS
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    return MaskDatasetFolder(masks, browse=True).manifest.get("created_by") in SCRATCH_CREATORS


def print_export_result(command: str, result: Any, report: Path | None) -> None:
    """An export's summary and warnings, and its --report file (export-coco and export)."""
    from cocoseg_gui.core.files.atomic import atomic_write_text

    for line in result.summary():
        print(line)
    warn(command, result.warnings)
    if report is not None:
        atomic_write_text(report, json.dumps(result.to_json(), indent=1) + "\n")
        print(f"report: {report}")


def _check_report(args: argparse.Namespace) -> None:
    """--report goes through the same guard as --out, before the export (nothing is lost after it)."""
    from cocoseg_gui.core.files.output_guard import check_output_file
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    folder = MaskDatasetFolder(args.masks, browse=True)
    reads = {
        "the --out file": args.out,
        "the mask folder": args.masks,
        "the input annotations file": args.annotations,
        "the annotations the masks were made from": folder.annotations,
    }
    check_output_file(
        args.report, reads=reads, image_dirs=[folder.images_dir], overwrite=args.overwrite, option="--report"
    )


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import ProgressBar
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.formats.coco_export import export_coco

    _fill_from_project(args)
    require(args, "--masks")
    if args.report is not None and args.report.absolute() == args.out.absolute():
        raise OptionsError(f"--report {args.report} is also --out: give the report another name")
    if args.report is not None:
        _check_report(args)
    bar = ProgressBar("export-coco")
    try:
        result = export_coco(
            args.masks, args.out, args.annotations, args.format, progress=bar,
            follow_symlinks=args.follow_symlinks, overwrite=args.overwrite, option="--out",
        )  # fmt: skip
    finally:
        bar.close()
    print_export_result("export-coco", result, args.report)
    return 0
