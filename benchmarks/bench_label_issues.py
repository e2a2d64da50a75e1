"""Likely label errors: precision@k of the ranking on known corruptions, vs a random ranking.

    .venv/bin/python benchmarks/bench_label_issues.py                  # defaults: about a minute on 2 cores
    .venv/bin/python benchmarks/bench_label_issues.py --epochs 120 --img-size 160 --repeats 5

Copies the sample's val masks (background, person, car, chair; images whose largest object covers at
least --min-object of the image), trains a small U-Net briefly on the CLEAN masks, then --repeats times
corrupts a third of a fresh copy (tests/label_corruption.py: erase an object, swap its class, shift it)
and ranks the copy with core.quality.find_label_issues. Printed: precision@k (k = the number
corrupted) of the ranking, of the model's uncertainty ranking (hard images, not wrong labels), and of a
random ranking measured in the same run (mean of 10,000 shuffles; its expectation is k/n), and the time
per image of the ranking (prediction included). No target in the issue: it says the method works.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cocoseg_gui.core.quality.job import find_label_issues  # noqa: E402
from cocoseg_gui.core.training.config import TrainConfig  # noqa: E402
from cocoseg_gui.core.training.trainer import train  # noqa: E402
from tests.label_corruption import copy_mask_folder, corrupt_folder, keep_large_objects, precision_at  # noqa: E402
from tests.trainer_fixtures import keep_classes  # noqa: E402
from tests.training_fixtures import build_mask_folder  # noqa: E402

CLASSES = ["person", "car", "chair"]


def random_precision(files: list[str], relevant: set[str], k: int, rng: np.random.Generator) -> float:
    """Mean precision@k of 10,000 random rankings (the baseline, measured)."""
    hits = np.array([f in relevant for f in files])
    return float(np.mean([hits[rng.permutation(len(files))[:k]].mean() for _ in range(10_000)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--width", type=int, default=8, help="U-Net width")
    parser.add_argument("--min-object", type=float, default=0.03, help="largest object, share of the image")
    parser.add_argument("--repeats", type=int, default=3, help="corrupted copies (different images)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-label-issues-") as tmp:
        root = Path(tmp)
        clean = build_mask_folder(root / "clean")
        keep_classes(clean, CLASSES)
        keep_large_objects(clean, args.min_object)
        files = sorted(json.loads((clean / "image_mask_map.json").read_text(encoding="utf-8")))
        n = len(files)
        t0 = time.perf_counter()
        cfg = TrainConfig(
            data=clean, out=root / "run", epochs=args.epochs, batch_size=4, img_size=args.img_size,
            workers=0, lr=1e-2, model_kwargs={"width": args.width}, val_on_train=True, augment=False,
            time_budget_s=None, device="cpu",
        )  # fmt: skip
        end = train(cfg)
        print(
            f"{n} images ({', '.join(CLASSES)} + background), U-Net width {args.width} "
            f"at {args.img_size} px, "
            f"{args.epochs} epochs on the clean masks: {time.perf_counter() - t0:.0f} s, "
            f"best mIoU (on those images) {end.best_miou or 0.0:.3f}"
        )
        rng = np.random.default_rng(0)
        k = n // 3
        rows = []
        for seed in range(args.repeats):
            data = copy_mask_folder(clean, root / f"corrupted{seed}")
            truth = {c.file for c in corrupt_folder(data, k, seed=seed)}
            result = find_label_issues(root / "run" / "last.pt", data, device="cpu")
            ranked = [im.file for im in result.images]
            by_uncertainty = [im.file for im in sorted(result.images, key=lambda im: -im.uncertainty)]
            rows.append(
                (
                    precision_at(ranked, truth, k),
                    precision_at(by_uncertainty, truth, k),
                    random_precision(files, truth, k, rng),
                    result.seconds / n,
                )
            )
            print(
                f"copy {seed}: {k} of {n} corrupted  precision@{k}: ranking {rows[-1][0]:.2f}  "
                f"uncertainty {rows[-1][1]:.2f}  random {rows[-1][2]:.2f}  "
                f"({rows[-1][3] * 1000:.0f} ms/image)"
            )
        mean = [statistics.mean(r[i] for r in rows) for i in range(4)]
        print(
            f"mean precision@{k}: ranking {mean[0]:.2f}, uncertainty {mean[1]:.2f}, random {mean[2]:.2f} "
            f"(expected {k / n:.2f}); ratio ranking / random {mean[0] / mean[2]:.2f}; "
            f"{mean[3] * 1000:.0f} ms per image (CPU, {torch.get_num_threads()} threads, prediction included)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
