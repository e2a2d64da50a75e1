"""`cocoseg train`: train a segmentation model on a mask dataset folder (one process or torchrun DDP)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from cocoseg_gui.cli.arg_types import non_negative_int, number, out_dir, positive_int
from cocoseg_gui.cli.project_opts import (
    add_project_option,
    is_main_process,
    load_project,
    missing_default,
    require,
    warn,
)
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.core.training.model_registry import MODEL_NAMES, option_flags, option_kwargs
from cocoseg_gui.core.training.names import CLASS_WEIGHTINGS, LOSS_NAMES


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a segmentation model on a mask dataset folder",
        description="Train on MASKS_DIR (made by `cocoseg masks`), writing RUN_DIR/config.json, split.json, "
        "metrics.jsonl, last.pt and best.pt. A RUN_DIR that already holds a run is refused unless --resume "
        "or --overwrite. Ctrl-C or SIGTERM stops after the current step with a checkpoint (exit 130 or "
        "143; --resume RUN_DIR/last.pt continues exactly). Several GPUs: "
        "torchrun --nproc_per_node=N -m cocoseg_gui.cli train ...",
    )
    p.add_argument(
        "--data", type=Path, metavar="MASKS_DIR", action="append",
        help="training mask dataset folder; repeat it to train on several at once (their classes must "
        "match by name and category id). With --project: every train dataset's masks",
    )  # fmt: skip
    p.add_argument(
        "--val-data", type=Path, metavar="MASKS_DIR",
        help="validation folder (default: the --project's first val dataset's masks, else a split)",
    )  # fmt: skip
    p.add_argument(
        "--model", choices=MODEL_NAMES, metavar="NAME",
        help=", ".join(MODEL_NAMES) + " (required, except with --init-from: the checkpoint's)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=out_dir, metavar="RUN_DIR",
        help="run folder (with --project: a free runs/<model>-<n> in the project folder)",
    )  # fmt: skip
    add_project_option(p)
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in a RUN_DIR that holds one (its checkpoints and log are replaced)"
                   )  # fmt: skip
    p.add_argument("--epochs", type=positive_int, default=50)
    p.add_argument("--batch-size", type=positive_int, default=8, help="per process (default: %(default)s)")
    p.add_argument(
        "--img-size", type=positive_int, default=512, help="model input size (default: %(default)s)"
    )
    p.add_argument("--lr", type=number(0, low_open=True), default=1e-3,
                   help="peak learning rate (default: %(default)s)")  # fmt: skip
    p.add_argument("--weight-decay", type=number(0), default=1e-4)
    p.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    p.add_argument("--schedule", choices=("poly", "cosine"), default="poly", help="per-step LR decay to 0")
    p.add_argument("--loss", choices=LOSS_NAMES, default="ce")
    p.add_argument("--class-weighting", choices=CLASS_WEIGHTINGS, default="inverse_sqrt",
                   help="class weights of --loss wce (from report.json pixel counts)")  # fmt: skip
    p.add_argument("--focal-gamma", type=number(0), default=2.0)
    p.add_argument("--focal-alpha", action="store_true", help="class weights as alpha of --loss focal")
    p.add_argument("--oversample", action="store_true", help="sample images with rare classes more often")
    p.add_argument("--edited-weight", type=number(1, 100), default=1.0, metavar="W",
                   help="draw the images edited in the mask editor (since --init-from's training, if "
                   "given) W times as often, 1-100 (default: %(default)s)")  # fmt: skip
    p.add_argument("--amp", nargs="?", const="auto", default="off", choices=("auto", "bf16", "fp16", "off"),
                   help="mixed precision on CUDA (bare --amp: bf16 where supported, else fp16)")  # fmt: skip
    p.add_argument("--time-budget", default="6h", metavar="DURATION",
                   help="stop cleanly (with a checkpoint) before this much training time, counting time "
                   "before a resume: 6h, 90m, 1h30m, seconds (> 0), or none (default: %(default)s)"
                   )  # fmt: skip
    p.add_argument("--checkpoint-every", default="10m", metavar="DURATION",
                   help="also save last.pt inside an epoch at most this often, so a run that is killed "
                   "resumes near where it stopped: 10m, 90s, ... or none (default: %(default)s)")  # fmt: skip
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:N, mps")
    p.add_argument("--workers", type=non_negative_int, default=2,
                   help="data loader processes, at most the CPU count (default: %(default)s)")  # fmt: skip
    p.add_argument("--seed", type=number(0, 2**32 - 1, integer=True), default=0)
    p.add_argument("--resume", type=Path, metavar="CKPT", help="continue a run from its last.pt")
    p.add_argument(
        "--init-from", type=Path, metavar="CKPT",
        help="fine-tune: a new run starting from this checkpoint's weights (fresh optimiser and schedule) "
        "on the current masks, edited ones included; the classes must match. RUN_DIR/run_inputs.json "
        "lists the masks edited since that checkpoint's training. Pick a short schedule yourself, "
        "e.g. --epochs 5 --lr 1e-4",
    )  # fmt: skip
    p.add_argument("--pretrained", default="none", metavar="none|imagenet|coco|PATH",
                   help="initial weights (default: none)")  # fmt: skip
    p.add_argument("--val-fraction", type=number(0, 1, low_open=True, high_open=True), default=0.2,
                   help="split share when no --val-data")  # fmt: skip
    p.add_argument(
        "--val-on-train", action="store_true", help="validate on the training images (overfit check)"
    )
    p.add_argument("--val-every", type=positive_int, default=1, metavar="N", help="validate every N epochs")
    p.add_argument(
        "--grad-accum", type=positive_int, default=1, metavar="N", help="accumulate N batches per step"
    )
    add_model_option_flags(p)
    p.add_argument("--resize", choices=("letterbox", "resize"), default="letterbox",
                   help="validation/prediction resize (default: letterbox, aspect kept)")  # fmt: skip
    p.add_argument("--no-augment", action="store_true", help="train on letterboxed images, no augmentation")
    p.add_argument(
        "--log-every", type=positive_int, default=10, metavar="N", help="print a step line every N steps"
    )
    p.add_argument("--max-steps-per-epoch", type=positive_int, metavar="N", help="cap the steps of an epoch")
    p.add_argument("--deterministic", action="store_true", help="deterministic CUDA kernels (slower)")
    p.add_argument("--tensorboard", action="store_true", help="also log to RUN_DIR/tensorboard")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="read images through symbolic links leading outside the image folder")  # fmt: skip
    p.set_defaults(func=run)


def add_model_option_flags(p: argparse.ArgumentParser) -> None:
    """One flag per model option of the registry (``--unet-width``, ``--aux-loss``: model_registry.
    option_flags): a new model's options need no code here. Flags not given stay None (the model's default).
    Integers must be at least 1 at parsing (a range the model refuses is its builder's message)."""
    for flag in option_flags():
        o = flag.option
        if o.type == "bool":  # off by default: --aux-loss turns it on; on by default: --no-<flag> too
            action = argparse.BooleanOptionalAction if o.default else "store_true"
            p.add_argument(flag.flag, action=action, default=None, help=flag.help())
        else:
            kind = positive_int if o.min >= 1 else number(o.min, integer=True)
            p.add_argument(flag.flag, type=kind, help=flag.help())


def build_config(args: argparse.Namespace) -> Any:
    """TrainConfig from parsed arguments (raises OptionsError on bad values)."""
    from cocoseg_gui.core.training.config import TrainConfig, parse_duration

    kwargs = option_kwargs(vars(args))
    budget = None if str(args.time_budget).lower() in ("none", "off") else parse_duration(args.time_budget)
    every = args.checkpoint_every
    every = None if str(every).lower() in ("none", "off") else parse_duration(every)
    return TrainConfig(
        data=args.data[0], extra_data=args.data[1:], out=args.out, model=args.model, val_data=args.val_data,
        val_fraction=args.val_fraction, val_on_train=args.val_on_train, epochs=args.epochs,
        batch_size=args.batch_size, img_size=args.img_size,
        lr=args.lr, weight_decay=args.weight_decay, optimizer=args.optimizer, schedule=args.schedule,
        loss=args.loss, focal_gamma=args.focal_gamma, class_weighting=args.class_weighting,
        focal_alpha=args.focal_alpha, oversample=args.oversample, edited_weight=args.edited_weight,
        amp=True if args.amp == "auto" else args.amp, time_budget_s=budget, device=args.device,
        workers=args.workers, seed=args.seed, resume=args.resume, init_from=args.init_from,
        pretrained=args.pretrained,
        grad_accum=args.grad_accum, model_kwargs=kwargs, log_every=args.log_every, val_every=args.val_every,
        tensorboard=args.tensorboard, resize=args.resize, augment=not args.no_augment,
        max_steps_per_epoch=args.max_steps_per_epoch, deterministic=args.deterministic,
        follow_symlinks=args.follow_symlinks,
        overwrite=args.overwrite, checkpoint_every_s=every,
    )  # fmt: skip


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


class EventPrinter:
    """Turns trainer events into compact terminal lines."""

    def __init__(self, epochs: int, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.epochs = epochs
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.batches = 0

    def __call__(self, e: ev.Event) -> None:
        if isinstance(e, ev.StartEvent):
            self.batches = e.steps_per_epoch or 0
            resumed = f", resumed at epoch {e.epoch + 1}" if e.resumed_from else ""
            init = f", from {e.init_from}" if e.init_from else ""
            self._print(
                f"training {e.model.get('name')} {e.model.get('kwargs', {})} on {e.device} "
                f"(world size {e.world_size}, amp {e.amp}): "
                f"{e.num_train} train / {e.num_val} val images, "
                f"{e.num_classes} classes, {self.batches} steps/epoch{resumed}{init}"
            )
            if e.inputs_summary:
                self._print(e.inputs_summary)
        elif isinstance(e, ev.StepEvent):
            self._print(
                f"epoch {e.epoch + 1}/{self.epochs} step {e.step}/{self.batches} loss {_fmt(e.loss)} "
                f"lr {_fmt(e.lr, '.2e')} {_fmt(e.images_per_s, '.1f')} img/s"
            )
        elif isinstance(e, ev.EpochEvent):
            self._print(
                f"epoch {e.epoch + 1}/{self.epochs} done: train_loss {_fmt(e.train_loss)} "
                f"val_loss {_fmt(e.val_loss)} mIoU {_fmt(e.miou)} "
                f"pixel_acc {_fmt(e.pixel_acc)} dice {_fmt(e.mean_dice)} "
                f"({e.epoch_s or 0:.1f}s, total {e.elapsed_s or 0:.0f}s)"
            )
        elif isinstance(e, ev.CheckpointEvent) and e.best:
            self._print(f"  new best mIoU -> {e.path}")
        elif isinstance(e, ev.WarningEvent):
            print(f"cocoseg train: warning: {e.message}", file=self.err, flush=True)
        elif isinstance(e, ev.EndEvent):
            reason = "" if e.status == "failed" else f" ({e.reason})"  # errors: on stderr
            self._print(
                f"{e.status} after {e.epochs_done or 0} epochs in {e.elapsed_s or 0:.0f}s"
                f"{reason}; best mIoU {_fmt(e.best_miou)}"
            )

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


class SignalCancel(CancelToken):
    """A CancelToken that remembers the signal that set it (the end event's reason, the exit status)."""

    def __init__(self) -> None:
        super().__init__()
        self.signum: int | None = None
        self.reason: str | None = None

    def cancel(self, signum: int = signal.SIGINT) -> None:
        if self.signum is None:
            self.signum = signum
            name = signal.Signals(signum).name
            self.reason = "cancelled by the user" if signum == signal.SIGINT else f"stopped by {name}"
        super().cancel()


def _refuse_existing_run(config: Any) -> None:
    """A new run into a folder holding one: say what the user can do (before the slow torch import)."""
    from cocoseg_gui.core.training.run_folder import RunExistsError, run_files

    found = run_files(config.out)
    if found:
        raise RunExistsError(
            config.out,
            found,
            f"{config.out}: this folder already holds a run ({', '.join(found)}); a new run would replace "
            f"them. Continue it with --resume {config.out / 'last.pt'}, choose another --out, or pass "
            "--overwrite to replace it",
        )


def _fill_from_project(args: argparse.Namespace, project: Any) -> None:
    """--data, --val-data and --out from the project's roles, where the user did not give them."""
    from cocoseg_gui.core.project.project import Role
    from cocoseg_gui.core.training.run_folder import next_free_folder

    if args.data is None:
        trains = project.with_role(Role.TRAIN)
        if not trains:
            raise missing_default(project, "--data", "the project has no train dataset", "add one")
        ready = [t for t in trains if t.masks is not None]
        if not ready:
            train = trains[0]
            raise missing_default(
                project, "--data", f"{train.label} has no masks yet",
                f"make them with `cocoseg masks --project {project.file} --dataset {train.name}`",
            )  # fmt: skip
        left_out = [t for t in trains if t.masks is None]
        if left_out:
            warn("train", [f"{t.label} has no masks yet: left out" for t in left_out])
        args.data = [t.masks for t in ready]
    if args.val_data is None and not args.val_on_train:
        val = project.first(Role.VAL)
        if val is not None and val.masks is not None:
            args.val_data = val.masks
        elif val is not None:
            warn("train", [f"{val.label} has no masks yet: validating on a split of the training masks"])
    if args.out is None:
        if args.resume is not None:
            args.out = Path(args.resume).parent
        else:
            args.out = next_free_folder(project.folder / "runs" / f"{args.model}-1")


def _init_model_name(init_from: Path | None) -> str:
    """No --model: the --init-from checkpoint's (loads torch); without --init-from, --model is required."""
    from cocoseg_gui.core.errors import OptionsError

    if init_from is None:
        raise OptionsError("--model is required (or --init-from CKPT, which brings its model)")
    from cocoseg_gui.core.training.checkpoint import load_checkpoint

    return str(load_checkpoint(init_from)["model"]["name"])


def _record_run(project: Any, out: Path) -> None:
    """The run (and its best.pt as the project's checkpoint) into the project file."""
    from cocoseg_gui.core.training.run_folder import run_files

    if not is_main_process() or not run_files(out):
        return
    project.add_run(out)
    new = out / "best.pt"
    if new.is_file():
        _offer_model(project, new)
    project.save()
    print(f"recorded run {out} in {project.file}", flush=True)


def _offer_model(project: Any, new: Path) -> None:
    """The run's best.pt replaces the project's model only when it scores better on the same val set at
    the same size (ADR 0027); otherwise the project keeps its model and both scores are printed."""
    from cocoseg_gui.core.training.model_score import judge, score_of_run_checkpoint

    current = Path(project.checkpoint) if project.checkpoint is not None else None
    if current is None or not current.is_file():
        project.checkpoint = new
        return
    new_score, current_score = score_of_run_checkpoint(new), score_of_run_checkpoint(current)
    verdict = judge(new_score, current_score)
    if verdict.replace:
        project.checkpoint = new
        print(f"the project's model is now {new}: {verdict.reason}", flush=True)
        return
    print(
        f"cocoseg train: the project keeps its model {current} ({current_score.describe()}): "
        f"{verdict.reason}; the new run's {new} ({new_score.describe()}) is recorded: pass it with "
        "--checkpoint or choose it in the window",
        file=sys.stderr,
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    from cocoseg_gui.core.errors import DatasetError
    from cocoseg_gui.core.training.run_folder import check_run_out

    project = load_project(args)
    if args.model is None:
        args.model = _init_model_name(args.init_from)
    if project is not None:
        _fill_from_project(args, project)
    require(args, "--data", "--out")
    config = build_config(args)  # option errors before the slow torch import
    check_run_out(
        config.out, list(config.training_folders()), config.val_data
    )  # the output guard, before torch
    for folder in (*config.training_folders(), config.val_data):
        if folder is not None and not folder.is_dir():
            raise DatasetError(folder, "mask dataset folder not found")
    if config.resume is None and not config.overwrite:
        _refuse_existing_run(config)
    if project is not None and is_main_process():
        for folder in config.training_folders():
            warn("train", project.training_warnings(folder, config.val_data))

    from cocoseg_gui.core.training.trainer import train

    cancel = SignalCancel()

    def on_signal(signum: int, frame: Any) -> None:
        if cancel.cancelled:  # a second Ctrl-C or SIGTERM: stop now
            raise KeyboardInterrupt
        cancel.cancel(signum)
        how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\ncocoseg train: {how}: stopping after the current step, saving last.pt "
              "(Ctrl-C again to abort)", file=sys.stderr, flush=True)  # fmt: skip

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        end = train(config, callbacks=[EventPrinter(config.epochs)], cancel=cancel)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if project is not None:
        _record_run(project, config.out)
    if end.status == "cancelled":
        print(f"cocoseg train: {end.reason or 'cancelled'}; resume with --resume "
              f"{config.out / 'last.pt'}", file=sys.stderr)  # fmt: skip
        return 128 + (cancel.signum or signal.SIGINT)  # 130 for Ctrl-C, 143 for SIGTERM
    return 0
