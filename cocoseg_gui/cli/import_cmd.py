"""`cocoseg import --format F SRC [--images DIR] --out MASK_FOLDER`: another tool's labels -> a mask folder.

The folder is an ordinary one (category_mapping.json, image_mask_map.json, report.json saying what was
skipped and why); with ``--project`` it joins the project as a dataset with ``--role``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.arg_types import out_dir, positive_int

ROLES = ("train", "val", "test", "unlabelled")  # core.project.project.Role, without importing it for --help


def add_parser(subparsers: Any) -> None:
    from cocoseg_gui.core.formats.registry import importable

    formats = ", ".join(f"{f.name} ({f.title}: a {f.source})" for f in importable())
    p = subparsers.add_parser(
        "import",
        help="make a mask folder from COCO, Pascal VOC, CVAT, YOLO, labelme or class-PNG labels",
        description=f"Formats: {formats}. Classes are matched by name; what cannot be imported (an "
        "unknown class, a missing image, a duplicate file name) is named in the folder's report.json.",
    )
    p.add_argument("src", type=Path, metavar="SRC", help="the labels: a file or folder in format F")
    p.add_argument("--format", required=True, metavar="F", help="the format of SRC (see above)")
    p.add_argument(
        "--images", type=Path, metavar="DIR",
        help="the image folder (default: where the format says, e.g. VOC's JPEGImages/)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=out_dir, required=True, metavar="MASK_FOLDER", help="the mask folder to make"
    )
    p.add_argument(
        "--classes-from", type=Path, metavar="FOLDER",
        help="a mask folder (or its category_mapping.json) whose classes the labels are matched to by name; "
        "classes it lacks are reported and become ignore (255)",
    )  # fmt: skip
    p.add_argument(
        "--overwrite", action="store_true", help="replace the mask folder MASK_FOLDER if it is one"
    )
    p.add_argument("--workers", type=positive_int, default=1, help="coco: processes drawing the masks")
    p.add_argument(
        "--project", type=Path, metavar="P",
        help="a cocoseg-project.json (or its folder) the new mask folder joins as a dataset",
    )  # fmt: skip
    p.add_argument("--role", choices=ROLES, default="train", help="with --project: the new dataset's role")
    p.add_argument(
        "--name", metavar="NAME", help="with --project: the new dataset's name (default: MASK_FOLDER's)"
    )
    p.set_defaults(func=run)


def _join_project(args: argparse.Namespace, images_dir: Path | None) -> str:
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.formats.import_job import IMAGES_FILE
    from cocoseg_gui.core.project.project import DatasetEntry, Project, Role, slug

    if images_dir is None:
        raise OptionsError("the imported folder names no image folder: pass --images to add it to a project")
    project = Project.load(args.project)
    annotations = args.out / IMAGES_FILE
    if not annotations.is_file():  # COCO: the masks job's folder names the source JSON
        from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

        annotations = MaskDatasetFolder(args.out, browse=True).annotations
    entry = DatasetEntry(slug(args.name or args.out.name), Role(args.role), annotations, images_dir, args.out)
    added = project.add_dataset(entry)
    project.save()
    return f"added to {project.file} as {added.label}"


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import ProgressBar
    from cocoseg_gui.core.formats.import_job import import_labels
    from cocoseg_gui.core.project.project import Project

    if args.project is not None:
        from cocoseg_gui.core.errors import OptionsError
        from cocoseg_gui.core.formats.registry import label_format

        Project.load(args.project)  # a bad project file is said before the work
        fmt = label_format(args.format)
        if args.images is None and not fmt.finds_images:
            raise OptionsError(
                f"--project needs --images: {fmt.title} labels do not say where their images are"
            )
    bar = ProgressBar(f"import {args.format}")
    try:
        result = import_labels(
            args.format, args.src, args.out, args.images, args.classes_from, overwrite=args.overwrite,
            workers=args.workers, progress=bar,
        )  # fmt: skip
    finally:
        bar.close()
    for line in result.summary():
        print(line)
    print(f"report: {args.out / 'report.json'}")
    if args.project is not None:
        print(_join_project(args, result.images_dir))
    return 0
