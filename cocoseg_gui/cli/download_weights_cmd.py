"""`cocoseg download-weights`: torchvision's pretrained weights into torch's cache, hash checked."""

from __future__ import annotations

import argparse
from typing import Any

from cocoseg_gui.core.training.pretrained import URL_BASE_ENV, WEIGHTS


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "download-weights",
        help="download torchvision's pretrained weights (for --pretrained coco|imagenet and proposals)",
        description="Downloads one of torchvision's published weights files into torch's cache "
        "(TORCH_HOME/hub/checkpoints), checks the sha256 prefix in its name and only then renames it "
        "into place. Segmentation models get their COCO_WITH_VOC_LABELS weights; mobilenet_v3_large "
        f"and resnet50 are the ImageNet backbones. ${URL_BASE_ENV} replaces the server (a mirror).",
    )
    p.add_argument("name", nargs="?", choices=list(WEIGHTS), metavar="NAME", help=", ".join(WEIGHTS))
    p.add_argument("--list", action="store_true", help="list the files, their size and whether cached")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.training.pretrained import download_weights

    if args.list:
        for entry in WEIGHTS.values():
            where = entry.cache_path()
            state = "cached" if where.is_file() else "not cached"
            print(f"{entry.name:30} {entry.kind:8} {entry.size_mb:6.1f} MB  {state}: {where}")
        return 0
    if args.name is None:
        raise OptionsError(f"name the weights to download: {', '.join(WEIGHTS)} (or --list)")
    entry = WEIGHTS[args.name]
    path = run_cancellable(
        "download-weights", download_weights, entry, cancelled="nothing was written to the cache", unit="KiB"
    )
    if path is None:
        return 130
    print(f"{entry.label}: {path}")
    return 0
