"""The one worker pattern: outcome order on the GUI thread, progress policies, nothing else starts threads."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest

from cocoseg_gui.core.jobs import Cancelled, Progress
from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.gui.services.workers import Batch, JobWorker, Throttle, running_jobs, stop_all_jobs

GUI = Path(__file__).resolve().parents[2] / "cocoseg_gui" / "gui"
WORKER_MODULES = {GUI / "services" / "workers.py"}
THREAD_NAMES = {"QThread", "QRunnable", "QThreadPool", "moveToThread", "Thread", "concurrent"}


def record(job: JobWorker) -> list[tuple[str, bool]]:
    """(signal name, emitted on the GUI thread) for every signal of ``job``, in order."""
    seen: list[tuple[str, bool]] = []
    for name in ("progress", "succeeded", "failed", "cancelled", "done"):
        getattr(job, name).connect(
            lambda *_a, n=name: seen.append((n, threading.current_thread() is threading.main_thread()))
        )
    return seen


def counting(n: int, fail: bool = False, stop_at: int | None = None):
    def job(*, progress, cancel):
        for i in range(n):
            if stop_at is not None and i == stop_at:
                cancel.cancel()
            cancel.raise_if_cancelled()
            progress(Progress(done=i + 1, total=n))
        if fail:
            raise ValueError("broken input")
        return n

    return job


@pytest.mark.parametrize(
    ("job_fn", "outcome"),
    [(counting(5), "succeeded"), (counting(5, fail=True), "failed"), (counting(5, stop_at=3), "cancelled")],
)
def test_progress_then_one_outcome_then_done_on_the_gui_thread(qtbot, job_fn, outcome: str) -> None:
    job = JobWorker(job_fn, policy=Throttle(0))
    seen = record(job)
    with qtbot.waitSignal(job.done, timeout=30000):
        job.start()
    names = [name for name, _ in seen]
    progress_count = {"succeeded": 5, "failed": 5, "cancelled": 3}[outcome]
    assert names == ["progress"] * progress_count + [outcome, "done"]
    assert all(on_gui for _, on_gui in seen)
    assert not job.is_running() and job.wait(0)
    if outcome == "failed":
        assert "ValueError: broken input" in job.traceback_text


def test_outcome_slots_see_the_job_ended_and_may_start_the_next(qtbot) -> None:
    first = JobWorker(counting(1))
    states: list[bool] = []
    second: list[JobWorker] = []

    def next_job(_result: object) -> None:
        states.append(first.is_running())
        job = JobWorker(counting(1))
        second.append(job)
        job.start()

    first.succeeded.connect(next_job)
    with qtbot.waitSignal(first.done, timeout=30000):
        first.start()
    assert states == [False]
    with qtbot.waitSignal(second[0].done, timeout=30000):
        pass


def test_a_job_cancelled_before_it_runs_is_cancelled_without_running(qtbot) -> None:
    ran: list[bool] = []
    job = JobWorker(lambda *, progress, cancel: ran.append(True))
    seen = record(job)
    job.cancel()
    with qtbot.waitSignal(job.done, timeout=30000):
        job.start()
    assert [n for n, _ in seen] == ["cancelled", "done"] and not ran


def test_stop_all_jobs_cancels_and_waits(qtbot) -> None:
    started = threading.Event()

    def until_cancelled(*, progress, cancel):
        started.set()
        while not cancel.cancelled:
            time.sleep(0.01)
        raise Cancelled()

    job = JobWorker(until_cancelled)
    job.start()
    assert started.wait(30)
    assert job in running_jobs()
    assert stop_all_jobs(30000) and job.wait(0)
    with qtbot.waitSignal(job.cancelled, timeout=30000):
        pass
    assert job not in running_jobs()


def test_batch_coalesces_steps_and_flushes_urgent_events_at_once() -> None:
    now = [0.0]
    batch = Batch(0.1, urgent=lambda e: not isinstance(e, ev.StepEvent), clock=lambda: now[0])
    step = ev.StepEvent(epoch=0, step=1, global_step=1, loss=1.0)
    assert batch.offer(step) == [[step]]  # the first one goes at once
    now[0] = 0.05
    assert batch.offer(step) == [] and batch.offer(step) == []  # within 100 ms: held
    epoch = ev.EpochEvent(epoch=0)
    assert batch.offer(epoch) == [[step, step, epoch]]  # an epoch flushes what was held, in order
    now[0] = 0.1
    assert batch.offer(step) == []  # 50 ms after the flush
    now[0] = 0.16
    assert batch.offer(step) == [[step, step]]
    assert batch.flush() == []


def test_throttle_drops_chatty_progress_but_keeps_the_final_event() -> None:
    now = [0.0]
    throttle = Throttle(0.05, clock=lambda: now[0])
    assert throttle.offer(Progress(done=1, total=3)) != []
    assert throttle.offer(Progress(done=2, total=3)) == []
    assert throttle.offer(Progress(done=3, total=3)) != []  # final: always delivered
    now[0] = 1.0
    assert throttle.offer(Progress(done=1, total=0)) != []


def _thread_uses(tree: ast.AST) -> set[str]:
    """Names of thread machinery a module imports or touches (QThread, threading.Thread, ...)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("concurrent"):
                found.add("concurrent")
            found |= {a.name for a in node.names if a.name in THREAD_NAMES - {"Thread"}}
            if node.module == "threading" and any(a.name == "Thread" for a in node.names):
                found.add("Thread")
        elif isinstance(node, ast.Import):
            found |= {"concurrent" for a in node.names if a.name.startswith("concurrent")}
        elif isinstance(node, ast.Attribute) and node.attr in THREAD_NAMES - {"concurrent"}:
            if node.attr != "Thread" or (isinstance(node.value, ast.Name) and node.value.id == "threading"):
                found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in THREAD_NAMES - {"Thread", "concurrent"}:
            found.add(node.id)
    return found


def test_only_the_worker_module_starts_threads() -> None:
    offenders = {
        str(path.relative_to(GUI)): sorted(uses)
        for path in sorted(GUI.rglob("*.py"))
        if path not in WORKER_MODULES and (uses := _thread_uses(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}, f"use services/workers.py JobWorker instead: {offenders}"


def test_the_scan_finds_each_kind_of_thread() -> None:
    samples = {
        "from PySide6.QtCore import QThread": "QThread",
        "from PySide6.QtCore import QRunnable": "QRunnable",
        "from PySide6 import QtCore\nQtCore.QThreadPool.globalInstance()": "QThreadPool",
        "obj.moveToThread(t)": "moveToThread",
        "import threading\nthreading.Thread(target=f)": "Thread",
        "from threading import Thread": "Thread",
        "from concurrent.futures import ThreadPoolExecutor": "concurrent",
        "import concurrent.futures": "concurrent",
    }
    for source, name in samples.items():
        assert name in _thread_uses(ast.parse(source)), source
    assert _thread_uses(ast.parse("import threading\nlock = threading.Lock()")) == set()
