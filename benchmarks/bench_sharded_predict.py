"""Sharded predict: images/s of `cocoseg predict` on 1 and 2 torchrun processes against one plain process.

    .venv/bin/python -m benchmarks.bench_sharded_predict                 # 24 sample images, U-Net, CPU
    .venv/bin/python -m benchmarks.bench_sharded_predict --images 48 --model lraspp_mobilenet_v3_large

One folder of sample val images and one checkpoint (random weights, no network) are predicted three times
in the same run: one process without torchrun (the baseline), torchrun with 1 process and with 2. Each
process gets cpu_count / processes torch threads; the time is the predict job's own (process start and
imports excluded: rank 0 times the job between two barriers). The three alternate for ``--rounds`` rounds
and the best of each counts (load on a shared machine hits all three). The masks of every run are
compared with the baseline's byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SAMPLE_VAL = REPO / "resources" / "sample_coco" / "val2017"


def worker(ckpt: Path, images: Path, out: Path, batch: int) -> int:
    """One process of a run (torchrun or not): predict, print rank 0's job seconds as JSON."""
    from cocoseg_gui.core.training.predict import predict_files
    from cocoseg_gui.core.training.sharding import sharded_job

    with sharded_job() as shard:
        shard.barrier()
        t0 = time.perf_counter()
        result = predict_files(ckpt, [images], out, device="cpu", batch_size=batch, shard=shard)
        shard.barrier()
        seconds = time.perf_counter() - t0
    if shard.is_main:
        print(json.dumps({"seconds": seconds, "masks": len(result.masks)}))
    return 0


def make_inputs(tmp: Path, count: int, model: str) -> tuple[Path, Path]:
    import torch

    from cocoseg_gui.core.training.checkpoint import build_checkpoint, save_checkpoint
    from cocoseg_gui.core.training.models import build_model

    images = tmp / "images"
    images.mkdir()
    for f in sorted(SAMPLE_VAL.glob("*.jpg"))[:count]:
        shutil.copy(f, images / f.name)
    torch.manual_seed(0)
    net = build_model(model, 21, pretrained="none")
    classes = [{"index": i, "name": f"class{i}", "color": [i * 12, 80, 160]} for i in range(21)]
    ckpt = build_checkpoint(
        model_name=model, model_kwargs=dict(getattr(net, "model_kwargs", {})), state_dict=net.state_dict(),
        classes=classes, ignore_index=255, img_size=256, resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    save_checkpoint(tmp / "model.pt", ckpt)
    return tmp / "model.pt", images


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(label: str, nproc: int | None, ckpt: Path, images: Path, out: Path, batch: int) -> float:
    """Seconds of the predict job; ``nproc`` None: a plain process (no torchrun)."""
    threads = max(1, (os.cpu_count() or 1) // (nproc or 1))
    launcher = [sys.executable]
    if nproc is not None:
        port = free_port()
        launcher += ["-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={port}"]
    cmd = [*launcher, __file__, "--worker", str(ckpt), str(images), str(out), str(batch)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stderr[-2000:]}")
    line = [s for s in proc.stdout.splitlines() if s.startswith("{")][-1]
    return float(json.loads(line)["seconds"])


def masks(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        ckpt, images, out, batch = sys.argv[2:6]
        return worker(Path(ckpt), Path(images), Path(out), int(batch))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--model", default="unet")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sharded-") as tmp_name:
        tmp = Path(tmp_name)
        ckpt, images = make_inputs(tmp, args.images, args.model)
        n = len(list(images.iterdir()))
        runs = [("one process (baseline)", None), ("torchrun, 1 process", 1), ("torchrun, 2 processes", 2)]
        best: dict[str, float] = {}
        got: dict[str, dict[str, bytes]] = {}
        for r in range(args.rounds):
            for i, (label, nproc) in enumerate(runs):
                out = tmp / f"out{r}-{i}"
                seconds = run(label, nproc, ckpt, images, out, args.batch)
                best[label] = min(best.get(label, seconds), seconds)
                got[label] = masks(out)
                shutil.rmtree(out)
        rows = [(label, best[label], got[label]) for label, _ in runs]
        base_s, base_masks = rows[0][1], rows[0][2]
        print(
            f"predict {n} images ({args.model}, 256 px, batch {args.batch}, {os.cpu_count()} CPUs, "
            f"best of {args.rounds} rounds)"
        )
        print(f"{'run':<24} {'images/s':>9} {'vs baseline':>12}  masks")
        for label, seconds, got in rows:
            same = "identical" if got == base_masks and len(got) == n else "DIFFER"
            print(f"{label:<24} {n / seconds:9.2f} {base_s / seconds:11.2f}x  {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
