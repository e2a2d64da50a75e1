"""The device probe: devices listed off the GUI thread, and no fork while it imports."""

from __future__ import annotations

import os

from cocoseg_gui.gui.services.device_probe import DeviceProbe


def test_probe_lists_cpu_on_the_gui_thread(qtbot) -> None:
    probe = DeviceProbe()
    got: list[list] = []
    probe.request(got.append)
    # wait for the receiver itself: ready is queued to each receiver separately, so a waitSignal's own
    # slot can run (and end the wait) before got.append does; that race failed under load
    qtbot.waitUntil(lambda: bool(got), timeout=120000)
    assert got[0][0].name == "cpu"
    probe.request(got.append)  # known now: answered at once with the same list
    assert got[1] == got[0]
    probe.wait()


def test_a_fork_waits_for_the_probe_to_finish(qtbot) -> None:
    """A process forked mid-import would hang on the import lock (DataLoader workers fork)."""
    probe = DeviceProbe()
    probe.start()
    pid = os.fork()
    if pid == 0:  # the child: nothing to do
        os._exit(0)
    assert not probe.is_running()  # the at-fork hook waited for its job before forking
    assert os.waitpid(pid, 0)[1] == 0
