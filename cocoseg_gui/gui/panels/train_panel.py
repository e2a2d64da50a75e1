"""Train panel: the training form, live plots and run controls."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from cocoseg_gui.gui.app_state import AppState


class TrainPanel(QWidget):
    """Configure and run a training; watch loss and IoU live."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=10)
        form.addRow("Epochs", self.epochs)
        layout.addLayout(form)
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop", enabled=False)
        layout.addWidget(self.start_button)
        layout.addWidget(self.stop_button)
        layout.addStretch(1)
