"""Workers that run core jobs in a QThread and turn their callbacks into queued Qt signals.

``TrainWorker`` wraps ``core.training.train``: step events are coalesced into one batch at most every
100 ms so the GUI thread is never flooded; other events (epoch, checkpoint, warning, end) flush at once.
``FunctionWorker`` wraps any ``fn(progress, cancel)`` job (evaluate, predict_files, a model load).
"""

from __future__ import annotations

import contextlib
import importlib
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress
from cocoseg_gui.core.training.event_types import EndEvent, Event, StepEvent

TORCH_JOB_MODULES = (
    "torch",
    "cocoseg_gui.core.training.trainer",
    "cocoseg_gui.core.training.data",
    "cocoseg_gui.core.training.losses",
    "cocoseg_gui.core.training.models",
    "cocoseg_gui.core.training.metrics",
    "cocoseg_gui.core.training.evaluate",
    "cocoseg_gui.core.training.predict",
)
STEP_BATCH_INTERVAL_S = 0.1  # step events reach the GUI at most 10 times a second
PROGRESS_INTERVAL_S = 0.05


def import_job_modules(torchvision_models: bool) -> None:
    """Import the torch job modules (and torchvision's segmentation models when asked), and PIL's plugins."""
    for name in TORCH_JOB_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if torchvision_models:
        importlib.import_module("torchvision.models.segmentation")
    from PIL import Image

    Image.init()


def preload_torch_modules(model: str | None = None) -> None:
    """Import the torch job modules on the GUI thread, before a worker thread needs them.

    With PySide6 6.12, importing a module in a worker thread while the GUI thread runs Python can
    crash the interpreter in shiboken's import hook ("none_dealloc"), so workers never import.
    The one exception, the device probe's ``import torch`` (6.12.0 is excluded), is waited for first.
    """
    from cocoseg_gui.gui.services.device_probe import wait_for_probe

    wait_for_probe()
    import_job_modules(torchvision_models=bool(model) and model != "unet")


class _Worker(QObject):
    failed = Signal(object, str)  # exception, formatted traceback
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()


class TrainWorker(_Worker):
    """Runs ``train(config, callbacks=[...], cancel=token)`` and emits its events in batches."""

    events = Signal(object)  # list of typed events (core.training.event_types), in order
    finished_run = Signal(object)  # the EndEvent or None

    def __init__(self, config: Any, train_fn: Callable[..., Any]) -> None:
        super().__init__()
        self.config = config
        self._train_fn = train_fn
        self._pending: list[Event] = []
        self._last_emit = 0.0

    def _on_event(self, event: Event) -> None:
        self._pending.append(event)  # frozen: safe to hand to the GUI thread as it is
        now = time.monotonic()
        if not isinstance(event, StepEvent) or now - self._last_emit >= STEP_BATCH_INTERVAL_S:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.events.emit(batch)
        self._last_emit = time.monotonic() if now is None else now

    def run(self) -> None:
        end: Any = None
        try:
            end = self._train_fn(self.config, callbacks=[self._on_event], cancel=self.token)
        except Cancelled:
            end = EndEvent(status="cancelled", reason="stopped")
        except BaseException as exc:  # reported to the user, the app keeps working
            self._flush()
            self.failed.emit(exc, traceback.format_exc())
        finally:
            self._flush()
            self.finished_run.emit(end)
            self.done.emit()


class FunctionWorker(_Worker):
    """Runs ``fn(progress, cancel)`` and emits throttled progress, then the result or the error."""

    progress = Signal(object)  # core.jobs.Progress
    succeeded = Signal(object)
    cancelled = Signal()

    def __init__(self, fn: Callable[[Callable[[Progress], None], CancelToken], Any]) -> None:
        super().__init__()
        self._fn = fn
        self._last = 0.0

    def _on_progress(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S or (p.total and p.done >= p.total):
            self._last = now
            self.progress.emit(p)

    def run(self) -> None:
        try:
            result = self._fn(self._on_progress, self.token)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:
            self.failed.emit(exc, traceback.format_exc())
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


class WorkerHandle:
    """Owns one worker and its QThread; ``start`` runs it, the thread quits when the worker is done."""

    def __init__(self, worker: _Worker, parent: QObject | None = None) -> None:
        self.worker = worker
        self.thread = QThread(parent)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # QThread.quit is thread-safe: call it from the worker thread, so waiting on the GUI thread never
        # deadlocks on a queued quit()
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the thread ends (used at shutdown and in tests)."""
        return self.thread.wait(msecs)
