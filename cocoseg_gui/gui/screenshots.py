"""The screenshot driver: demo data for ``cocoseg-gui --screenshot PATH --panel NAME``.

It only makes the data a workspace needs to show something (demo masks generated into a temporary
folder, a tiny checkpoint trained on them), each in a background job through public APIs, opens them on
the ``AppState`` as a user would, and hands them over as a ``ScreenshotDemo``: the workspace's own
``prepare_screenshot(demo, done)`` does the rest and calls ``done()`` when it shows something worth a
picture. Nothing here touches a workspace's members.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cocoseg_gui.core.coco.dataset_locator import demo_dataset
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo, Workspace

DEMO_MODEL = {"width": 16, "depth": 3}
MASKS, CHECKPOINT = "masks", "checkpoint"
NEEDS: dict[str, frozenset[str]] = {  # the demo data each workspace's picture needs
    "masks": frozenset(),  # it generates the masks itself: that is its picture
    "train": frozenset({MASKS}),
    "predict": frozenset({MASKS, CHECKPOINT}),
    "evaluate": frozenset({MASKS, CHECKPOINT}),
}
_keep: list[JobWorker] = []  # jobs alive until they finish

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


def shutdown() -> None:
    """Cancel the demo jobs still running and wait for them (the app is exiting: no thread left)."""
    for job in list(_keep):
        job.cancel()
        job.wait(120000)


def _report(state: AppState, done: Callable[[], None]) -> Callable[[BaseException], None]:
    def fail(exc: BaseException) -> None:
        state.status_message.emit(f"demo preparation failed: {exc}")
        done()

    return fail


def ensure_demo_masks(state: AppState, then: Callable[[], None], done: Callable[[], None]) -> None:
    """Generate masks of the demo val split into a temp folder when no mask dataset is open."""
    if state.masks_dir is not None:
        then()
        return
    from cocoseg_gui.core.masks.job import generate_masks
    from cocoseg_gui.core.masks.options import MaskOptions

    demo = demo_dataset()
    out = temp_dir("demo-masks")
    job = JobWorker(
        generate_masks,
        demo.annotations,
        demo.images_dir,
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


def ensure_checkpoint(state: AppState, then: Callable[[], None], done: Callable[[], None]) -> None:
    """Train a tiny model on the demo masks when no checkpoint is loaded, then open its run."""
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

    ensure_demo_masks(state, train_it, done)


def make_demo(
    needs: frozenset[str], state: AppState, then: Callable[[ScreenshotDemo], None], done: Callable[[], None]
) -> None:
    """Make the demo data in ``needs`` (background jobs), then ``then(demo)``; a failure ends at ``done``."""

    def build() -> None:
        masks = state.masks_dir if needs else None
        checkpoint = state.checkpoint_path if CHECKPOINT in needs else None
        then(ScreenshotDemo(masks_dir=masks, checkpoint=checkpoint, new_folder=temp_dir))

    if CHECKPOINT in needs:
        ensure_checkpoint(state, build, done)
    elif MASKS in needs:
        ensure_demo_masks(state, build, done)
    else:
        build()


def prepare(name: str, workspace: Workspace, state: AppState, done: Callable[[], None]) -> None:
    """Bring ``workspace`` (the tab called ``name``) to a state worth a picture, then call ``done``."""
    make_demo(
        NEEDS.get(name, frozenset()), state, lambda demo: workspace.prepare_screenshot(demo, done), done
    )
