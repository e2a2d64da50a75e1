"""An inter-process lock on a folder the app writes (docs/adr/0023-folder-lock.md).

A save reads report.json, image_mask_map.json and edited.json, changes them and writes them back;
two windows, or a window and a ``cocoseg`` job, doing that at once lose one side's update (a mask
whose map entry is lost is invisible to train and export). So every save transaction and every job
writing a folder holds ``.cocoseg.lock`` there: an OS file lock (``filelock``: ``flock`` /
``LockFileEx``), which the kernel frees when its process dies, so a killed holder's lock is simply
taken. Who holds it (process, host, program, since when) is in the sidecar ``.cocoseg.lock.json``,
so whoever waits in vain can say who. The first time a process locks a folder it removes the
temporaries a killed writer of ours left there (``.name.XXXXXXXX.tmp``, older than the lock).

A second, separate lock, ``.cocoseg-editing.lock``, is held for as long as a window is in Edit mode
on a folder: never waited for, only asked, so a second window learns that another one is editing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.files.atomic import atomic_write_json, name_the_file, remove_stale_temporaries

LOCK_FILE = ".cocoseg.lock"  # held by a save transaction or a job writing the folder
EDITING_LOCK_FILE = ".cocoseg-editing.lock"  # held by a window in Edit mode on the folder
HOLDER_SUFFIX = ".json"  # the sidecar: LOCK_FILE + HOLDER_SUFFIX
LOCK_FILES = (LOCK_FILE, LOCK_FILE + HOLDER_SUFFIX, EDITING_LOCK_FILE, EDITING_LOCK_FILE + HOLDER_SUFFIX)
SAVE_TIMEOUT_S = 30.0  # a save transaction takes milliseconds: waiting longer means a job holds it
WINDOW_LOCK_WAIT_S = 3.0  # the window's thread waits no longer, then says who holds the folder
JOB_LOCK_WAIT_S = 10.0  # a job waits for saves in progress, not for another job to finish

_cleaned: set[str] = set()  # folders whose stale temporaries this process removed
_cleaned_lock = threading.Lock()


def program_name() -> str:
    """What this process is, in the words a user knows: ``cocoseg masks``, ``cocoseg-gui``..."""
    argv = sys.argv or ["python"]
    name = Path(argv[0]).name or "python"
    if name == "__main__.py":  # python -m cocoseg_gui[.cli]
        name = Path(argv[0]).parent.name
    if name in ("cocoseg", "cli") and len(argv) > 1 and not argv[1].startswith("-"):
        return f"cocoseg {argv[1]}"
    return name


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder's lock; read from the sidecar, so possibly stale when nobody holds it."""

    pid: int
    host: str
    program: str
    since: str  # ISO 8601 UTC

    @classmethod
    def me(cls, program: str | None = None) -> LockHolder:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(os.getpid(), socket.gethostname(), program or program_name(), now)

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "program": self.program, "since": self.since}

    @classmethod
    def from_json(cls, data: Any) -> LockHolder | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(int(data["pid"]), str(data["host"]), str(data["program"]), str(data["since"]))
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        """``cocoseg-gui (process 4242 on host), since 2026-12-06 20:31:05 UTC``."""
        here = self.host == socket.gethostname()
        where = f"process {self.pid}" + ("" if here else f" on {self.host}")
        if here and self.pid == os.getpid():
            where += ": this program, e.g. a job it runs"
        since = self.since.replace("T", " ").replace("Z", " UTC")
        return f"{self.program} ({where}), since {since}"


class FolderBusyError(CocoSegError):
    """Another process holds the folder's lock and did not let go in time; names who, since when."""

    def __init__(self, folder: Path, holder: LockHolder | None, waited_s: float) -> None:
        self.folder, self.holder, self.waited_s = Path(folder), holder, waited_s
        who = holder.describe() if holder is not None else "another program (it did not say who)"
        super().__init__(
            f"{folder} is being written by {who}; waited {waited_s:g} s for it to finish. "
            "Try again once it has finished (nothing was written)"
        )


class FolderLock:
    """One folder's lock (``name``: LOCK_FILE or EDITING_LOCK_FILE); reentrant in its own thread."""

    def __init__(self, folder: str | Path, name: str = LOCK_FILE, program: str | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.sidecar = self.folder / (name + HOLDER_SUFFIX)
        self.program = program
        self._lock = FileLock(str(self.path))
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._depth > 0

    def holder(self) -> LockHolder | None:
        """Who the sidecar names (the holder when the lock is taken; stale when it is free)."""
        try:
            return LockHolder.from_json(json.loads(self.sidecar.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def acquire(self, timeout: float = SAVE_TIMEOUT_S) -> None:
        """Wait up to ``timeout`` s; FolderBusyError naming the holder, OSError naming the lock file
        when the folder cannot hold one (read-only, missing)."""
        if self._depth:
            self._depth += 1
            return
        try:
            self._lock.acquire(timeout=max(0.0, timeout))
        except Timeout:
            raise FolderBusyError(self.folder, self.holder(), timeout) from None
        except OSError as exc:
            name_the_file(exc, self.path)
            raise
        self._depth = 1
        self._taken()

    def try_acquire(self) -> LockHolder | None:
        """Take the lock if free (None), else return who holds it (never waits)."""
        try:
            self.acquire(timeout=0)
        except FolderBusyError as exc:
            return exc.holder or LockHolder(0, "?", "another program", "?")
        return None

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            with contextlib.suppress(OSError):
                self.sidecar.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _taken(self) -> None:
        """Name the holder; the first time in this process, clear a killed writer's temporaries."""
        since = time.time()
        with contextlib.suppress(OSError):  # the sidecar only informs: the lock is what protects
            atomic_write_json(self.sidecar, LockHolder.me(self.program).to_json(), fsync=False)
        if self.path.name == LOCK_FILE:
            clean_once(self.folder, since)


def clean_once(folder: Path, older_than: float) -> int:
    """Remove our stale temporaries in ``folder`` and its sub-folders one level down, once per
    process (a folder with 100k masks is listed when opened for writing, not at every save)."""
    key = os.path.realpath(folder)
    with _cleaned_lock:
        if key in _cleaned:
            return 0
        _cleaned.add(key)
    removed = remove_stale_temporaries(folder, older_than)
    with contextlib.suppress(OSError):
        for sub in folder.iterdir():
            if sub.is_dir() and not sub.is_symlink():
                removed += remove_stale_temporaries(sub, older_than)
    return removed


_held = threading.local()  # folders whose write lock this thread holds: real path -> FolderLock


@contextlib.contextmanager
def locked(folder: str | Path, timeout: float = SAVE_TIMEOUT_S, program: str | None = None) -> Iterator[None]:
    """Hold ``folder``'s write lock for a save transaction or a job (see FolderLock.acquire).

    Nested use in one thread (a job that saves, a save that repairs) holds the same lock."""
    key = os.path.realpath(folder)
    mine: dict[str, FolderLock] = getattr(_held, "locks", None) or {}
    _held.locks = mine
    lock = mine.get(key) or FolderLock(folder, program=program)
    lock.acquire(timeout)
    mine[key] = lock
    try:
        yield
    finally:
        lock.release()
        if not lock.held:
            mine.pop(key, None)
