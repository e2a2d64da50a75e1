"""`cocoseg new-dataset`: an empty mask folder for a folder of images to label (File › New dataset)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cocoseg_gui.cli.project_opts import add_project_option, load_project, require


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "new-dataset",
        help="make an empty mask folder for a folder of images, to label in the mask editor",
        description="Lists every image of --images (with its size) and writes a mask folder with no mask: "
        "images are labelled once their mask is saved in the editor, and only those are trained on. "
        "The classes are typed (--classes) or taken from a COCO JSON or another mask folder "
        "(--classes-from).",
    )
    p.add_argument("--images", type=Path, required=True, metavar="DIR", help="the folder of images")
    classes = p.add_mutually_exclusive_group(required=True)
    classes.add_argument("--classes", metavar="A,B", help='class names, comma separated ("cat,dog")')
    classes.add_argument(
        "--classes-from", type=Path, metavar="FILE",
        help="a COCO JSON (its categories), or a mask folder or its category_mapping.json",
    )  # fmt: skip
    p.add_argument("--out", type=Path, metavar="DIR", help="the new mask folder (new or empty)")
    add_project_option(p)
    p.add_argument(
        "--name", metavar="NAME",
        help="with --project: the dataset's name (default: the image folder's); --out defaults to "
        "<project>/masks/NAME",
    )  # fmt: skip
    p.set_defaults(func=run)


def _categories(args: argparse.Namespace) -> list[Any]:
    from cocoseg_gui.core.masks import new_dataset as nd

    if args.classes is not None:
        return nd.categories_from_names(args.classes)
    source = Path(args.classes_from)
    if source.is_dir() or source.name == "category_mapping.json":
        return nd.categories_from_mapping(source)
    return nd.categories_from_coco(source)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import ProgressBar
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.masks import new_dataset as nd

    project = load_project(args)
    if project is None and args.name is not None:
        raise OptionsError("--name needs --project")
    from cocoseg_gui.core.project.project import check_dataset_name, planned_entry

    if args.name is not None:
        check_dataset_name(args.name, "--name")
    categories = _categories(args)
    entry = planned_entry(project, args.images, args.name) if project is not None else None
    if args.out is None and entry is not None:
        args.out = entry.masks
    require(args, "--out")
    bar = ProgressBar("new-dataset")
    try:
        made = nd.create_new_dataset(args.images, categories, args.out, progress=bar)
    finally:
        bar.close()
    for name, why in made.unreadable[:5]:
        print(f"cocoseg new-dataset: warning: {name!r} left out: {why}")
    for name in made.refused[:5]:
        print(f"cocoseg new-dataset: warning: {name!r} left out: a link leading outside {args.images}")
    print(f"{made.num_images} images, {len(categories)} classes, no mask yet: {made.folder}")
    if project is not None and entry is not None:
        from dataclasses import replace

        added = project.add_dataset(replace(entry, annotations=made.annotations, masks=made.folder))
        project.save()
        print(f"added to {project.file} as {added.label}")
    return 0
