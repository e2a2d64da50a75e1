"""The typed results of the label-issue and uncertainty rankings, and their JSON files (docs/formats.md).

``label_issues.json`` (written next to the masks by the GUI; anywhere by the CLI) ranks the images of a
mask folder, most suspicious first, with their flagged regions; ``uncertainty.json`` ranks images by how
unsure the model is, most uncertain first. Both are written atomically and read back by the GUI when
the mask folder is reopened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.quality.regions import IssueRegion

LABEL_ISSUES_FILE = "label_issues.json"  # in the mask folder: the GUI's default place
UNCERTAINTY_FILE = "uncertainty.json"
ISSUES_KIND = "cocoseg label issues"
UNCERTAINTY_KIND = "cocoseg uncertainty"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ImageIssues:
    """One image of the mask folder: its suspicion score, uncertainty and flagged regions."""

    file: str  # image file name, as in image_mask_map.json
    score: float  # share of valid pixels confidently relabelled by the model, confidence-weighted
    flagged_pixels: int
    valid_pixels: int
    uncertainty: float  # mean 1 - max softmax
    margin: float  # mean top-1 minus top-2 probability
    height: int
    width: int
    regions: tuple[IssueRegion, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  # every score by name (image_scores.SCORES)


@dataclass(frozen=True)
class ImageUncertainty:
    """One image's uncertainty (mean 1 - max softmax) and mean top-1 - top-2 margin."""

    file: str
    uncertainty: float
    margin: float
    labelled: bool  # the image has a mask in the folder ranked (False: an image to label)


@dataclass
class LabelIssues:
    """Images of a mask folder, most suspicious first (ties by name)."""

    checkpoint: str
    data: str
    class_names: list[str]
    thresholds: list[float | None]  # per class: mean self-confidence (None: class never given)
    images: list[ImageIssues] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    model_score: dict[str, Any] | None = None  # the checkpoint's val score (core.training.model_score)
    score: str = "regions"  # the score the images are ordered by (image_scores.SCORES)
    cross_fit: int = 0  # folds of the cross-fitting (0: scored by the checkpoint itself)

    def scores(self) -> dict[str, float]:
        return {im.file: im.score for im in self.images}

    def by_file(self) -> dict[str, ImageIssues]:
        return {im.file: im for im in self.images}

    def to_json(self) -> dict[str, Any]:
        names = self.class_names
        return {
            "version": FORMAT_VERSION,
            "kind": ISSUES_KIND,
            "checkpoint": self.checkpoint,
            "data": self.data,
            "classes": names,
            "thresholds": self.thresholds,
            "model_score": self.model_score,
            "score": self.score,
            "cross_fit": self.cross_fit,
            "seconds": self.seconds,
            "images": [
                {
                    "file": im.file,
                    "score": im.score,
                    "flagged_pixels": im.flagged_pixels,
                    "valid_pixels": im.valid_pixels,
                    "uncertainty": im.uncertainty,
                    "margin": im.margin,
                    "size": [im.height, im.width],
                    "scores": im.scores,
                    "regions": [
                        {
                            "bbox": list(r.bbox),
                            "area": r.area,
                            "given": names[r.given],
                            "predicted": names[r.predicted],
                            "score": r.score,
                        }
                        for r in im.regions
                    ],
                }
                for im in self.images
            ],
            "skipped": [{"file": f, "error": e} for f, e in self.skipped],
        }


@dataclass
class UncertaintyRanking:
    """Images, most uncertain first (ties by name)."""

    checkpoint: str
    data: str
    images: list[ImageUncertainty] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    model_score: dict[str, Any] | None = None  # the checkpoint's val score (core.training.model_score)

    def scores(self) -> dict[str, float]:
        return {im.file: im.uncertainty for im in self.images}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "kind": UNCERTAINTY_KIND,
            "checkpoint": self.checkpoint,
            "data": self.data,
            "measure": "mean 1 - max softmax",
            "model_score": self.model_score,
            "seconds": self.seconds,
            "images": [
                {"file": im.file, "uncertainty": im.uncertainty, "margin": im.margin, "labelled": im.labelled}
                for im in self.images
            ],
            "skipped": [{"file": f, "error": e} for f, e in self.skipped],
        }


def write_ranking(result: LabelIssues | UncertaintyRanking, path: str | Path) -> Path:
    """Write ``result`` as JSON atomically (a killed run leaves the previous file or none)."""
    path = Path(path)
    atomic_write_json(path, result.to_json(), indent=1)
    return path


