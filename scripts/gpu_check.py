"""`scripts/gpu-check`: what the CPU test suite cannot check, on one CUDA GPU, in one table.

1. train() for ``--steps`` optimiser steps with AMP bf16 and fp16 (channels_last: the trainer's default on
   CUDA) against a plain PyTorch loop (the same model, loss, optimiser, autocast dtype, channels_last and
   in-memory batches): images/s and the ratio; the losses must be finite.
2. A one-GPU NCCL DDP start: torchrun with 1 process joins an NCCL group, wraps the model in DDP, takes
   a few steps and all-reduces.
3. predict images/s on the GPU (predict_files over sample images) against the bare model forward on
   the same letterboxed batches.

Without CUDA it stops at once with exit 2 and says why. Budget: under 8 minutes on one GPU (each part
is bounded by steps, not time; ``--steps 300`` by default).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def require_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        return
    build = torch.version.cuda or "none (a CPU-only build of torch)"
    print(
        f"gpu-check: no CUDA GPU: torch {torch.__version__} (CUDA build: {build}) sees "
        f"{torch.cuda.device_count()} CUDA devices; run it on a machine with an NVIDIA GPU, its driver and "
        "a CUDA build of torch",
        file=sys.stderr,
    )
    raise SystemExit(2)


def sample_folder(tmp: Path) -> Path:
    from tests.training_fixtures import build_mask_folder

    return build_mask_folder(tmp / "masks", max_images=16)


def train_rate(folder: Path, out: Path, amp: str, args: argparse.Namespace) -> tuple[float, float]:
    """(images/s of train() after its first epoch, last loss) with ``amp`` on cuda."""
    import benchmarks.bench_train_step as bench
    import cocoseg_gui.core.training.data as data_module
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.event_types import EpochEvent, StepEvent
    from cocoseg_gui.core.training.trainer import train

    steps = args.images // args.batch_size
    epochs = max(2, math.ceil(args.steps / steps))
    cfg = TrainConfig(
        data=folder, out=out, epochs=epochs, batch_size=args.batch_size, img_size=args.img_size,
        workers=0, model_kwargs={"width": args.width}, log_every=steps, val_every=10_000, val_on_train=True,
        augment=False, time_budget_s=None, seed=0, device="cuda", amp=amp,
    )  # fmt: skip
    rates: list[float] = []
    losses: list[float] = []

    def on_event(e: object) -> None:
        if isinstance(e, StepEvent):
            rates.append(e.images_per_s)
        if isinstance(e, EpochEvent) and e.train_loss is not None:
            losses.append(e.train_loss)

    original, original_check = data_module.MaskDataset, data_module.check_foreground
    data_module.MaskDataset = bench.MemDataset  # type: ignore[misc]
    data_module.check_foreground = lambda *a, **k: None
    try:
        end = train(cfg, callbacks=[on_event])
    finally:
        data_module.MaskDataset, data_module.check_foreground = original, original_check  # type: ignore[misc]
    if end.status != "finished":
        raise RuntimeError(f"train() with amp {amp} ended {end.status}: {end.reason}")
    return max(rates[1:] or rates), losses[-1] if losses else math.nan


def plain_rate(num_classes: int, amp: str, args: argparse.Namespace) -> tuple[float, float]:
    """(images/s, last loss) of a textbook AMP loop over the same in-memory samples."""
    import torch

    import benchmarks.bench_train_step as bench
    from cocoseg_gui.core.training.losses import build_loss
    from cocoseg_gui.core.training.models import build_model
    from cocoseg_gui.core.training.optim import build_optimizer, build_scheduler

    dev = torch.device("cuda")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    torch.manual_seed(0)
    model = build_model("unet", num_classes, width=args.width).to(dev).to(memory_format=torch.channels_last)
    loss_fn = build_loss("ce", num_classes, 255)
    opt = build_optimizer("adamw", model.parameters(), 1e-3, 1e-4)
    steps_per_epoch = args.images // args.batch_size
    epochs = max(2, math.ceil(args.steps / steps_per_epoch))
    sched = build_scheduler(opt, "poly", steps_per_epoch * epochs)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
    loader = torch.utils.data.DataLoader(bench.MemDataset(None), batch_size=args.batch_size, shuffle=True)
    best, loss = 0.0, torch.zeros(())
    for _ in range(epochs):
        torch.cuda.synchronize()
        t0, n = time.perf_counter(), 0
        for images, masks in loader:
            images = images.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            masks = masks.to(dev, non_blocking=True)
            with torch.autocast("cuda", dtype=dtype):
                loss = loss_fn(model(images).float(), masks)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            n += images.shape[0]
        torch.cuda.synchronize()
        best = max(best, n / (time.perf_counter() - t0))
    return best, float(loss.item())


DDP_WORKER = """
import os, torch, torch.distributed as dist
from cocoseg_gui.core.training.models import build_model
dist.init_process_group("nccl")
rank = int(os.environ["LOCAL_RANK"]); torch.cuda.set_device(rank)
model = torch.nn.parallel.DistributedDataParallel(build_model("unet", 3, width=8).cuda(), device_ids=[rank])
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for _ in range(5):
    loss = model(torch.randn(2, 3, 64, 64, device="cuda")).float().mean()
    opt.zero_grad(); loss.backward(); opt.step()
