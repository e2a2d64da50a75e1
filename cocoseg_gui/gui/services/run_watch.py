"""Polls a run folder that another process writes (core.training.run_follow) in a JobWorker, about once a
second, and hands each update to the GUI thread. Polling, not QFileSystemWatcher: a cluster job's folder
on a network file system sends no change notifications."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.training.run_follow import RunFollower, RunUpdate
from cocoseg_gui.gui.services.workers import JobWorker

POLL_MS = 1000


def _poll(follower: RunFollower, **_job: object) -> RunUpdate:
    return follower.poll()


class RunWatch(QObject):
    """``updated(RunUpdate)`` per poll that found something new (or the state changed); ``failed(str)``."""

    updated = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.follower: RunFollower | None = None
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.poll)
        self._job: JobWorker | None = None

    def follow(self, run_dir: str | Path) -> None:
        """Start following ``run_dir`` from the beginning of its log (the first update holds all of it)."""
        self.follower = RunFollower(Path(run_dir))
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.follower = None

    def poll(self) -> None:
        follower = self.follower
        if follower is None or self._job is not None:
            return  # one poll at a time: a slow file system skips ticks, never queues them
        job = JobWorker(_poll, follower)
        job.succeeded.connect(lambda update: self._deliver(follower, update))
        job.failed.connect(lambda exc: self._fail(follower, exc))
        job.done.connect(self._done)
        self._job = job
        job.start()

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        return self._job is None or self._job.wait(timeout_ms)

    def _deliver(self, follower: RunFollower, update: RunUpdate) -> None:
        if follower is self.follower:
            self.updated.emit(update)

    def _fail(self, follower: RunFollower, exc: BaseException) -> None:
        if follower is self.follower:
            self.stop()
            self.failed.emit(str(exc) if isinstance(exc, CocoSegError) else f"{type(exc).__name__}: {exc}")

    def _done(self) -> None:
        self._job = None
