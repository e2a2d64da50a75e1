"""The correction loop, measured: corrupt, train, rank likely label errors, fix the top-k, fine-tune.

    .venv/bin/python benchmarks/bench_loop.py --quick     # within 10 minutes on 2 CPU cores
    .venv/bin/python benchmarks/bench_loop.py             # more images, epochs and random draws

On two data sets a CPU model learns within minutes, a synthetic shapes set (circles and squares on a
textured background, 64 px) and the bundled COCO sample reduced to person vs background (train2017
for training, val2017 for validation), this corrupts 20 % of the training masks (tests/label_corruption:
objects erased, classes swapped, outlines shifted), trains a small U-Net on them, and ranks the training
images with core.quality.find_label_issues, in-sample (the model that trained on the masks) and
cross-fitted (K folds, each image scored by a model trained without it), by every score
(core.quality.image_scores). Printed, measured in the same run: precision@k and recall@k (k = the
number corrupted; recall@2k too) of each ranking, of a random ranking (10,000 shuffles) and of a simple
baseline (mask area: least foreground first), then the val mIoU after replacing the top-k masks of the
default ranking with the true ones and fine-tuning from the model, against fixing k random images the
same way (mean of --random-draws draws). The last line: ``precision@k vs random: <ratio>x`` (default
ranking, cross-fitted, both data sets pooled).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cocoseg_gui.core.masks.palette import class_color  # noqa: E402
from cocoseg_gui.core.quality.image_scores import DEFAULT_SCORE, SCORES  # noqa: E402
from cocoseg_gui.core.quality.job import find_label_issues  # noqa: E402
from cocoseg_gui.core.training.config import TrainConfig  # noqa: E402
from cocoseg_gui.core.training.trainer import train  # noqa: E402
from tests.label_corruption import copy_mask_folder, corrupt_folder, write_mask  # noqa: E402
from tests.trainer_fixtures import keep_classes  # noqa: E402
from tests.training_fixtures import SAMPLE, build_mask_folder  # noqa: E402


@dataclass(frozen=True)
class Scale:
    shapes_train: int
    shapes_val: int
    coco_train: int | None  # None: every sample train image with a person
    epochs: int
    fold_epochs: int
    finetune_epochs: int
    folds: int
    img_size: int
    width: int
    random_draws: int


QUICK = Scale(30, 16, 30, 15, 12, 5, 3, 64, 8, 2)
FULL = Scale(120, 40, None, 60, 60, 20, 5, 96, 8, 3)


# ------------------------------------------------------------------------------------------------ data
def write_folder(root: Path, images_dir: Path, masks: dict[str, np.ndarray], names: list[str]) -> Path:
    """A mask folder in docs/formats.md's layout for ``masks`` (image file name -> class map)."""
    (root / "masks").mkdir(parents=True, exist_ok=True)
    classes = [
        {"index": i, "name": n, "category_id": None if i == 0 else i, "color": list(class_color(i))}
        for i, n in enumerate(["background", *names])
    ]
    per_image, pixels = {}, np.zeros(256, dtype=np.int64)
    mask_map = {}
    for name, mask in masks.items():
        mask_name = Path(name).with_suffix(".png").name
        write_mask(root / "masks" / mask_name, mask)
        mask_map[name] = mask_name
        counts = np.bincount(mask.ravel(), minlength=256)
        pixels += counts
        per_image[mask_name] = {str(i): int(counts[i]) for i in np.flatnonzero(counts)}
    files = {
        "category_mapping.json": {
            "version": 1, "num_classes": len(classes), "ignore_index": 255, "classes": classes,
            "category_id_to_index": {str(i): i for i in range(1, len(classes))},
        },
        "image_mask_map.json": mask_map,
        "manifest.json": {
            "version": 1, "tool": "benchmarks.bench_loop", "images_dir": str(images_dir.resolve()),
            "options_hash": "bench", "num_images": len(masks), "complete": True,
        },
        "report.json": {
            "version": 1, "skipped": {}, "per_image": per_image,
            "classes": [{"index": c["index"], "name": c["name"], "pixels": int(pixels[c["index"]])}
                        for c in classes],
        },
    }  # fmt: skip
    for name, obj in files.items():
        (root / name).write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return root


