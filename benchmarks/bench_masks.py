"""Benchmark: `generate_masks` against the published solutions' approach, on a val2017-sized dataset.

The dataset repeats resources/sample_coco's val split (50 images, 382 annotations) until it has
``--images`` records (default 5,000, about 38k annotations, like val2017); each repeated record gets
a distinct file name, a symlink to the sample image. The baseline is what the published solutions do:
pycocotools ``COCO(ann)``, then per image ``annToMask`` for each non-crowd annotation,
``mask[m > 0] = label``, ``Image.fromarray(mask).save(png)``, one process. Ours runs with
``--overlap later --crowd skip`` (the same semantics), default workers. Both times include loading the
JSON. Every output mask is compared pixel for pixel. Target: ours at least 5x faster.

    .venv/bin/python -m benchmarks.bench_masks [--images 5000] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "sample_coco"
TARGET_RATIO = 5.0


def build_dataset(root: Path, n_images: int) -> tuple[Path, Path]:
    """Write root/annotations.json with n_images records and root/images/ with symlinks (copies if needed)."""
    src = json.loads((SAMPLE / "annotations" / "instances_val2017.json").read_text())
    by_image: dict[int, list[dict]] = {}
    for ann in src["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    images_dir = root / "images"
    sources = images_dir / "_src"  # links must stay inside the image folder (ADR 0003)
    shutil.copytree(SAMPLE / "val2017", sources)
    images, annotations = [], []
    next_ann = 1
    for k in range(n_images):
        rep, base = divmod(k, len(src["images"]))
        img = dict(src["images"][base])
        name = f"r{rep:04d}_{img['file_name']}"
        target = images_dir / name
        try:
            target.symlink_to(sources / img["file_name"])
        except OSError:
            shutil.copyfile(SAMPLE / "val2017" / img["file_name"], target)
        new_id = k + 1
        for ann in by_image.get(img["id"], []):
            annotations.append({**ann, "id": next_ann, "image_id": new_id})
            next_ann += 1
        img.update(id=new_id, file_name=name)
        images.append(img)
    data = {"images": images, "annotations": annotations, "categories": src["categories"]}
    path = root / "annotations.json"
    path.write_text(json.dumps(data))
    return path, images_dir


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def baseline(annotations: Path, out: Path) -> float:
    """The published solutions' loop; class label = position in ascending category id + 1."""
    from pycocotools.coco import COCO

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(annotations))
    label_of = {cid: i + 1 for i, cid in enumerate(sorted(coco.getCatIds()))}
    out.mkdir(parents=True)
    for image_id in coco.getImgIds():
        info = coco.imgs[image_id]
        mask = np.zeros((info["height"], info["width"]), dtype=np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False)):
            m = coco.annToMask(ann)
            mask[m > 0] = label_of[ann["category_id"]]
        Image.fromarray(mask).save(out / (Path(info["file_name"]).stem + ".png"))
    return time.perf_counter() - t0


def ours(annotations: Path, images_dir: Path, out: Path, workers: int | None) -> float:
    from cocoseg_gui.core.masks.job import generate_masks
    from cocoseg_gui.core.masks.options import MaskOptions, default_workers

    options = MaskOptions(overlap="later", crowd="skip", workers=workers or default_workers())
    t0 = time.perf_counter()
    generate_masks(annotations, images_dir, out, options)
    return time.perf_counter() - t0


def compare(base_dir: Path, our_dir: Path) -> tuple[int, int]:
    """(masks compared, masks that differ)."""
    names = sorted(p.name for p in base_dir.iterdir())
    differ = 0
    for name in names:
        a = np.asarray(Image.open(base_dir / name))
        b = np.asarray(Image.open(our_dir / "masks" / name))
        differ += a.shape != b.shape or not np.array_equal(a, b)
    return len(names), differ


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000, help="image records (default 5000)")
    parser.add_argument("--workers", type=int, default=None, help="workers for ours (default: min(4, cpus))")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_masks_"))
    os.environ["COCOSEG_CACHE_DIR"] = str(root / "index_cache")  # a cold index load, like the baseline's
    try:
        annotations, images_dir = build_dataset(root / "data", args.images)
        n_anns = len(json.loads(annotations.read_text())["annotations"])
        print(f"dataset: {args.images} images, {n_anns} annotations, cpus={os.cpu_count()}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"load average before: {load:.2f} (other processes share these cpus: wall ratios move with it)")
        c0 = cpu_seconds()
        t_ours = ours(annotations, images_dir, root / "ours", args.workers)
        c1 = cpu_seconds()
        print(f"ours (generate_masks, later, crowd skip):           {t_ours:.2f} s wall, {c1 - c0:.2f} s cpu")
        t_base = baseline(annotations, root / "baseline")
        c2 = cpu_seconds()
        print(f"baseline (COCO + annToMask + PIL save, 1 process):  {t_base:.2f} s wall, {c2 - c1:.2f} s cpu")
        print(f"cpu-time ratio (work per mask, independent of parallelism): {(c2 - c1) / (c1 - c0):.2f}x")
        n, differ = compare(root / "baseline", root / "ours")
        size_base = folder_bytes(root / "baseline") / n
        size_ours = folder_bytes(root / "ours" / "masks") / n
        print(f"masks compared: {n}, differing: {differ}")
        print(f"mean PNG size: baseline {size_base / 1024:.1f} KiB, ours {size_ours / 1024:.1f} KiB")
        ratio = t_base / t_ours
        ok = ratio >= TARGET_RATIO and differ == 0 and n == args.images
        verdict = "PASS" if ok else "FAIL"
        print(f"speed-up: {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x, identical masks) -> {verdict}")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
