"""How many training processes the Train workspace starts: one in the window, or N under torchrun (a child
process group, core.training.launch): the GPUs found are listed beside the choice."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QWidget

from cocoseg_gui.gui.services.devices import DeviceChoice

CPU_PROCESSES_MAX = 4  # without a GPU, processes share the CPU (gloo): a check of the setup, not speed


class ProcessCount(QWidget):
    """A spin box (1: train in the window's process) and the GPUs the device probe found."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QSpinBox(minimum=1, maximum=CPU_PROCESSES_MAX, value=1)
        self.spin.setToolTip(
            "More than 1: training runs under torchrun as separate processes (one per GPU); Stop saves "
            "last.pt, a crash of a process never closes the window; --batch-size is per process"
        )
        self.found = QLabel("GPUs: not probed yet")
        self.found.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Processes"))
        lay.addWidget(self.spin)
        lay.addWidget(self.found, 1)

    def set_devices(self, devices: Sequence[DeviceChoice]) -> None:
        gpus = [d for d in devices if d.name.startswith("cuda")]
        if gpus:
            self.spin.setMaximum(len(gpus))
            self.found.setText(f"of {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}")
            self.found.setToolTip("\n".join(d.label for d in gpus))
        else:
            self.spin.setMaximum(CPU_PROCESSES_MAX)
            self.found.setText("no GPU: processes share the CPU")
            self.found.setToolTip("")

    def value(self) -> int:
        return int(self.spin.value())