def check_ranking_out(
    path: str | Path,
    kind: str,
    reads: dict[str, Path | str | None],
    *,
    overwrite: bool = False,
    replace_own: bool = False,
    option: str | None = None,
) -> None:
    """The output guard for a ranking file (core/files/output_guard.py), before the slow work: an existing
    ranking of the same ``kind`` (ISSUES_KIND / UNCERTAINTY_KIND) is this job's own. ``replace_own``:
    ``path`` is the window's reserved name for it in the mask folder, replaced even when damaged."""
    from cocoseg_gui.core.files.output_guard import check_output_file

    reader = read_label_issues if kind == ISSUES_KIND else read_uncertainty

    def owned(p: Path) -> bool:
        if replace_own:
            return True
        try:
            reader(p)
        except CocoSegError:
            return False
        return True

    check_output_file(
        path, reads=reads, overwrite=overwrite, owned=owned, replace_own=replace_own, option=option
    )


def _number(value: Any, path: Path, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(float(value)):
        raise DatasetError(path, f"{what} is not a number: {value!r}")
    return float(value)


def _box(bbox: Any) -> tuple[int, int, int, int]:
    """(x, y, width, height) of a region's bbox; ValueError unless it holds four numbers."""
    x, y, width, height = (int(v) for v in bbox)
    return x, y, width, height


def _object(data: Any, path: Path, kind: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise DatasetError(path, f'not a {kind} file (its "kind" must be {kind!r})')
    if data.get("version") != FORMAT_VERSION:
        raise DatasetError(path, f"unsupported version {data.get('version')!r} (expected {FORMAT_VERSION})")
    if not isinstance(data.get("images"), list):
        raise DatasetError(path, '"images" must be a list')
    return data


def _skipped(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(s.get("file")), str(s.get("error"))) for s in data.get("skipped", []) if isinstance(s, dict)]


def read_label_issues(path: str | Path) -> LabelIssues:
    """A label_issues.json read back; DatasetError naming the file and the problem."""
    path = Path(path)
    data = _object(read_json(path), path, ISSUES_KIND)
    try:
        names = [str(n) for n in data["classes"]]
        index = {n: i for i, n in enumerate(names)}
        images = []
        for e in data["images"]:
            regions = tuple(
                IssueRegion(
                    *_box(r["bbox"]),
                    area=int(r["area"]),
                    given=index[r["given"]],
                    predicted=index[r["predicted"]],
                    score=_number(r["score"], path, f"a region score of {e['file']}"),
                )
                for r in e.get("regions", [])
            )
            h, w = (int(v) for v in e["size"])
            images.append(
                ImageIssues(
                    file=str(e["file"]),
                    score=_number(e["score"], path, f"the score of {e['file']}"),
                    flagged_pixels=int(e["flagged_pixels"]),
                    valid_pixels=int(e["valid_pixels"]),
                    uncertainty=float(e["uncertainty"]),
                    margin=float(e["margin"]),
                    height=h,
                    width=w,
                    regions=regions,
                    scores={
                        str(k): _number(v, path, f"the {k} score of {e['file']}")
                        for k, v in e.get("scores", {}).items()
                    },
                )
            )
        thresholds = [None if t is None else float(t) for t in data["thresholds"]]
        images.sort(key=lambda im: (-im.score, im.file))  # most suspicious first, whatever the file's order
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(path, f"malformed label issues entry ({exc!r})") from None
    return LabelIssues(
        checkpoint=str(data.get("checkpoint", "")),
        data=str(data.get("data", "")),
        class_names=names,
        thresholds=thresholds,
        images=images,
        skipped=_skipped(data),
        seconds=float(data.get("seconds", 0.0)),
        model_score=_model_score(data),
        score=str(data.get("score", "regions")),
        cross_fit=int(data.get("cross_fit", 0)),
    )


def _model_score(data: dict[str, Any]) -> dict[str, Any] | None:
    found = data.get("model_score")
    return found if isinstance(found, dict) else None  # files written before issue 19 have none


def read_uncertainty(path: str | Path) -> UncertaintyRanking:
    """An uncertainty.json read back; DatasetError naming the file and the problem."""
    path = Path(path)
    data = _object(read_json(path), path, UNCERTAINTY_KIND)
    try:
        images = [
            ImageUncertainty(
                file=str(e["file"]),
                uncertainty=_number(e["uncertainty"], path, f"the uncertainty of {e['file']}"),
                margin=float(e["margin"]),
                labelled=bool(e.get("labelled", False)),
            )
            for e in data["images"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(path, f"malformed uncertainty entry ({exc!r})") from None
    images.sort(key=lambda im: (-im.uncertainty, im.file))
    return UncertaintyRanking(
        checkpoint=str(data.get("checkpoint", "")),
        data=str(data.get("data", "")),
        images=images,
        skipped=_skipped(data),
        seconds=float(data.get("seconds", 0.0)),
        model_score=_model_score(data),
    )
