"""Training on several processes from a front end: torchrun as a child process group, followed by its log.

``train_in_processes(config, nproc, callbacks, cancel)`` starts
``python -m torch.distributed.run --nproc_per_node N -m cocoseg_gui.core.training.launch CONFIG.json`` in a
session of its own, follows the run folder's metrics.jsonl (core.training.run_follow) and hands every new
event to the callbacks: the window's plots read what the run writes, as for any run folder. Cancel sends
SIGTERM to the process group: torchrun passes it to its workers, which agree (all-reduce) to stop after
the current step and save last.pt (status "cancelled", resumable with any number of processes). A crash
of the run is a child's exit: it ends as a "failed" end event with the child's last words, never as an
exception of the caller. Qt-free; the GUI runs it in a JobWorker (ADR 0037).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import CancelToken
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.event_types import EndEvent, Event
from cocoseg_gui.core.training.run_follow import RunFollower

POLL_S = 0.5
STOP_GRACE_S = 600.0  # after SIGTERM the step finishes and last.pt is written; then the group is killed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun_command(config_file: Path, failure_file: Path, nproc: int, port: int) -> list[str]:
    """The child's command line: torchrun on this machine, ``nproc`` processes, this module as the worker."""
    return [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
        f"--master_port={port}", "-m", "cocoseg_gui.core.training.launch", str(config_file),
        str(failure_file),
    ]  # fmt: skip


def train_in_processes(
    config: TrainConfig,
    nproc: int,
    callbacks: Sequence[Callable[[Event], None]] = (),
    cancel: CancelToken | None = None,
    *,
    env: dict[str, str] | None = None,
) -> EndEvent:
    """Train ``config`` on ``nproc`` local processes (torchrun); return the run's end event."""
    out = Path(config.out)
    with tempfile.TemporaryDirectory(prefix="cocoseg-torchrun-") as tmp:
        config_file = Path(tmp) / "config.json"
        config_file.write_text(json.dumps(config.to_json()), encoding="utf-8")
        log_file = Path(tmp) / "torchrun.log"
        failure_file = Path(tmp) / "failure.txt"  # rank 0's reason when the run fails before its log
        follower = RunFollower(out)
        skip_before = _existing_log_size(out)  # a resumed run appends: its earlier events are not news
        with open(log_file, "wb") as log:
            child = subprocess.Popen(
                torchrun_command(config_file, failure_file, nproc, free_port()),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,  # a group of its own
                env={**os.environ, **(env or {})},
            )  # fmt: skip
            end = _follow(child, follower, skip_before, callbacks, cancel)
        log_text = log_file.read_text(encoding="utf-8", errors="replace")
        killed = killed_rank(log_text, nproc)
        if killed is not None and (end is None or end.status == "failed"):
            # rank 0's own reason is then the transport's ("Connection closed by peer ... GLHF")
            end = EndEvent(status="failed", reason=killed, best_miou=None)
        elif end is None and failure_file.is_file():  # bad input: the run never opened its log
            end = EndEvent(status="failed", reason=failure_file.read_text(encoding="utf-8"), best_miou=None)
        elif end is None:  # a crash: the child's last words
            tail = log_text.strip().splitlines()[-3:]
            reason = f"the training processes exited {child.returncode} without an end event: " + (
                " | ".join(tail) or "no output"
            )
            end = EndEvent(status="failed", reason=reason, best_miou=None)
        for cb in callbacks:
            cb(end)
        return end


def killed_rank(torchrun_log: str, nproc: int) -> str | None:
    """The reason to show when torchrun's root cause is a rank killed by a signal (kill -9, the kernel's
    out-of-memory killer): no rank could say it, and rank 0 only saw its peer vanish. None otherwise."""
    _, found, after = torchrun_log.rpartition("Root Cause")
    block = after.split("=====", 1)[0]  # that failure's fields only
    rank = re.search(r"\brank\s*:\s*(\d+)", block)
    exitcode = re.search(r"\bexitcode\s*:\s*(-?\d+)", block)
    if not found or rank is None or exitcode is None or int(exitcode.group(1)) >= 0:
        return None  # a rank that exited by itself said why (its end event, the failure file)
    code = int(exitcode.group(1))
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = " (often the system's out-of-memory killer)" if name == "SIGKILL" else ""
    return (
        f"training process {rank.group(1)} of {nproc} was killed by {name}{why}; the others were stopped. "
        "Resume continues from last.pt, the last finished epoch or Stop."
    )


def _existing_log_size(out: Path) -> int:
    try:
        return (out / "metrics.jsonl").stat().st_size
    except OSError:
        return 0


def _follow(
    child: subprocess.Popen[bytes],
    follower: RunFollower,
    skip_before: int,
    callbacks: Sequence[Callable[[Event], None]],
    cancel: CancelToken | None,
) -> EndEvent | None:
    """Hand new events to ``callbacks`` until the child exits; its last end event (None: it wrote none),
    which is not handed on: the caller does, once the child's exit says whether a rank was killed."""
    end: EndEvent | None = None
    signalled_at: float | None = None
    follower.skip_to(skip_before)
    while True:
        exited = child.poll() is not None
        with contextlib.suppress(OSError, DatasetError):  # no folder yet, a log being replaced: next time
            for e in follower.poll().events:
                if isinstance(e, EndEvent):
                    end = e
                    continue
                for cb in callbacks:
                    cb(e)
        if exited:
            return end
        if cancel is not None and cancel.cancelled and signalled_at is None:
            signalled_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)  # torchrun forwards it; the ranks save last.pt together
        if signalled_at is not None and time.monotonic() - signalled_at > STOP_GRACE_S:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        time.sleep(POLL_S)


def _worker(config_file: str, failure_file: str) -> int:
    """One torchrun process: the config's training; SIGTERM or SIGINT stop it after the step (last.pt).
    A failure's reason (rank 0's end event) goes to ``failure_file``: bad input fails before the log."""
    from cocoseg_gui.core.errors import CocoSegError
    from cocoseg_gui.core.training.trainer import train

    config = TrainConfig.from_json(json.loads(Path(config_file).read_text(encoding="utf-8")))
    cancel = CancelToken()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: cancel.cancel())

    def keep_failure(e: Event) -> None:
        if isinstance(e, EndEvent) and e.status == "failed":
            Path(failure_file).write_text(e.reason or "failed", encoding="utf-8")

    try:
        end = train(config, callbacks=[keep_failure], cancel=cancel)
    except CocoSegError as exc:
        print(f"cocoseg train: error: {exc}", file=sys.stderr)
        return 2
    return 0 if end.status != "failed" else 2


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1], sys.argv[2]))
