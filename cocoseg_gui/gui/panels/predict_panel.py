"""Predict panel: run a checkpoint on unseen images and compare with ground truth."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from cocoseg_gui.gui.app_state import AppState


class PredictPanel(QWidget):
    """Load a checkpoint, open images, view prediction overlays and errors."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        self.load_button = QPushButton("Load checkpoint...")
        self.open_button = QPushButton("Open images...")
        layout.addWidget(self.load_button)
        layout.addWidget(self.open_button)
        layout.addStretch(1)
