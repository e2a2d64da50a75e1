"""Where proposals come from: a cocoseg checkpoint or torchvision weights the user already has.

Both end as a ``core.training.predict.Predictor`` (the one place that turns an image into softmax
probabilities at its original size), so proposals, predict and the label-issue ranking agree. Torchvision
weights are never downloaded here (only on request: ``core.training.pretrained.download_weights``): they
are read from torch's cache or a file the user names, their name's sha256 prefix checked and read with
``weights_only=True``; missing weights raise ``PretrainedWeightsUnavailable`` saying how to fetch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.proposals.class_match import VOC_CLASSES, ClassMatch, match_classes
from cocoseg_gui.core.proposals.proposal import Proposal
from cocoseg_gui.core.training.model_registry import PROPOSAL_MODELS

if TYPE_CHECKING:
    from cocoseg_gui.core.training.model_score import ModelScore
    from cocoseg_gui.core.training.predict import ImageLike, Predictor

TORCHVISION_MODELS: tuple[str, ...] = (
    PROPOSAL_MODELS  # the registry's models with COCO weights, fastest first
)
TORCHVISION_INPUT = 520  # torchvision's COCO_WITH_VOC_LABELS transforms resize to 520


@dataclass(frozen=True)
class SourceSpec:
    """What the user picked: a cocoseg ``checkpoint``, or a ``torchvision`` model name (its weights from
    the torch cache, or ``weights`` when given). Typed, so the GUI and the CLI hand over the same thing."""

    checkpoint: Path | None = None
    torchvision: str | None = None
    weights: Path | None = None

    def __post_init__(self) -> None:
        if (self.checkpoint is None) == (self.torchvision is None):
            raise OptionsError("choose a checkpoint or a torchvision model (exactly one)")
        if self.torchvision is not None and self.torchvision not in TORCHVISION_MODELS:
            raise OptionsError(
                f"unknown torchvision model {self.torchvision!r}; choose from {', '.join(TORCHVISION_MODELS)}"
            )

    @property
    def label(self) -> str:
        if self.checkpoint is not None:
            return str(self.checkpoint)
        return f"torchvision {self.torchvision}" + (f" ({self.weights})" if self.weights else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "torchvision": self.torchvision,
            "weights": str(self.weights) if self.weights else None,
        }


def torchvision_weights(name: str) -> Any:
    """The COCO_WITH_VOC_LABELS_V1 ``WeightsEnum`` of a torchvision segmentation model."""
    from torchvision.models import get_model_weights

    return get_model_weights(name).COCO_WITH_VOC_LABELS_V1


def source_score(spec: SourceSpec) -> ModelScore:
    """What is known of the model's quality before it runs: a checkpoint's val score from its run folder;
    torchvision's published mIoU on COCO val2017 (VOC classes), which is not a score on the user's masks."""
    from cocoseg_gui.core.training.model_score import ModelScore, ValSet, score_of_run_checkpoint

    if spec.checkpoint is not None:
        return score_of_run_checkpoint(spec.checkpoint)
    assert spec.torchvision is not None
    try:
        metrics = torchvision_weights(spec.torchvision).meta["_metrics"]
        key, published = next(iter(metrics.items()))
        miou = float(published["miou"]) / 100.0
    except (KeyError, StopIteration, TypeError, ValueError, ImportError):
        return ModelScore(spec.label, note="torchvision publishes no score for these weights")
    return ModelScore(
        spec.label,
        miou=miou,
        img_size=TORCHVISION_INPUT,
        val_set=ValSet(f"published:{key}", 0, f"{key} (published by torchvision)"),
        note="published by torchvision, not measured on your masks",
    )


def torchvision_weights_file(name: str, weights: Path | None = None) -> Path:
    """The weights file to read: ``weights`` or the torch cache's; never a download. A name carrying a
    sha256 prefix (``-<hex>.pth``, as torchvision's do) must match the content."""
    from cocoseg_gui.core.training.pretrained import WEIGHTS, PretrainedWeightsUnavailable, check_hash

    entry = WEIGHTS[name]
    if weights is not None:
        if not Path(weights).is_file():
            raise DatasetError(Path(weights), "weights file not found")
        check_hash(Path(weights), entry.how_to_fetch())
        return Path(weights)
    path = entry.cache_path()
    if not path.is_file():
        raise PretrainedWeightsUnavailable(
            f"the {name} COCO weights are not on this computer (looked for {path}); cocoseg never "
            f"downloads them on its own: {entry.how_to_fetch()}, or choose the file"
        )
    check_hash(path, entry.how_to_fetch())
    return path


def torchvision_predictor(name: str, weights: Path | None = None, device: str = "cpu") -> Predictor:
    """A Predictor over torchvision's 21-class VOC-labelled model, weights from the cache or ``weights``."""
    from cocoseg_gui.core.training.checkpoint import build_checkpoint
    from cocoseg_gui.core.training.models import build_model, load_weights_file
    from cocoseg_gui.core.training.predict import Predictor
    from cocoseg_gui.core.training.trainer import resolve_device

    path = torchvision_weights_file(name, weights)
    model = build_model(name, len(VOC_CLASSES), pretrained="none")
    loaded, _skipped = load_weights_file(model, path)
    missing = sorted(set(model.state_dict()) - set(loaded))
    if missing:
        raise DatasetError(
            path,
            f"does not hold the weights of torchvision's {name} ({len(missing)} missing, e.g. {missing[0]})",
        )
    classes = [{"index": i, "name": n, "color": [0, 0, 0]} for i, n in enumerate(VOC_CLASSES)]
    ckpt = build_checkpoint(
        model_name=name, model_kwargs=dict(getattr(model, "model_kwargs", {})),
        state_dict=model.state_dict(), classes=classes, ignore_index=255, img_size=TORCHVISION_INPUT,
        resize="letterbox", metrics={}, config={},
    )  # fmt: skip
    return Predictor(ckpt, resolve_device(device), path)


def load_predictor(spec: SourceSpec, device: str = "cpu") -> Predictor:
    """The Predictor of ``spec`` (slow: torch, a model build; run it in a worker)."""
    if spec.checkpoint is not None:
        from cocoseg_gui.core.training.predict import Predictor

        return Predictor.from_checkpoint(spec.checkpoint, device)
    assert spec.torchvision is not None
    return torchvision_predictor(spec.torchvision, spec.weights, device)


class ProposalSource:
    """A loaded model and its classes matched to a mask folder's (``target``: index -> name)."""

    def __init__(self, spec: SourceSpec, predictor: Predictor, target: Mapping[int, str]) -> None:
        self.spec = spec
        self.predictor = predictor
        self.target = dict(target)
        self.match: ClassMatch = match_classes(predictor.class_names, self.target)
        if not self.match.any_class:
            theirs = ", ".join(predictor.class_names[1:6])
            ours = ", ".join(list(self.target.values())[1:6])
            raise OptionsError(
                f"none of the classes of {spec.label} ({theirs}, ...) has a class of the same name "
                f"in the mask folder ({ours}, ...)"
            )

    @classmethod
    def load(cls, spec: SourceSpec, target: Mapping[int, str], device: str = "cpu") -> ProposalSource:
        return cls(spec, load_predictor(spec, device), target)

    def propose(self, image: ImageLike) -> Proposal:
        """The proposal for one image (PIL or HxWx3 array), at its size."""
        ((values, indices),) = self.predictor.top2_batch([image])  # never all C probabilities on the CPU
        return Proposal.from_top2(values, indices, self.match)


class SourceCache:
    """The loaded source, kept while the spec and the mask folder's classes stay the same (a model load
    is seconds; proposing another image must not repeat it). Used from one worker at a time."""

    def __init__(self) -> None:
        self._key: tuple[SourceSpec, tuple[tuple[int, str], ...]] | None = None
        self._source: ProposalSource | None = None

    def get(self, spec: SourceSpec, target: Mapping[int, str], device: str = "cpu") -> ProposalSource:
        key = (spec, tuple(sorted(target.items())))
        if self._source is None or self._key != key:
            self._source = ProposalSource.load(spec, target, device)
            self._key = key
        return self._source

    def clear(self) -> None:
        self._key, self._source = None, None
