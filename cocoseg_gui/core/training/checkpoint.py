"""Checkpoints (docs/formats.md): a plain dict saved atomically, loadable with ``weights_only=True``."""

from __future__ import annotations

import errno
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.files.atomic import atomic_write_with
from cocoseg_gui.core.training.config import MAX_IMG_SIZE, MIN_IMG_SIZE
from cocoseg_gui.core.training.names import IMAGENET_MEAN, IMAGENET_STD

FORMAT = "cocoseg-checkpoint"
VERSION = 1


def rng_state() -> dict[str, Any]:
    """Every RNG the run uses (python, numpy, torch CPU and CUDA), as checkpoint-safe values."""
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple)  # legacy=True: np.random's MT19937 state as a tuple
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
    """Write ``checkpoint`` atomically (a kill or a full disk never leaves a half-written file).

    torch.save reports a failed write (a full disk) as RuntimeError "enforce fail at
    inline_container.cc"; it is raised as the OSError behind it, naming ``path``.
    """
    try:
        atomic_write_with(path, lambda fh: torch.save(checkpoint, fh))
    except RuntimeError as exc:
        os_error = _os_error_behind(exc)
        if os_error is None:
            if "inline_container" not in str(exc):
                raise
            os_error = OSError(errno.EIO, f"writing the checkpoint failed ({exc})")
        os_error.filename = str(path)
        raise os_error from None


def _os_error_behind(exc: BaseException) -> OSError | None:
    """The OSError a wrapped exception was raised while handling (its __cause__/__context__ chain)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, OSError):
            return OSError(cur.errno, cur.strerror or str(cur))
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def load_failure_reason(path: Path, exc: Exception) -> str:
    """Why ``torch.load(path, weights_only=True)`` failed, in our words: torch's own message advises
    ``weights_only=False``, which would run code from the file."""
    if not zipfile.is_zipfile(path):
        return "not a file written by torch.save"
    if isinstance(exc, pickle.UnpicklingError):
        return "it holds pickled objects, not only tensors and plain data; refused for safety"
    return f"torch.load failed: {type(exc).__name__}"


def safe_torch_load(path: Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a file it refuses raises CocoSegError naming it and saying why."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, BadZipFile, RuntimeError, KeyError, ... on garbage
        raise CocoSegError(f"{path}: not a cocoseg checkpoint ({load_failure_reason(path, exc)})") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a cocoseg checkpoint; anything else raises CocoSegError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CocoSegError(f"{path}: checkpoint file not found")
    ckpt = safe_torch_load(path, map_location=map_location)
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
    _check_input_size(path, ckpt["input"])
    return ckpt


def _check_input_size(path: Path, spec: Any) -> None:
    """Refuse an input size no model was trained at (a damaged file would allocate tens of GB)."""
    size = spec.get("img_size") if isinstance(spec, dict) else None
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_IMG_SIZE <= size <= MAX_IMG_SIZE:
        raise CocoSegError(
            f"{path}: the checkpoint's input size {size!r} is not in [{MIN_IMG_SIZE}, {MAX_IMG_SIZE}]; "
            "the file is damaged or not a cocoseg checkpoint"
        )


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
