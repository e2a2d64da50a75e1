"""Cross-fitting for find-label-issues: each image scored by a model that never trained on it.

A model memorises part of its own training masks, wrong ones included, so it disagrees least with the
errors one most wants found. Cross-fitting (K folds, as cleanlab does with out-of-sample probabilities)
splits the images into K folds and trains one model per fold on the other K-1, from the checkpoint's
own training options (its config.json in the checkpoint: model, size, schedule), never from its
weights (they saw every image). Each fold trains on a *fold view*: a folder beside the work folder
with the mask folder's JSON files, its image_mask_map.json cut to the training images and its masks
hard-linked (copied where links are refused), so the trainer needs no new option.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.errors import CocoSegError, OptionsError
from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress, ProgressCallback, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MANIFEST_FILE, MASKS_DIR, REPORT_FILE

MAX_FOLDS = 20


def check_folds(folds: int, images: int) -> None:
    """OptionsError unless 2 <= ``folds`` <= min(MAX_FOLDS, images)."""
    if folds < 2 or folds > MAX_FOLDS:
        raise OptionsError(f"cross-fitting needs 2 to {MAX_FOLDS} folds, got {folds}")
    if folds > images:
        raise OptionsError(f"{folds} folds need at least {folds} images; the mask folder has {images}")


def assign_folds(files: Sequence[str], folds: int, seed: int = 0) -> list[list[str]]:
    """``files`` dealt into ``folds`` folds of near-equal size, shuffled by ``seed`` (same input, same
    folds), each sorted."""
    order = sorted(files)
    perm = np.random.default_rng(seed).permutation(len(order))
    out: list[list[str]] = [[] for _ in range(folds)]
    for rank, i in enumerate(perm):
        out[rank % folds].append(order[i])
    return [sorted(f) for f in out]


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def make_fold_view(masks_dir: Path, files: Sequence[str], dst: Path, images_dir: Path | None = None) -> Path:
    """A mask folder at ``dst`` holding only ``files`` of ``masks_dir`` (masks linked, JSON copied; the
    manifest's image folder made absolute, or ``images_dir``). The source is only read; ``dst`` is the
    job's scratch (a temporary folder), written plainly."""
    masks_dir = Path(masks_dir)
    mask_map = json.loads((masks_dir / IMAGE_MAP_FILE).read_text(encoding="utf-8"))
    manifest = json.loads((masks_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    if images_dir is not None:  # a path as given (relative: to the working directory)
        where = Path(images_dir).resolve()
    else:  # the manifest's (relative: to the mask folder)
        where = Path(manifest["images_dir"])
        where = where if where.is_absolute() else (masks_dir / where).resolve()
    manifest["images_dir"] = str(where)
    (dst / MASKS_DIR).mkdir(parents=True, exist_ok=True)
    for name in (MAPPING_FILE, REPORT_FILE):
        if (masks_dir / name).is_file():
            shutil.copy2(masks_dir / name, dst / name)
    (dst / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    kept = {f: mask_map[f] for f in files}
    for mask in kept.values():
        _link_or_copy(masks_dir / MASKS_DIR / mask, dst / MASKS_DIR / mask)
    (dst / IMAGE_MAP_FILE).write_text(json.dumps(kept, indent=1), encoding="utf-8")
    return dst


def fold_config(
    checkpoint: Mapping[str, Any],
    data: Path,
    out: Path,
    device: str,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """The TrainConfig of one fold: the checkpoint run's options on ``data``, a fresh run into ``out``
    (no resume, no init from a checkpoint: those weights saw the held-out images), validated once at
    the end on the run's validation folder if it still exists, else on its own images."""
    from cocoseg_gui.core.training.config import TrainConfig

    base = dict(checkpoint.get("config") or {})
    if not base:  # a checkpoint without its options: its model at its size, the defaults otherwise
        base = {"model": checkpoint["model_name"], "model_kwargs": checkpoint.get("model_kwargs", {})}
        base["img_size"] = int(checkpoint.get("img_size", 512))
    val = base.get("val_data")
    has_val = val not in (None, "") and Path(val).is_dir()
    cfg = {
        **base,
        "data": data,
        "out": out,
        "device": device,
        "resume": None,
        "init_from": None,
        "val_data": val if has_val else None,
        "val_on_train": not has_val,
        "tensorboard": False,
        "overwrite": True,
    }
    cfg.update(overrides or {})
    cfg["val_every"] = max(1, int(cfg.get("epochs", 50)))  # one validation, at the end: a score to report
    return TrainConfig.from_json(cfg)


def train_folds(
    checkpoint_path: Path,
    masks_dir: Path,
    folds: list[list[str]],
    work: Path,
    *,
    images_dir: Path | None = None,
    device: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[Path]:
    """Train one model per fold on the other folds' images; return their last.pt paths, fold order.

    A fold whose training stops early (not at its time budget) raises CocoSegError with the trainer's
    reason (Cancelled when ``cancel`` was set)."""
    from cocoseg_gui.core.training.checkpoint import load_checkpoint
    from cocoseg_gui.core.training.trainer import train

    ckpt = load_checkpoint(checkpoint_path)
    paths = []
    for k, held_out in enumerate(folds):
        if cancel is not None:
            cancel.raise_if_cancelled()
        rest = sorted(f for j, fold in enumerate(folds) if j != k for f in fold)
        view = make_fold_view(masks_dir, rest, work / f"fold{k + 1}-data", images_dir)
        cfg = fold_config(ckpt, view, work / f"fold{k + 1}-run", device, overrides)
        message = f"training fold {k + 1} of {len(folds)} ({len(rest)} images, {len(held_out)} held out)"
        if progress is not None:
            report(progress, Progress(k, len(folds), message))
        end = train(cfg, [_epoch_progress(progress, k, len(folds), message, cfg.epochs)], cancel)
        last = Path(cfg.out) / "last.pt"
        if end.status == "cancelled" or (cancel is not None and cancel.cancelled):
            raise Cancelled()
        if end.status not in ("finished", "time_budget") or not last.is_file():
            raise CocoSegError(f"cross-fitting: fold {k + 1} did not train ({end.status}: {end.reason})")
        paths.append(last)
    return paths


def _epoch_progress(
    progress: ProgressCallback | None, fold: int, folds: int, message: str, epochs: int
) -> Callable[[Any], None]:
    """A trainer callback turning epoch events into Progress of the whole cross-fit (fold + epoch)."""

    def on_event(event: Any) -> None:
        epoch = getattr(event, "epoch", None)
        if progress is None or getattr(event, "type", None) != "epoch" or epoch is None:
            return
        done = fold * epochs + min(int(epoch) + 1, epochs)
        report(progress, Progress(done, folds * epochs, f"{message}: epoch {int(epoch) + 1}/{epochs}"))

    return on_event
