"""Mask editing core at 4096x4096: brush events, undo/redo, fill, save, undo memory.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_editing [--size 4096] [--events 60]
Issue 10's targets: a brush event well under 16 ms p95 at r=200, undo/redo <= 30 ms, fill <= 100 ms,
save <= 300 ms. The named baseline, measured in this run, is what a naive editor does per mouse event:
recolour the whole frame through a 256-entry lookup table (a full-frame copy); ratios are baseline /
ours. Fill engines compared: OpenCV floodFill (used), scikit-image flood and scipy.ndimage.label when
installed (they are not dependencies; `pip install scikit-image` to include them).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cocoseg_gui.core.editing.fill import fill_area
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.history import History
from cocoseg_gui.core.editing.image_edit import Brush, ImageEdit
from cocoseg_gui.core.editing.save import save_edited_mask
from cocoseg_gui.core.masks.class_map import ClassMapping
from cocoseg_gui.core.masks.palette import voc_palette
from cocoseg_gui.core.types import Category

RADII = (5, 20, 50, 100, 200)


def label_map(size: int) -> np.ndarray:
    """A map with COCO-like structure: background, a few large blobs of classes 1..20, an ignore stripe."""
    rng = np.random.default_rng(0)
    label = np.zeros((size, size), dtype=np.uint8)
    yy, xx = np.ogrid[:size, :size]
    for k in range(12):
        cy, cx = rng.integers(0, size, 2).tolist()
        r = int(rng.integers(size // 20, size // 6))
        label[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = k % 20 + 1
    label[:, size // 3 : size // 3 + 8] = 255
    return label


def percentiles(times: list[float]) -> tuple[float, float]:
    a = np.asarray(times) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def baseline_event(label: np.ndarray, lut: np.ndarray) -> list[float]:
    """A naive editor's repaint per event: the whole frame through a 256-entry LUT (RGB)."""
    return [timed(lambda: lut[label]) for _ in range(5)]


def brush_events(label: np.ndarray, radius: int, events: int) -> list[float]:
    """Per mouse move: one swept segment of radius/2 + 8 px along a circle inside the map, recorded for
    undo and painted; the last time is the mouse release (the step assembled)."""
    session = ImageEdit(label, History(max_steps=100))
    centre, ring = label.shape[0] / 2, label.shape[0] / 3
    turn = (radius // 2 + 8) / ring

    def at(k: int) -> tuple[float, float]:
        return centre + ring * np.cos(k * turn), centre + ring * np.sin(k * turn)

    times = []
    session.begin_stroke(at(0), Brush(7, radius, Tip.ROUND), "Brush stroke")
    for k in range(1, events + 1):
        point = at(k)
        times.append(timed(lambda p=point: session.stroke_to(p)))
    times.append(timed(session.end_stroke))
    session.undo()
    return times


def undo_redo(label: np.ndarray) -> tuple[list[float], list[float], int]:
    """Undo and redo of large strokes (r=200 across half the frame), and the memory of 100 such steps."""
    session = ImageEdit(label, History(max_steps=100))
    size = label.shape[0]
    rng = np.random.default_rng(1)
    for i in range(100):
        y = int(rng.integers(200, size - 200))
        session.begin_stroke((200, y), Brush(i % 20 + 1, 200), "Brush stroke")
        session.stroke_to((size // 2, y + 300))
        session.end_stroke()
    memory = session.history.memory_bytes
    undo = [timed(session.undo) for _ in range(20)]
    redo = [timed(session.redo) for _ in range(20)]
    while session.undo() is not None:
        pass
    return undo, redo, memory


def fill_engines(label: np.ndarray) -> dict[str, float]:
    """Seconds to find the contiguous region under a background pixel (the biggest region)."""
    point = (0, 0)
    out = {"opencv floodFill (used)": min(timed(lambda: fill_area(label, point)) for _ in range(3))}
    try:
        from skimage.segmentation import flood

        out["scikit-image flood"] = min(timed(lambda: flood(label, (0, 0), connectivity=1)) for _ in range(3))
    except ImportError:
        out["scikit-image flood"] = float("nan")
    try:
        from scipy import ndimage

        def by_label() -> np.ndarray:
            parts, _ = ndimage.label(label == label[0, 0])
            return parts == parts[0, 0]

        out["scipy.ndimage.label"] = min(timed(by_label) for _ in range(3))
    except ImportError:
        out["scipy.ndimage.label"] = float("nan")
    return out


def save_time(label: np.ndarray) -> float:
    """A save into a real mask folder layout (category_mapping.json, an existing mask and report)."""
    root = Path(tempfile.mkdtemp(prefix="bench_editing_"))
    try:
        mapping = ClassMapping(tuple(Category(i, f"class{i}") for i in range(1, 21)))
        mapping.write(root / "category_mapping.json")
        save_edited_mask(root, "big.jpg", label, label.shape)  # first save creates the files
        edited = label.copy()
        edited[100:900, 100:900] = 3
        return min(timed(lambda: save_edited_mask(root, "big.jpg", edited, edited.shape)) for _ in range(3))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--events", type=int, default=60, help="mouse events per radius")
    args = parser.parse_args(argv)
    label = label_map(args.size)
    lut = voc_palette()
    base50, base95 = percentiles(baseline_event(label, lut))
    print(
        f"label map {args.size}x{args.size}; baseline (full-frame LUT recolour per event): "
        f"p50 {base50:.1f} ms, p95 {base95:.1f} ms"
    )
    for radius in RADII:
        p50, p95 = percentiles(brush_events(label, radius, args.events))
        verdict = "ok" if p95 <= 16 else "ABOVE 16 ms"
        print(
            f"brush r={radius:3d}: p50 {p50:6.2f} ms, p95 {p95:6.2f} ms  "
            f"(baseline/ours at p95: {base95 / p95:6.1f}x) {verdict}"
        )
    undo, redo, memory = undo_redo(label)
    for name, times in (("undo", undo), ("redo", redo)):
        p50, p95 = percentiles(times)
        print(f"{name} of an r=200 stroke: p50 {p50:.2f} ms, p95 {p95:.2f} ms (target <= 30 ms)")
    print(f"memory of 100 undo steps of r=200 strokes: {memory / 2**20:.1f} MiB (bound 256 MiB)")
    fills = fill_engines(label)
    for name, seconds in fills.items():
        shown = "not installed" if np.isnan(seconds) else f"{seconds * 1e3:.1f} ms"
        print(f"fill region (background, {args.size}^2) with {name}: {shown}")
    print(
        f"save (PNG + report.json + image_mask_map.json + edited.json): {save_time(label) * 1e3:.1f} ms "
        "(target <= 300 ms)"
    )


if __name__ == "__main__":
    main()
