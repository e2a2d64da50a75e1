"""A row-normalised confusion-matrix heat map (pyqtgraph ImageItem) with class names on both axes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


def normalise_rows(confusion: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, list[str], list[int]]:
    """Rows (truth) divided by their sums, restricted to the classes present in truth or prediction.

    Returns the matrix, the kept names and the kept class indices.
    """
    m = np.asarray(confusion, dtype=np.float64)
    present = np.flatnonzero((m.sum(1) > 0) | (m.sum(0) > 0))
    sub = m[np.ix_(present, present)]
    rows = sub.sum(1, keepdims=True)
    norm = np.divide(sub, rows, out=np.zeros_like(sub), where=rows > 0)
    kept = [names[i] if i < len(names) else f"class {i}" for i in present.tolist()]
    return norm, kept, [int(i) for i in present]


LABEL_PX = 80  # horizontal room one class name needs under the heat map
ROW_LABEL_PX = 14  # vertical room one class name needs left of the heat map


class ConfusionPlot(QWidget):
    """Truth on the vertical axis (top to bottom), prediction on the horizontal axis; 0..1 colour scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        item = self.plot.getPlotItem()
        item.setTitle("Confusion matrix (rows: ground truth, normalised)", color="#222", size="10pt")
        item.setLabel("bottom", "predicted", color="#444")
        item.setLabel("left", "ground truth", color="#444")
        for name in ("bottom", "left"):
            item.getAxis(name).setPen(pg.mkPen("#666"))
            item.getAxis(name).setTextPen(pg.mkPen("#333"))
            item.getAxis(name).enableAutoSIPrefix(False)  # class positions, never "(x0.001)"
        item.invertY(True)
        item.setMouseEnabled(x=True, y=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.colorbar = item.addColorBar(self.image, colorMap="viridis", values=(0, 1), interactive=False)
        self.empty_text = pg.TextItem("No evaluation yet", color="#666", anchor=(0.5, 0.5))
        item.addItem(self.empty_text)
        self.matrix = np.zeros((0, 0))
        self.names: list[str] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.set_confusion(np.zeros((0, 0)), [])  # empty: no numbered axes (they read -500..500)

    def set_confusion(self, confusion: np.ndarray, names: Sequence[str]) -> None:
        self.matrix, self.names, _ = normalise_rows(confusion, names)
        n = len(self.names)
        self.image.setImage(self.matrix if n else np.zeros((1, 1)), levels=(0, 1))
        self.image.setRect(0, 0, max(n, 1), max(n, 1))
        self._set_axis_ticks()
        self.plot.setRange(xRange=(0, max(n, 1)), yRange=(0, max(n, 1)), padding=0)
        self.empty_text.setPos(0.5, 0.5)
        self.empty_text.setVisible(n == 0)
        self.image.setVisible(n > 0)  # not a block of "0" in the colour scale's darkest colour

    def _set_axis_ticks(self) -> None:
        """Class names on both axes, every k-th where they would overlap (the label says which)."""
        n = len(self.names)
        item = self.plot.getPlotItem()
        for axis, title, room, px in (
            ("bottom", "predicted", max(self.plot.width() - 160, 200), LABEL_PX),
            ("left", "ground truth", max(self.plot.height() - 90, 100), ROW_LABEL_PX),
        ):
            step = max(1, -(-n * px // room))
            ticks = [(i + 0.5, name) for i, name in enumerate(self.names) if i % step == 0]
            item.getAxis(axis).setTicks([ticks, []])
            item.setLabel(axis, title + (f" (one name in {step} shown)" if step > 1 else ""), color="#444")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.names:
            self._set_axis_ticks()
