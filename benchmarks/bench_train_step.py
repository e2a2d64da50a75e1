"""Overhead of the training engine: images/s of ``train()`` vs a plain PyTorch loop.

Both run the same UNet, loss, AdamW + poly schedule and batches on the same in-memory samples
(decoded once from resources/sample_coco), so the difference is what train() adds: the epoch
sampler with per-sample seeds, skipped-image accounting, events (metrics.jsonl + callbacks),
stop checks and time-budget bookkeeping. Epoch 0 of each is warm-up; the best later epoch of
each is compared. Target: overhead < 3%.

    .venv/bin/python -m benchmarks.bench_train_step [--images 32] [--img-size 64] [--epochs 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import torch

REPO = Path(__file__).resolve().parents[1]
TARGET_OVERHEAD = 0.03


class MemDataset(torch.utils.data.Dataset):
    """Stands in for MaskDataset: the same preloaded samples, cycled to ``length``."""

    samples: ClassVar[list[tuple[torch.Tensor, torch.Tensor]]] = []
    meta: ClassVar[dict[str, Any]] = {}
    length: ClassVar[int] = 0

    def __init__(self, root: Any, files: Any = None, transform: Any = None) -> None:
        self.files = [f"img{i}.jpg" for i in range(self.length)]
        self.classes = self.meta["classes"]
        self.num_classes = self.meta["num_classes"]
        self.ignore_index = self.meta["ignore_index"]
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.samples[i % len(self.samples)]


def load_samples(folder: Path, img_size: int) -> None:
    from cocoseg_gui.core.training.data import MaskDataset, build_transforms

    ds = MaskDataset(folder, transform=build_transforms(img_size, train=False))
    MemDataset.samples = [ds[i] for i in range(len(ds))]
    MemDataset.meta = {"classes": ds.classes, "num_classes": ds.num_classes, "ignore_index": ds.ignore_index}


def engine_rates(folder: Path, out: Path, args: argparse.Namespace) -> list[float]:
    """images/s of each epoch of train() (one step event per epoch, its window = the whole epoch)."""
    import cocoseg_gui.core.training.data as data_module
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.event_types import StepEvent
    from cocoseg_gui.core.training.trainer import train

    steps = args.images // args.batch_size
    cfg = TrainConfig(
        data=folder, out=out, epochs=args.epochs, batch_size=args.batch_size, img_size=args.img_size,
        workers=0, model_kwargs={"width": args.width}, log_every=steps, val_every=10_000, val_on_train=True,
        augment=False, time_budget_s=None, seed=0,
    )  # fmt: skip
    rates: list[float] = []
    original, original_check = data_module.MaskDataset, data_module.check_foreground
    data_module.MaskDataset = MemDataset  # type: ignore[misc]
    data_module.check_foreground = lambda *a, **k: None  # the in-memory files are not in report.json
    try:
        train(cfg, callbacks=[lambda e: rates.append(e.images_per_s) if isinstance(e, StepEvent) else None])
    finally:
        data_module.MaskDataset, data_module.check_foreground = original, original_check  # type: ignore[misc]
    return rates


def plain_rates(num_classes: int, args: argparse.Namespace) -> list[float]:
    """images/s of each epoch of a textbook loop over the same samples."""
    from cocoseg_gui.core.training.losses import build_loss
    from cocoseg_gui.core.training.models import build_model
    from cocoseg_gui.core.training.optim import build_optimizer, build_scheduler

    torch.manual_seed(0)
    model = build_model("unet", num_classes, width=args.width)
    loss_fn = build_loss("ce", num_classes, 255)
    opt = build_optimizer("adamw", model.parameters(), 1e-3, 1e-4)
    steps = args.images // args.batch_size
    sched = build_scheduler(opt, "poly", steps * args.epochs)
    ds = MemDataset(None)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=0)
    model.train()
    rates = []
    for _ in range(args.epochs):
        t0, n = time.perf_counter(), 0
        for images, masks in loader:
            loss = loss_fn(model(images).float(), masks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            n += images.shape[0]
        loss.item()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="samples per epoch (sample images cycled)")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--width", type=int, default=8, help="unet width")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternate engine/plain this many times")
    args = parser.parse_args()

    from tests.training_fixtures import build_mask_folder

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_mask_folder(Path(tmp) / "masks", max_images=16)
        load_samples(folder, args.img_size)
        MemDataset.length = args.images
        num_classes = MemDataset.meta["num_classes"]
        engine: list[float] = []
        plain: list[float] = []
        for r in range(args.rounds):  # alternate so load changes on the machine hit both
            plain += plain_rates(num_classes, args)[1:]
            engine += engine_rates(folder, Path(tmp) / f"run{r}", args)[1:]
    best_engine, best_plain = max(engine), max(plain)
    overhead = 1.0 - best_engine / best_plain
    print(f"model unet width {args.width}, {args.img_size}px, batch {args.batch_size}, "
          f"{args.images} images/epoch, threads {torch.get_num_threads()}")  # fmt: skip
    print(f"plain loop : {best_plain:8.2f} img/s (best of {len(plain)} epochs)")
    print(f"train()    : {best_engine:8.2f} img/s (best of {len(engine)} epochs)")
    print(f"ratio train()/plain = {best_engine / best_plain:.3f}; overhead {overhead * 100:+.1f}% "
          f"(target < {TARGET_OVERHEAD * 100:.0f}%)")  # fmt: skip
    ok = overhead < TARGET_OVERHEAD
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
