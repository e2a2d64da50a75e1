"""Live training plots (pyqtgraph): loss per step, epoch losses, mIoU / pixel accuracy, per-class IoU bars.

Events (docs/formats.md metrics.jsonl) are appended to growing numpy buffers; a 10 Hz timer pushes
the buffers into the existing ``PlotDataItem``s with ``setData`` -- nothing is cleared and redrawn.
Replaying a finished run feeds the same ``add_event`` then calls ``flush``.

pyqtgraph (~0.2 s to import) loads and the plots are built when the widget is first shown or a plot is
first looked at (ADR 0035): the Train tab is hidden when the window starts. Until then events only fill
the buffers, drawn when the plots are built.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

from cocoseg_gui.core.masks.palette import class_color, display_color
from cocoseg_gui.core.training import event_types as ev

if TYPE_CHECKING:
    import pyqtgraph as pg

EMA_SMOOTHING = 0.9  # TensorBoard-style smoothing weight, debiased
FLUSH_INTERVAL_MS = 100  # at most 10 plot updates a second
MAX_BARS = 20  # per-class bars shown (best first) at most
BAR_LABEL_PX = 15  # vertical room one class name needs beside the axis (at 1024x700 the plot has ~200 px)
BAR_PLOT_CHROME_PX = 70  # title, x axis and its label


class SeriesBuffer:
    """An append-only (x, y) series in amortised-doubling numpy buffers."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def clear(self) -> None:
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


class Ema:
    """Debiased exponential moving average (as TensorBoard's smoothing slider)."""

    def __init__(self, weight: float = EMA_SMOOTHING) -> None:
        self.weight = weight
        self._value = 0.0
        self._count = 0

    def update(self, value: float) -> float:
        self._count += 1
        self._value = self.weight * self._value + (1 - self.weight) * value
        return self._value / (1 - self.weight**self._count)

    def reset(self) -> None:
        self._value, self._count = 0.0, 0


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


PLOT_MIN_SIZE = (220, 160)


def _plot(title: str, x_label: str, y_label: str, grid: str = "") -> pg.PlotWidget:
    import pyqtgraph as pg

    w = pg.PlotWidget(background="w")
    item = w.getPlotItem()
    item.setTitle(title, color="#222", size="10pt")
    item.setLabel("bottom", x_label, color="#444")
    item.setLabel("left", y_label, color="#444")
    if grid:  # grid lines are blended (~6-12 ms a repaint each): one direction, none on the 10 Hz plot
        item.showGrid(x="x" in grid, y="y" in grid, alpha=0.2)
    for name in ("bottom", "left"):
        item.getAxis(name).setPen(pg.mkPen("#666"))
        item.getAxis(name).setTextPen(pg.mkPen("#333"))
    item.addLegend(offset=(-5, 5), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200))
    w.setMinimumSize(*PLOT_MIN_SIZE)
    return w


def _class_colors(classes: list[Any]) -> dict[str, tuple[int, int, int]]:
    """Name -> on-screen colour from class names (index order) or class dicts (a VOC colour is lifted)."""
    out: dict[str, tuple[int, int, int]] = {}
    for i, c in enumerate(classes):
        if isinstance(c, str):
            out[c] = display_color(i)
        elif isinstance(c, Mapping) and "name" in c:
            index = int(c.get("index", i))
            rgb = c.get("color") or class_color(index)
            if tuple(int(v) for v in rgb[:3]) == class_color(index):
                rgb = display_color(index)
            out[str(c["name"])] = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
    return out


@dataclass(frozen=True)
class _Plots:
    """The pyqtgraph side of ``TrainingPlots``, built on first need."""

    loss_plot: pg.PlotWidget
    epoch_plot: pg.PlotWidget
    metric_plot: pg.PlotWidget
    class_plot: pg.PlotWidget
    curves: dict[str, pg.PlotDataItem]
    bars: pg.BarGraphItem


