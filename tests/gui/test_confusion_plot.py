"""The Evaluate workspace's confusion matrix before any evaluation, and with one."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPainter

from cocoseg_gui.gui.widgets.confusion_plot import ConfusionPlot


def axis_texts(plot: ConfusionPlot, name: str) -> list[str]:
    """The strings the axis draws (its tick labels), as pyqtgraph lays them out."""
    axis = plot.plot.getPlotItem().getAxis(name)
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in specs[2]] if specs else []


def test_an_empty_matrix_has_no_numbered_axes_and_says_so(qtbot) -> None:
    plot = ConfusionPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.show()
    qtbot.waitExposed(plot)
    for name in ("bottom", "left"):
        assert axis_texts(plot, name) == []  # it read -500 ... 500 "(x0.001)"
        assert "x0.001" not in plot.plot.getPlotItem().getAxis(name).labelString()
    assert plot.empty_text.isVisible() and not plot.image.isVisible()

    plot.set_confusion(np.array([[5, 1], [0, 4]]), ["background", "person"])
    assert axis_texts(plot, "bottom") == ["background", "person"]
    assert not plot.empty_text.isVisible() and plot.image.isVisible()
