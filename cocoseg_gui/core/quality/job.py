"""The ranking jobs: ``find_label_issues`` over a mask folder, ``rank_uncertain`` over images.

find_label_issues runs in two passes over the data without keeping the probabilities: pass 1 predicts
each image (Predictor.probabilities_batch, at the original size), reduces it at once to the candidate
pixels (core.quality.pixel_quality) spilled to a temporary folder, and sums each class's
self-confidence; pass 2 sets the class thresholds and turns every image's candidates into flagged
regions and a score. Memory holds one batch of probabilities at a time; the disk a few bytes per
pixel the model disagrees with. Cross-fitted (ADR 0028), pass 1 runs fold by fold, each fold predicted by
its own model (core.quality.cross_fit); the thresholds pool all folds.

Imports torch (through the predictor): the CLI imports this module when its command runs, the GUI
preloads it on the GUI thread (gui.services.device_probe.TORCH_JOB_MODULES) before the job starts.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2  # noqa: F401  (image_regions' OpenCV, imported with the job: the GUI preloads job modules)
import numpy as np

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
from cocoseg_gui.core.masks.new_dataset import list_images
from cocoseg_gui.core.quality.cross_fit import assign_folds, check_folds, train_folds
from cocoseg_gui.core.quality.image_scores import (
    DEFAULT_SCORE,
    balanced_scores,
    check_score,
    softmin_scores,
)
from cocoseg_gui.core.quality.issues_file import (
    ISSUES_KIND,
    UNCERTAINTY_KIND,
    ImageIssues,
    ImageUncertainty,
    LabelIssues,
    UncertaintyRanking,
    check_ranking_out,
    write_ranking,
)
from cocoseg_gui.core.quality.pixel_quality import (
    PixelQuality,
    class_thresholds,
    pixel_quality,
    uncertainty_of_top2,
)
from cocoseg_gui.core.quality.regions import image_regions
from cocoseg_gui.core.training.data import MaskDataset
from cocoseg_gui.core.training.model_score import predictor_score
from cocoseg_gui.core.training.predict import Predictor
from cocoseg_gui.core.training.sharding import Shard, progress_done
from cocoseg_gui.core.training.transforms import load_rgb

_ARRAYS = ("flat_index", "label", "predicted", "p_predicted", "margin")


def _spill(quality: PixelQuality, path: Path) -> None:
    np.savez(path, **{k: getattr(quality, k) for k in _ARRAYS})


def _unspill(quality: PixelQuality, path: Path) -> PixelQuality:
    """``quality`` (its scalars and sums) with its candidate arrays read back from ``path``."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in _ARRAYS}
    return PixelQuality(**{**quality.__dict__, **arrays})


def _light(quality: PixelQuality) -> PixelQuality:
    """``quality`` without its candidate arrays (they wait on disk)."""
    empty = np.zeros(0, dtype=np.uint8)
    return PixelQuality(**{**quality.__dict__, **dict.fromkeys(_ARRAYS, empty)})


def _nothing_ranked(where: Path, skipped: list[tuple[str, str]]) -> DatasetError:
    return DatasetError(
        where, f"no image could be ranked: all {len(skipped)} were skipped, e.g. {skipped[0][1]}"
    )


def _check_batch(batch_size: int) -> None:
    if batch_size < 1:
        raise OptionsError(f"batch size must be at least 1, got {batch_size}")


