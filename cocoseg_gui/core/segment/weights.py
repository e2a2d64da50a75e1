"""A SAM-family weights file read safely: ``weights_only=True`` on the CPU, unwrapped, recognised.

The packages' own builders call ``torch.load(f)`` (full unpickling, the saving device): a planted file
could run code and a GPU-saved file fails on a CPU. So we read the file ourselves and hand the
builder ``checkpoint=None``. Every failure is a DatasetError naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.segment.kinds import SAM2, SAM2_REFUSAL, SamKind
from cocoseg_gui.core.segment.recognise import NotSamWeights, recognise

_IDENTITY_BYTES = 1 << 20
_WRAPPERS = ("model", "state_dict")  # SAM 2 and some fine-tuning scripts nest the state_dict


@dataclass(frozen=True)
class SamWeights:
    path: Path
    kind: SamKind
    state: dict[str, Any]  # tensor name -> torch.Tensor
    identity: str  # weights_identity(path): what the embedding cache is keyed by


def weights_identity(path: Path) -> str:
    """A cheap content fingerprint: the size, the first MiB and the last MiB.

    The last MiB of a torch.save zip is its central directory, which holds every tensor's CRC-32, so
    this changes when any tensor does, without hashing gigabytes (ViT-H is 2.5 GB) at every open.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        digest.update(str(size).encode())
        fh.seek(0)
        digest.update(fh.read(_IDENTITY_BYTES))
        fh.seek(max(0, size - _IDENTITY_BYTES))
        digest.update(fh.read(_IDENTITY_BYTES))
    return digest.hexdigest()[:32]


def read_sam_weights(path: str | Path) -> SamWeights:
    """``path``'s state_dict and kind; DatasetError for a missing, damaged, unsafe, foreign or SAM 2 file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "SAM weights file not found")
    if path.stat().st_size == 0:
        raise DatasetError(path, "empty file, not SAM weights")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise DatasetError(path, f"cannot read it as weights: {_load_failure(path, exc)}") from None
    if isinstance(loaded, dict) and loaded.get("format") == "cocoseg-checkpoint":
        raise DatasetError(path, "a cocoseg training checkpoint, not SAM weights")
    state = _unwrap(loaded)
    if state is None:
        raise DatasetError(path, "not a state_dict (a mapping of names to tensors), so not SAM weights")
    try:
        kind = recognise({k: tuple(v.shape) for k, v in state.items()})
    except NotSamWeights as exc:
        raise DatasetError(path, str(exc)) from None
    if kind == SAM2:
        raise DatasetError(path, SAM2_REFUSAL)
    return SamWeights(path, kind, state, weights_identity(path))


def _unwrap(loaded: Any) -> dict[str, Any] | None:
    import torch

    if isinstance(loaded, dict):
        for key in _WRAPPERS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if (
        isinstance(loaded, dict)
        and loaded
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items())
    ):
        return loaded
    return None


def _load_failure(path: Path, exc: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused ``path``, in words (torch's own advice to pass
    ``weights_only=False`` would run code from the file, so it is not repeated)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    is_zip = zipfile.is_zipfile(path)
    if head == b"PK\x03\x04" and not is_zip:
        return "truncated (the archive torch.save writes has no end: an interrupted download or copy?)"
    if not is_zip and head[:1] != b"\x80":  # neither torch.save's archive nor a (legacy) pickle stream
        return "not a file written by torch.save"
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        return "it holds pickled objects (code could run on loading), not only tensors; refused for safety"
    if not is_zip:
        return "not a file written by torch.save"
    return f"damaged ({type(exc).__name__} while reading its tensors)"
