"""Training data pipeline: MaskDataset + train transforms vs the published solutions' loader.

    .venv/bin/python benchmarks/bench_data_pipeline.py                  # 512 px, 0 and 2 workers
    .venv/bin/python benchmarks/bench_data_pipeline.py --size 256 --epochs 2

Baseline (what the published solutions do): PIL open + convert RGB, resize the image to a fixed
square (bilinear), ToTensor, mask resized NEAREST to a tensor; no augmentation, no normalisation.
Ours does more per image (EXIF/mode handling, random scale 0.5-2x, pad, crop, flip, colour jitter,
normalisation), so the ratio shows the cost of that work. Both run in the same process on the
sample val images (mask folder written by generate_masks), same batch size and worker counts.
No target in the issue: the ratio is printed for tracking.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cocoseg_gui.core.training.data import MaskDataset, collate_skip_none  # noqa: E402
from cocoseg_gui.core.training.transforms import build_transforms  # noqa: E402

SAMPLE = REPO / "resources" / "sample_coco"


class BaselineDataset(torch.utils.data.Dataset):
    """The published solutions' loader: fixed-size resize, ToTensor, nearest mask."""

    def __init__(self, ds: MaskDataset, size: int) -> None:
        from torchvision import transforms

        self.ds, self.size = ds, size
        self.to_tensor = transforms.ToTensor()

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = (
            Image.open(self.ds.image_path(i)).convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        )
        mask = Image.open(self.ds.mask_path(i)).resize((self.size, self.size), Image.NEAREST)
        return self.to_tensor(image), torch.from_numpy(np.array(mask)).long()


def make_mask_folder(out: Path) -> Path:
    try:
        from cocoseg_gui.core.masks.job import generate_masks
        from cocoseg_gui.core.masks.options import MaskOptions

        generate_masks(
            SAMPLE / "annotations" / "instances_val2017.json", SAMPLE / "val2017", out, MaskOptions(workers=1)
        )
    except ImportError:  # mask generator not available: the test fixture (pycocotools) writes the same format
        from tests.training_fixtures import build_mask_folder

        build_mask_folder(out)
    return out


def images_per_s(dataset: torch.utils.data.Dataset, workers: int, batch: int, epochs: int) -> float:
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        collate_fn=collate_skip_none,
        persistent_workers=workers > 0,
    )
    for _ in loader:  # warm-up epoch: worker start, file cache
        pass
    n, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        for images, _masks in loader:
            n += images.shape[0]
    return n / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # one image pipeline per core, as in DataLoader workers
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_mask_folder(Path(tmp) / "masks")
        ours = MaskDataset(folder, transform=build_transforms(args.size, train=True))
        base = BaselineDataset(MaskDataset(folder), args.size)
        print(f"{len(ours)} sample images, {args.size}px, batch {args.batch}, {args.epochs} epochs timed")
        print(f"{'workers':>7} {'baseline img/s':>15} {'ours img/s':>11} {'ours/worker':>12} {'ratio':>6}")
        for w in args.workers:
            b = images_per_s(base, w, args.batch, args.epochs)
            o = images_per_s(ours, w, args.batch, args.epochs)
            print(f"{w:>7} {b:>15.1f} {o:>11.1f} {o / max(w, 1):>12.1f} {o / b:>6.2f}")
        print(
            "ratio = ours / baseline images per second (higher is better; ours also augments and normalises)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
