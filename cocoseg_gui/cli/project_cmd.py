"""`cocoseg project`: make a project file (`init`), print what it holds (`show`), and edit its datasets
(`set`, `add-masks`, `remove`, `save-as`: what File › Project datasets… and Save project as… do)."""

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
    edit = sub.add_parser("set", help="rename a dataset, change its role or its mask folder")
    edit.add_argument("project", type=Path, metavar="P", help="a cocoseg-project.json or its folder")
    edit.add_argument("dataset", metavar="DATASET", help="the dataset's name")
    edit.add_argument(
        "--role", choices=("train", "val", "test", "unlabelled"),
        help="train and val need a saved mask (or COCO annotations to make masks from)",
    )  # fmt: skip
    edit.add_argument("--name", metavar="NEW", help="a new, unique name")
    edit.add_argument("--masks", type=Path, metavar="DIR", help="an existing mask dataset folder")
    edit.set_defaults(func=run_set)
    add = sub.add_parser("add-masks", help="add an existing mask dataset folder as a dataset")
    add.add_argument("project", type=Path, metavar="P", help="a cocoseg-project.json or its folder")
    add.add_argument(
        "masks", type=Path, metavar="DIR", help="a mask dataset folder (its manifest names its images)"
    )
    add.set_defaults(func=run_add_masks)
    remove = sub.add_parser("remove", help="take a dataset out of the project (no file is deleted)")
    remove.add_argument("project", type=Path, metavar="P", help="a cocoseg-project.json or its folder")
    remove.add_argument("dataset", metavar="DATASET", help="the dataset's name")
    remove.set_defaults(func=run_remove)
    save_as = sub.add_parser("save-as", help="write the project file elsewhere (masks and runs stay)")
    save_as.add_argument("project", type=Path, metavar="P", help="a cocoseg-project.json or its folder")
    save_as.add_argument("target", type=Path, metavar="DIR_OR_FILE", help="the new project folder or file")
    save_as.set_defaults(func=run_save_as)


def run_init(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.errors import DatasetError, OptionsError
    from cocoseg_gui.core.files.output_guard import check_output_file
    from cocoseg_gui.core.project.project import coco_folder_datasets, new_project

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
    from cocoseg_gui.core.project.project import Project

    _print(Project.load(args.project))
    return 0


def _dataset(project: Any, name: str) -> Any:
    from cocoseg_gui.core.errors import OptionsError

    try:
        return project.dataset(name)
    except KeyError:
        names = ", ".join(d.name for d in project.datasets) or "none"
        raise OptionsError(f"{project.file}: no dataset named {name!r} (datasets: {names})") from None


def run_set(args: argparse.Namespace) -> int:
    """Every change is checked before the file is written: one refused leaves the file as it was."""
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.project.project import Project, Role

    if args.role is None and args.name is None and args.masks is None:
        raise OptionsError("nothing to change: give --role, --name or --masks")
    project = Project.load(args.project)
    name = _dataset(project, args.dataset).name
    if args.masks is not None:
        project.set_masks(name, args.masks)
    if args.role is not None:
        project.set_role(name, Role(args.role))
    if args.name is not None:
        name = project.rename_dataset(name, args.name).name
    project.save()
    print(f"{project.dataset(name).label} updated in {project.file}")
    return 0


def run_add_masks(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.project.project import Project

    project = Project.load(args.project)
    entry = project.add_mask_folder(args.masks)
    project.save()
    print(f"added {entry.label} to {project.file}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.project.project import Project

    project = Project.load(args.project)
    entry = project.remove_dataset(_dataset(project, args.dataset).name)
    project.save()
    print(f"removed {entry.label} from {project.file}; its files are kept")
    return 0


def run_save_as(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.project.project import Project

    project = Project.load(args.project)
    project.move_to(args.target)  # refuses an existing file and what the output guard refuses
    project.folder.mkdir(parents=True, exist_ok=True)
    project.save()
    print(f"saved as {project.file}")
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
