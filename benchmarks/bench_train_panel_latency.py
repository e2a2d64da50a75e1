"""GUI responsiveness while training from the Train panel: event-loop lateness, ours vs a baseline.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_train_panel_latency.py [--seconds 15]

A 10 ms QTimer on the GUI thread records how late each tick fires (the time the event loop could
not answer). Baseline: the same training runs in a plain Python thread with no callback (the GIL and
CPU load alone, nothing drawn). Ours: the Train panel's worker with every step event and the live
plots (step events batched, plots redrawn at <= 10 Hz). The issue's target: no stall over 100 ms.
Prints p50 / p99 / max lateness of both and the ratio of p99s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

TICK_MS = 10


class Lateness:
    """Records how late a 10 ms timer fires on the GUI thread."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0

    def start(self) -> None:
        self.samples.clear()
        self._clock.start()
        self._last = 0
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = self._clock.elapsed()
        self.samples.append(max(0, now - self._last - TICK_MS))
        self._last = now

    def summary(self) -> dict[str, float]:
        a = np.asarray(self.samples[1:] or [0.0], dtype=np.float64)
        return {
            "p50": float(np.percentile(a, 50)),
            "p99": float(np.percentile(a, 99)),
            "max": float(a.max()),
            "over_100ms": int((a > 100).sum()),
            "ticks": len(a),
        }


def config_kwargs(masks: Path, out: Path, seconds: float) -> dict:
    return dict(
        data=masks,
        out=out,
        model="unet",
        model_kwargs={"width": 16, "depth": 3},
        img_size=96,
        batch_size=4,
        epochs=10000,
        time_budget_s=seconds,
        device="cpu",
        workers=0,
        log_every=1,
    )


def run_until(app: QApplication, done: threading.Event | None, panel=None, limit_s: float = 600) -> None:
    t0 = time.time()
    while time.time() - t0 < limit_s:
        app.processEvents()
        if done is not None and done.is_set():
            break
        if panel is not None and not panel.running:
            break
        time.sleep(0.001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="training time of each run")
    args = parser.parse_args()

    from tests.training_fixtures import build_mask_folder

    app = QApplication.instance() or QApplication([])
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.trainer import train
    from cocoseg_gui.gui.services.app_state import AppState
    from cocoseg_gui.gui.workspaces.train_panel import TrainPanel

    tmp = Path(tempfile.mkdtemp(prefix="bench-train-panel-"))
    try:
        masks = build_mask_folder(tmp / "masks", max_images=16)
        state = AppState(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
        state.set_masks_dir(masks)
        panel = TrainPanel(state)
        panel.resize(1440, 900)
        panel.show()
        meter = Lateness()

        # baseline: training in a plain thread, no callbacks, nothing drawn
        done = threading.Event()
        config = TrainConfig(**config_kwargs(masks, tmp / "base", args.seconds))
        thread = threading.Thread(target=lambda: (train(config), done.set()), daemon=True)
        meter.start()
        thread.start()
        run_until(app, done)
        meter.stop()
        thread.join()
        base = meter.summary()

        # ours: the panel's worker, every step event, live plots
        f = panel.form
        f.out.setText(str(tmp / "ours"))
        f.model_options.setText("width=16 depth=3")
        f.img_size.setValue(96)
        f.batch_size.setValue(4)
        f.epochs.setValue(10000)
        f.time_budget.setText(f"{args.seconds:g}s")
        f.log_every.setValue(1)
        f.workers.setValue(0)
        f.device.setCurrentIndex(max(f.device.findData("cpu"), 0))
        meter.start()
        if not panel.start():
            raise SystemExit(f"could not start: {panel.last_error}")
        run_until(app, None, panel)
        meter.stop()
        ours = meter.summary()
        steps = panel.plots.series["step_loss"].size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"event-loop lateness over {args.seconds:g} s of CPU training (ms)")
    for name, s in (("baseline (thread, nothing drawn)", base), ("Train panel (live plots)", ours)):
        print(
            f"  {name:34s} p50 {s['p50']:6.1f}  p99 {s['p99']:6.1f}  max {s['max']:6.1f}  "
            f"stalls>100ms {s['over_100ms']}  ticks {s['ticks']}"
        )
    print(f"  steps plotted: {steps}")
    print(f"ratio p99 ours/baseline: {ours['p99'] / max(base['p99'], 1.0):.2f}")


if __name__ == "__main__":
    main()
