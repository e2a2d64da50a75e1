"""The training engine: ``train(config, callbacks, cancel) -> end event``.

One process or many (torchrun, DDP). Events (docs/formats.md) go to every callback and to
RUN/metrics.jsonl, from rank 0 only. Stops:

- cancel token: the current optimiser step finishes, last.pt is saved, status "cancelled";
- time budget: checked after every optimiser step against the elapsed time *including* the time
  before a resume. Before an epoch starts, the duration of the last finished epoch (train +
  validation) predicts whether the next one fits; if it would end past the budget the run stops
  at the epoch boundary instead of being cut mid-epoch. Either way last.pt is saved and the status
  is "time_budget". A mid-epoch stop saves the position in the epoch, and ``resume`` continues
  from that very sample (the epoch order and augmentations are seeded per epoch and per sample).
- non-finite loss: flagged on the device at every optimiser step and checked where the loop syncs anyway
  (log steps, a stop, the end of an epoch); the run fails with an end event of kind "non_finite_loss" and
  saves nothing: non-finite weights never reach a checkpoint (last.pt and best.pt of earlier epochs are kept).

Everything that can fail on bad input (options, data, weights, checkpoint) is checked before the run
folder is touched; a new run into a folder that holds a run is refused unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg_gui.core.errors import CocoSegError, DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training import distributed as dist_utils
from cocoseg_gui.core.training.checkpoint import (
    build_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from cocoseg_gui.core.training.config import TrainConfig, parse_duration, resolve_amp
from cocoseg_gui.core.training.distributed import (
    BatchPlan,
    DistContext,
    EpochSampler,
    rescale_batch,
    resumed_position,
)
from cocoseg_gui.core.training.event_types import (
    CheckpointEvent,
    EndEvent,
    EpochEvent,
    Event,
    StartEvent,
    StepEvent,
    WarningKind,
)
from cocoseg_gui.core.training.events import EventLog
from cocoseg_gui.core.training.loaders import Batch, make_loader, seed_all
from cocoseg_gui.core.training.model_score import ValSet, val_set_of_dataset
from cocoseg_gui.core.training.optim import build_optimizer, build_scheduler
from cocoseg_gui.core.training.run_folder import CHECKPOINTS, LOG, check_new_run_folder, check_run_out
from cocoseg_gui.core.training.run_inputs import RunInputs, collect_run_inputs, write_run_inputs

__all__ = ["TrainConfig", "parse_duration", "resolve_device", "train"]

EventCallback = Callable[[Event], None]
AUX_WEIGHT = 0.5  # weight of an auxiliary head's loss (torchvision's reference recipe)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda, else mps, else cpu; an explicit name must be available."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise OptionsError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionsError(f"device {name!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise OptionsError(f"device {name!r}: only {torch.cuda.device_count()} CUDA devices")
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        raise OptionsError(f"device {name!r} requested but MPS is not available")
    return device


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _as_list(x: Any) -> list[Any]:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().tolist()
    return list(x)


def _named_iou(classes: list[dict[str, Any]], per_class: Any, present: Any) -> dict[str, float | None]:
    """{class name: IoU} for the classes present in ground truth or prediction."""
    ious, pres = _as_list(per_class), _as_list(present) if present is not None else None
    out: dict[str, float | None] = {}
    for c, v in zip(classes, ious):
        if pres is not None and not pres[c["index"]]:
            continue
        out[c["name"]] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


def _tensorboard_sink(log_dir: Path) -> Callable[[Event], None] | None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard not installed (ImportError) or broken
        return None
    writer = SummaryWriter(str(log_dir))

    def sink(event: Event) -> None:
        if isinstance(event, StepEvent):
            for key, value in (("train/loss", event.loss), ("train/lr", event.lr)):
                if value is not None:
                    writer.add_scalar(key, value, event.global_step)
        elif isinstance(event, EpochEvent):
            for key in ("train_loss", "val_loss", "miou", "pixel_acc", "mean_dice"):
                value = getattr(event, key)
                if value is not None:
                    writer.add_scalar(f"epoch/{key}", value, event.epoch)
            writer.flush()
        elif isinstance(event, EndEvent):
            writer.close()

    return sink


class NonFiniteLossError(CocoSegError):
    """The loss (or the weights) stopped being finite: training cannot go on from here."""

    kind = "non_finite_loss"


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's or taskset's limit)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Stop(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Trainer:
    """One training run; ``run()`` returns the end event. Use ``train()``."""

    def __init__(
        self,
        config: TrainConfig,
        ctx: DistContext,
        device: torch.device,
        log: EventLog,
        cancel: CancelToken | None,
    ) -> None:
        self.cfg, self.ctx, self.device, self.log, self.cancel = config, ctx, device, log, cancel
        self.out = Path(config.out)
        self.resume_ckpt = load_checkpoint(config.resume) if config.resume else None
        if self.resume_ckpt is not None and "train_state" not in self.resume_ckpt:
            raise OptionsError(
                f"{config.resume}: checkpoint has no training state to resume from (resume from last.pt)"
            )
        self.init_ckpt = load_checkpoint(config.init_from) if config.init_from else None
        self.inputs: RunInputs | None = None  # run_inputs.json of a new run (set by prepare)
        self.val_set: ValSet | None = None  # what validation measures (set by prepare)
        self.epoch = 0
        self.batches_done = 0  # in the current epoch
        self.global_step = 0  # batches
        self.best_miou = -1.0
        self.elapsed_before = 0.0
        self.last_epoch_s: float | None = None
        self.last_save = time.perf_counter()  # of last.pt (checkpoint_every_s: also inside an epoch)
        self.loss_sum = 0.0
        self.loss_count = 0
        self.skipped: set[str] = set()
        self.t0 = time.perf_counter()
        self._pending_warnings: list[tuple[str, str]] | None = []
        self._split_to_write: dict[str, Any] | None = None  # written by run(), once setup succeeded
        self.resume_plan: tuple[int, int, BatchPlan] | None = None  # (old world, old batch, plan)
        if self.resume_ckpt is not None:
            self._keep_global_batch()

    def _keep_global_batch(self) -> None:
        """A run resumed on another number of processes keeps its global batch (ADR 0037): the
        per-process batch and accumulation steps change, the warning says how."""
        ck = self.resume_ckpt
        assert ck is not None
        old_world = int(ck["train_state"].get("world_size", 1))
        if old_world == self.ctx.world_size:
            return
        was = ck.get("config") or {}
        batch = int(was.get("batch_size", self.cfg.batch_size))
        accum = int(was.get("grad_accum", self.cfg.grad_accum))
        plan = rescale_batch(batch, accum, old_world, self.ctx.world_size)
        self.cfg = dataclasses.replace(self.cfg, batch_size=plan.batch_size, grad_accum=plan.grad_accum)
        self.resume_plan = (old_world, batch, plan)
        self.warn(WarningKind.RESUME_WORLD_SIZE, plan.describe(old_world, batch, accum))

    # ---------------------------------------------------------------- setup
    def warn(self, kind: str, message: str) -> None:
        """A warning event of ``kind`` (a WarningKind); those raised while setting up follow the start."""
        if self._pending_warnings is None:
            self.log.warning(kind, message)
        else:
            self._pending_warnings.append((kind, message))

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def _model_spec(self) -> tuple[str, dict[str, Any], int]:
        cfg, ck = self.cfg, self.resume_ckpt
        if ck is None and self.init_ckpt is not None:
            return self._init_model_spec()
        if ck is None:
            return cfg.model, dict(cfg.model_kwargs), cfg.img_size
        name, kwargs, size = ck["model"]["name"], dict(ck["model"]["kwargs"]), int(ck["input"]["img_size"])
        asked = {k: v for k, v in cfg.model_kwargs.items() if kwargs.get(k) != v}
        if name != cfg.model or size != cfg.img_size or asked:
            self.warn(
                WarningKind.RESUME_MODEL,
                f"resuming: model {name} {kwargs} at image size {size} from the checkpoint "
                f"(options asked for {cfg.model} {cfg.model_kwargs} at {cfg.img_size})",
            )
        return name, kwargs, size

    def _init_model_spec(self) -> tuple[str, dict[str, Any], int]:
        """The init checkpoint's model and options (its weights fit no other); the config's image size.

        A different model name asked for is replaced by the checkpoint's, with a warning; so are options
        that differ. The image size stays the user's choice (every model here is fully convolutional).
        """
        cfg, ck = self.cfg, self.init_ckpt
        assert ck is not None
        name, kwargs = str(ck["model"]["name"]), dict(ck["model"].get("kwargs") or {})
        asked = {k: v for k, v in cfg.model_kwargs.items() if kwargs.get(k) != v}
        if name != cfg.model or asked:
            self.warn(
                WarningKind.INIT_MODEL,
                f"{cfg.init_from}: fine-tuning the checkpoint's model {name} {kwargs} "
                f"(options asked for {cfg.model} {cfg.model_kwargs})",
            )
        return name, kwargs, cfg.img_size

    def _split(self, files: list[str]) -> tuple[list[str], list[str]]:
        from cocoseg_gui.core.files.json_file import read_json
        from cocoseg_gui.core.training.data import split_files

        cfg = self.cfg
        candidates = [self.out / "split.json"]
        if cfg.resume is not None:
            candidates.append(Path(cfg.resume).parent / "split.json")
        if cfg.resume is not None:
            for path in candidates:
                if path.is_file():
                    split = read_json(path)
                    train, val = list(split.get("train", [])), list(split.get("val", []))
                    missing = sorted(set(train + val) - set(files))
                    if missing:
                        raise DatasetError(
                            path,
                            f"{len(missing)} images of the saved split are not in "
                            f"{cfg.data}, e.g. {missing[:3]}",
                        )
                    if path != candidates[0]:
                        self._split_to_write = split
                    return train, val
        kept = self._init_split(files)
        if kept is not None:
            train, val = kept
        else:
            train, val = split_files(files, cfg.val_fraction, cfg.seed)
        self._split_to_write = {
            "train": train,
            "val": val,
            "seed": cfg.seed,
            "val_fraction": cfg.val_fraction,
        }
        return train, val

    def _init_split(self, files: list[str]) -> tuple[list[str], list[str]] | None:
        """A fine-tune keeps the split of the run it starts from (its split.json beside the checkpoint):
        images it validated on stay validation images, so the scores do not count trained images. Images
        labelled since are split as a new run would; None when there is no such split."""
        from cocoseg_gui.core.files.json_file import read_json
        from cocoseg_gui.core.training.data import split_files

        path = Path(self.cfg.init_from).parent / "split.json" if self.cfg.init_from else None
        if path is None or not path.is_file():
            return None
        try:
            split = read_json(path)
        except DatasetError as exc:
            self.warn(WarningKind.OTHER, f"{exc}; splitting the images afresh")
            return None
        if not isinstance(split, dict):
            return None
        have = set(files)
        old_train = [f for f in split.get("train", []) if f in have]
        old_val = [f for f in split.get("val", []) if f in have]
        if not old_val:
            return None
        new = sorted(have - set(old_train) - set(old_val))
        new_train, new_val = split_files(new, self.cfg.val_fraction, self.cfg.seed) if new else ([], [])
        return sorted(old_train + new_train), sorted(old_val + new_val)

    def setup_data(self, img_size: int) -> None:
        from cocoseg_gui.core.training.data import (
            MaskDataset,
            build_transforms,
            check_foreground,
            describe_split_leakage,
        )
        from cocoseg_gui.core.training.data_sources import check_same_classes, sample_key

        cfg = self.cfg
        train_tf = build_transforms(img_size, train=cfg.augment, resize=cfg.resize)
        val_tf = build_transforms(img_size, train=False, resize=cfg.resize)
        roots = cfg.training_folders()
        fulls = [MaskDataset(root, follow_symlinks=cfg.follow_symlinks) for root in roots]
        if len(roots) > 1:
            check_same_classes(roots)  # before any file is written: one folder's "3" is the other's "3"
        for ds in fulls:
            self._warn_refused(ds)
        if not any(ds.files for ds in fulls):
            raise DatasetError(cfg.data, "the mask dataset has no labelled image (no mask saved yet)")
        for ds in fulls:
            if ds.files:
                self._check_mask_files(ds)
            elif len(fulls) > 1:
                self.warn(WarningKind.OTHER, f"{ds.root}: no labelled image (no mask saved yet); left out")
        full = fulls[0]
        self.classes, self.num_classes, self.ignore_index = full.classes, full.num_classes, full.ignore_index
        for ds in fulls:
            if not getattr(ds, "complete", True):
                self.warn(
                    WarningKind.INCOMPLETE_MASKS,
                    f"{ds.root}: mask generation did not finish (cancelled?); training on the "
                    f"{len(ds.files)} masks written so far. Rerun `cocoseg masks` to complete it.",
                )
        keys = [sample_key(i, ds.root, f) for i, ds in enumerate(fulls) for f in ds.files]
        if cfg.val_data is not None:
            train_files = keys
            val_ds = MaskDataset(cfg.val_data, transform=val_tf, follow_symlinks=cfg.follow_symlinks)
            self._warn_refused(val_ds)
            if [c["name"] for c in val_ds.classes] != [c["name"] for c in self.classes]:
                raise DatasetError(
                    cfg.val_data / "category_mapping.json",
                    "validation classes differ from the training classes "
                    f"({len(val_ds.classes)} vs {len(self.classes)}); generate both with the "
                    "same --classes",
                )
            leak = describe_split_leakage([f for ds in fulls for f in ds.files], val_ds.files)
            if leak:
                self.warn(WarningKind.SPLIT_LEAKAGE, leak)
            self._check_mask_files(val_ds)
            self.val_ds = val_ds
        elif cfg.val_on_train:
            train_files = keys
            self.val_ds = self._subset(fulls, keys, val_tf)
            self.warn(
                WarningKind.VAL_ON_TRAIN,
                "validating on the training images (--val-on-train): validation scores measure "
                "fit, not generalisation",
            )
        else:
            train_files, val_files = self._split(keys)
            self.val_ds = self._subset(fulls, val_files, val_tf)
        self.train_ds = self._subset(fulls, train_files, train_tf)
        if not len(self.train_ds):
            raise DatasetError(cfg.data, "no training images left after the validation split")
        parts = getattr(self.train_ds, "parts", [self.train_ds])
        absent = check_foreground(
            parts[0].root,
            parts[0].files,
            self.classes,
            "training",
            more=[(p.root, p.files) for p in parts[1:]],
        )
        if absent:
            self.warn(WarningKind.CLASSES_WITHOUT_PIXELS, absent + " (nothing to learn for them)")
        if not len(self.val_ds):
            self.warn(
                WarningKind.NO_VALIDATION,
                "no validation images: epochs report no mIoU and best.pt is not written",
            )
        weights = self._sample_weights(parts, self.train_ds.files)
        ctx = self.ctx
        self.train_sampler = EpochSampler(
            len(self.train_ds),
            shuffle=True,
            seed=cfg.seed,
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            weights=weights,
        )
        self.val_sampler = EpochSampler(
            len(self.val_ds),
            shuffle=False,
            seed=cfg.seed,
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            pad=False,
        )
        pin = self.device.type == "cuda"
        workers = self._loader_workers()
        self.train_loader = make_loader(
            self.train_ds, self.train_sampler, cfg.batch_size, workers, cfg.seed, pin
        )
        self.val_loader = make_loader(self.val_ds, self.val_sampler, cfg.batch_size, workers, cfg.seed, pin)

    def _subset(self, fulls: list[Any], keys: list[str], transform: Any) -> Any:
        """The images ``keys`` (data_sources.sample_key names) of the folders ``fulls``, with ``transform``:
        one folder's MaskDataset as before, several as a MultiMaskDataset."""
        from cocoseg_gui.core.training.data import MaskDataset, training_dataset
        from cocoseg_gui.core.training.data_sources import sample_key

        wanted = set(keys)
        parts = [
            MaskDataset(
                ds.root,
                files=keys
                if i == 0 and len(fulls) == 1
                else [f for f in ds.files if sample_key(i, ds.root, f) in wanted],
                transform=transform,
                follow_symlinks=self.cfg.follow_symlinks,
            )
            for i, ds in enumerate(fulls)
        ]
        return training_dataset(parts)

    def _sample_weights(self, parts: list[Any], keys: list[str]) -> list[float] | None:
        """Per-image sampling weights: rare classes (``oversample``) times ``edited_weight`` for the images
        edited (the run_inputs.json list; a resume reads the run's own); None: uniform."""
        from cocoseg_gui.core.training.data import sample_weights

        cfg = self.cfg
        weights: list[float] | None = None
        if cfg.oversample:
            weights = [w for p in parts for w in sample_weights(p.root, p.files)]
        if cfg.edited_weight > 1.0:
            edited = self._edited_keys()
            if edited & set(keys):
                base = weights or [1.0] * len(keys)
                weights = [w * (cfg.edited_weight if k in edited else 1.0) for w, k in zip(base, keys)]
        if weights is not None:
            mean = sum(weights) / len(weights)
            weights = [w / mean for w in weights]
        return weights

    def _edited_keys(self) -> set[str]:
        from cocoseg_gui.core.training.run_inputs import read_run_inputs

        inputs = self.inputs
        if inputs is None and self.cfg.resume is not None:
            try:
                inputs = read_run_inputs(Path(self.cfg.resume).parent)
            except DatasetError as exc:
                self.warn(WarningKind.OTHER, f"{exc}: edited images are not sampled more often")
        return set(inputs.edited) if inputs is not None else set()

    def _loader_workers(self) -> int:
        """cfg.workers, capped at the CPUs available (more processes only compete for them)."""
        cpus = available_cpus()
        if self.cfg.workers > cpus:
            self.warn(
                WarningKind.WORKERS_CAPPED,
                f"--workers {self.cfg.workers}: only {cpus} CPUs are available; using {cpus} loader workers",
            )
            return cpus
        return self.cfg.workers

    def _check_mask_files(self, ds: Any) -> None:
        """Every mask file named by image_mask_map.json missing: an error naming them (not "all background");
        some missing: a warning (those images are skipped)."""
        if not hasattr(ds, "mask_path"):  # an in-memory stand-in (benchmarks/bench_train_step.py)
            return
        missing = [f for i, f in enumerate(ds.files) if not ds.mask_path(i).is_file()]
        if not missing:
            return
        names = ", ".join(repr(ds.mask_map[f]) for f in missing[:3])
        if len(missing) == len(ds.files):
            raise DatasetError(
                ds.masks_dir,
                f"none of the {len(missing)} mask files named in image_mask_map.json exist (e.g. {names}): "
                "regenerate the masks with `cocoseg masks`",
            )
        self.warn(
            WarningKind.MISSING_MASKS,
            f"{ds.masks_dir}: {len(missing)} of {len(ds.files)} mask files named in image_mask_map.json "
            f"are missing (e.g. {names}); their images are skipped",
        )
        gone = set(missing)  # unlabelled: left out of the split and the epoch counts, never background
        ds.files = [f for f in ds.files if f not in gone]

    def _warn_refused(self, ds: Any) -> None:
        """Name the image_mask_map.json entries left out because they lead outside the dataset."""
        if ds.refused:
            more = f" (and {len(ds.refused) - 1} more)" if len(ds.refused) > 1 else ""
            self.warn(
                WarningKind.IMAGES_LEFT_OUT, f"left out {len(ds.refused)} images: {ds.refused[0][1]}{more}"
            )

    def setup_model(self, name: str, kwargs: dict[str, Any]) -> None:
        from cocoseg_gui.core.training.losses import build_loss
        from cocoseg_gui.core.training.models import build_model

        cfg, dev = self.cfg, self.device
        start = self.resume_ckpt if self.resume_ckpt is not None else self.init_ckpt
        start_path = cfg.resume if self.resume_ckpt is not None else cfg.init_from
        pretrained = "none" if start is not None else cfg.pretrained
        if self.resume_ckpt is not None:
            self._check_resume_classes(self.resume_ckpt)
        elif self.init_ckpt is not None:
            self._check_init_classes(self.init_ckpt)
        model = build_model(name, self.num_classes, pretrained=pretrained, **kwargs)
        self.model_kwargs = dict(getattr(model, "model_kwargs", kwargs))  # defaults resolved
        if start is not None:
            try:
                model.load_state_dict(start["model"]["state_dict"])
            except (RuntimeError, KeyError, TypeError) as exc:
                first = str(exc).strip().splitlines()[0][:300]
                raise CocoSegError(
                    f"{start_path}: the checkpoint's weights do not fit model {name} {kwargs} ({first})"
                ) from None
        self.init_ckpt = None  # its weights are in the model: the dict (a last.pt's optimiser state too)
        # need not stay in memory for the whole run
        model.to(dev)
        self.channels_last = dev.type == "cuda"
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.ddp_model: torch.nn.Module = model
        if self.ctx.enabled:
            ids = [dev.index] if dev.type == "cuda" else None
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

        weights = None
        if cfg.loss == "wce" or (cfg.loss == "focal" and cfg.focal_alpha):
            from cocoseg_gui.core.training.data import class_pixel_counts, class_weights

            counts = np.sum([class_pixel_counts(root) for root in cfg.training_folders()], axis=0)
            weights = class_weights(counts, self.ignore_index, cfg.class_weighting)
        self.criterion = build_loss(cfg.loss, self.num_classes, self.ignore_index, weights, cfg.focal_gamma)
        if isinstance(self.criterion, torch.nn.Module):
            self.criterion.to(dev)

        self.optimizer = build_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
        batches = math.ceil(len(self.train_sampler) / cfg.batch_size)
        if cfg.max_steps_per_epoch:
            batches = min(batches, cfg.max_steps_per_epoch)
        self.batches_per_epoch = batches
        self.opt_steps_per_epoch = math.ceil(batches / cfg.grad_accum)
        self.scheduler = build_scheduler(self.optimizer, cfg.schedule, self.opt_steps_per_epoch * cfg.epochs)
        amp, warning = resolve_amp(cfg.amp, dev.type)
        if warning:
            self.warn(WarningKind.AMP_UNAVAILABLE, warning)
        self.amp = amp
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
        self.scaler = torch.amp.GradScaler(dev.type, enabled=amp == "fp16")

    def _check_resume_classes(self, ckpt: dict[str, Any]) -> None:
        """The checkpoint and the data must have the same classes (else: a size mismatch traceback)."""
        theirs = [str(c.get("name")) for c in ckpt["classes"]]
        ours = [str(c["name"]) for c in self.classes]
        if theirs == ours:
            return
        if len(theirs) != len(ours):
            what = f"the checkpoint has {len(theirs)} classes and the data {len(ours)}"
        else:
            what = "the checkpoint's classes have other names than the data's"
        raise DatasetError(
            self.cfg.resume,
            f"cannot resume on {self.cfg.data}: {what} ({theirs[:4]}... vs {ours[:4]}...); resume with the "
            "mask dataset the run was trained on, or start a new run with --pretrained on this checkpoint",
        )

    def _check_init_classes(self, ckpt: dict[str, Any]) -> None:
        """Fine-tuning needs the data's classes, in the checkpoint's order (the output layer is kept)."""
        theirs = [str(c.get("name")) for c in ckpt["classes"]]
        ours = [str(c["name"]) for c in self.classes]
        if theirs == ours:
            return
        if len(theirs) != len(ours):
            what = f"the checkpoint has {len(theirs)} classes and the mask dataset {len(ours)}"
        else:
            what = "the checkpoint's classes have other names or another order than the mask dataset's"
        raise DatasetError(
            self.cfg.init_from,
            f"cannot fine-tune on {self.cfg.data}: {what} ({theirs[:4]}... vs {ours[:4]}...); start from a "
            "checkpoint trained on masks with the same classes",
        )

    def restore(self) -> None:
        """Continue exactly where the checkpoint stopped (call last: it restores the RNGs)."""
        ck = self.resume_ckpt
        if ck is None:
            return
        st = ck["train_state"]
        self.optimizer.load_state_dict(st["optimizer"])
        self.scheduler.load_state_dict(st["scheduler"])
        if st.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(st["scaler"])
        self.epoch = int(st["epoch"])
        self.batches_done = int(st.get("batches_done", 0))
        self.global_step = int(st["global_step"])
        if self.resume_plan is not None:  # the same samples done, counted in batches of the new size
            old_world, old_batch, plan = self.resume_plan
            self.batches_done = resumed_position(self.batches_done, old_batch, old_world, plan)
            self.global_step = self.global_step * old_batch * old_world // (plan.batch_size * plan.world_size)
        self.best_miou = float(st.get("best_miou", -1.0))
        self.elapsed_before = float(st.get("elapsed_s", 0.0))
        self.last_epoch_s = st.get("last_epoch_s")
        self.loss_sum = float(st.get("epoch_loss_sum", 0.0))
        self.loss_count = int(st.get("epoch_loss_count", 0))
        self.skipped = set(st.get("skipped", []))
        set_rng_state(st["rng"])

    # ---------------------------------------------------------------- checkpoints
    def _checkpoint(self, metrics: dict[str, Any], with_state: bool) -> dict[str, Any]:
        state = None
        if with_state:
            state = {
                "epoch": self.epoch,
                "batches_done": self.batches_done,
                "global_step": self.global_step,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
                "rng": rng_state(),
                "best_miou": self.best_miou,
                "elapsed_s": self.elapsed(),
                "last_epoch_s": self.last_epoch_s,
                "epoch_loss_sum": self.loss_sum,
                "epoch_loss_count": self.loss_count,
                "skipped": sorted(self.skipped),
                "world_size": self.ctx.world_size,
            }
        ckpt = build_checkpoint(
            model_name=self.model_name,
            model_kwargs=self.model_kwargs,
            state_dict={k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
            classes=self.classes,
            ignore_index=self.ignore_index,
            img_size=self.img_size,
            resize=self.cfg.resize,
            metrics=metrics,
            config=self.cfg.to_json(),
            train_state=state,
        )
        if self.val_set is not None:  # what the metrics were measured on (model_score.py)
            ckpt["val_set"] = self.val_set.to_json()
        return ckpt

    def save(self, metrics: dict[str, Any], best: bool) -> None:
        """last.pt (with the training state) and, when ``best``, best.pt; rank 0 writes, all wait.

        Weights that are not finite are never written over a good checkpoint.
        """
        self._check_finite_weights()
        dist_utils.barrier(self.ctx)
        self.last_save = time.perf_counter()  # every rank: the next mid-epoch save is decided together
        if self.ctx.is_main:
            save_checkpoint(self.out / "last.pt", self._checkpoint(metrics, with_state=True))
            epoch = metrics.get("epoch", self.epoch)
            self.log.emit(CheckpointEvent(path="last.pt", epoch=epoch, best=False))
            if best:
                save_checkpoint(self.out / "best.pt", self._checkpoint(metrics, with_state=False))
                self.log.emit(CheckpointEvent(path="best.pt", epoch=epoch, best=True))
        dist_utils.barrier(self.ctx)

    def _check_finite_weights(self) -> None:
        finite = torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all()
        if not bool(finite.item()):
            raise NonFiniteLossError(
                f"the model weights are no longer finite at epoch {self.epoch + 1} (learning rate "
                f"{self.cfg.lr:g} too high?): training stopped; {self._kept_checkpoints()}"
            )

    def _kept_checkpoints(self) -> str:
        kept = [n for n in CHECKPOINTS if (self.out / n).is_file()]
        if not kept:
            return "no checkpoint was written"
        return f"the checkpoints of earlier steps are kept ({', '.join(kept)})"

    def _check_finite_loss(self, nonfinite: torch.Tensor) -> None:
        """Stop when a step loss since the last check was NaN/inf (``nonfinite``: a flag on the device).

        Checked where the loop waits for the device anyway (log steps, the end of an epoch or a stop), not
        after every step: a sync per step would stall the GPU's queue. Weights hit by the bad step are never
        saved: ``_check_finite_weights`` guards every checkpoint.
        """
        bad = bool(nonfinite.item())
        if self.ctx.enabled:
            bad = dist_utils.any_rank(self.ctx, bad, self.device)
        if bad:
            raise NonFiniteLossError(
                f"the training loss is not finite (NaN or inf) by epoch {self.epoch + 1}, step "
                f"{self.batches_done}: training stopped (is the learning rate {self.cfg.lr:g} too high?); "
                f"{self._kept_checkpoints()}"
            )

    # ---------------------------------------------------------------- loop
    def _check_batch(self, batch: Batch) -> None:
        """Skipped files -> warnings; a sample that must stop training (bad mask value) -> DatasetError."""
        if batch.failed:
            raise DatasetError(batch.failed[0].path, batch.failed[0].problem)
        if batch.skipped:
            self._note_skipped(batch.skipped, batch.skip_reasons)

    def _note_skipped(self, files: list[str], reasons: Sequence[str] = ()) -> None:
        for f, why in zip(files, [*reasons, *[""] * (len(files) - len(reasons))]):
            if f not in self.skipped:
                self.skipped.add(f)
                detail = f": {why}" if why else ""
                self.warn(
                    WarningKind.SKIPPED_IMAGES,
                    f"skipped unreadable image or mask {f!r}{detail} ({len(self.skipped)} so far)",
                )

    def _to_device(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        assert batch.images is not None and batch.masks is not None  # called for a non-empty batch only
        images = batch.images.to(self.device, non_blocking=True)
        masks = batch.masks.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, masks

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _loss(self, out: torch.Tensor | dict[str, torch.Tensor], masks: torch.Tensor) -> torch.Tensor:
        """The loss of the logits, plus half the auxiliary head's when the model returns one."""
        if isinstance(out, dict):
            return self.criterion(out["out"].float(), masks) + AUX_WEIGHT * self.criterion(
                out["aux"].float(), masks
            )
        return self.criterion(out.float(), masks)

    def _stop_reason(self) -> _Stop | None:
        cancelled = self.cancel is not None and self.cancel.cancelled
        budget = self.cfg.time_budget_s
        over = budget is not None and self.elapsed() >= budget
        if self.ctx.enabled:
            c, o = dist_utils.all_reduce_sum(self.ctx, [float(cancelled), float(over)], self.device)
            cancelled, over = c > 0, o > 0
        if cancelled:
            return _Stop("cancelled", getattr(self.cancel, "reason", None) or "cancelled by the user")
        if over:
            return _Stop("time_budget", f"time budget of {budget:.0f} s reached")
        return None

    def _optimizer_step(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()

    def train_epoch(self) -> None:
        cfg, sampler = self.cfg, self.train_sampler
        sampler.set_epoch(self.epoch)
        sampler.set_start(self.batches_done * cfg.batch_size)
        self.ddp_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        win_loss = torch.zeros((), device=self.device, dtype=torch.float64)
        step_loss = torch.zeros((), device=self.device, dtype=torch.float64)  # since the last optimiser step
        nonfinite = torch.zeros((), device=self.device, dtype=torch.bool)  # a NaN/inf step loss, unchecked
        win_n, win_imgs, win_t = 0, 0, time.perf_counter()
        count = 0
        accum = self.batches_done % cfg.grad_accum
        for batch in self.train_loader:
            self._check_batch(batch)
            last_batch = self.batches_done + 1 >= self.batches_per_epoch
            boundary = (accum + 1) % cfg.grad_accum == 0 or last_batch
            sync: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
            if self.ctx.enabled and not boundary:
                assert isinstance(self.ddp_model, torch.nn.parallel.DistributedDataParallel)
                sync = self.ddp_model.no_sync()
            n = len(batch)
            with sync:
                if n:
                    images, masks = self._to_device(batch)
                    with self._autocast():
                        loss = self._loss(self.ddp_model(images), masks)
                elif self.ctx.enabled:  # every rank must join the gradient all-reduce
                    dummy = torch.zeros(1, 3, self.img_size, self.img_size, device=self.device)
                    out = self.ddp_model(dummy)
                    parts = out.values() if isinstance(out, dict) else [out]
                    loss = sum(p.float().sum() for p in parts) * 0.0
                else:
                    loss = None
                if loss is not None:
                    self.scaler.scale(loss / cfg.grad_accum).backward()
            if n:
                assert loss is not None  # computed for this non-empty batch above
                d = loss.detach().double() * n
                step_loss += d
                loss_sum += d
                count += n
                win_loss += d
                win_n += n
                win_imgs += n
            self.batches_done += 1
            self.global_step += 1
            accum += 1
            if boundary:
                accum = 0
                nonfinite |= ~torch.isfinite(step_loss)  # on the device: no wait here
                step_loss.zero_()
                self._optimizer_step()
            if self.global_step % cfg.log_every == 0:
                self._check_finite_loss(nonfinite)
            if self.global_step % cfg.log_every == 0 and win_n:
                now = time.perf_counter()
                self.log.emit(
                    StepEvent(
                        epoch=self.epoch,
                        step=self.batches_done,
                        global_step=self.global_step,
                        loss=float(win_loss.item()) / win_n,
                        lr=self.optimizer.param_groups[0]["lr"],
                        images_per_s=win_imgs * self.ctx.world_size / max(now - win_t, 1e-9),
                    )
                )
                win_loss.zero_()
                win_n, win_imgs, win_t = 0, 0, now
            if boundary and not last_batch and self.global_step % cfg.log_every == 0 and self._save_due():
                self._check_finite_loss(nonfinite)
                self._save_mid_epoch(loss_sum, count)
            if boundary and not last_batch:
                stop = self._stop_reason()
                if stop is not None:
                    self._check_finite_loss(nonfinite)
                    self._flush_loss(loss_sum, count)
                    raise stop
            if last_batch:
                break
        self._check_finite_loss(nonfinite)
        self._flush_loss(loss_sum, count)

    def _save_due(self) -> bool:
        """checkpoint_every_s has passed since last.pt was saved (asked at log steps: a sync point anyway;
        under DDP every rank takes the same decision)."""
        every = self.cfg.checkpoint_every_s
        due = every is not None and time.perf_counter() - self.last_save >= every
        return dist_utils.any_rank(self.ctx, due, self.device) if self.ctx.enabled else due

    def _save_mid_epoch(self, loss_sum: torch.Tensor, count: int) -> None:
        """last.pt at this step (position in the epoch, RNGs, the partial epoch's loss): a run killed later
        resumes here, exactly as after a stop."""
        kept = self.loss_sum, self.loss_count
        self.loss_sum, self.loss_count = kept[0] + float(loss_sum.item()), kept[1] + count
        try:
            self.save({"epoch": self.epoch, "batches_done": self.batches_done, "saved": "mid_epoch"}, False)
        finally:
            self.loss_sum, self.loss_count = kept

    def _flush_loss(self, loss_sum: torch.Tensor, count: int) -> None:
        self.loss_sum += float(loss_sum.item())
        self.loss_count += count

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        from cocoseg_gui.core.training.metrics import ConfusionMatrix

        self.ddp_model.eval()
        model = self.model  # no DDP forward in eval: ranks may see different batch counts
        dist_utils.broadcast_buffers(self.ctx, model)  # validate rank 0's model, the one saved
        cm = ConfusionMatrix(self.num_classes, self.ignore_index, self.device)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        count = 0
        for batch in self.val_loader:
            self._check_batch(batch)
            if not len(batch):
                continue
            images, masks = self._to_device(batch)
            with self._autocast():
                logits = model(images)
            logits = logits.float()
            loss_sum += self.criterion(logits, masks).double() * len(batch)
            count += len(batch)
            cm.update(logits.max(1).indices, masks)  # = argmax(1), faster on CPU
        total_loss, total_count = dist_utils.all_reduce_sum(
            self.ctx, [float(loss_sum.item()), count], self.device
        )
        if self.ctx.enabled:
            cm.all_reduce()
        res = cm.compute()
        return {
            "val_loss": total_loss / total_count if total_count else None,
            "miou": float(res["miou"]),
            "pixel_acc": float(res["pixel_acc"]),
            "mean_dice": float(res["mean_dice"]),
            "per_class_iou": _named_iou(self.classes, res["per_class_iou"], res.get("present")),
        }

    def _budget_stop_before_epoch(self) -> _Stop | None:
        """Stop at this epoch boundary when the last epoch's duration says the next one cannot finish."""
        stop = self._stop_reason()
        if stop is not None:
            return stop
        budget, last = self.cfg.time_budget_s, self.last_epoch_s
        wont_fit = budget is not None and last is not None and self.elapsed() + last > budget
        if dist_utils.any_rank(self.ctx, wont_fit, self.device):
            return _Stop(
                "time_budget",
                f"the next epoch (~{last or 0:.0f} s) would end past the time budget "
                f"of {budget:.0f} s ({self.elapsed():.0f} s used)",
            )
        return None

    def _start_event(self) -> None:
        cfg = self.cfg
        self.log.emit(
            StartEvent(
                config=cfg.to_json(),
                device=str(self.device),
                world_size=self.ctx.world_size,
                model={"name": self.model_name, "kwargs": self.model_kwargs},
                img_size=self.img_size,
                num_train=len(self.train_ds),
                num_val=len(self.val_ds),
                num_classes=self.num_classes,
                classes=[c["name"] for c in self.classes],
                amp=self.amp,
                epoch=self.epoch,
                global_step=self.global_step,
                resumed_from=str(cfg.resume) if cfg.resume else None,
                steps_per_epoch=self.batches_per_epoch,
                init_from=str(cfg.init_from) if cfg.init_from else None,
                edited_since=len(self.inputs.edited) if self.inputs and not self.inputs.problem else None,
                inputs_summary=self.inputs.summary() if self.inputs else None,
            )
        )

    def _write_config(self) -> None:
        if self.ctx.is_main:
            if self._split_to_write is not None:
                atomic_write_json(self.out / "split.json", self._split_to_write)
            atomic_write_json(
                self.out / "config.json",
                {
                    **self.cfg.to_json(),
                    "model_kwargs": self.model_kwargs,
                    "img_size": self.img_size,
                    "classes": self.classes,
                    "num_classes": self.num_classes,
                    "ignore_index": self.ignore_index,
                    "world_size": self.ctx.world_size,
                    "device": str(self.device),
                    "amp_resolved": self.amp,
                    "val_set": self.val_set.to_json() if self.val_set else None,
                },
            )
            if self.inputs is not None:  # a resume keeps the run_inputs.json of the run's start
                write_run_inputs(self.out, self.inputs)

    def prepare(self) -> None:
        """Everything that can fail on bad options, data, weights or checkpoint; writes no file."""
        cfg = self.cfg
        self.model_name, self.model_kwargs, self.img_size = self._model_spec()
        seed_all(cfg.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = not cfg.deterministic
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if cfg.resume is None:  # read first: edited images may be sampled more often
            self.inputs = collect_run_inputs(cfg.data, cfg.init_from, cfg.extra_data)
            if self.inputs.problem:
                self.warn(WarningKind.OTHER, self.inputs.summary())
        self.setup_data(self.img_size)
        self.val_set = self._val_set()
        self.setup_model(self.model_name, self.model_kwargs)
        self.restore()

    def _val_set(self) -> ValSet | None:
        """What the scores are measured on (recorded with them: a model earns its place on the same set)."""
        cfg = self.cfg
        if cfg.val_data is not None:
            source = str(cfg.val_data)
        else:
            source = f"{'the training images of' if cfg.val_on_train else 'a split of'} {cfg.data}"
        return val_set_of_dataset(self.val_ds, source)

    def _check_trained(self, loss_count: float) -> None:
        """An epoch in which no training image could be read trained nothing: an error, not "finished"."""
        if loss_count == 0:
            shown = ", ".join(sorted(self.skipped)[:3])
            raise DatasetError(
                self.cfg.data,
                f"no training image of epoch {self.epoch + 1} could be read ({len(self.skipped)} skipped"
                + (f", e.g. {shown}" if shown else "")
                + "): nothing was trained; see the warnings above",
            )

    def run(self) -> EndEvent:
        """Train from the state ``prepare`` set up (call that first); return the end event."""
        cfg = self.cfg
        self._write_config()
        self.t0 = time.perf_counter()
        self._start_event()
        for kind, message in self._pending_warnings or []:
            self.log.warning(kind, message)
        self._pending_warnings = None
        try:
            while self.epoch < cfg.epochs:
                resumed_mid_epoch = self.batches_done > 0
                stop = self._stop_reason() if resumed_mid_epoch else self._budget_stop_before_epoch()
                if stop is not None:
                    raise stop
                t_epoch = time.perf_counter()
                self.train_epoch()
                loss_sum, loss_count = dist_utils.all_reduce_sum(
                    self.ctx, [self.loss_sum, self.loss_count], self.device
                )
                self._check_trained(loss_count)
                due = (self.epoch + 1) % cfg.val_every == 0 or self.epoch + 1 == cfg.epochs
                metrics: dict[str, Any] = self.validate() if due and len(self.val_ds) else {}
                epoch_s = time.perf_counter() - t_epoch
                if not resumed_mid_epoch:
                    self.last_epoch_s = epoch_s
                miou = metrics.get("miou")
                best = miou is not None and miou > self.best_miou
                if best:
                    self.best_miou = float(metrics["miou"])
                summary = {
                    "epoch": self.epoch,
                    "train_loss": loss_sum / loss_count if loss_count else None,
                    **metrics,
                    "elapsed_s": self.elapsed(),
                    "epoch_s": epoch_s,
                    "lr": self.optimizer.param_groups[0]["lr"],
                    "skipped": len(self.skipped),
                }
                self.log.emit(EpochEvent(**summary))
                self.epoch += 1
                self.batches_done, self.loss_sum, self.loss_count = 0, 0.0, 0
                self.save(summary, best)
            status, reason = "finished", f"{cfg.epochs} epochs done"
        except _Stop as stop:
            self.save({"epoch": self.epoch, "batches_done": self.batches_done, "stopped": stop.status}, False)
            status, reason = stop.status, stop.reason
        end = EndEvent(
            status=status,
            reason=reason,
            best_miou=self.best_miou if self.best_miou >= 0 else None,
            epochs_done=self.epoch,
            global_step=self.global_step,
            elapsed_s=self.elapsed(),
            skipped=len(self.skipped),
        )
        self.log.emit(end)
        return end


def train(
    config: TrainConfig, callbacks: Sequence[EventCallback] = (), cancel: CancelToken | None = None
) -> EndEvent:
    """Run a training job; return its ``end`` event (also sent to ``callbacks`` and metrics.jsonl).

    Launched by torchrun (WORLD_SIZE > 1) it runs DDP: NCCL on CUDA, gloo on CPU, rank 0 writes.
    Errors are reported as an ``end`` event with status "failed" (and a ``kind``, e.g. "non_finite_loss")
    and re-raised. A new run (no ``resume``) into a folder holding a run raises RunExistsError unless
    ``config.overwrite``; bad input raises before the folder is touched.
    """
    device = resolve_device(config.device)
    env = dist_utils.env_context()
    if env.enabled and device.type == "cuda":
        device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
    ctx = dist_utils.init_distributed(device)
    out = Path(config.out)
    log = EventLog(None, list(callbacks), enabled=ctx.is_main)
    try:
        check_run_out(out, config.data, config.val_data)
        if config.resume is None and not config.overwrite:
            check_new_run_folder(out)
        trainer = Trainer(config, ctx, device, log, cancel)
        trainer.prepare()  # bad input fails here, before the run folder is touched
        if ctx.is_main:
            _open_run_folder(out, log, fresh=config.resume is None)
        if config.tensorboard and ctx.is_main:
            sink = _tensorboard_sink(out / "tensorboard")
            if sink is None:
                trainer.warn(
                    WarningKind.TENSORBOARD_MISSING,
                    "--tensorboard: the tensorboard package is not installed "
                    "(pip install tensorboard); logging to metrics.jsonl only",
                )
            else:
                log.add_callback(sink)
        return trainer.run()
    except BaseException as exc:
        kind = getattr(exc, "kind", None)
        log.emit(EndEvent(status="failed", reason=str(exc) or type(exc).__name__, best_miou=None, kind=kind))
        raise
    finally:
        log.close()
        dist_utils.cleanup(ctx)


def _open_run_folder(out: Path, log: EventLog, fresh: bool) -> None:
    """Create the run folder and start its log; a fresh run replaces the files of the run it overwrites."""
    from cocoseg_gui.core.files.atomic import remove_stale_temporaries

    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    if fresh:
        for name in CHECKPOINTS:
            (out / name).unlink(missing_ok=True)  # overwrite asked for (or a folder without a run)
    log.open_file(out / LOG, fresh=fresh)
