"""A row-normalised confusion-matrix heat map (pyqtgraph ImageItem) with class names on both axes.

pyqtgraph loads and the plot is built when the widget is first shown or its plot first looked at
(ADR 0035): the Evaluate tab is hidden when the window starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    import pyqtgraph as pg


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


@dataclass(frozen=True)
class _Plot:
    """The pyqtgraph side of ``ConfusionPlot``, built on first need."""

    plot: pg.PlotWidget
    image: pg.ImageItem
    colorbar: pg.ColorBarItem
    empty_text: pg.TextItem


def _build_plot() -> _Plot:
    import pyqtgraph as pg

    plot = pg.PlotWidget(background="w")
    item = plot.getPlotItem()
    item.setTitle("Confusion matrix (rows: ground truth, normalised)", color="#222", size="10pt")
    item.setLabel("bottom", "predicted", color="#444")
    item.setLabel("left", "ground truth", color="#444")
    for name in ("bottom", "left"):
        item.getAxis(name).setPen(pg.mkPen("#666"))
        item.getAxis(name).setTextPen(pg.mkPen("#333"))
        item.getAxis(name).enableAutoSIPrefix(False)  # class positions, never "(x0.001)"
    item.invertY(True)
    item.setMouseEnabled(x=True, y=True)
    image = pg.ImageItem(axisOrder="row-major")
    item.addItem(image)
    colorbar = item.addColorBar(image, colorMap="viridis", values=(0, 1), interactive=False)
    empty_text = pg.TextItem("No evaluation yet", color="#666", anchor=(0.5, 0.5))
    item.addItem(empty_text)
    return _Plot(plot, image, colorbar, empty_text)


class ConfusionPlot(QWidget):
    """Truth on the vertical axis (top to bottom), prediction on the horizontal axis; 0..1 colour scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 0))
        self.names: list[str] = []
        self._plot: _Plot | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def _built(self) -> _Plot:
        """The plot, built (showing the matrix set so far) the first time it is needed."""
        if self._plot is None:
            self._plot = _build_plot()
            self._layout.addWidget(self._plot.plot)
            if self.isVisible():  # sized now, not after a queued show: the axis names that fit depend on it
                self._plot.plot.show()
                self._layout.activate()
            self._draw()
        return self._plot

    @property
    def plot(self) -> pg.PlotWidget:
        return self._built().plot

    @property
    def image(self) -> pg.ImageItem:
        return self._built().image

    @property
    def colorbar(self) -> pg.ColorBarItem:
        return self._built().colorbar

    @property
    def empty_text(self) -> pg.TextItem:
        return self._built().empty_text

    def showEvent(self, event: QShowEvent) -> None:
        self._built()
        super().showEvent(event)

    def set_confusion(self, confusion: np.ndarray, names: Sequence[str]) -> None:
        self.matrix, self.names, _ = normalise_rows(confusion, names)
        if self._plot is not None:
            self._draw()

    def _draw(self) -> None:
        """The matrix into the plot; empty: no numbered axes (they read -500..500)."""
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
        if self.names and self._plot is not None:
            self._set_axis_ticks()
