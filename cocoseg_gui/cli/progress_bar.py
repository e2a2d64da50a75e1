"""A one-line terminal progress bar fed by core ``Progress`` events."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress

T = TypeVar("T")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Callable progress sink: redraws in place on a TTY, prints sparse lines otherwise."""

    def __init__(self, label: str, unit: str = "img", stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.width = width
        self._tty = self.stream.isatty()
        self._last_pct = -1

    def __call__(self, p: Progress) -> None:
        frac = p.fraction
        pct = int(frac * 100)
        if not self._tty and pct // 10 == self._last_pct // 10 and p.done < p.total:
            return
        self._last_pct = pct
        if not p.total:  # a phase without a count yet (e.g. "reading annotations")
            self._write(f"{self.label}: {p.message or 'working'}...")
            return
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = f"{p.rate:.1f} {self.unit}/s" if p.rate else f"- {self.unit}/s"
        line = (
            f"{self.label} [{bar}] {p.done}/{p.total} {pct:3d}% {rate} "
            f"ETA {format_duration(p.eta_s)} {p.message}".rstrip()
        )
        self._write(line)

    def _write(self, line: str) -> None:
        if self._tty:
            self.stream.write("\r" + line[:200] + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def run_cancellable(
    label: str, job: Callable[..., T], *args: Any, cancelled: str, unit: str = "img", **kwargs: Any
) -> T | None:
    """``job(*args, progress=bar, cancel=token, **kwargs)`` under a progress bar; Ctrl+C cancels it at its
    next safe point: ``cocoseg LABEL: cancelled; CANCELLED`` on stderr and None (exit 130 for callers)."""
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    bar: ProgressBar | None = ProgressBar(label, unit)
    try:
        return job(*args, progress=bar, cancel=cancel, **kwargs)
    except Cancelled:
        assert bar is not None  # set to None only below
        bar.close()  # the bar's line ends before the message
        bar = None
        print(f"cocoseg {label}: cancelled; {cancelled}", file=sys.stderr)
        return None
    finally:
        if bar is not None:
            bar.close()
        signal.signal(signal.SIGINT, previous)