def shapes_image(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One RGB image of 1-3 shapes on a noisy gradient and its class map (1 circle, 2 square)."""
    yy, xx = np.mgrid[0:size, 0:size]
    base = rng.uniform(20, 90, 3)
    tilt = rng.uniform(-0.6, 0.6, 3)
    img = base[:, None, None] + tilt[:, None, None] * (xx + yy)[None] + rng.normal(0, 12, (3, size, size))
    mask = np.zeros((size, size), dtype=np.uint8)
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.integers(1, 3))
        r = rng.uniform(6, 14)
        cy, cx = rng.uniform(r, size - r, 2)
        inside = (
            (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            if cls == 1
            else (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
        )
        hue = np.array([200, 90, 60]) if cls == 1 else np.array([70, 110, 210])
        colour = np.clip(hue + rng.normal(0, 25, 3), 0, 255)
        img[:, inside] = colour[:, None] + rng.normal(0, 10, (3, int(inside.sum())))
        mask[inside] = cls
    return np.clip(img, 0, 255).astype(np.uint8).transpose(1, 2, 0), mask


def shapes_data(root: Path, n_train: int, n_val: int) -> tuple[Path, Path, list[str]]:
    rng = np.random.default_rng(0)
    images = root / "shapes-images"
    images.mkdir(parents=True)
    split: dict[str, dict[str, np.ndarray]] = {"train": {}, "val": {}}
    for i in range(n_train + n_val):
        img, mask = shapes_image(rng)
        name = f"shape{i:04d}.png"
        Image.fromarray(img).save(images / name)
        split["train" if i < n_train else "val"][name] = mask
    names = ["circle", "square"]
    train = write_folder(root / "shapes-train", images, split["train"], names)
    val = write_folder(root / "shapes-val", images, split["val"], names)
    return train, val, names


def coco_data(root: Path, n_train: int | None) -> tuple[Path, Path, list[str]]:
    """The sample's train2017 / val2017 images with a person, as person vs background."""
    train = build_mask_folder(
        root / "coco-train", SAMPLE / "annotations" / "instances_train2017.json", SAMPLE / "train2017"
    )
    keep_classes(train, ["person"], n_train)
    val = build_mask_folder(root / "coco-val")
    keep_classes(val, ["person"])
    for folder, images in ((train, SAMPLE / "train2017"), (val, SAMPLE / "val2017")):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["images_dir"] = str(images.resolve())
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return train, val, ["person"]


# --------------------------------------------------------------------------------------------- measures
def files_of(folder: Path) -> list[str]:
    return sorted(json.loads((folder / "image_mask_map.json").read_text(encoding="utf-8")))


def at_k(ranked: list[str], relevant: set[str], k: int) -> tuple[float, float]:
    """(precision@k, recall@k)."""
    hits = sum(f in relevant for f in ranked[:k])
    return hits / k, hits / max(len(relevant), 1)


def random_at_k(
    files: list[str], relevant: set[str], k: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Mean (precision@k, recall@k) of 10,000 random rankings (the baseline, measured)."""
    hits = np.array([f in relevant for f in files])
    found = np.array([hits[rng.permutation(len(files))[:k]].sum() for _ in range(10_000)])
    return float(found.mean() / k), float(found.mean() / max(len(relevant), 1))


def area_ranking(folder: Path) -> list[str]:
    """Least foreground first: an erased or shrunken object leaves less of it."""
    mask_map = json.loads((folder / "image_mask_map.json").read_text(encoding="utf-8"))

    def foreground(name: str) -> float:
        m = np.array(Image.open(folder / "masks" / mask_map[name]))
        return float(((m != 0) & (m != 255)).mean())

    return sorted(mask_map, key=lambda f: (foreground(f), f))


def config(data: Path, val: Path, out: Path, scale: Scale, **kw: object) -> TrainConfig:
    base = dict(
        data=data, out=out, val_data=val, epochs=scale.epochs, batch_size=4, img_size=scale.img_size,
        workers=0, lr=1e-2, model_kwargs={"width": scale.width}, augment=False, time_budget_s=None,
        device="cpu", val_every=1000, overwrite=True,
    )  # fmt: skip
    base.update(kw)
    base["val_every"] = int(base["epochs"])  # type: ignore[call-overload]
    return TrainConfig(**base)  # type: ignore[arg-type]


def fixed_copy(corrupted: Path, clean: Path, fix: list[str], dst: Path) -> Path:
    """``corrupted`` with the masks of ``fix`` replaced by the clean ones."""
    out = copy_mask_folder(corrupted, dst) if not dst.exists() else dst
    mask_map = json.loads((clean / "image_mask_map.json").read_text(encoding="utf-8"))
    for f in fix:
        shutil.copy2(clean / "masks" / mask_map[f], out / "masks" / mask_map[f])
    return out


# ------------------------------------------------------------------------------------------------- run
def run_dataset(
    label: str, clean: Path, val: Path, root: Path, scale: Scale, rng: np.random.Generator
) -> dict:
    files = files_of(clean)
    n = len(files)
    k = max(1, round(0.2 * n))
    corrupted = copy_mask_folder(clean, root / f"{label}-corrupted")
    truth = {c.file for c in corrupt_folder(corrupted, k, seed=1)}
    t0 = time.perf_counter()
    end = train(config(corrupted, val, root / f"{label}-run", scale))
    model = root / f"{label}-run" / "last.pt"
    train_s = time.perf_counter() - t0
    print(
        f"\n[{label}] {n} training images ({k} corrupted: erase/swap/shift in turn), "
        f"{len(files_of(val))} val; U-Net width {scale.width} at {scale.img_size} px, {scale.epochs} epochs: "
        f"{train_s:.0f} s, val mIoU {end.best_miou or 0.0:.3f}"
    )
    rankings: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    insample = find_label_issues(model, corrupted, device="cpu", batch_size=4)
    in_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    crossfit = find_label_issues(
        model, corrupted, device="cpu", batch_size=4, cross_fit=scale.folds,
        fold_options={"epochs": scale.fold_epochs, "workers": 0},
    )  # fmt: skip
    cf_s = time.perf_counter() - t0
    for how, result in (("in-sample", insample), (f"cross-fit {scale.folds}", crossfit)):
        for score in SCORES:
            ranked = sorted(result.images, key=lambda im, s=score: (-im.scores[s], im.file))
            rankings[f"{how} {score}"] = [im.file for im in ranked]
        rankings[f"{how} uncertainty"] = [
            im.file for im in sorted(result.images, key=lambda im: (-im.uncertainty, im.file))
        ]
    rankings["mask area (least first)"] = area_ranking(corrupted)
    rand = random_at_k(files, truth, k, rng)
    rand2 = random_at_k(files, truth, min(2 * k, n), rng)
    print(
        f"ranking in-sample {in_s:.0f} s; "
        f"cross-fitted ({scale.folds} folds, {scale.fold_epochs} epochs) {cf_s:.0f} s"
    )
    print(f"{'ranking':34s} {'P@k':>5s} {'R@k':>5s} {'R@2k':>5s}  (k = {k} of {n})")
    rows = {}
    for name, ranked in rankings.items():
        p, r = at_k(ranked, truth, k)
        r2 = at_k(ranked, truth, min(2 * k, n))[1]
        rows[name] = (p, r, r2)
        print(f"{name:34s} {p:5.2f} {r:5.2f} {r2:5.2f}")
    print(f"{'random (10,000 shuffles)':34s} {rand[0]:5.2f} {rand[1]:5.2f} {rand2[1]:5.2f}")
    # the fix: the default cross-fitted ranking's top k against k random images, then fine-tune
    chosen = rankings[f"cross-fit {scale.folds} {DEFAULT_SCORE}"][:k]
    tune = {"epochs": scale.finetune_epochs, "init_from": model, "lr": 2e-3}  # a short, gentle schedule
    top = fixed_copy(corrupted, clean, chosen, root / f"{label}-fix-top")
    miou_top = train(config(top, val, root / f"{label}-ft-top", scale, **tune)).best_miou or 0.0
    miou_random = []
    for d in range(scale.random_draws):
        pick = [files[i] for i in rng.choice(n, size=k, replace=False)]
        fixed = fixed_copy(corrupted, clean, pick, root / f"{label}-fix-random{d}")
        miou_random.append(
            train(config(fixed, val, root / f"{label}-ft-random{d}", scale, **tune)).best_miou or 0.0
        )
    mean_random = statistics.mean(miou_random)
    print(
        f"fix {k} masks, fine-tune {scale.finetune_epochs} epochs: val mIoU top-k "
        f"({DEFAULT_SCORE}, cross-fitted; {sum(f in truth for f in chosen)} of them corrupted) "
        f"{miou_top:.3f}, "
        f"k random {mean_random:.3f} (mean of {len(miou_random)}), before {end.best_miou or 0.0:.3f}"
    )
    return {
        "rows": rows,
        "p_default": rows[f"cross-fit {scale.folds} {DEFAULT_SCORE}"][0],
        "p_random": rand[0],
        "p_area": rows["mask area (least first)"][0],
        "miou_top": miou_top,
        "miou_random": mean_random,
    }


ARMS = ("shapes", "coco")


def arm(label: str, scale: Scale, tmp: Path, threads: int) -> dict:
    """One data set's whole loop (in its own process when run in parallel); its printout in "text"."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    root = tmp / label
    root.mkdir()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):  # pycocotools' chatter included: dropped below
        if label == "shapes":
            train_dir, val_dir, _ = shapes_data(root, scale.shapes_train, scale.shapes_val)
        else:
            train_dir, val_dir, _ = coco_data(root, scale.coco_train)
        result = run_dataset(label, train_dir, val_dir, root, scale, np.random.default_rng(ARMS.index(label)))
    chatter = ("loading annotations", "Done (t=", "creating index", "index created")
    result["text"] = "".join(
        line for line in text.getvalue().splitlines(True) if not line.startswith(chatter)
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small scale (within 10 minutes on 2 CPUs)")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch CPU threads (default 1: on a shared 2-core machine more threads spin against each other; "
        "0: torch's default)",
    )  # fmt: skip
    parser.add_argument("--only", choices=("shapes", "coco"), help="one data set")
    parser.add_argument("--jobs", type=int, default=2, help="data sets run at once, one process each")
    for name in ("epochs", "fold_epochs", "finetune_epochs", "folds", "img_size", "random_draws"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help="override the scale's value")
    args = parser.parse_args()
    import torch

    scale = QUICK if args.quick else FULL
    changed = {k: v for k, v in vars(args).items() if k in Scale.__dataclass_fields__ and v is not None}
    scale = dataclasses.replace(scale, **changed)
    started = time.perf_counter()
    labels = [a for a in ARMS if args.only in (None, a)]
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        if args.jobs > 1 and len(labels) > 1:  # one process per data set: 2 cores, 1 thread each
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(args.jobs, len(labels)), mp_context=ctx) as pool:
                futures = [pool.submit(arm, a, scale, Path(tmp), args.threads) for a in labels]
                results = [f.result() for f in futures]
        else:
            results = [arm(a, scale, Path(tmp), args.threads) for a in labels]
    for r in results:
        print(r["text"], end="")
    p = statistics.mean(r["p_default"] for r in results)
    p_rand = statistics.mean(r["p_random"] for r in results)
    print(f"\nall data sets, mean precision@k / random's ({p_rand:.2f}):")
    for name in results[0]["rows"]:
        mean_p = statistics.mean(r["rows"][name][0] for r in results)
        print(f"  {name:34s} {mean_p:5.2f}  {mean_p / p_rand:4.1f}x")
    p_area = statistics.mean(r["p_area"] for r in results)
    wins = sum(r["miou_top"] > r["miou_random"] for r in results)
    print(
        f"\nall data sets: precision@k {p:.2f} ({DEFAULT_SCORE}, cross-fitted), mask area {p_area:.2f}, "
        f"random {p_rand:.2f}; fixing the top-k beat fixing k random images on {wins} of {len(results)} "
        f"(val mIoU); {time.perf_counter() - started:.0f} s in all, CPU, {len(results)} data sets at once "
        f"(--jobs {args.jobs}), {args.threads or torch.get_num_threads()} torch threads each"
    )
    print(f"precision@k vs random: {p / p_rand:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
