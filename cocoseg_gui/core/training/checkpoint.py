"""Checkpoints (docs/formats.md): a plain dict saved atomically, loadable with ``weights_only=True``."""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.atomic import atomic_write_with
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.training.names import IMAGENET_MEAN, IMAGENET_STD

FORMAT = "cocoseg-checkpoint"
VERSION = 1


def rng_state() -> dict[str, Any]:
    """Every RNG the run uses (python, numpy, torch CPU and CUDA), as checkpoint-safe values."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state() captured (CUDA only when the same devices exist)."""
    v, internal, gauss = state["python"]
    random.setstate((int(v), tuple(int(x) for x in internal), gauss))
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def save_checkpoint(path: Path, checkpoint: dict[str, Any]) -> None:
    """Write ``checkpoint`` atomically (a kill never leaves a half-written file)."""
    atomic_write_with(path, lambda fh: torch.save(checkpoint, fh))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a cocoseg checkpoint; anything else raises CocoSegError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CocoSegError(f"{path}: checkpoint file not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, BadZipFile, RuntimeError, KeyError, ... on garbage
        if not zipfile.is_zipfile(path):
            why = "not a file written by torch.save"
        elif isinstance(exc, pickle.UnpicklingError):
            why = "it holds pickled objects, not only tensors and plain data; refused for safety"
        else:
            why = f"torch.load failed: {type(exc).__name__}"
        raise CocoSegError(f"{path}: not a cocoseg checkpoint ({why})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CocoSegError(f"{path}: not a cocoseg checkpoint (no 'format': '{FORMAT}' entry)")
    if int(ckpt.get("version", 0)) > VERSION:
        raise CocoSegError(
            f"{path}: checkpoint version {ckpt.get('version')} is newer than this cocoseg "
            f"understands ({VERSION}); upgrade cocoseg"
        )
    for key in ("model", "classes", "input"):
        if key not in ckpt:
            raise CocoSegError(f"{path}: cocoseg checkpoint is missing its {key!r} entry")
    return ckpt


def build_checkpoint(
    *,
    model_name: str,
    model_kwargs: dict[str, Any],
    state_dict: dict[str, Any],
    classes: list[dict[str, Any]],
    ignore_index: int,
    img_size: int,
    resize: str,
    metrics: dict[str, Any],
    config: dict[str, Any],
    train_state: dict[str, Any] | None = None,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
) -> dict[str, Any]:
    """The checkpoint dict of docs/formats.md."""
    ckpt: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": {"name": model_name, "kwargs": dict(model_kwargs), "state_dict": state_dict},
        "classes": [
            {"index": int(c["index"]), "name": str(c["name"]), "color": [int(x) for x in c["color"]]}
            for c in classes
        ],
        "ignore_index": int(ignore_index),
        "input": {"img_size": int(img_size), "mean": list(mean), "std": list(std), "resize": resize},
        "metrics": metrics,
        "config": config,
    }
    if train_state is not None:
        ckpt["train_state"] = train_state
    return ckpt
