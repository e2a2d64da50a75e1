"""Follow a run folder that another process writes (the CLI in a terminal, a cluster job on a shared file
system): the events appended since the last look, and the run's state read from the folder; no Qt.
A log rewritten by a fresh run is told by its first bytes (the start event's time), its inode or its size.

metrics.jsonl is append-only while a run lives (EventLog, rank 0), so a poll reads only the bytes added
since the previous one and keeps a line cut in the middle for the next poll. A fresh run over the folder
(the file shrank or was replaced) starts the reading again: ``reset`` tells the viewer to clear its plots.
The state comes from the last start and end events: an end event says finished, stopped (cancelled, time
budget) or failed; a start without an end is running, and ``quiet_s`` says how long the log has been
silent (a killed run writes no end event: the viewer shows the silence, it cannot know more).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.training.event_types import EndEvent, Event, StartEvent, parse_event
from cocoseg_gui.core.training.run_folder import LOG as METRICS_FILE


class RunState(str, Enum):
    WAITING = "waiting"  # no start event yet (the folder exists, the run has not set up)
    RUNNING = "running"
    STOPPED = "stopped"  # cancelled or out of time: last.pt resumes it
    FINISHED = "finished"
    FAILED = "failed"


HEAD_BYTES = 256
_END_STATES = {"finished": RunState.FINISHED, "failed": RunState.FAILED}


def state_of(events: list[Event], previous: RunState = RunState.WAITING) -> RunState:
    """The state after ``events`` (in order) starting from ``previous``."""
    state = previous
    for e in events:
        if isinstance(e, StartEvent):
            state = RunState.RUNNING
        elif isinstance(e, EndEvent):
            state = _END_STATES.get(e.status, RunState.STOPPED)
    return state


@dataclass(frozen=True)
class RunUpdate:
    """What one poll found: the new events (all of them after a ``reset``), the state, the silence."""

    events: list[Event]
    state: RunState
    reset: bool = False  # the log was replaced (a fresh run): drop what was shown before
    quiet_s: float | None = None  # seconds since metrics.jsonl last changed (None: no file yet)


@dataclass
class RunFollower:
    """Reads ``run_dir/metrics.jsonl`` incrementally; ``poll()`` from any thread (one at a time)."""

    run_dir: Path
    _offset: int = 0
    _identity: tuple[int, int] | None = None  # (device, inode) of the file read so far
    _head: bytes = b""  # its first bytes (the start event, with its time): a rewritten log differs
    _partial: bytes = b""
    _state: RunState = RunState.WAITING
    _count: int = field(default=0)

    @property
    def path(self) -> Path:
        return Path(self.run_dir) / METRICS_FILE

    @property
    def state(self) -> RunState:
        return self._state

    def poll(self, now: float | None = None) -> RunUpdate:
        """New events since the last poll. A malformed complete line raises DatasetError naming it."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not Path(self.run_dir).is_dir():
                raise DatasetError(Path(self.run_dir), "run folder not found") from None
            return RunUpdate([], self._state)
        reset = False
        identity = (st.st_dev, st.st_ino)
        replaced = identity != self._identity or st.st_size < self._offset or self._read_head() != self._head
        if self._identity is not None and replaced:
            reset = True
            self._offset, self._partial, self._state, self._count = 0, b"", RunState.WAITING, 0
        self._identity = identity
        if len(self._head) < HEAD_BYTES:
            self._head = self._read_head(HEAD_BYTES)
        chunk = b""
        if st.st_size > self._offset:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read(st.st_size - self._offset)
            self._offset += len(chunk)
        events = self._parse(self._partial + chunk)
        self._state = state_of(events, self._state)
        quiet = (time.time() if now is None else now) - st.st_mtime
        return RunUpdate(events, self._state, reset, max(0.0, quiet))

    def skip_to(self, offset: int) -> None:
        """Start after the first ``offset`` bytes (a resumed run appends: what was there is not news)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return
        self._offset, self._identity, self._head = min(offset, st.st_size), (st.st_dev, st.st_ino), b""
        self._head = self._read_head(HEAD_BYTES)

    def _read_head(self, size: int | None = None) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(len(self._head) if size is None else size)
        except OSError:
            return b""

    def _parse(self, data: bytes) -> list[Event]:
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" after a complete last line; else a line still being written
        events = []
        for raw in lines:
            self._count += 1
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DatasetError(self.path, f"line {self._count} is not JSON ({exc})") from exc
            if not isinstance(obj, dict) or "type" not in obj:
                raise DatasetError(self.path, f"line {self._count} is not an event (an object with a 'type')")
            events.append(parse_event(obj))
        return events


@dataclass(frozen=True)
class RunCurves:
    """One run's per-epoch curves (x: 1-based epochs), what the comparison of finished runs draws."""

    run_dir: Path
    state: RunState
    epochs: list[int]
    train_loss: list[float | None]
    val_loss: list[float | None]
    miou: list[float | None]

    @property
    def best_miou(self) -> float | None:
        values = [v for v in self.miou if v is not None]
        return max(values) if values else None


def run_curves(run_dir: str | Path) -> RunCurves:
    """The epoch curves and state of a run folder (step events are not parsed: long logs stay fast)."""
    from cocoseg_gui.core.training.event_types import EpochEvent
    from cocoseg_gui.core.training.run_reader import read_events

    events = read_events(run_dir, steps=False)
    by_epoch: dict[int, EpochEvent] = {}
    for e in events:
        if isinstance(e, EpochEvent):
            by_epoch[e.epoch + 1] = e  # a resumed run may repeat an epoch: the last one counts
    epochs = sorted(by_epoch)
    return RunCurves(
        Path(run_dir),
        state_of(events),
        epochs,
        [by_epoch[x].train_loss for x in epochs],
        [by_epoch[x].val_loss for x in epochs],
        [by_epoch[x].miou for x in epochs],
    )
