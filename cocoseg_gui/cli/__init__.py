"""The `cocoseg` command: thin argument parsing over core jobs.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which
registers the parser and sets ``func`` to a ``run(args) -> int``. Modules are imported
lazily by name so `cocoseg --help` stays fast and a sub-command's heavy imports (torch)
happen only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cocoseg_gui import __version__
from cocoseg_gui.core.errors import CocoSegError, describe_os_error

# sub-command name -> module under cocoseg_gui.cli
COMMANDS: dict[str, str] = {
    "masks": "masks_cmd",
    "train": "train_cmd",
    "evaluate": "evaluate_cmd",
    "predict": "predict_cmd",
    "import": "import_cmd",
    "export": "export_cmd",
    "export-onnx": "export_onnx_cmd",
    "export-coco": "export_coco_cmd",  # the same as `export --format coco`, kept for scripts
    "new-dataset": "new_dataset_cmd",
    "project": "project_cmd",
    "find-label-issues": "label_issues_cmd",  # also registers rank-uncertain
    "propose": "propose_cmd",
    "download-weights": "download_weights_cmd",
    "segment": "segment_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cocoseg", description="COCO semantic segmentation: masks, training, evaluation, prediction."
    )
    parser.add_argument("--version", action="version", version=f"cocoseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(f"cocoseg_gui.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"cocoseg_gui.cli.{module_name}":
                continue  # sub-command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CocoSegError as exc:
        print(f"cocoseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder without write permission...
        print(f"cocoseg {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ncocoseg {args.command}: interrupted", file=sys.stderr)
        return 130
