"""Evaluate panel: metrics of a checkpoint on a mask dataset."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from cocoseg_gui.gui.app_state import AppState


class EvaluatePanel(QWidget):
    """Evaluate a checkpoint: per-class IoU, confusion matrix, worst images."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        self.run_button = QPushButton("Evaluate")
        layout.addWidget(self.run_button)
        layout.addStretch(1)
