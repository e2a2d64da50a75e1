"""Run a core job off the GUI thread and turn its progress, result, error or cancel into Qt signals.

A core job is ``fn(*args, progress=..., cancel=..., **kwargs)`` (see ``core/jobs.py``). ``JobWorker``
runs it in a ``QThread``; progress events are throttled so a chatty job cannot flood the event loop.
The outcome signals (``succeeded`` / ``failed`` / ``cancelled``, then ``done``) are emitted on the GUI
thread after the thread has ended, so a slot may safely start the next job or delete the worker.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress


class _JobThread(QThread):
    """The thread that calls the job; it only stores the outcome, the worker reports it."""

    def __init__(self, worker: JobWorker) -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        self._worker._run_job()


class JobWorker(QObject):
    """Runs ``fn`` with ``progress`` and ``cancel`` keyword arguments in its own thread."""

    progress = Signal(object)  # Progress
    succeeded = Signal(object)  # the job's return value
    failed = Signal(object)  # the exception the job raised
    cancelled = Signal()
    done = Signal()  # after exactly one of the three above

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        min_interval_s: float = 0.05,
        parent: QObject | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._token = CancelToken()
        self._min_interval_s = min_interval_s
        self._last_emit = 0.0
        self._outcome: tuple[str, Any] = ("cancelled", None)
        self._thread = _JobThread(self)
        self._thread.finished.connect(self._report_outcome)
        self.traceback_text = ""
        self.result: Any = None

    # -- control (GUI thread)
    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point (``cancelled`` follows)."""
        self._token.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self._token.cancelled

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread ends (for shutdown); True if it ended."""
        return self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)

    # -- worker thread
    def _on_progress(self, event: Progress) -> None:
        now = time.perf_counter()
        final = event.total > 0 and event.done >= event.total
        if final or now - self._last_emit >= self._min_interval_s:
            self._last_emit = now
            self.progress.emit(event)

    def _run_job(self) -> None:
        try:
            self.result = self._fn(
                *self._args, progress=self._on_progress, cancel=self._token, **self._kwargs
            )
            # a job that noticed the cancel and returned a partial result still counts as cancelled
            self._outcome = ("cancelled", None) if self._token.cancelled else ("ok", self.result)
        except Cancelled:
            self._outcome = ("cancelled", None)
        except Exception as exc:  # reported to the GUI, which shows it
            self.traceback_text = traceback.format_exc()
            self._outcome = ("failed", exc)

    # -- back on the GUI thread
    def _report_outcome(self) -> None:
        kind, value = self._outcome
        if kind == "ok":
            self.succeeded.emit(value)
        elif kind == "failed":
            self.failed.emit(value)
        else:
            self.cancelled.emit()
        self.done.emit()


def describe_progress(event: Progress, unit: str = "images") -> str:
    """``'120 / 5000 images · 35.2 images/s · ETA 2:18'`` for a status line."""
    parts = [f"{event.done} / {event.total} {unit}" if event.total else f"{event.done} {unit}"]
    if event.rate:
        parts.append(f"{event.rate:.1f} {unit}/s")
    if event.eta_s is not None and event.total and event.done < event.total:
        minutes, seconds = divmod(round(event.eta_s), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    if event.message:
        parts.insert(0, event.message)
    return " · ".join(parts)
