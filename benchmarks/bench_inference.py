"""CPU inference latency of each model at a fixed size, ratio vs deeplabv3_resnet50.

    .venv/bin/python benchmarks/bench_inference.py                    # 512x512, batch 1, median of 5
    .venv/bin/python benchmarks/bench_inference.py --size 256 --repeats 3 --models unet fcn_resnet50

Each model is built with random weights (pretrained="none", no network), put in eval mode, warmed up,
then timed ``--repeats`` times under torch.inference_mode; the median latency per image is printed
with its ratio to deeplabv3_resnet50 measured in the same run (the baseline: the published solutions'
model). No target in the issue: the table is for choosing a model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocoseg_gui.core.training.models import MODEL_NAMES, build_model

BASELINE = "deeplabv3_resnet50"


def latency_s(
    name: str, size: int, batch: int, repeats: int, warmup: int, num_classes: int
) -> tuple[float, int]:
    """(median seconds per image, parameter count)."""
    model = build_model(name, num_classes).eval()
    x = torch.randn(batch, 3, size, size)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            out = model(x)
            if i >= warmup:
                times.append((time.perf_counter() - t0) / batch)
    assert out.shape == (batch, num_classes, size, size)
    return statistics.median(times), sum(p.numel() for p in model.parameters())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--classes", type=int, default=81)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = [BASELINE] + [m for m in args.models if m != BASELINE]
    print(
        f"CPU, {torch.get_num_threads()} threads, {args.size}x{args.size}, batch {args.batch}, "
        f"{args.classes} classes, median of {args.repeats} after {args.warmup} warm-up"
    )
    print(f"{'model':<30} {'params (M)':>10} {'ms/image':>10} {'ratio':>7}")
    base = None
    for name in models:
        seconds, params = latency_s(name, args.size, args.batch, args.repeats, args.warmup, args.classes)
        base = base or seconds
        print(f"{name:<30} {params / 1e6:>10.1f} {seconds * 1000:>10.1f} {seconds / base:>7.2f}")
    print(f"ratio = latency / {BASELINE} latency (lower is faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
