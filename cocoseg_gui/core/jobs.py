"""The contract of a long job: a progress callback and a cancel token.

A job is a plain function that takes ``progress: ProgressCallback | None`` and
``cancel: CancelToken | None``; it calls ``progress(Progress(...))`` as it goes and
``cancel.raise_if_cancelled()`` at safe points. The CLI wraps it with a progress bar,
the GUI with a worker thread that turns the calls into signals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


class CancelToken:
    """A thread-safe flag a front end sets to ask a job to stop at its next safe point."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Progress:
    """How far a job is. ``total`` may be 0 when unknown."""

    done: int
    total: int
    message: str = ""
    rate: float | None = None  # units per second
    eta_s: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


class RateMeter:
    """Turns (done, total) counts into a Progress with rate and ETA, throttled to ``min_interval_s``."""

    def __init__(self, total: int, min_interval_s: float = 0.1, start_done: int = 0) -> None:
        self.total = total
        self.min_interval_s = min_interval_s
        self._t0 = time.perf_counter()
        self._start_done = start_done
        self._last_emit = 0.0

    def progress(self, done: int, message: str = "") -> Progress:
        elapsed = time.perf_counter() - self._t0
        counted = done - self._start_done
        rate = counted / elapsed if elapsed > 0 and counted > 0 else None
        eta = (self.total - done) / rate if rate else None
        return Progress(done, self.total, message, rate, eta)

    def due(self, done: int) -> bool:
        """True when a progress report is worth emitting now (throttle, always at the end)."""
        now = time.perf_counter()
        if done >= self.total or now - self._last_emit >= self.min_interval_s:
            self._last_emit = now
            return True
        return False


def report(progress: ProgressCallback | None, event: Progress) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(event)
