"""`cocoseg export MASK_FOLDER --format F --out DEST`: a mask folder's labels in another tool's format.

``--format coco`` is `export-coco` (the same options and report); the other formats come from
core/formats/registry.py. The ONNX export that was `cocoseg export` is `cocoseg export-onnx`: a checkpoint
given here is answered with that command, never guessed at.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import out_file
from cocoseg_gui.cli.project_opts import add_project_option, require

SEGMENTATIONS = (
    "rle",
    "polygon",
)  # core.formats.coco_components.FORMATS, without importing OpenCV for --help
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def add_parser(subparsers: Any) -> None:
    from cocoseg_gui.core.formats.registry import exportable

    formats = ", ".join(f"{f.name} ({f.title})" for f in exportable())
    p = subparsers.add_parser(
        "export",
        help="write a mask folder's labels as COCO, Pascal VOC, CVAT, YOLO, labelme or class PNGs",
        description=f"Formats: {formats}. A checkpoint to ONNX is `cocoseg export-onnx`.",
    )
    p.add_argument("masks", nargs="?", type=Path, metavar="MASK_FOLDER", help="the mask dataset folder")
    p.add_argument("--format", metavar="F", help="the label format to write (see above)")
    p.add_argument("--out", type=Path, metavar="DEST", help="the folder to write (for coco: the JSON file)")
    p.add_argument(
        "--annotations", type=Path, metavar="ORIGINAL.json",
        help="coco: the COCO JSON the masks were made from (unchanged images keep their annotations)",
    )  # fmt: skip
    p.add_argument(
        "--segmentation", choices=SEGMENTATIONS, default="rle",
        help="coco: objects as rle (exact; default) or polygon (objects with holes stay RLE)",
    )  # fmt: skip
    p.add_argument("--report", type=out_file, metavar="REPORT.json", help="also write the report as JSON")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace existing files of DEST (an earlier export's included); inputs, source images, "
        "annotations files and mask folders' files are never replaced",
    )  # fmt: skip
    add_project_option(p)
    p.add_argument("--dataset", metavar="NAME", help="with --project: the dataset whose masks to export")
    p.add_argument(
        "--follow-symlinks", action="store_true",
        help="read images and masks through symbolic links leading outside their folders",
    )  # fmt: skip
    for old in ("--checkpoint", "--onnx", "--opset"):  # the ONNX export's options before it moved
        p.add_argument(old, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _not_a_checkpoint(args: argparse.Namespace) -> None:
    from cocoseg_gui.core.errors import OptionsError

    given = args.checkpoint or (
        str(args.masks) if args.masks and args.masks.suffix.lower() in CHECKPOINT_SUFFIXES else None
    )
    if given is not None or args.onnx is not None:
        raise OptionsError(
            f"{given or 'a checkpoint'}: the ONNX export is now `cocoseg export-onnx --checkpoint CKPT "
            "--onnx OUT.onnx`; `cocoseg export` writes a mask folder's labels (--format coco, voc, ...)"
        )


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.export_coco_cmd import _check_report, _fill_from_project, print_export_result
    from cocoseg_gui.cli.progress_bar import ProgressBar
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.formats.export_job import export_labels
    from cocoseg_gui.core.formats.registry import COCO, label_format

    _not_a_checkpoint(args)
    require(args, "--format", "--out")
    fmt = label_format(args.format)
    if fmt.name != COCO and args.annotations is not None:
        raise OptionsError(f"--annotations is for --format coco, not {fmt.name}")
    _fill_from_project(args)
    if fmt.name != COCO:
        args.annotations = None  # the project's annotations: only COCO keeps original objects
    if args.masks is None:
        raise OptionsError("the following arguments are required: MASK_FOLDER (or --project)")
    if args.report is not None and args.report.absolute() == args.out.absolute():
        raise OptionsError(f"--report {args.report} is also --out: give the report another name")
    if args.report is not None:
        _check_report(args)  # core/files/output_guard.py's check_output_file, before the export
    bar = ProgressBar(f"export {fmt.name}")
    try:
        result = export_labels(
            args.masks, fmt, args.out, args.annotations, args.segmentation, overwrite=args.overwrite,
            follow_symlinks=args.follow_symlinks, progress=bar, option="--out",
        )  # fmt: skip
    finally:
        bar.close()
    print_export_result("export", result, args.report)
    return 0