def find_label_issues(
    checkpoint: str | Path,
    masks_dir: str | Path,
    images_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    out: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 2,
    files: Sequence[str] | None = None,
    min_region_area: int = 16,
    max_regions: int = 20,
    follow_symlinks: bool = False,
    overwrite: bool = False,
    replace_own: bool = False,
    option: str | None = None,
    score: str = DEFAULT_SCORE,
    cross_fit: int = 0,
    fold_options: Mapping[str, Any] | None = None,
    seed: int = 0,
    shard: Shard | None = None,
) -> LabelIssues:
    """Rank the images of the mask folder ``masks_dir`` by how confidently ``checkpoint`` disagrees.

    ``images_dir`` replaces the manifest's image folder; ``files`` limits the images (default all).
    ``score`` orders the ranking (core.quality.image_scores; every score is recorded).
    ``cross_fit`` K >= 2: the images are dealt into K folds (``seed``) and each is scored by a model
    trained like ``checkpoint`` (its options, ``fold_options`` overriding them) on the other folds,
    in a temporary folder; ``checkpoint`` itself then only gives the options and the classes.
    Unreadable images are skipped and listed; classes that differ from the checkpoint's, a mask value
    outside the classes, or nothing to rank raise DatasetError naming the file. ``out``: also write the
    result there (atomically; checked first by the output guard: an existing file is replaced with
    ``overwrite``, or a ranking of this kind without asking when ``replace_own``). ``cancel`` raises
    Cancelled between batches, leaving ``out`` untouched. ``shard`` (torchrun): this rank predicts its
    share of the batches; the sums and scores are put together in one process's order and rank 0
    writes ``out`` (every rank returns the whole result). Cross-fitting is not sharded.
    """
    _check_batch(batch_size)
    if cross_fit and shard is not None and shard.enabled:
        raise OptionsError(
            "--cross-fit trains its fold models in one process: run find-label-issues --cross-fit "
            "without torchrun"
        )
    if out is not None:
        reads: dict[str, Path | str | None] = {"the checkpoint": checkpoint, "the image folder": images_dir}
        check_ranking_out(
            out, ISSUES_KIND, reads, overwrite=overwrite, replace_own=replace_own, option=option
        )
    check_score(score)
    started = time.perf_counter()
    ds = MaskDataset(masks_dir, files=files, follow_symlinks=follow_symlinks, images_dir=images_dir)
    if len(ds) == 0:
        raise DatasetError(Path(masks_dir) / IMAGE_MAP_FILE, "lists no images: nothing to rank")
    if cross_fit:
        check_folds(cross_fit, len(ds))
    shard = shard or Shard()
    dev = shard.device(device)
    predictor = Predictor.from_checkpoint(checkpoint, dev)
    names = predictor.class_names
    if [c["name"] for c in ds.classes] != names:
        raise DatasetError(
            Path(masks_dir) / MAPPING_FILE,
            f"classes differ from the checkpoint's {Path(checkpoint).name} ({len(ds.classes)} vs "
            f"{len(names)}: {[c['name'] for c in ds.classes][:4]}... vs {names[:4]}...)",
        )
    c = predictor.num_classes
    with tempfile.TemporaryDirectory(prefix="cocoseg-label-issues-") as tmp:
        if cross_fit:
            folds = assign_folds(ds.files, cross_fit, seed)
            fold_models = train_folds(
                Path(checkpoint), Path(masks_dir), folds, Path(tmp), images_dir=ds.images_dir,
                device=dev, overrides=fold_options, progress=progress, cancel=cancel,
            )  # fmt: skip
            groups: list[tuple[Path | None, list[str]]] = list(zip(fold_models, folds))
        else:
            groups = [(None, ds.files)]
        kept_mine: list[tuple[tuple[int, int, int], tuple[tuple[int, int, int], str, PixelQuality]]] = []
        spills: dict[tuple[int, int, int], Path] = {}
        skipped_mine: list[tuple[tuple[int, int, int], tuple[str, str]]] = []
        meter = RateMeter(len(ds))
        done_before = 0
        for g, (model_path, group_files) in enumerate(groups):
            model = predictor if model_path is None else Predictor.from_checkpoint(model_path, dev)
            part = MaskDataset(
                masks_dir, files=group_files, follow_symlinks=follow_symlinks, images_dir=images_dir
            )
            num_batches = math.ceil(len(part) / batch_size)
            for r, b in shard.rounds(num_batches, cancel):
                if b is not None:
                    batch_skipped: list[tuple[str, str]] = []
                    pairs = part.load_batch(b * batch_size, (b + 1) * batch_size, batch_skipped)
                    skipped_mine += [((g, b, i), s) for i, s in enumerate(batch_skipped)]
                    probabilities = model.probabilities_batch([im for _, im, _ in pairs])
                    for i, ((name, _, mask), probs) in enumerate(zip(pairs, probabilities)):
                        quality = pixel_quality(probs, mask, ds.ignore_index)
                        del probs
                        spill = Path(tmp) / f"{g}-{b}-{i}.npz"  # this rank's own temporary folder
                        _spill(quality, spill)
                        spills[(g, b, i)] = spill
                        kept_mine.append(((g, b, i), ((g, b, i), name, _light(quality))))
                done = progress_done(shard, r, num_batches, batch_size, len(part))
                if progress is not None and meter.due(done_before + done):
                    report(progress, meter.progress(done_before + done, part.files[done - 1]))
            done_before += len(part)
            del model
        # every rank: all images' sums, in one process's order (float sums: the order fixes the bits)
        kept = shard.gather(kept_mine)
        skipped: list[tuple[str, str]] = [*ds.refused, *shard.gather(skipped_mine)]
        if not kept:
            raise _nothing_ranked(Path(masks_dir), skipped)
        conf_sum = np.zeros(c, dtype=np.float64)
        pixels = np.zeros(c, dtype=np.int64)
        for _, _, light in kept:
            conf_sum += light.class_confidence_sum
            pixels += light.class_pixels
        thresholds = class_thresholds(conf_sum, pixels)
        lights = [light for _, _, light in kept]
        extra = {"softmin": softmin_scores(lights), "balanced": balanced_scores(lights)}
        mine = []
        for i, (key, name, light) in enumerate(kept):
            if key not in spills:
                continue  # another rank's image: it finds its regions
            quality = _unspill(light, spills[key])
            found = image_regions(quality, thresholds, min_region_area, max_regions)
            scores = {"regions": found.score, **{k: v[i] for k, v in extra.items()}}
            mine.append(
                (
                    key,
                    ImageIssues(
                        file=name,
                        score=scores[score],
                        flagged_pixels=found.flagged_pixels,
                        valid_pixels=quality.valid_pixels,
                        uncertainty=quality.uncertainty,
                        margin=quality.top2_margin,
                        height=quality.shape[0],
                        width=quality.shape[1],
                        regions=found.regions,
                        scores=scores,
                    ),
                )
            )
        images = shard.gather(mine)
    images.sort(key=lambda im: (-im.score, im.file))
    result = LabelIssues(
        checkpoint=str(checkpoint),
        data=str(masks_dir),
        class_names=names,
        thresholds=[None if np.isnan(t) else float(t) for t in thresholds],
        images=images,
        skipped=skipped,
        seconds=time.perf_counter() - started,
        model_score=predictor_score(predictor).to_json(),
        score=score,
        cross_fit=cross_fit,
    )
    if out is not None and shard.is_main:
        write_ranking(result, out)
    return result


