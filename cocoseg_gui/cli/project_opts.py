"""`--project P` for the sub-commands: defaults from a project file's roles, never over explicit options.

A sub-command declares the options a project can fill as optional and calls ``require`` in ``run`` so that,
without ``--project``, a missing option is refused with argparse's own message (and exit 2) as before.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cocoseg_gui.core.errors import OptionsError

if TYPE_CHECKING:
    from cocoseg_gui.core.project.project import Project


def add_project_option(parser: Any) -> None:
    parser.add_argument(
        "--project", type=Path, metavar="P",
        help="a cocoseg-project.json (or its folder): fills the options not given from its datasets' roles",
    )  # fmt: skip


def load_project(args: argparse.Namespace) -> Any:
    """The project named by ``--project`` (DatasetError naming the file when unusable), or None."""
    if getattr(args, "project", None) is None:
        return None
    from cocoseg_gui.core.project.project import Project

    return Project.load(args.project)


def require(args: argparse.Namespace, *options: str) -> None:
    """Argparse's "the following arguments are required" for options still missing after the project."""
    missing = [opt for opt in options if getattr(args, opt.lstrip("-").replace("-", "_")) is None]
    if missing:
        raise OptionsError(f"the following arguments are required: {', '.join(missing)}")


def missing_default(project: Any, option: str, what: str, fix: str) -> OptionsError:
    """The error for a default the project cannot give: names the file, the option and what to add."""
    return OptionsError(f"{project.file}: no {option} given and {what}; {fix}, or pass {option}")


def project_checkpoint(project: Any) -> Path:
    """The project's checkpoint (evaluate, predict), or the error saying how to get one."""
    if project.checkpoint is None:
        raise missing_default(
            project, "--checkpoint", "the project has no checkpoint", "train with `cocoseg train --project`"
        )
    return Path(project.checkpoint)


def warn(command: str, messages: list[str]) -> None:
    for message in messages:
        print(f"cocoseg {command}: warning: {message}", file=sys.stderr, flush=True)


def is_main_process() -> bool:
    """Only rank 0 of a torchrun job writes the project file."""
    return os.environ.get("RANK", "0") in ("", "0")


def named_dataset(project: Project, name: str) -> Any:
    """The project's dataset called ``name``; a bad name is an error listing the names there are."""
    from cocoseg_gui.core.project.project import check_dataset_name

    check_dataset_name(name, "--dataset")
    try:
        return project.dataset(name)
    except KeyError:
        names = ", ".join(d.name for d in project.datasets) or "none"
        raise OptionsError(f"{project.file}: no dataset {name!r} (datasets: {names})") from None
