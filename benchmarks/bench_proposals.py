"""A model proposal for a 1024x768 image on the CPU, ratio vs the bare model forward; confidence recolour.

    .venv/bin/python benchmarks/bench_proposals.py                    # lraspp_mobilenet_v3_large, median of 5
    .venv/bin/python benchmarks/bench_proposals.py --model deeplabv3_resnet50 --repeats 3

The torchvision model's weights are random (pretrained none): they are saved under a temporary TORCH_HOME
with the file name torchvision expects and loaded the way the app does (never downloaded), so the
timing is the app's path: ``ProposalSource.propose`` = Predictor preprocessing + forward + softmax at
the original size + max-softmax / margin + class remap. Baseline, measured in the same run: the bare
model forward on the same letterboxed 520x520 tensor (what no proposal can beat). The confidence
view's recolour (``confidence_rgba``) is timed against the class-colour layer's recolour (a 256-entry
ARGB lookup of the proposal's class map, what the proposal layer draws without the confidence view).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocoseg_gui.core.proposals.confidence_view import confidence_rgba
from cocoseg_gui.core.proposals.proposal import ConfidenceKind
from cocoseg_gui.core.proposals.source import (
    TORCHVISION_MODELS,
    ProposalSource,
    SourceSpec,
    torchvision_weights,
)
from cocoseg_gui.core.training.models import weights_cache_path

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco" / "val2017"
TARGET = {0: "background", 1: "person", 2: "car", 3: "dog", 4: "airplane", 5: "couch", 6: "tv"}


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def fake_weights(model: str, home: Path) -> None:
    """Random weights at the cache path torchvision would use (no network)."""
    from torchvision.models import segmentation as seg

    os.environ["TORCH_HOME"] = str(home)
    path = weights_cache_path(torchvision_weights(model))
    path.parent.mkdir(parents=True, exist_ok=True)
    builder = getattr(seg, model)
    kw = {} if model.startswith("lraspp") else {"aux_loss": False}
    torch.save(builder(weights=None, weights_backbone=None, num_classes=21, **kw).state_dict(), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lraspp_mobilenet_v3_large", choices=TORCHVISION_MODELS)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from PIL import Image

    image = Image.open(sorted(SAMPLE.iterdir())[0]).convert("RGB").resize((args.width, args.height))
    with tempfile.TemporaryDirectory() as home:
        fake_weights(args.model, Path(home))
        t0 = time.perf_counter()
        source = ProposalSource.load(SourceSpec(torchvision=args.model), TARGET, device="cpu")
        load_ms = (time.perf_counter() - t0) * 1000
    predictor = source.predictor
    tensor, _ = predictor.transform(image, None)
    batch = tensor[None]

    def bare_forward() -> None:
        with torch.inference_mode():
            predictor.model(batch)

    forward = median_ms(bare_forward, args.repeats)
    propose = median_ms(lambda: source.propose(image), args.repeats)
    proposal = source.propose(image)
    lut32 = np.arange(256, dtype=np.uint32) * np.uint32(0x010101) | np.uint32(0x8C000000)
    copy_ms = median_ms(lambda: lut32[proposal.file_labels()], args.repeats * 4)
    recolour = {
        k: median_ms(lambda k=k: confidence_rgba(proposal, k), args.repeats * 4) for k in ConfidenceKind
    }
    print(
        f"CPU, {torch.get_num_threads()} threads, {args.model} (random weights), "
        f"image {args.width}x{args.height}, "
        f"model input {predictor.img_size} letterbox, median of {args.repeats} after 1 warm-up"
    )
    print(f"model load (from the cache file, once per source): {load_ms:8.1f} ms")
    print(f"{'step':<42} {'ms':>8} {'ratio':>7}")
    print(f"{'bare model forward (baseline)':<42} {forward:8.1f} {1.0:7.2f}")
    print(f"{'proposal (ProposalSource.propose)':<42} {propose:8.1f} {propose / forward:7.2f}")
    print(f"{'class-colour layer, ARGB LUT (baseline)':<42} {copy_ms:8.2f} {1.0:7.2f}")
    for kind, ms in recolour.items():
        print(f"{'confidence recolour (' + kind.value + ')':<42} {ms:8.2f} {ms / copy_ms:7.2f}")
    print("ratio = time / the baseline above it, same run (lower is faster); never on the GUI thread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
