"""Click to segment (issue 21): embedding time and click latency per model kind, on the CPU, one thread.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_segment [--kinds vit_t,vit_b] [--clicks 40]
Target: a click's masks (prompt -> masks at the image's size) p95 <= 50 ms for MobileSAM, and under half
of the package's own ``SamPredictor.predict`` on the same embedding and clicks (the baseline, measured
in the same run). Random weights (timing does not depend on them) on a 640x480 sample COCO photo.
Rows: ``ours click`` = 3 candidates at the image's size, ``ours drag`` = 1 mask (what a drag or
a preview asks for), for the decoder backend shown; GrabCut (core/assists, a box) for scale.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cocoseg_gui.core.assists.grabcut import grabcut
from cocoseg_gui.core.editing.box import Box
from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
from cocoseg_gui.core.segment.kinds import MOBILE_SAM, VIT_B, VIT_H, VIT_L, SamKind
from cocoseg_gui.core.segment.model import build_architecture, load_sam
from cocoseg_gui.core.segment.prompt import Prompt
from cocoseg_gui.core.segment.segmenter import Segmenter

IMAGE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco" / "train2017" / "000000166532.jpg"
KINDS = {k.name: k for k in (MOBILE_SAM, VIT_B, VIT_L, VIT_H)}


def percentiles(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """(p50, p95) milliseconds of ``fn(i)`` over ``n`` calls (after one warm-up call)."""
    fn(0)
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def bench_kind(kind: SamKind, image: np.ndarray, clicks: np.ndarray, n: int, folder: Path) -> None:
    torch.manual_seed(0)
    weights = folder / f"{kind.name}_random.pt"
    torch.save(build_architecture(kind).state_dict(), weights)
    t = time.perf_counter()
    sam = load_sam(weights)
    load_s = time.perf_counter() - t
    cache = EmbeddingCache(folder / "cache")
    t = time.perf_counter()
    segmenter = Segmenter(sam, cache, decoder="auto")
    setup_s = time.perf_counter() - t
    t = time.perf_counter()
    embedding = segmenter.embed(image)
    embed_s = time.perf_counter() - t
    reopened = Segmenter(sam, cache, decoder="torch")
    t = time.perf_counter()
    reopened.embed(image)
    cached_ms = (time.perf_counter() - t) * 1000
    assert reopened.embeddings_computed == 0
    print(f"\n{kind.label}: load {load_s:.2f} s, decoder setup ({segmenter.decoder.name}) {setup_s:.2f} s, "
          f"embedding {embed_s:.2f} s, the same image again (disk cache) {cached_ms:.0f} ms")  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == MOBILE_SAM:
            from mobile_sam import SamPredictor
        else:
            from segment_anything import SamPredictor
    predictor = SamPredictor(sam.model)
    predictor.set_image(image)
    labels = np.array([1])
    base = percentiles(lambda i: predictor.predict(clicks[i : i + 1], labels, multimask_output=True), n)
    print(f"  baseline SamPredictor.predict (1 point, 3 masks): p50 {base[0]:.1f} ms, p95 {base[1]:.1f} ms")
    backends = {segmenter.decoder.name: segmenter}
    if segmenter.decoder.name != "torch":
        backends["torch"] = Segmenter(sam, None, decoder="torch")
    for name, seg in backends.items():
        for label, multimask in (("click, 3 masks", True), ("drag, 1 mask ", False)):
            p50, p95 = percentiles(
                lambda i, seg=seg, mm=multimask: seg.predict(
                    embedding, Prompt(points=(tuple(clicks[i]),), labels=(1,)), multimask=mm
                ),
                n,
            )
            print(f"  ours {name:11} {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                  f"p95 {base[1] / p95:.2f}x faster than the baseline")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", default="vit_t", help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image = np.asarray(Image.open(IMAGE).convert("RGB"))
    height, width = image.shape[:2]
    rng = np.random.default_rng(0)
    clicks = np.stack([rng.uniform(0, width, args.clicks + 1), rng.uniform(0, height, args.clicks + 1)], 1)
    print(f"{IMAGE.name} {width}x{height}, torch threads {torch.get_num_threads()}, {args.clicks} clicks")
    gc_p50, gc_p95 = percentiles(lambda i: grabcut(image, Box(100, 150, 400, 500), iterations=5), 5)
    print(f"GrabCut (a box, 5 iterations, core/assists downscale): p50 {gc_p50:.0f} ms, p95 {gc_p95:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="bench-segment-") as tmp:
        for name in args.kinds.split(","):
            bench_kind(KINDS[name.strip()], image, clicks, args.clicks, Path(tmp))


if __name__ == "__main__":
    main()
