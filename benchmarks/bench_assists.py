"""Offline assists (issue 11): wand preview per tolerance change on 1920x1080, SLIC and GrabCut on a
1024 px region, on the CPU.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_assists [--repeat 5]
Targets: a wand preview (flood fill + the preview's pixels) <= 33 ms per tolerance change on 1920x1080;
SLIC and GrabCut <= 1 s on a 1024 px region. Named baselines measured in the same run: a full-frame
``cv2.cvtColor`` RGB->Lab of the 1920x1080 frame (what any per-frame colour pass costs) for the wand;
for SLIC and GrabCut the same call at full 1024 px resolution (what they cost without our downscale).
Ratios are baseline / ours (> 1: ours is faster). The image is a real sample photo scaled up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from cocoseg_gui.core.assists.grabcut import grabcut
from cocoseg_gui.core.assists.superpixels import DEFAULT_SEGMENTS, compute_superpixels
from cocoseg_gui.core.assists.wand import wand_area
from cocoseg_gui.core.editing.box import Area, Box

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco" / "val2017"


def photo(width: int, height: int) -> np.ndarray:
    path = sorted(SAMPLE.glob("*.jpg"))[0]
    rgb = np.array(Image.open(path).convert("RGB"))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def best_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, worst) milliseconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), max(times)


def preview_pixels(area: Area) -> np.ndarray:
    """What the overlay builds from an area (AssistOverlay's ARGB pixels; the same maths, no Qt)."""
    return np.multiply(area.mask.view(np.uint8), np.uint32(0x96FF0000), dtype=np.uint32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    frame = photo(1920, 1080)
    base_ms, _ = best_ms(lambda: cv2.cvtColor(frame, cv2.COLOR_RGB2Lab), args.repeat * 4)
    print(f"baseline full-frame cvtColor RGB->Lab 1920x1080: {base_ms:.2f} ms")
    seed = (960.5, 700.5)
    for tol in (8, 24, 48, 96):

        def change(tol: int = tol) -> None:
            preview_pixels(wand_area(frame, seed, tol))

        med, worst = best_ms(change, args.repeat * 4)
        size = int(wand_area(frame, seed, tol).mask.sum())
        print(
            f"wand preview tolerance {tol:3d} ({size} px): median {med:.2f} ms, worst {worst:.2f} ms "
            f"(target <= 33 ms), ratio {base_ms / med:.2f}x"
        )

    region = photo(1024, 1024)
    full_sp, _ = best_ms(lambda: compute_superpixels(region, DEFAULT_SEGMENTS, max_side=1024), 1)
    ours_sp, worst_sp = best_ms(lambda: compute_superpixels(region, DEFAULT_SEGMENTS), args.repeat)
    print(
        f"SLIC {DEFAULT_SEGMENTS} segments on 1024x1024: ours (downscaled to 640) median {ours_sp:.0f} ms, "
        f"worst {worst_sp:.0f} ms (target <= 1000 ms); baseline full resolution {full_sp:.0f} ms, "
        f"ratio {full_sp / ours_sp:.2f}x"
    )
    rect = Box(112, 112, 912, 912)
    full_gc, _ = best_ms(lambda: grabcut(region, rect, max_side=2048), 1)
    ours_gc, worst_gc = best_ms(lambda: grabcut(region, rect), args.repeat)
    print(
        f"GrabCut box 800x800 (region 1024x1024): ours (downscaled to 256) median {ours_gc:.0f} ms, "
        f"worst {worst_gc:.0f} ms (target <= 1000 ms); baseline full resolution {full_gc:.0f} ms, "
        f"ratio {full_gc / ours_gc:.2f}x"
    )


if __name__ == "__main__":
    main()
