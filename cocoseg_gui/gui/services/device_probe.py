"""List the compute devices once, in a background thread, then import the torch job modules there.

Importing torch and torchvision takes seconds; done on the GUI thread it froze the window at the first
Train/Evaluate show or the first Start. PySide6 6.12.0, whose import hook crashed on imports from other
threads, is excluded in pyproject.toml; the GUI thread's own imports wait for this thread first.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from cocoseg_gui.gui.services.devices import DeviceChoice, list_devices


class DeviceProbe(QObject):
    """Runs :func:`list_devices` off the GUI thread; every caller gets the one cached result."""

    ready = Signal(list)  # list[DeviceChoice], delivered on the GUI thread (queued)

    def __init__(self) -> None:
        super().__init__()
        self._devices: list[DeviceChoice] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # a request either sees the devices or is connected before the emit

    @property
    def devices(self) -> list[DeviceChoice] | None:
        return self._devices

    def request(self, receiver: Callable[[list[DeviceChoice]], None]) -> None:
        """Call ``receiver(devices)`` on the GUI thread: at once if known, else when the probe ends."""
        with self._lock:
            devices = self._devices
            if devices is None:
                self.ready.connect(receiver)
        if devices is not None:
            receiver(devices)
            return
        self.start()

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until a started probe has finished (its ``import torch`` done)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def start(self) -> None:
        """Start the probe now (the window calls this once it is idle after opening)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cocoseg-device-probe", daemon=True)
            # A process forked while this thread holds an import lock would hang in its first import
            # (DataLoader workers fork): every fork waits for the probe to end first.
            os.register_at_fork(before=self._join_before_fork)
            self._thread.start()

    def _join_before_fork(self) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        try:
            devices = list_devices()
        except Exception:  # a broken CUDA driver must not break the form
            devices = [DeviceChoice("cpu", "cpu")]
        with self._lock, contextlib.suppress(RuntimeError):  # RuntimeError: the app quit meanwhile
            self._devices = devices
            self.ready.emit(devices)
        # then the training/prediction modules, so Start or Load checkpoint does not pause the window
        from cocoseg_gui.gui.services.train_worker import import_job_modules

        with contextlib.suppress(Exception):  # the GUI thread's own preload reports real failures
            import_job_modules(torchvision_models=True)


_probe: DeviceProbe | None = None


def device_probe() -> DeviceProbe:
    """The application's single probe (created on first use, on the GUI thread)."""
    global _probe
    if _probe is None:
        _probe = DeviceProbe()
    return _probe


def wait_for_probe() -> None:
    """Wait for a running probe, so that the GUI thread never imports torch at the same time."""
    if _probe is not None:
        _probe.wait()
