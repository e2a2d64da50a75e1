"""The figures of a run right now (speed, time, best mIoU, checkpoint) and the widget showing them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QWidget

from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.gui.widgets.elided_label import ElidedLabel
from cocoseg_gui.gui.widgets.train_form import format_duration


@dataclass
class RunStatus:
    """Folds metrics.jsonl events into the figures the panel shows."""

    run_dir: Path | None = None
    device: str = ""
    epochs: int = 0
    epoch: int = -1  # last epoch seen in a step or epoch event (0-based)
    epochs_done: int = 0
    step_in_epoch: int = 0
    steps_per_epoch: int | None = None
    images_per_s: float | None = None
    time_budget_s: float | None = None
    elapsed_s: float = 0.0
    best_miou: float | None = None
    last_miou: float | None = None
    checkpoint: str = ""
    gpu_memory_bytes: int | None = None
    end_status: str = ""
    end_reason: str = ""
    started_at: float | None = None
    last_event_time: float | None = None
    _max_step: int = field(default=-1, repr=False)

    def update(self, e: ev.Event | Mapping[str, Any]) -> None:
        """Fold in one event (a metrics.jsonl object is parsed first)."""
        if isinstance(e, Mapping):
            e = ev.parse_event(e)
        t = e.time
        if t:
            if self.started_at is None:
                self.started_at = t
            elif isinstance(e, ev.StartEvent):  # a resume: the clock goes on from where the run stopped
                self.started_at = t - self.elapsed_s
            self.last_event_time = t
            self.elapsed_s = max(self.elapsed_s, t - self.started_at)
        if isinstance(e, ev.StartEvent):
            self.end_status = self.end_reason = ""
            cfg = e.config
            self.device = str(e.device or cfg.get("device") or "")
            self.epochs = int(cfg.get("epochs") or 0)
            tb = cfg.get("time_budget_s")
            self.time_budget_s = float(tb) if tb else None
            self.steps_per_epoch = int(e.steps_per_epoch) if e.steps_per_epoch else None
        elif isinstance(e, ev.StepEvent):
            if e.epoch != self.epoch:
                self._max_step = -1
            self.epoch = e.epoch
            self.step_in_epoch = e.step  # batches done in this epoch (1-based)
            self._max_step = max(self._max_step, self.step_in_epoch)
            if e.images_per_s is not None:
                self.images_per_s = float(e.images_per_s)
            if e.gpu_memory_bytes is not None:
                self.gpu_memory_bytes = int(e.gpu_memory_bytes)
        elif isinstance(e, ev.EpochEvent):
            self.epoch = e.epoch
            self.epochs_done = self.epoch + 1
            if self.steps_per_epoch is None and self._max_step > 0:
                self.steps_per_epoch = self._max_step
            self.step_in_epoch = 0
            if e.miou is not None:
                self.last_miou = float(e.miou)
                self.best_miou = e.miou if self.best_miou is None else max(self.best_miou, float(e.miou))
            if e.elapsed_s is not None:
                self.elapsed_s = float(e.elapsed_s)
        elif isinstance(e, ev.CheckpointEvent):
            self.checkpoint = e.path
        elif isinstance(e, ev.EndEvent):
            self.end_status = e.status
            self.end_reason = e.reason or ""
            if e.best_miou is not None:
                self.best_miou = float(e.best_miou)

    @property
    def running(self) -> bool:
        return self.started_at is not None and not self.end_status

    def live_elapsed(self) -> float:
        """Elapsed seconds, still counting between events while running."""
        if self.running and self.last_event_time is not None:
            return self.elapsed_s + max(0.0, time.time() - self.last_event_time)
        return self.elapsed_s

    def progress_fraction(self) -> float:
        """Fraction of all epochs done, including the current epoch's steps."""
        if not self.epochs:
            return 0.0
        part = 0.0
        if self.steps_per_epoch and self.epoch >= self.epochs_done:
            part = min(1.0, self.step_in_epoch / self.steps_per_epoch)
        return min(1.0, (self.epochs_done + part) / self.epochs)

    def remaining_s(self) -> float | None:
        """Estimated time to the end: the epochs left at the pace so far, capped by the budget."""
        elapsed = self.live_elapsed()
        frac = self.progress_fraction()
        est = elapsed * (1 - frac) / frac if frac > 0 else None
        if self.time_budget_s is not None:
            left = max(0.0, self.time_budget_s - elapsed)
            est = left if est is None else min(est, left)
        return est


class RunStatusView(QWidget):
    """Labels and a progress bar showing a RunStatus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar(minimum=0, maximum=1000, value=0, textVisible=True)
        self.progress.setFormat("not started")
        self.labels: dict[str, QLabel] = {}
        lay = QFormLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addRow("Progress", self.progress)
        for key, title in (
            ("device", "Device"),
            ("speed", "Speed"),
            ("time", "Time"),
            ("best", "Best mIoU"),
            ("checkpoint", "Checkpoint"),
        ):
            label = ElidedLabel("-") if key == "checkpoint" else QLabel("-")  # a path: elided in the middle
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[key] = label
            lay.addRow(title, label)

    def show_status(self, s: RunStatus) -> None:
        frac = s.progress_fraction()
        self.progress.setValue(int(frac * 1000))
        if s.started_at is None:
            self.progress.setFormat("not started")
        else:
            epoch_txt = f"epoch {min(s.epoch + 1, s.epochs) if s.epoch >= 0 else 0} / {s.epochs}"
            if s.steps_per_epoch and s.epoch >= s.epochs_done:
                epoch_txt += f"  (step {s.step_in_epoch} / {s.steps_per_epoch})"
            state = f"  - {s.end_status}" if s.end_status else ""
            self.progress.setFormat(f"{epoch_txt}{state}")
        dev = s.device or "-"
        if s.gpu_memory_bytes is not None:
            dev += f"   (peak GPU memory {s.gpu_memory_bytes / 2**30:.2f} GiB)"
        self.labels["device"].setText(dev)
        self.labels["speed"].setText(f"{s.images_per_s:.1f} images/s" if s.images_per_s else "-")
        budget = f" of budget {format_duration(s.time_budget_s)}" if s.time_budget_s else ""
        elapsed, remaining = format_duration(s.live_elapsed()), format_duration(s.remaining_s())
        self.labels["time"].setText(
            f"elapsed {elapsed}{budget}, remaining ~{remaining}" if s.started_at is not None else "-"
        )
        self.labels["best"].setText(
            f"{s.best_miou:.4f}" + (f"   (last {s.last_miou:.4f})" if s.last_miou is not None else "")
            if s.best_miou is not None
            else "-"
        )
        ckpt = s.checkpoint
        if ckpt and s.run_dir is not None and not Path(ckpt).is_absolute():
            ckpt = str(s.run_dir / ckpt)
        self.labels["checkpoint"].setText(ckpt or "-")
