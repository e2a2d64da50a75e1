"""Follow a run another process writes, and compare finished runs' curves (issue 23, item 2).

``RunMonitor`` is a window of its own: Follow shows one run folder's live plots (the CLI in a terminal, a
cluster job on a shared file system), its state read from the folder (services.run_watch polls it);
Compare draws the epoch curves of several runs side by side, each read in a JobWorker.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.masks.palette import class_color
from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.core.training.run_follow import RunCurves, RunState, RunUpdate, run_curves
from cocoseg_gui.gui.services.run_watch import RunWatch
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.training_plots import TrainingPlots

STATE_WORDS = {
    RunState.WAITING: "waiting for the run to start",
    RunState.RUNNING: "running",
    RunState.STOPPED: "stopped (resume it from last.pt)",
    RunState.FINISHED: "finished",
    RunState.FAILED: "failed",
}
QUIET_NOTE_S = 300  # a running log silent this long: say so (a killed run writes no end event)


def describe_update(state: RunState, quiet_s: float | None, epoch: int | None, failure: str = "") -> str:
    """The state line: what the folder says, the last epoch, and how long the log has been silent."""
    words = STATE_WORDS[state]
    if state is RunState.FAILED and failure:
        words += f": {failure}"
    parts = [words]
    if epoch is not None:
        parts.append(f"epoch {epoch} done")
    if state is RunState.RUNNING and quiet_s is not None and quiet_s >= QUIET_NOTE_S:
        parts.append(f"no update for {quiet_s / 60:.0f} min (still running? a killed run writes no end)")
    return " · ".join(parts)


def _read_curves(run_dir: Path, **_job: object) -> RunCurves:
    return run_curves(run_dir)


class RunFollowView(QWidget):
    """One followed run: its folder, its state line and the live TrainingPlots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_button = QPushButton("Follow a run folder...")
        self.open_button.setToolTip("Watch a run that another process writes (a terminal, a cluster job)")
        self.folder_label = QLabel("No run followed")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel("")
        self.state_label.setObjectName("run_state")
        self.plots = TrainingPlots()
        self.watch = RunWatch(self)
        self.watch.updated.connect(self._on_update)
        self.watch.failed.connect(self._on_failed)
        self.open_button.clicked.connect(self._choose)
        self.run_dir: Path | None = None
        self.state = RunState.WAITING
        self._epoch: int | None = None
        self._failure = ""
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.folder_label, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.state_label)
        lay.addWidget(self.plots, 1)

    def follow(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.folder_label.setText(str(self.run_dir))
        self.plots.reset()
        self.state, self._epoch, self._failure = RunState.WAITING, None, ""
        self.state_label.setText("reading...")
        self.watch.follow(self.run_dir)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Follow a training run folder")
        if folder:
            self.follow(folder)

    def _on_update(self, update: RunUpdate) -> None:
        if update.reset:
            self.plots.reset()
            self._epoch, self._failure = None, ""
        self.plots.add_events(update.events)
        for e in update.events:
            if isinstance(e, ev.EpochEvent):
                self._epoch = e.epoch + 1
            elif isinstance(e, ev.EndEvent) and e.status == "failed":
                self._failure = e.reason or ""
        self.state = update.state
        self.state_label.setText(describe_update(update.state, update.quiet_s, self._epoch, self._failure))

    def _on_failed(self, message: str) -> None:
        self.state_label.setText(f"cannot follow this folder: {message}")


class RunCompareView(QWidget):
    """Finished (or stopped) runs side by side: train loss and validation mIoU per epoch, a line each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_button = QPushButton("Add a run...")
        self.clear_button = QPushButton("Clear")
        self.message = QLabel("")
        self.loss_plot = pg.PlotWidget(title="Training loss per epoch")
        self.miou_plot = pg.PlotWidget(title="Validation mIoU per epoch")
        for plot, y in ((self.loss_plot, "loss"), (self.miou_plot, "mIoU")):
            plot.setBackground("w")
            plot.addLegend(offset=(-10, 10))
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", y)
            plot.showGrid(y=True, alpha=0.3)
        self.miou_plot.setYRange(0, 1, padding=0.02)  # comparable at a glance, as the Train plots
        self.runs: list[RunCurves] = []
        self._jobs: list[JobWorker] = []
        self.add_button.clicked.connect(self._choose)
        self.clear_button.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.add_button)
        top.addWidget(self.clear_button)
        top.addWidget(self.message, 1)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.miou_plot)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(plots, 1)

    def add_run(self, run_dir: str | Path) -> None:
        """Read ``run_dir``'s epoch curves in a job, then draw them beside the others."""
        job = JobWorker(_read_curves, Path(run_dir))
        job.succeeded.connect(self._add_curves)
        job.failed.connect(lambda exc: self._failed(Path(run_dir), exc))
        job.done.connect(lambda: self._jobs.remove(job))
        self._jobs.append(job)
        job.start()

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        return all(job.wait(timeout_ms) for job in list(self._jobs))

    def clear(self) -> None:
        self.runs = []
        self._redraw()

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a training run folder to compare")
        if folder:
            self.add_run(folder)

    def _add_curves(self, curves: RunCurves) -> None:
        self.runs = [r for r in self.runs if r.run_dir != curves.run_dir] + [curves]
        self._redraw()

    def _failed(self, run_dir: Path, exc: BaseException) -> None:
        why = str(exc) if isinstance(exc, CocoSegError) else f"{type(exc).__name__}: {exc}"
        self.message.setText(f"{run_dir} not added: {why}")

    def _redraw(self) -> None:
        for plot in (self.loss_plot, self.miou_plot):
            plot.clear()
        for i, run in enumerate(self.runs):
            color = tuple(class_color(i + 1))
            name = f"{run.run_dir.name} ({run.state.value})"
            pen = pg.mkPen(*color, width=2)
            for plot, values in ((self.loss_plot, run.train_loss), (self.miou_plot, run.miou)):
                xs = [x for x, v in zip(run.epochs, values) if v is not None]
                ys = [v for v in values if v is not None]
                plot.plot(xs, ys, name=name, pen=pen, symbol="o", symbolSize=5, symbolBrush=color)
        best = [f"{r.run_dir.name} {r.best_miou:.3f}" for r in self.runs if r.best_miou is not None]
        self.message.setText(("best mIoU: " + ", ".join(best)) if best else "")


class RunMonitor(QWidget):
    """The window: Follow a run / Compare runs, as two tabs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Training runs: follow and compare")
        self.follow_view = RunFollowView()
        self.compare_view = RunCompareView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.follow_view, "Follow a run")
        self.tabs.addTab(self.compare_view, "Compare runs")
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        self.resize(1000, 650)

    def closeEvent(self, event: object) -> None:
        self.follow_view.watch.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
