"""List the compute devices once, in a background job, then import the torch job modules there.

Importing torch and torchvision takes seconds; done on the GUI thread it froze the window at the first
Train/Evaluate show or the first Start. PySide6 6.12.0, whose import hook crashed on imports from other
threads, is excluded in pyproject.toml; the GUI thread's own imports wait for this job first
(``preload_torch_modules``), and so does every fork (``os.register_at_fork``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from cocoseg_gui.core.training.model_registry import uses_torchvision
from cocoseg_gui.gui.services.devices import DeviceChoice, list_devices
from cocoseg_gui.gui.services.workers import JobWorker, Throttle

TORCH_JOB_MODULES = (
    "torch",
    "cocoseg_gui.core.training.trainer",
    "cocoseg_gui.core.training.data",
    "cocoseg_gui.core.training.losses",
    "cocoseg_gui.core.training.models",
    "cocoseg_gui.core.training.metrics",
    "cocoseg_gui.core.training.evaluate",
    "cocoseg_gui.core.training.predict",
    "cocoseg_gui.core.quality.job",
)


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
    """Import the torch job modules on the GUI thread, before a job needs them.

    With PySide6 6.12, importing a module in a worker thread while the GUI thread runs Python can
    crash the interpreter in shiboken's import hook ("none_dealloc"), so jobs never import.
    The one exception, the device probe's ``import torch`` (6.12.0 is excluded), is waited for first.
    """
    wait_for_probe()
    import_job_modules(torchvision_models=bool(model) and uses_torchvision(str(model)))


def _probe(*, progress: Callable[[Any], None], cancel: Any) -> None:
    try:
        devices = list_devices()
    except Exception:  # a broken CUDA driver must not break the form
        devices = [DeviceChoice("cpu", "cpu")]
    progress(devices)  # the form gets them now; the imports below take seconds more
    # then the training/prediction modules, so Start or Load checkpoint does not pause the window
    with contextlib.suppress(Exception):  # the GUI thread's own preload reports real failures
        import_job_modules(torchvision_models=True)


class DeviceProbe(QObject):
    """Runs :func:`list_devices` in a job; every caller gets the one cached result, on the GUI thread."""

    ready = Signal(list)  # list[DeviceChoice]

    def __init__(self) -> None:
        super().__init__()
        self._devices: list[DeviceChoice] | None = None
        self._job: JobWorker | None = None

    @property
    def devices(self) -> list[DeviceChoice] | None:
        return self._devices

    def request(self, receiver: Callable[[list[DeviceChoice]], None]) -> None:
        """Call ``receiver(devices)`` on the GUI thread: at once if known, else when the probe has them."""
        if self._devices is not None:
            receiver(self._devices)
            return
        self.ready.connect(receiver)
        self.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until a started probe has finished (its ``import torch`` done); True if it has."""
        return self._job is None or self._job.wait(-1 if timeout_s is None else int(timeout_s * 1000))

    def is_running(self) -> bool:
        """True while the probe's job has not ended (its imports may still run)."""
        return self._job is not None and not self._job.wait(0)

    def start(self) -> None:
        """Start the probe now (the window calls this a few seconds after it shows)."""
        if self._job is None:
            self._job = JobWorker(_probe, policy=Throttle(0))
            self._job.progress.connect(self._on_devices)
            # A process forked while the probe holds an import lock would hang in its first import
            # (DataLoader workers fork): every fork waits for the probe to end first.
            os.register_at_fork(before=self._join_before_fork)
            self._job.start()

    def _join_before_fork(self) -> None:
        job = self._job
        if job is not None and job.thread_ident != threading.get_ident():
            job.wait()

    def _on_devices(self, devices: list[DeviceChoice]) -> None:
        self._devices = devices
        self.ready.emit(devices)


_probe_instance: DeviceProbe | None = None


def device_probe() -> DeviceProbe:
    """The application's single probe (created on first use, on the GUI thread)."""
    global _probe_instance
    if _probe_instance is None:
        _probe_instance = DeviceProbe()
    return _probe_instance


def wait_for_probe() -> None:
    """Wait for a running probe, so that the GUI thread never imports torch at the same time."""
    if _probe_instance is not None:
        _probe_instance.wait()
