"""Screenshot preparation on the bundled demo data: masks, a short training, a prediction, an evaluation.

``cocoseg-gui --screenshot PATH --panel train|predict|evaluate`` calls
``prepare(panel_name, panel, done)``; these helpers chain background jobs (never blocking the GUI thread)
and call ``done()`` when the panel shows something worth a picture.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.workers import JobWorker

if TYPE_CHECKING:
    from cocoseg_gui.gui.workspaces.evaluate_panel import EvaluatePanel
    from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel
    from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel
    from cocoseg_gui.gui.workspaces.train_panel import TrainPanel

DEMO_MODEL = {"width": 16, "depth": 3}
_keep: list[Any] = []  # jobs alive until they finish


def demo_root() -> Path:
    return Path(__file__).resolve().parents[3] / "resources" / "sample_coco"


temp_root: Path | None = None  # where demo folders go (the screenshot's temporary folder), else the system's


def temp_dir(name: str) -> Path:
    """A new folder for demo masks or runs."""
    return Path(tempfile.mkdtemp(prefix=f"cocoseg-{name}-", dir=temp_root))


def _run(job: JobWorker, on_ok: Callable[[Any], None], on_fail: Callable[[BaseException], None]) -> None:
    _keep.append(job)
    job.succeeded.connect(on_ok)
    job.failed.connect(on_fail)
    job.done.connect(lambda: _keep.remove(job) if job in _keep else None)
    job.start()


def _report(state: AppState, done: Callable[[], None]) -> Callable[[BaseException], None]:
    def fail(exc: BaseException) -> None:
        state.status_message.emit(f"demo preparation failed: {exc}")
        done()

    return fail


def ensure_demo_masks(
    state: AppState, parent: QObject, then: Callable[[], None], done: Callable[[], None]
) -> None:
    """Generate masks of the demo val split into a temp folder when no mask dataset is open."""
    if state.masks_dir is not None:
        then()
        return
    from cocoseg_gui.core.mask_job import generate_masks
    from cocoseg_gui.core.mask_options import MaskOptions

    root = demo_root()
    out = temp_dir("demo-masks")
    job = JobWorker(
        generate_masks,
        root / "annotations" / "instances_val2017.json",
        root / "val2017",
        out,
        MaskOptions(workers=1),
    )

    def ok(_report_: Any) -> None:
        state.set_masks_dir(out)
        then()

    _run(job, ok, _report(state, done))


def _tiny_train(data: Path, out: Path, progress: Any = None, cancel: Any = None) -> Path:
    from cocoseg_gui.core.training.config import TrainConfig
    from cocoseg_gui.core.training.trainer import train

    config = TrainConfig(
        data=data,
        out=out,
        model="unet",
        model_kwargs=dict(DEMO_MODEL),
        img_size=96,
        batch_size=4,
        epochs=3,
        lr=3e-3,
        time_budget_s=None,
        device="auto",
        workers=0,
        log_every=1,
        val_fraction=0.2,
    )
    train(config, cancel=cancel)
    return out


def ensure_checkpoint(
    state: AppState, parent: QObject, then: Callable[[], None], done: Callable[[], None]
) -> None:
    """Train a tiny model on the demo masks when no checkpoint is loaded, then set it on the state."""
    if state.checkpoint_path is not None and Path(state.checkpoint_path).is_file():
        then()
        return

    def train_it() -> None:
        from cocoseg_gui.gui.services.device_probe import preload_torch_modules

        preload_torch_modules("unet")
        job = JobWorker(_tiny_train, state.masks_dir, temp_dir("demo-run"))

        def ok(run: Path) -> None:
            from cocoseg_gui.core.training.run_reader import latest_checkpoint
            from cocoseg_gui.gui.services.recent_runs import add_recent_run

            add_recent_run(state.settings, run)
            state.set_run_dir(run)
            state.set_checkpoint(latest_checkpoint(run))
            then()

        _run(job, ok, _report(state, done))

    ensure_demo_masks(state, parent, train_it, done)


SCREENSHOT_EPOCHS = 10  # the run the train screenshot shows: caught mid-run, after SHOT_AFTER_EPOCHS
SHOT_AFTER_EPOCHS = 6


def prepare_train_screenshot(panel: TrainPanel, done: Callable[[], None]) -> None:
    """A real training of the small unet from the panel's form, grabbed mid-run when the plots have curves.

    The app then quits, which stops the run (last.pt saved) like Stop would.
    """

    def start() -> None:
        f = panel.form
        f.data.setText(str(panel.state.masks_dir))
        f.out.setText(str(temp_dir("demo-run")))
        f.model.setCurrentText("unet")
        f.model_options.setText(" ".join(f"{k}={v}" for k, v in DEMO_MODEL.items()))
        f.img_size.setValue(96)
        f.batch_size.setValue(4)
        f.epochs.setValue(SCREENSHOT_EPOCHS)
        f.lr.setValue(3e-3)
        f.time_budget.setText("2h")
        f.log_every.setValue(1)
        f.workers.setValue(0)

        def on_epoch(n: int) -> None:
            if n >= SHOT_AFTER_EPOCHS:
                panel.plots.flush()  # the plots redraw at most 10 times a second: show this epoch too
                done()

        panel.epoch_finished.connect(on_epoch)
        panel.run_finished.connect(lambda _end: done())
        if not panel.start():
            done()

    ensure_demo_masks(panel.state, panel, start, done)


def prepare_predict_screenshot(panel: PredictPanel, done: Callable[[], None]) -> None:
    """The compare view of a demo image with a (freshly trained) model."""
    state = panel.state

    def show() -> None:
        from cocoseg_gui.core.mask_dataset import MaskDatasetFolder

        samples = [s for s in MaskDatasetFolder(state.masks_dir).samples() if s.image_path is not None]
        if not samples:
            done()
            return
        image = samples[min(3, len(samples) - 1)].image_path
        panel.comparison_shown.connect(lambda c: done() if c.image_path == image else None)
        panel.failed.connect(lambda _message: done())
        panel.open_images([s.image_path for s in samples])
        panel.show_compare(str(image))
        if panel.checkpoint != state.checkpoint_path:
            panel.load_checkpoint(state.checkpoint_path)

    ensure_checkpoint(state, panel, show, done)


def prepare_evaluate_screenshot(panel: EvaluatePanel, done: Callable[[], None]) -> None:
    """An evaluation of the (freshly trained) model on the demo masks."""
    state = panel.state

    def evaluate() -> None:
        panel.checkpoint.setCurrentText(str(state.checkpoint_path))
        panel.data.setText(str(state.masks_dir))
        panel.evaluated.connect(lambda _r: done())
        if not panel.start():
            done()
        elif panel._job is not None:
            panel._job.failed.connect(lambda _e: done())

    ensure_checkpoint(state, panel, evaluate, done)


def prepare_masks_screenshot(panel: MasksPanel, done: Callable[[], None]) -> None:
    """Generate the demo masks into a temp folder and show the report."""
    panel.set_output_dir(temp_dir("demo-masks"))
    panel.generation_finished.connect(lambda _outcome: done())
    panel.generate()


PREPARE: dict[str, Callable[[Any, Callable[[], None]], None]] = {
    "masks": prepare_masks_screenshot,
    "train": prepare_train_screenshot,
    "predict": prepare_predict_screenshot,
    "evaluate": prepare_evaluate_screenshot,
}


def prepare(panel_name: str, panel: object, done: Callable[[], None]) -> None:
    """Bring ``panel`` to a state worth a picture, then call ``done`` (at once if there is nothing to do)."""
    step = PREPARE.get(panel_name)
    if step is None:
        done()
    else:
        step(panel, done)
