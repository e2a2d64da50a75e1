"""Benchmark: `export-coco` per image on the sample's 50 val masks, against pycocotools in the same run.

Baseline: what a script without components does, pycocotools ``encode`` of each class's whole-image
mask (one RLE per class, no components). Ours: one annotation per 8-connected component per class,
as RLE and as polygons (pixel-edge trace, exactness check, RLE fallback). Also the whole export
(without --annotations: every mask read, written, redrawn and compared). Times in ms per image.

    .venv/bin/python -m benchmarks.bench_export_coco [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from cocoseg_gui.core.formats.coco_components import component_polygon, component_rle, components
from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco"


def baseline(mask: np.ndarray) -> int:
    n = 0
    for c in np.unique(mask).tolist():
        if c not in (0, 255):
            mask_utils.encode(np.asfortranarray((mask == c).astype(np.uint8)))
            n += 1
    return n


def ours(fmt: str) -> Callable[[np.ndarray], int]:
    def run(mask: np.ndarray) -> int:
        h, w = mask.shape
        present = [c for c in np.unique(mask).tolist() if c not in (0, 255)]
        n = 0
        for comp in components(mask, present):
            polygon = component_polygon(comp)[0] if fmt == "polygon" else None
            if polygon is None:
                component_rle(comp, h, w)
            n += 1
        return n

    return run


def per_image_ms(fn: Callable[[np.ndarray], int], masks: list[np.ndarray], repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = sum(fn(m) for m in masks)
        best = min(best, time.perf_counter() - t0)
    return 1000 * best / len(masks), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("COCOSEG_CACHE_DIR", str(Path(tmp) / "cache"))
        folder = Path(tmp) / "masks"
        annotations = SAMPLE / "annotations" / "instances_val2017.json"
        generate_masks(annotations, SAMPLE / "val2017", folder, MaskOptions(workers=1))
        reader = MaskDatasetFolder(folder)
        masks = [reader.read_mask(s.file_name) for s in reader.samples()]
        base, n_base = per_image_ms(baseline, masks, args.repeat)
        print(f"{len(masks)} masks; baseline, pycocotools encode per class: {base:.2f} ms/image "
              f"({n_base} RLEs)")  # fmt: skip
        for fmt in ("rle", "polygon"):
            t, n = per_image_ms(ours(fmt), masks, args.repeat)
            print(f"components as {fmt:7s}: {t:.2f} ms/image ({n} annotations), {t / base:.1f}x the baseline")
        for fmt in ("rle", "polygon"):
            t0 = time.perf_counter()
            rep = export_coco(folder, Path(tmp) / f"{fmt}.json", None, fmt)
            t = 1000 * (time.perf_counter() - t0) / len(masks)
            print(f"whole export-coco --format {fmt} (read, write, redraw check): {t:.2f} ms/image, "
                  f"IoU mean {rep.mean_iou:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
