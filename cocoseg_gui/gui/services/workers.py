"""The one way gui/ runs work off the GUI thread: a ``JobWorker`` on Qt's global thread pool.

A job is ``fn(*args, progress=..., cancel=..., **kwargs)`` (see ``core/jobs.py``). Every background task
of the GUI is a ``JobWorker``: masks, training, prediction, evaluation, dataset loading, image loading,
thumbnail decoding and the device probe (docs/adr/0009-one-worker-pattern.md). No other module of gui/
touches QThread, QRunnable, QThreadPool or threading.Thread (tests/gui/test_workers.py scans for them).

Order of outcomes, every signal emitted on the GUI thread (the thread that made the job)::

    progress*  then exactly one of  succeeded(result) | failed(exc) | cancelled()  then  done()

``is_running()`` is True from ``start()`` until the function has returned: False after ``wait()``
and inside the outcome slots (so a slot may start the next job). ``wait()`` blocks until then.
Progress passes a policy in the pool thread: ``Throttle`` (the default; drops events that come
within ``min_interval_s`` of the last, keeps a final one) or ``Batch`` (coalesces events into lists,
at most one list per interval; an urgent event flushes at once). Whatever is pending is flushed
before the outcome.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress

MIN_POOL_THREADS = 16  # long jobs (a training, the probe) hold a thread: an image load must never wait
_live: set[JobWorker] = set()  # started, outcome not delivered yet: kept alive, stopped at exit


def job_pool() -> QThreadPool:
    """Qt's global pool, grown so that long jobs never queue short ones (2 threads on a 2-core machine).

    QCoreApplication's destructor waits for this pool, so no thread outlives the application object.
    """
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_POOL_THREADS:
        pool.setMaxThreadCount(MIN_POOL_THREADS)
    return pool


class Throttle:
    """Passes an event when ``min_interval_s`` has passed since the last one, or when it is final."""

    def __init__(self, min_interval_s: float = 0.05, clock: Callable[[], float] = time.perf_counter) -> None:
        self.min_interval_s, self._clock = min_interval_s, clock
        self._last = float("-inf")

    def offer(self, event: Any) -> list[Any]:
        now = self._clock()
        total, done = getattr(event, "total", 0), getattr(event, "done", 0)
        if (total and done >= total) or now - self._last >= self.min_interval_s:
            self._last = now
            return [event]
        return []

    def flush(self) -> list[Any]:
        return []


class Batch:
    """Coalesces events into lists: one list per ``interval_s`` at most; ``urgent(event)`` flushes at once.

    Training emits a step event per batch; drawn one by one they starved the event loop.
    """

    def __init__(
        self,
        interval_s: float,
        urgent: Callable[[Any], bool] = lambda _e: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s, self._urgent, self._clock = interval_s, urgent, clock
        self._pending: list[Any] = []
        self._last = float("-inf")

    def offer(self, event: Any) -> list[Any]:
        self._pending.append(event)
        now = self._clock()
        if self._urgent(event) or now - self._last >= self.interval_s:
            self._last = now
            return self.flush()
        return []

    def flush(self) -> list[Any]:
        batch, self._pending = self._pending, []
        return [batch] if batch else []


class JobWorker(QObject):
    """Runs ``fn`` with ``progress`` and ``cancel`` keyword arguments in a pool thread."""

    progress = Signal(object)  # what the policy passes: a Progress, a list (Batch), any object
    succeeded = Signal(object)  # the job's return value
    failed = Signal(object)  # the exception the job raised (traceback_text has its traceback)
    cancelled = Signal()
    done = Signal()  # after exactly one of the three above
    _report = Signal(str, object)  # pool thread -> GUI thread (queued: this object lives there)

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        policy: Throttle | Batch | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._policy = policy if policy is not None else Throttle()
        self._token = CancelToken()
        self._lock = threading.Lock()  # a job may report progress from several threads
        self._ended = threading.Event()
        self._started = False
        self.thread_ident: int | None = None  # the pool thread running the job, once it runs
        self.traceback_text = ""
        self.result: Any = None  # the return value, also when the job returned after a cancel
        self._report.connect(self._deliver)

    # -- control (GUI thread)
    def start(self) -> None:
        if self._started or self._ended.is_set():
            raise RuntimeError("a JobWorker runs once")
        self._started = True
        _live.add(self)
        job_pool().start(self._work)

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point (``cancelled`` follows)."""
        self._token.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self._token.cancelled

    def is_running(self) -> bool:
        """From ``start()`` until the function has returned (False after ``wait()``, in outcome slots)."""
        return self._started and not self._ended.is_set()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the job's function has returned (shutdown, tests); True if it has.

        The outcome signals come later, from the event loop. A job never started counts as ended.
        """
        if not self._started and not self._ended.is_set():
            return True
        return self._ended.wait(None if timeout_ms < 0 else timeout_ms / 1000)

    # -- pool thread
    def _on_progress(self, event: Any) -> None:
        with self._lock:
            out = self._policy.offer(event)
        for item in out:
            self._emit("progress", item)

    def _work(self) -> None:
        self.thread_ident = threading.get_ident()
        outcome: tuple[str, Any] = ("failed", RuntimeError("the job could not report"))
        try:
            outcome = self._call()
            with self._lock:
                pending = self._policy.flush()
            for item in pending:
                self._emit("progress", item)
        finally:
            self._ended.set()  # before the outcome is queued: its slots see is_running() False
            self._emit("outcome", outcome)

    def _call(self) -> tuple[str, Any]:
        if self._token.cancelled:
            return ("cancelled", None)
        try:
            kwargs = dict(self._kwargs, progress=self._on_progress, cancel=self._token)
            self.result = self._fn(*self._args, **kwargs)
        except Cancelled:
            return ("cancelled", None)
        except BaseException as exc:  # reported to the GUI, which shows it; the app keeps working
            self.traceback_text = traceback.format_exc()
            return ("failed", exc)
        # a job that noticed the cancel and returned a partial result still counts as cancelled
        return ("cancelled", None) if self._token.cancelled else ("succeeded", self.result)

    def _emit(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the application (and this QObject) is gone
            self._report.emit(kind, value)

    # -- GUI thread
    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "progress":
            self.progress.emit(value)
            return
        outcome, result = value
        _live.discard(self)
        if outcome == "succeeded":
            self.succeeded.emit(result)
        elif outcome == "failed":
            self.failed.emit(result)
        else:
            self.cancelled.emit()
        self.done.emit()


def running_jobs() -> list[JobWorker]:
    """Jobs started and not yet delivered (the window's last check before the interpreter exits)."""
    return list(_live)


def stop_all_jobs(timeout_ms: int = 120_000) -> bool:
    """Cancel every live job and wait for their pool threads; True if all ended in time.

    The window calls this last when it closes: a pool thread still running Python while the interpreter
    shuts down can crash it, and training ends by saving last.pt.
    """
    jobs = running_jobs()
    for job in jobs:
        job.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    return all(job.wait(max(0, int((deadline - time.monotonic()) * 1000))) for job in jobs)


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
