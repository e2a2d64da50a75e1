"""`cocoseg download-weights`: torchvision's pretrained weights, or the official SAM / MobileSAM files, into
torch's cache, checked against what their publisher gives."""

from __future__ import annotations

import argparse
from typing import Any

from cocoseg_gui.core.segment.downloads import SAM_WEIGHTS
from cocoseg_gui.core.training.pretrained import URL_BASE_ENV, WEIGHTS

NAMES = [*WEIGHTS, *SAM_WEIGHTS]


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "download-weights",
        help="download torchvision's pretrained weights or SAM / MobileSAM weights (only when asked)",
        description="Downloads one of torchvision's published weights files into torch's cache "
        "(TORCH_HOME/hub/checkpoints), checks the sha256 prefix in its name and only then renames it "
        "into place. Segmentation models get their COCO_WITH_VOC_LABELS weights; mobilenet_v3_large "
        "and resnet50 are the ImageNet backbones. mobile_sam and sam_vit_b/l/h are the official click-to-"
        "segment weights (for segment and propose --sam-weights: the file, or this name): checked against "
        "the length the server announces and, for SAM, the MD5 prefix in the file name; the SHA-256 "
        f"received is printed. ${URL_BASE_ENV} replaces the server (a mirror).",
    )
    p.add_argument("name", nargs="?", choices=NAMES, metavar="NAME", help=", ".join(NAMES))
    p.add_argument("--list", action="store_true", help="list the files, their size and whether cached")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.cli.progress_bar import run_cancellable
    from cocoseg_gui.core.errors import OptionsError
    from cocoseg_gui.core.segment.downloads import download_sam_weights
    from cocoseg_gui.core.training.pretrained import download_weights

    if args.list:
        for entry in WEIGHTS.values():
            where = entry.cache_path()
            state = "cached" if where.is_file() else "not cached"
            print(f"{entry.name:30} {entry.kind:8} {entry.size_mb:6.1f} MB  {state}: {where}")
        for sam in SAM_WEIGHTS.values():
            where = sam.cache_path()
            state = "cached" if where.is_file() else "not cached"
            print(f"{sam.name:30} {'segment':8} {sam.size_bytes / 1e6:6.1f} MB  {state}: {where}")
        return 0
    if args.name is None:
        raise OptionsError(f"name the weights to download: {', '.join(NAMES)} (or --list)")
    cancelled = "nothing was written to the cache"
    if args.name in SAM_WEIGHTS:
        sam = SAM_WEIGHTS[args.name]
        got = run_cancellable("download-weights", download_sam_weights, sam, cancelled=cancelled, unit="KiB")
        if got is None:
            return 130
        print(f"{sam.label}: {got.path} ({got.size} bytes, SHA-256 {got.sha256})")
        return 0
    entry = WEIGHTS[args.name]
    path = run_cancellable("download-weights", download_weights, entry, cancelled=cancelled, unit="KiB")
    if path is None:
        return 130
    print(f"{entry.label}: {path}")
    return 0