def _build_plots() -> _Plots:
    import pyqtgraph as pg

    loss_plot = _plot("Training loss per step", "step", "loss")
    epoch_plot = _plot("Loss per epoch", "epoch", "loss", grid="y")
    metric_plot = _plot("Validation mIoU / pixel accuracy", "epoch", "", grid="y")
    class_plot = _plot("Per-class IoU (last epoch)", "IoU", "", grid="x")
    class_plot.getPlotItem().legend.setVisible(False)
    class_plot.setXRange(0, 1, padding=0.02)
    metric_plot.setYRange(0, 1, padding=0.02)
    curves = {
        "step_loss": loss_plot.plot(name="loss", pen=pg.mkPen(100, 140, 220, 90, width=1)),
        "step_ema": loss_plot.plot(name="smoothed", pen=pg.mkPen(20, 60, 180, width=2.5)),
        "train_loss": epoch_plot.plot(
            name="train",
            pen=pg.mkPen(20, 60, 180, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=(20, 60, 180),
        ),
        "val_loss": epoch_plot.plot(
            name="validation",
            pen=pg.mkPen(220, 90, 20, width=2),
            symbol="s",
            symbolSize=6,
            symbolBrush=(220, 90, 20),
        ),
        "miou": metric_plot.plot(
            name="mIoU",
            pen=pg.mkPen(30, 150, 60, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=(30, 150, 60),
        ),
        "pixel_acc": metric_plot.plot(
            name="pixel acc.",
            pen=pg.mkPen(150, 60, 170, width=2),
            symbol="t",
            symbolSize=7,
            symbolBrush=(150, 60, 170),
        ),
    }
    bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.7, pen=pg.mkPen("#555"))
    class_plot.addItem(bars)
    return _Plots(loss_plot, epoch_plot, metric_plot, class_plot, curves, bars)


class TrainingPlots(QWidget):
    """Four live plots of one training run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, SeriesBuffer] = {
            k: SeriesBuffer()
            for k in ("step_loss", "step_ema", "train_loss", "val_loss", "miou", "pixel_acc")
        }
        self.class_iou: dict[str, float] = {}
        self._class_colors: dict[str, tuple[int, int, int]] = {}
        self._ema = Ema()
        self._dirty: set[str] = set()  # series changed since the last flush
        self._bars_dirty = False
        self._plots: _Plots | None = None
        # a slot per plot, sized as the plot will be: the layout is the same before the plots exist
        self._slots = [QWidget(self) for _ in range(4)]
        for slot in self._slots:
            slot.setMinimumSize(*PLOT_MIN_SIZE)
            QVBoxLayout(slot).setContentsMargins(0, 0, 0, 0)

        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._columns = 0
        self.set_columns(2)

        self._timer = QTimer(self, interval=FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def _built(self) -> _Plots:
        """The plots, built (and the buffered events drawn) the first time they are needed."""
        if self._plots is None:
            self._plots = plots = _build_plots()
            for slot, plot in zip(
                self._slots, (plots.loss_plot, plots.epoch_plot, plots.metric_plot, plots.class_plot)
            ):
                layout = slot.layout()
                assert layout is not None  # each slot was given one in __init__
                layout.addWidget(plot)
                if self.isVisible():  # sized now, not after a queued show: the bars that fit depend on it
                    plot.show()
                    layout.activate()
            # fewer bars when the plot is short: names never overlap
            plots.class_plot.installEventFilter(self)
            self._dirty = set(self.series)
            self._bars_dirty = True
            self.flush()
        return self._plots

    @property
    def loss_plot(self) -> pg.PlotWidget:
        return self._built().loss_plot

    @property
    def epoch_plot(self) -> pg.PlotWidget:
        return self._built().epoch_plot

    @property
    def metric_plot(self) -> pg.PlotWidget:
        return self._built().metric_plot

    @property
    def class_plot(self) -> pg.PlotWidget:
        return self._built().class_plot

    @property
    def curves(self) -> dict[str, pg.PlotDataItem]:
        return self._built().curves

    @property
    def bars(self) -> pg.BarGraphItem:
        return self._built().bars

    def showEvent(self, event: QShowEvent) -> None:
        self._built()
        super().showEvent(event)

    def set_columns(self, columns: int) -> None:
        """2x2 plots, or one column in a narrow dock."""
        if columns == self._columns:
            return
        self._columns = columns
        for i, w in enumerate(self._slots):
            self._grid.removeWidget(w)
            self._grid.addWidget(w, i // columns, i % columns)

    # -- feeding ---------------------------------------------------------------------------------

    def set_class_colors(self, colors: Mapping[str, Iterable[int]]) -> None:
        """Colours of the per-class bars, by class name."""
        self._class_colors = {}
        for name, rgb in colors.items():
            r, g, b = tuple(int(c) for c in rgb)[:3]
            self._class_colors[name] = (r, g, b)
        self._bars_dirty = True

    def reset(self) -> None:
        for s in self.series.values():
            s.clear()
        self._ema.reset()
        self.class_iou = {}
        self._dirty = set(self.series)
        self._bars_dirty = True
        self.flush()

    def add_events(self, events: Iterable[ev.Event | Mapping[str, Any]]) -> None:
        for e in events:
            self.add_event(e)

    def add_event(self, event: ev.Event | Mapping[str, Any]) -> None:
        """Append one event (a metrics.jsonl object is parsed first); drawn at the next flush."""
        if isinstance(event, Mapping):
            event = ev.parse_event(event)
        if isinstance(event, ev.StepEvent):
            loss = _finite(event.loss)
            step = _finite(event.global_step)
            if loss is None or step is None:
                return
            self.series["step_loss"].append(step, loss)
            self.series["step_ema"].append(step, self._ema.update(loss))
            self._dirty.update(("step_loss", "step_ema"))
        elif isinstance(event, ev.EpochEvent):
            x = event.epoch + 1  # epochs are 0-based in the events, shown 1-based
            for key in ("train_loss", "val_loss", "miou", "pixel_acc"):
                v = _finite(getattr(event, key))
                if v is not None:
                    self.series[key].append(x, v)
                    self._dirty.add(key)
            per_class = event.per_class_iou
            if isinstance(per_class, Mapping):
                self.class_iou = {str(k): f for k, v in per_class.items() if (f := _finite(v)) is not None}
                self._bars_dirty = True
        elif isinstance(event, ev.StartEvent):
            classes = event.classes or event.config.get("classes")
            if isinstance(classes, list):
                self.set_class_colors(_class_colors(classes))

    # -- drawing ---------------------------------------------------------------------------------

    def flush(self) -> None:
        """Push changed buffers into the existing curves (setData), at most 10 times a second."""
        if self._plots is None:
            return  # drawn when the plots are built
        for key in self._dirty:
            s = self.series[key]
            self.curves[key].setData(s.x, s.y)
        self._dirty.clear()
        if self._bars_dirty:
            self._draw_bars()
            self._bars_dirty = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        resized = event.type() == QEvent.Type.Resize
        if resized and self._plots is not None and watched is self._plots.class_plot and self.class_iou:
            self._bars_dirty = True  # redrawn by the next flush
        return super().eventFilter(watched, event)

    def bars_that_fit(self) -> int:
        """How many class names fit beside the bars' axis at the plot's height (3 at least)."""
        room = self.class_plot.height() - BAR_PLOT_CHROME_PX
        return max(3, min(MAX_BARS, room // BAR_LABEL_PX))

    def _draw_bars(self) -> None:
        order = {name: i for i, name in enumerate(self._class_colors)}  # class index order, from the start
        ranked = sorted(self.class_iou, key=lambda n: (-float(self.class_iou[n]), order.get(n, len(order))))
        names = ranked[: self.bars_that_fit()]
        values = [float(self.class_iou[n]) for n in names]
        # short enough for a quarter of a 1024 px window
        cut = len(ranked) > len(names)
        title = f"Per-class IoU (best {len(names)} of {len(ranked)})" if cut else "Per-class IoU (last epoch)"
        self.class_plot.getPlotItem().setTitle(title, color="#222", size="10pt")
        ys = [len(names) - 1 - i for i in range(len(names))]  # best class at the top
        import pyqtgraph as pg

        brushes = [pg.mkBrush(*self._color(n)) for n in names]
        self.bars.setOpts(x0=[0.0] * len(names), y=ys, width=values, height=0.7, brushes=brushes)
        axis = self.class_plot.getPlotItem().getAxis("left")
        axis.setTicks([list(zip(ys, names))])
        if names:
            self.class_plot.setYRange(-0.6, len(names) - 0.4, padding=0)

    def _color(self, name: str) -> tuple[int, int, int]:
        if name in self._class_colors:
            return self._class_colors[name]
        return display_color(list(self.class_iou).index(name) if name in self.class_iou else 0)
