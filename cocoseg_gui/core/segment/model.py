"""The architecture built from the optional packages with ``checkpoint=None``, then loaded strictly.

The packages are imported here only (the app runs without them); a missing one is named with the pip
extra that brings it. Keys and shapes are compared before ``load_state_dict`` so the message says
which tensors do not fit rather than torch's page-long list.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.segment.kinds import EXTRA_HINT, MOBILE_SAM, SamKind
from cocoseg_gui.core.segment.weights import SamWeights, read_sam_weights


@dataclass(frozen=True)
class LoadedSam:
    path: Path
    kind: SamKind
    model: Any  # the package's Sam module, eval mode, on the CPU
    identity: str


def build_architecture(kind: SamKind) -> Any:
    """``kind``'s model with random weights (the packages' registries, ``checkpoint=None``)."""
    try:
        with warnings.catch_warnings():
            # mobile_sam imports timm's deprecated paths and re-registers timm's TinyViT names
            warnings.simplefilter("ignore")
            if kind == MOBILE_SAM:
                from mobile_sam import sam_model_registry
            else:
                from segment_anything import sam_model_registry
    except ImportError as exc:
        raise CocoSegError(f"{kind.label} needs the package {kind.package} ({exc}); {EXTRA_HINT}") from None
    model = sam_model_registry[kind.name](checkpoint=None)
    return model.eval()


def load_sam(path: str | Path) -> LoadedSam:
    """The model in ``path``, recognised, built and loaded with every tensor checked."""
    weights = read_sam_weights(path)
    model = build_architecture(weights.kind)
    _check_fit(weights, model.state_dict())
    model.load_state_dict(weights.state, strict=True, assign=True)
    return LoadedSam(weights.path, weights.kind, model.eval(), weights.identity)


def _check_fit(weights: SamWeights, expected: dict[str, Any]) -> None:
    got = weights.state
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and tuple(got[k].shape) != tuple(expected[k].shape)]
    if not (missing or unexpected or wrong):
        return
    parts = []
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("of the wrong shape", wrong)):
        if keys:
            parts.append(f"{len(keys)} tensors {what} (e.g. {keys[0]})")
    raise DatasetError(
        weights.path, f"looks like {weights.kind.label} weights but does not fit it: {'; '.join(parts)}"
    )
