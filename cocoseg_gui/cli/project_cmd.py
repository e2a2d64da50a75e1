"""`cocoseg project`: make a project file (`init`) and print what it holds (`show`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "project",
        help="create or show a project file (datasets, roles, masks, runs)",
        description="A project (cocoseg-project.json, docs/formats.md) gives the other commands their "
        "defaults through --project P: train on the train dataset's masks, validate and evaluate on val's.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    init = sub.add_parser("init", help="create a project in DIR")
    init.add_argument("dir", type=Path, metavar="DIR", help="the project folder (created if needed)")
    init.add_argument(
        "--coco", type=Path, metavar="ROOT",
        help="add every split of a COCO folder (annotations/instances_<split>.json + <split>/), role by name",
    )  # fmt: skip
    init.add_argument("--name", help="the project's name (default: the folder's)")
    init.set_defaults(func=run_init)
    show = sub.add_parser("show", help="print a project's datasets, roles, masks, runs and checkpoint")
    show.add_argument("project", type=Path, metavar="P", help="a cocoseg-project.json or its folder")
    show.set_defaults(func=run_show)


def run_init(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.errors import DatasetError, OptionsError
    from cocoseg_gui.core.output_guard import check_output_file
    from cocoseg_gui.core.project import coco_folder_datasets, new_project

    project = new_project(args.dir, name=args.name)
    if project.file.exists():
        raise OptionsError(f"{project.file}: a project already exists here; see `cocoseg project show`")
    check_output_file(project.file)  # the output guard (a file in the way, a mask folder)
    if args.coco is not None:
        if not args.coco.is_dir():
            raise DatasetError(args.coco, "COCO folder not found")
        found = coco_folder_datasets(args.coco.resolve())
        if not found:
            raise DatasetError(
                args.coco, "no COCO split found (expected annotations/instances_<split>.json and <split>/)"
            )
        for entry in found:
            project.add_dataset(entry)
    project.folder.mkdir(parents=True, exist_ok=True)
    project.save()
    print(f"created {project.file} with {len(project.datasets)} datasets")
    _print(project)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.project import Project

    _print(Project.load(args.project))
    return 0


def _print(project: Any) -> None:
    print(f"project {project.name} ({project.file})")
    for d in project.datasets:
        print(f"  {d.name} [{d.role.value}]")
        for key in ("annotations", "images", "masks"):
            value = getattr(d, key)
            print(f"    {key:<11} {value if value is not None else '-'}")
    print("runs: " + (", ".join(str(r) for r in project.runs) or "none"))
    print(f"checkpoint: {project.checkpoint or 'none'}")