def rank_uncertain(
    checkpoint: str | Path,
    images_dir: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    names: Sequence[str] | None = None,
    labelled: frozenset[str] = frozenset(),
    out: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 2,
    overwrite: bool = False,
    replace_own: bool = False,
    option: str | None = None,
    shard: Shard | None = None,
) -> UncertaintyRanking:
    """Rank images of ``images_dir`` (``names`` relative to it, default every image under it) by the
    model's mean 1 - max softmax, most uncertain first: the images worth labelling next.

    ``labelled``: names that already have a mask (marked in the result). Unreadable images are
    skipped and listed; ``cancel`` raises Cancelled between batches. ``out``, ``shard``: as
    find_label_issues."""
    _check_batch(batch_size)
    if out is not None:
        reads: dict[str, Path | str | None] = {"the checkpoint": checkpoint, "the image folder": images_dir}
        check_ranking_out(
            out, UNCERTAINTY_KIND, reads, overwrite=overwrite, replace_own=replace_own, option=option
        )
    started = time.perf_counter()
    names = list(names) if names is not None else list_images(images_dir)
    if not names:
        raise DatasetError(Path(images_dir), "no images to rank")
    shard = shard or Shard()
    predictor = Predictor.from_checkpoint(checkpoint, shard.device(device))
    root = SafeRoot(Path(images_dir), False, "image file name")
    ranked_mine: list[tuple[tuple[int, int], ImageUncertainty]] = []
    skipped_mine: list[tuple[tuple[int, int], tuple[str, str]]] = []
    meter = RateMeter(len(names))
    num_batches = math.ceil(len(names) / batch_size)
    for r, b in shard.rounds(num_batches, cancel):
        if b is not None:
            loaded = []
            for i, name in enumerate(names[b * batch_size : (b + 1) * batch_size]):
                try:
                    loaded.append((name, load_rgb(root.resolve(name))))
                except DatasetError as exc:
                    skipped_mine.append(((b, i), (name, str(exc))))
            tops = predictor.top2_batch([im for _, im in loaded])
            for i, ((name, _), (top2, _classes)) in enumerate(zip(loaded, tops)):
                u, m = uncertainty_of_top2(top2) if predictor.num_classes > 1 else (0.0, 1.0)
                ranked_mine.append(((b, i), ImageUncertainty(name, u, m, name in labelled)))
        done = progress_done(shard, r, num_batches, batch_size, len(names))
        if progress is not None and meter.due(done):
            report(progress, meter.progress(done, names[done - 1]))
    ranked = shard.gather(ranked_mine)
    skipped = shard.gather(skipped_mine)
    if not ranked:
        raise _nothing_ranked(Path(images_dir), skipped)
    ranked.sort(key=lambda im: (-im.uncertainty, im.file))
    result = UncertaintyRanking(
        str(checkpoint), str(images_dir), ranked, skipped, seconds=time.perf_counter() - started,
        model_score=predictor_score(predictor).to_json(),
    )  # fmt: skip
    if out is not None and shard.is_main:
        write_ranking(result, out)
    return result