t = torch.ones(1, device="cuda"); dist.all_reduce(t)
assert dist.get_backend() == "nccl" and t.item() == dist.get_world_size()
print("ddp-ok", dist.get_backend(), dist.get_world_size(), flush=True)
dist.destroy_process_group()
"""


def ddp_start(tmp: Path) -> tuple[bool, str, float]:
    """(ok, detail, seconds) of torchrun --nproc_per_node 1 joining NCCL and taking DDP steps."""
    script = tmp / "ddp_worker.py"
    script.write_text(DDP_WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", "--master_port", "29517",
           str(script)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode == 0 and "ddp-ok nccl 1" in proc.stdout:
        return True, "nccl, world 1, 5 DDP steps, all_reduce", seconds
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return False, f"exit {proc.returncode}: {tail[0][:80]}", seconds


def predict_rate(tmp: Path, args: argparse.Namespace) -> tuple[float, float, int]:
    """(predict_files images/s, bare forward images/s on the same batches, images)."""
    import torch

    from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
    from cocoseg_gui.core.training.models import build_model
    from cocoseg_gui.core.training.predict import Predictor, predict_files
    from cocoseg_gui.core.training.transforms import load_rgb

    images = tmp / "predict_in"
    images.mkdir()
    for f in sorted((REPO / "resources" / "sample_coco" / "val2017").glob("*.jpg"))[: args.predict_images]:
        shutil.copy(f, images / f.name)
    torch.manual_seed(0)
    net = build_model("unet", 21, width=args.width)
    classes = [{"index": i, "name": f"c{i}", "color": [i * 12, 80, 160]} for i in range(21)]
    ckpt = build_checkpoint(
        model_name="unet", model_kwargs=dict(net.model_kwargs), state_dict=net.state_dict(), classes=classes,
        ignore_index=255, img_size=args.img_size, resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    save_checkpoint(tmp / "predict.pt", ckpt)
    files = sorted(images.iterdir())
    predict_files(tmp / "predict.pt", [images], tmp / "warm", device="cuda", batch_size=args.batch_size)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    predict_files(tmp / "predict.pt", [images], tmp / "out", device="cuda", batch_size=args.batch_size)
    torch.cuda.synchronize()
    full = len(files) / (time.perf_counter() - t0)
    predictor = Predictor.from_checkpoint(tmp / "predict.pt", "cuda")
    batches = [
        torch.stack([predictor._prepare(load_rgb(f))[0] for f in files[i : i + args.batch_size]]).cuda()
        for i in range(0, len(files), args.batch_size)
    ]
    with torch.no_grad():
        predictor.model(batches[0])
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for b in batches:
            predictor.model(b)
        torch.cuda.synchronize()
    bare = len(files) / (time.perf_counter() - t0)
    return full, bare, len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps per training check")
    parser.add_argument("--images", type=int, default=64, help="samples per epoch (sample images cycled)")
    parser.add_argument("--img-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--width", type=int, default=32, help="unet width")
    parser.add_argument("--predict-images", type=int, default=48)
    args = parser.parse_args()
    require_cuda()
    import torch

    import benchmarks.bench_train_step as bench

    started = time.perf_counter()
    rows: list[tuple[str, str, str, str, bool]] = []  # check, result, baseline, ratio, ok
    with tempfile.TemporaryDirectory(prefix="cocoseg-gpu-check-") as tmp_name:
        tmp = Path(tmp_name)
        folder = sample_folder(tmp)
        bench.load_samples(folder, args.img_size)
        bench.MemDataset.length = args.images
        num_classes = bench.MemDataset.meta["num_classes"]
        for amp in ("bf16", "fp16"):
            if amp == "bf16" and not torch.cuda.is_bf16_supported():
                rows.append((f"train {amp} + channels_last", "not supported by this GPU", "-", "-", True))
                continue
            plain, plain_loss = plain_rate(num_classes, amp, args)
            engine, loss = train_rate(folder, tmp / f"run-{amp}", amp, args)
            ok = math.isfinite(loss) and math.isfinite(plain_loss)
            rows.append((
                f"train {amp} + channels_last, {args.steps} steps", f"{engine:.0f} img/s, loss {loss:.3f}",
                f"plain loop {plain:.0f} img/s, loss {plain_loss:.3f}", f"{engine / plain:.2f}x", ok,
            ))  # fmt: skip
        ok, detail, seconds = ddp_start(tmp)
        rows.append(("DDP start, 1 GPU (torchrun)", detail, "-", f"{seconds:.1f} s", ok))
        full, bare, n = predict_rate(tmp, args)
        rows.append((
            f"predict {n} images, batch {args.batch_size}", f"{full:.1f} img/s",
            f"bare forward {bare:.1f} img/s", f"{full / bare:.2f}x", True,
        ))  # fmt: skip
    name = torch.cuda.get_device_name(0)
    print(f"gpu-check on {name} (torch {torch.__version__}, CUDA {torch.version.cuda}), "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("check", "result", "baseline (same run)", "ratio")
    widths = [max(w, len(h)) for w, h in zip(widths, head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  status")
    for *cells, good in rows:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)) + ("  ok" if good else "  FAILED"))
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
