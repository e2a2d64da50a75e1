"""Train panel: the training form, Start / Stop / Resume, live plots, run figures and a log."""

from __future__ import annotations

import functools
import html
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import CocoSegError, OptionsError
from cocoseg_gui.core.masks.folder import check_mask_folder, holds_masks
from cocoseg_gui.core.project.project import Project, Role
from cocoseg_gui.core.project.workbench import project_checkpoint
from cocoseg_gui.core.training import event_types as ev
from cocoseg_gui.core.training.config import TrainConfig
from cocoseg_gui.core.training.model_score import judge, score_of_run_checkpoint
from cocoseg_gui.core.training.run_reader import (
    last_end_status,
    latest_checkpoint,
    read_config,
    read_events,
)
from cocoseg_gui.core.training.train_request import VAL_FOLDER, VAL_SPLIT, TrainRequest
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.services.device_probe import device_probe, preload_torch_modules
from cocoseg_gui.gui.services.devices import DeviceChoice
from cocoseg_gui.gui.services.error_hints import ErrorReport, describe_error, gui_wording
from cocoseg_gui.gui.services.recent_runs import add_recent_run
from cocoseg_gui.gui.services.workers import Batch, JobWorker
from cocoseg_gui.gui.widgets import existing_run_dialog as existing_run
from cocoseg_gui.gui.widgets.model_question import ask_use_new_model
from cocoseg_gui.gui.widgets.process_count import ProcessCount
from cocoseg_gui.gui.widgets.project_dialog import RoleDefaults, confirm_roles
from cocoseg_gui.gui.widgets.responsive import is_narrow, orient_box, orient_splitter
from cocoseg_gui.gui.widgets.run_monitor import RunMonitor
from cocoseg_gui.gui.widgets.run_status import RunStatus, RunStatusView
from cocoseg_gui.gui.widgets.train_form import TrainForm
from cocoseg_gui.gui.widgets.training_plots import TrainingPlots
from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo

STATUS_REFRESH_MS = 500
ERROR_STYLE = "QLabel { background: #fde8e8; color: #8a1010; border: 1px solid #e0a0a0; padding: 6px; }"
WARNING_STYLE = "QLabel { background: #fff4e0; color: #7a4a00; border: 1px solid #e8c080; padding: 6px; }"
LOG_MAX_LINES = 5000
SCREENSHOT_MODEL = "width=16 depth=3"  # the small unet the screenshot trains on the demo masks
SCREENSHOT_EPOCHS = 10  # the run the screenshot shows: caught mid-run, after SHOT_AFTER_EPOCHS
SHOT_AFTER_EPOCHS = 6
STEP_BATCH_INTERVAL_S = 0.1  # step events reach the GUI at most 10 times a second; others flush at once


def _train(train_fn: Any, config: Any, *, progress: Any, cancel: Any) -> Any:
    """The training as a job: its events are the job's progress (batched, see ``_start``)."""
    return train_fn(config, callbacks=[progress], cancel=cancel)


def resume_position(history: list[ev.Event]) -> str:
    """Where a resume continues, from the run's events: "at epoch 2, step 3 of 10" or "after epoch 1".

    The trainer resumes at the step where the run stopped (last.pt holds the position in the epoch); the
    last end event's global step says which, with the steps per epoch of the start event.
    """
    last = next((e for e in reversed(history) if isinstance(e, ev.EndEvent | ev.StartEvent)), None)
    end = last if isinstance(last, ev.EndEvent) else None  # none after the last start: killed mid-run
    start = next((e for e in reversed(history) if isinstance(e, ev.StartEvent)), None)
    per_epoch = start.steps_per_epoch if start is not None else None
    if end is None or end.global_step is None or end.epochs_done is None or not per_epoch:
        return "from its last.pt"
    step = end.global_step - end.epochs_done * per_epoch
    if 0 < step < per_epoch:
        return f"at epoch {end.epochs_done + 1}, step {step} of {per_epoch}"
    return f"after epoch {end.epochs_done}"


class TrainPanel(QWidget):
    """Configure and run a training in a background job; watch loss and IoU live."""

    run_finished = Signal(object)  # the EndEvent (or None after a failure)
    epoch_finished = Signal(int)  # epochs done in the live run (1-based)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._job: JobWorker | None = None
        self._run_dir: Path | None = None
        self.status = RunStatus()
        self.last_error: ErrorReport | None = None
        self.last_warning: ErrorReport | None = None
        self._skipped_warnings = 0
        self._end_event: ev.EndEvent | None = None
        self._defaults = RoleDefaults()

        self.form = TrainForm()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Finish the current step, save last.pt and stop")
        self.resume_button = QPushButton("Resume...")
        self.resume_button.setToolTip("Continue a run folder from its last.pt")
        # "Start from checkpoint" shown by the buttons while set: Start is then a fine-tune, never silently
        self.init_notice = QLabel()
        self.init_notice.setWordWrap(True)
        self.init_notice.setVisible(False)
        self.init_notice.setObjectName("init_notice")
        self.init_notice.setStyleSheet(WARNING_STYLE)
        self.clear_init_button = QPushButton("Clear")
        self.clear_init_button.setVisible(False)
        self.clear_init_button.setToolTip("Start a run from scratch (or the pretrained weights) instead")
        self.model_question: QMessageBox | None = None  # open while asking whether a new model replaces
        self.open_button = QPushButton("Open run...")
        self.open_button.setToolTip("Show the curves of a finished run (its metrics.jsonl)")
        self.runs_button = QPushButton("Runs...")
        self.runs_button.setToolTip(
            "Follow a run another process writes (a terminal, a cluster job), or compare finished runs"
        )
        self.run_monitor: RunMonitor | None = None  # its window, made at the first click
        self.processes = ProcessCount()  # > 1: torchrun as a child process group (core.training.launch)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        self.plots = TrainingPlots()
        self.status_view = RunStatusView()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(LOG_MAX_LINES)
        self.log.setPlaceholderText("Training log")

        self._build_layout()
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume_selected)
        self.clear_init_button.clicked.connect(lambda: self.form.init_from.setText(""))
        self.form.init_from.changed.connect(self._update_init_notice)
        self.form.out.changed.connect(self._update_resume_button)
        self.open_button.clicked.connect(self._choose_open_run)
        self.runs_button.clicked.connect(self.show_run_monitor)
        self.form.fine_tune_button.clicked.connect(self.fine_tune_preset)
        self.state.masks_dir_changed.connect(self._on_masks_dir_changed)
        self.state.dataset_loaded.connect(self._on_masks_dir_changed)  # a dataset comes with its masks
        self.state.project_changed.connect(lambda _reopened: self.restore(self.state.project))

        self._refresh = QTimer(self, interval=STATUS_REFRESH_MS)
        self._refresh.timeout.connect(self._refresh_status)

        self._has_settings = self.form.load_settings(self.state.settings)
        self.form.suggest_run_folder(self.state.settings)
        if self.state.masks_dir is not None:
            self.form.data.setText(str(self.state.masks_dir))
        if not self._has_settings:
            self.form.apply_device_defaults("cpu")
        self._update_init_notice()
        self._update_resume_button()
        self._devices_probed = False
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _build_layout(self) -> None:
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.form)
        scroll.setMinimumWidth(340)
        self._form_scroll = scroll
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button, self.open_button):
            buttons.addWidget(b)
        buttons.addWidget(self.runs_button)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(scroll, 1)
        notice = QHBoxLayout()
        notice.addWidget(self.init_notice, 1)
        notice.addWidget(self.clear_init_button)
        left_lay.addLayout(notice)
        left_lay.addWidget(self.processes)
        left_lay.addLayout(buttons)

        bottom = QWidget()
        bottom_lay = QHBoxLayout(bottom)
        self._bottom_layout = bottom_lay
        bottom_lay.setContentsMargins(0, 0, 0, 0)
        bottom_lay.addWidget(self.status_view, 1)
        bottom_lay.addWidget(self.log, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(bottom)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        self._split = split
        lay = QVBoxLayout(self)
        lay.addWidget(self.error_label)
        lay.addWidget(split, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Form beside the plots when wide; stacked, plots in one column, in a narrow dock."""
        narrow = is_narrow(event.size().width())
        orient_splitter(self._split, narrow)
        orient_box(self._bottom_layout, narrow)
        self.plots.set_columns(1 if narrow else 2)
        self.plots.setMinimumHeight(4 * 200 if narrow else 0)
        self._form_scroll.setMinimumWidth(0 if narrow else 340)
        self._form_scroll.setMinimumHeight(360 if narrow else 0)
        super().resizeEvent(event)

    # -- devices (torch is imported in a worker so the window opens fast) --------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._devices_probed:
            self._devices_probed = True
            QTimer.singleShot(0, self._probe_devices)

    def _probe_devices(self) -> None:
        """List cpu / cuda:N / mps in a background job, once, after the panel shows."""
        self._devices_probed = True
        device_probe().request(self._on_devices)

    def _on_devices(self, devices: list[DeviceChoice]) -> None:
        untouched = self.form.matches_device_defaults("cpu")
        self.form.set_devices(devices)
        self.processes.set_devices(devices)
        if not self._has_settings and untouched and not self.running:
            best = next(
                (d.name for d in devices if d.name.startswith("cuda")), devices[0].name if devices else "cpu"
            )
            self.form.apply_device_defaults(best)

    # -- running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.is_running()

    def start(self) -> bool:
        """Validate the form and start training in the background; False (and a message) if it cannot."""
        return self._start(resume=None)

    def _start(
        self, resume: Path | None, replay: list[ev.Event] | None = None, ask_roles: bool = True
    ) -> bool:
        if self.running:
            return False
        self._clear_error()
        try:
            # a resume continues the run: its start checkpoint is in run_inputs.json, not the form's
            config = self.form.request().config(resume=resume)
            if resume is None:
                choice = self._choose_run_folder(config)
                if choice == existing_run.RESUME:
                    return self.resume_from(config.out)
            for folder in config.training_folders():
                check_mask_folder(folder)
            if config.extra_data:
                from cocoseg_gui.core.training.data_sources import check_same_classes

                check_same_classes(config.training_folders())  # before anything starts
            if ask_roles and not self._roles_confirmed(config):
                return False
            preload_torch_modules(config.model)  # on the GUI thread: jobs never import
            from cocoseg_gui.core.training.trainer import train
        except (CocoSegError, TypeError, ValueError) as exc:
            self._show_error(describe_error(exc))
            return False
        self.form.save_settings(self.state.settings)
        self.state.ensure_project_saved()  # an implicit project is written at the first Start
        self._run_dir = config.out
        self.plots.reset()
        self.status = RunStatus(run_dir=self._run_dir)
        self.log.clear()
        if replay:
            self._apply_events(replay, log=False)
            self._log(f"resuming {self._run_dir} {resume_position(replay)}")
        more = config.extra_data
        also = f" and {', '.join(str(p) for p in more)}" if more else ""
        self._log(f"starting: {config.model} on {config.data}{also} -> {self._run_dir}")
        steps = Batch(STEP_BATCH_INTERVAL_S, urgent=lambda e: not isinstance(e, ev.StepEvent))
        train_fn: Any = train
        if self.processes.value() > 1:  # torchrun's processes; their events come from the run folder
            from cocoseg_gui.core.training.launch import train_in_processes

            train_fn = functools.partial(train_in_processes, nproc=self.processes.value())
            self._log(f"on {self.processes.value()} processes (torchrun; batch size per process)")
        job = JobWorker(_train, train_fn, config, policy=steps)
        job.progress.connect(self._on_events)
        job.succeeded.connect(self._on_end_event)
        stopped = ev.EndEvent(status="cancelled", reason="stopped")
        job.cancelled.connect(lambda: self._on_end_event(job.result or stopped))
        job.failed.connect(lambda exc: self._on_failed(exc, job.traceback_text))
        job.done.connect(self._on_finished)
        self._end_event = None
        self._job = job
        self._set_running(True)
        job.start()
        return True

    def fine_tune_preset(self) -> bool:
        """ "Fine-tune on corrections": the form set for a short run from the project's model (else the
        session's checkpoint) on every train dataset, validated on val, into a new run folder; Start runs it.
        False (and a message) without a checkpoint."""
        if self.running:
            return False
        self._clear_error()
        project = self.state.project  # the project's model, else the one the session holds (Open run...)
        ckpt = (project_checkpoint(project) if project is not None else None) or self.state.checkpoint_path
        if ckpt is None or not Path(ckpt).is_file():
            self._show_error(
                ErrorReport(
                    "No checkpoint to fine-tune",
                    "There is no current checkpoint"
                    + (f" ({ckpt} is not a file)" if ckpt is not None else "")
                    + ": train a model first, open a run (Open run...), or choose a file under Start from "
                    "checkpoint.",
                    "",
                )
            )
            return False
        try:
            run_config = read_config(Path(ckpt).parent)
        except CocoSegError:
            run_config = {}  # a checkpoint outside a run folder: the form keeps its model options
        if self.state.project is not None:  # every train dataset (corrections, newly labelled), val on val
            self._apply_roles(self.state.project, force=True)
        self.form.apply_fine_tune_preset(Path(ckpt), run_config, self._new_run_folder("finetune"))
        folders = self.form.training_folders()
        self._log(
            f"fine-tune preset: from {ckpt} on {len(folders)} training folder"
            + ("s" if len(folders) != 1 else "")
            + f", edited images drawn {self.form.edited_weight.value():g}x as often"
            + (f"; {self.form.edited_info.text()}" if self.form.edited_info.text() else "")
        )
        return True

    def _new_run_folder(self, prefix: str) -> Path:
        from cocoseg_gui.gui.widgets.train_form import default_run_root, new_run_name

        project = self.state.project
        if project is not None:
            return project.folder / "runs" / new_run_name(prefix)
        root = self.state.settings.value("train/run_root") or str(default_run_root())
        return Path(str(root)) / new_run_name(prefix)

    def stop(self) -> None:
        """Ask the trainer to finish its step, save last.pt and end (status 'cancelled')."""
        if self._job is not None and self.running:
            self._job.cancel()
            self.stop_button.setEnabled(False)
            self._log("stopping after the current step (saving last.pt)...")

    def resume_from(self, run_dir: str | Path) -> bool:
        """Continue ``run_dir`` from its last.pt with its own options (the form shows them)."""
        run_dir = Path(run_dir)
        last = run_dir / "last.pt"
        if not last.is_file():
            self._show_error(
                ErrorReport(
                    "Cannot resume",
                    f"{last}: no last.pt in this folder",
                    "Choose a run folder written by cocoseg train (it holds last.pt).",
                )
            )
            return False
        try:
            cfg = read_config(run_dir)
            history = read_events(run_dir) if (run_dir / "metrics.jsonl").is_file() else []
            request = TrainRequest.from_config(cfg)  # an older run's missing keys: what it used
        except CocoSegError as exc:
            self._show_error(describe_error(exc))
            return False
        self.form.set_values(request)
        self.form.out.setText(str(run_dir))
        return self._start(resume=last, replay=history)

    def wait(self, msecs: int = 60000) -> bool:
        """Block until the training job ends (tests, shutdown)."""
        return self._job.wait(msecs) if self._job is not None else True

    # -- the Workspace protocol (gui/workspaces/protocol.py; stop() is above) -------------------------

    def busy_job(self) -> str | None:
        return "training" if self.running else None

    def shutdown(self) -> None:
        """Stop a running training and wait for it (the app is closing); the Runs window stops polling."""
        if self.run_monitor is not None:
            self.run_monitor.close()
        if self.running:
            self.stop()
            self.wait(120000)

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """A real training of the small unet from the form, grabbed mid-run when the plots have curves.

        The app then quits, which stops the run (last.pt saved) like Stop would.
        """
        if demo.masks_dir is None:
            done()
            return
        f = self.form
        f.data.setText(str(demo.masks_dir))
        f.val_mode.setCurrentIndex(f.val_mode.findData(VAL_SPLIT))  # the demo has one mask folder
        f.out.setText(str(demo.new_folder("demo-run")))
        f.model.setCurrentText("unet")
        f.model_options.setText(SCREENSHOT_MODEL)
        f.img_size.setValue(96)
        f.batch_size.setValue(4)
        f.epochs.setValue(SCREENSHOT_EPOCHS)
        f.lr.setValue(3e-3)
        f.time_budget.setText("2h")
        f.log_every.setValue(1)
        f.workers.setValue(0)

        def on_epoch(n: int) -> None:
            if n >= SHOT_AFTER_EPOCHS:
                self.plots.flush()  # the plots redraw at most 10 times a second: show this epoch too
                done()

        self.epoch_finished.connect(on_epoch)
        self.run_finished.connect(lambda _end: done())
        # unattended: the demo has one mask folder (val); a role question would wait for nobody
        if not self._start(resume=None, ask_roles=False):
            done()

    def _choose_run_folder(self, config: TrainConfig) -> str | None:
        """A run folder that already holds a run: ask (new folder, resume, overwrite, cancel) and apply
        the answer to ``config`` (its run folder, or overwrite); returns the answer, None when the folder
        is free."""
        from cocoseg_gui.core.training.run_folder import next_free_folder, run_files

        out = config.out
        found = run_files(out)
        if not found:
            return None
        fresh = next_free_folder(out)
        choice = existing_run.ask_existing_run(self, out, found, fresh)
        if choice == existing_run.NEW_FOLDER:
            self.form.out.setText(str(fresh))
            config.out = fresh
        elif choice == existing_run.OVERWRITE:
            config.overwrite = True
        elif choice != existing_run.RESUME:
            raise OptionsError(
                f"{out}: this folder already holds a run; not started (choose a new run folder, Resume "
                "or Overwrite)"
            )
        return choice

    # -- worker signals (GUI thread) -------------------------------------------------------------

    def _on_events(self, batch: list[ev.Event]) -> None:
        self._apply_events(batch, log=True)
        for e in batch:
            if isinstance(e, ev.EpochEvent):
                self.epoch_finished.emit(e.epoch + 1)

    def _apply_events(self, events: list[ev.Event], log: bool) -> None:
        for e in events:
            self.plots.add_event(e)
            self.status.update(e)
            if log:
                self._log_event(e)
        self.status_view.show_status(self.status)

    def _on_failed(self, exc: BaseException, tb: str) -> None:
        report = describe_error(exc)
        self._show_error(report)
        # bad input (a CocoSegError) is told in words; a traceback is only for what we did not foresee
        self._log(gui_wording(str(exc)) if isinstance(exc, CocoSegError) else tb.rstrip(), color="#8a1010")

    def _on_end_event(self, end: ev.EndEvent | None) -> None:
        self._end_event = end

    def _on_finished(self) -> None:
        """The training job has ended (finished, stopped, out of budget or failed)."""
        end = self._end_event
        self._set_running(False)
        self.plots.flush()
        if end is not None and not self.status.end_status:
            self.status.update(end)
        self.status_view.show_status(self.status)
        run_dir = self._run_dir
        new = latest_checkpoint(run_dir) if run_dir is not None else None
        if run_dir is not None and new is not None:
            add_recent_run(self.state.settings, run_dir)
            self.state.set_run_dir(run_dir)
            self._offer_model(run_dir, new)
            self.state.status_message.emit(f"training {self.status.end_status or 'ended'}: {run_dir}")
        self._update_resume_button()
        self._warn_if_skipped()
        # the Run folder keeps the run just shown (issue 9: it silently became a fresh folder after Stop);
        # Start on it again asks first: a new folder, resume or overwrite (existing_run_dialog)
        self.run_finished.emit(end)

    def _offer_model(self, run_dir: Path, new: Path) -> None:
        """The run's checkpoint replaces the project's model only when it scores better on the same val set
        at the same size (core.training.model_score.judge); otherwise both scores are shown and the user
        chooses. The run is recorded either way; the current model stays until the answer."""
        current = self.state.checkpoint_path
        if current is not None and not Path(current).is_file():
            current = None  # a model deleted by hand is no model to keep
        new_score = score_of_run_checkpoint(new)
        current_score = score_of_run_checkpoint(current) if current is not None else None
        verdict = judge(new_score, current_score)
        if verdict.replace or current_score is None:
            self._use_model(run_dir, new, verdict.reason)
            return
        self.state.record_run(run_dir, current)
        self._log(f"the project keeps its model {current}: {verdict.reason}; asking", color="#b45a00")

        def answered(use_new: bool) -> None:
            self.model_question = None
            if use_new:
                self._use_model(run_dir, new, "chosen by the user")
            else:
                self._log(f"kept the project's model {current} (the new run stays in {run_dir})")

        self.model_question = ask_use_new_model(self, new_score, current_score, verdict, answered)

    def _use_model(self, run_dir: Path, checkpoint: Path, reason: str) -> None:
        self.state.set_checkpoint(checkpoint)
        self.state.record_run(run_dir, checkpoint)
        self._log(f"the project's model is now {checkpoint} ({reason})")

    def _update_init_notice(self) -> None:
        """Start from checkpoint, when set, is said beside Start (the form may be scrolled away from it)."""
        init = self.form.init_from.text().strip()
        self.init_notice.setVisible(bool(init))
        self.clear_init_button.setVisible(bool(init))
        shown = f"{Path(init).parent.name}/{Path(init).name}" if init else ""  # the full path: tooltip
        self.init_notice.setText(f"Start fine-tunes from {shown}" if init else "")
        self.init_notice.setToolTip(init)
        self.start_button.setText("Start fine-tune" if init else "Start")

    def _selected_run(self) -> Path | None:
        """The run to resume: the run shown (after a run or Open run), else the form's run folder, else the
        project's newest run (after a restart), the first of them that stopped before its end (its last.pt
        holds the step it stopped at); None when there is none."""
        form_out = Path(self.form.out.text()) if self.form.out.text().strip() else None
        project = self.state.project
        newest = project.runs[0] if project is not None and project.runs else None
        for run in (self._run_dir, form_out, newest):
            if run is not None and (run / "last.pt").is_file() and last_end_status(run) != "finished":
                return run
        return None

    def _update_resume_button(self) -> None:
        run = self._selected_run()
        self.resume_button.setText(f"Resume {run.name}" if run is not None else "Resume...")
        self.resume_button.setToolTip(
            f"Continue {run} from its last.pt, at the step where it stopped"
            if run is not None
            else "Choose a run folder and continue it from its last.pt"
        )

    def resume_selected(self) -> bool:
        """Resume the selected run (no folder picker); only without one, choose a folder."""
        run = self._selected_run()
        if run is not None:
            return self.resume_from(run)
        self._choose_resume()
        return False

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.open_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        if running:
            self._refresh.start()
        else:
            self._refresh.stop()

    def _refresh_status(self) -> None:
        self._poll_gpu_memory()
        self.status_view.show_status(self.status)

    def _poll_gpu_memory(self) -> None:
        """Peak GPU memory of the training (torch.cuda.max_memory_allocated; cheap, thread-safe)."""
        torch = sys.modules.get("torch")
        if torch is None or not self.status.device.startswith("cuda"):
            return
        try:
            self.status.gpu_memory_bytes = int(torch.cuda.max_memory_allocated(self.status.device))
        except Exception:  # a device that went away: the figure is only informative
            return

    # -- reopening a run -------------------------------------------------------------------------

    def open_run(self, run_dir: str | Path) -> bool:
        """Replay a run folder's metrics.jsonl into the plots, figures and log; its options into the form."""
        if self.running:
            return False
        run_dir = Path(run_dir)
        try:
            events = read_events(run_dir)
        except CocoSegError as exc:
            self._show_error(describe_error(exc))
            return False
        self._clear_error()
        self.plots.reset()
        self.status = RunStatus(run_dir=run_dir)
        self.log.clear()
        self._log(f"opened {run_dir} ({len(events)} events)")
        if (run_dir / "config.json").is_file():  # the form shows the opened run's options (Resume, Start)
            try:
                self.form.set_values(TrainRequest.from_config(read_config(run_dir)))
                self.form.out.setText(str(run_dir))
            except CocoSegError as exc:
                self._log(f"the run's options were not loaded: {exc}", color="#b45a00")
        self._apply_events(events, log=True)
        self.plots.flush()
        self._run_dir = run_dir
        self._update_resume_button()
        ckpt = latest_checkpoint(run_dir)
        self.state.set_run_dir(run_dir)
        if ckpt is not None:
            add_recent_run(self.state.settings, run_dir)
            self.state.set_checkpoint(ckpt)
        return True

    def show_run_monitor(self) -> RunMonitor:
        """The Runs window (follow a run written elsewhere, compare runs): a window of its own."""
        if self.run_monitor is None:
            self.run_monitor = RunMonitor(self)
        self.run_monitor.show()
        self.run_monitor.raise_()
        return self.run_monitor

    def _choose_open_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a training run folder", self._dialog_start())
        if folder:
            self.open_run(folder)

    def _choose_resume(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Resume a training run folder", self._dialog_start())
        if folder:
            self.resume_from(folder)

    def _dialog_start(self) -> str:
        return str(self.state.settings.value("train/run_root") or Path.home())

    # -- messages --------------------------------------------------------------------------------

    def restore(self, project: Project | None) -> None:
        """Train on the train dataset's masks, validate on the val dataset's; attaching other masks in the
        window never moves them (a folder the user chose stays until another project opens)."""
        if project is None or self.running:
            return
        fresh = self._defaults.begin(project)
        if fresh:  # runs go into the project folder, as `cocoseg train --project` puts them; only when
            # another project opens (a run that ended keeps its folder in the field: issue 9)
            self.form.out.setText(str(self._new_run_folder("run")))
        self._apply_roles(project, fresh)

    def _apply_roles(self, project: Project, force: bool) -> None:
        """Train on every train dataset's masks (the first in Mask dataset, the others that have masks in
        Also train on), validate on the val dataset's; ``force`` replaces folders the user chose."""
        trains, val = project.with_role(Role.TRAIN), project.first(Role.VAL)
        if trains:
            self._defaults.apply(self.form.data, "data", project.masks_dir(trains[0]), force)
            more = [project.masks_dir(t) for t in trains[1:] if holds_masks(project.masks_dir(t))]
            self._defaults.apply(
                self.form.extra_data, "extra", "\n".join(map(str, more)), force, keep_empty=True
            )
        # validate on the val masks once they exist (until then the form keeps its own validation choice,
        # so Start does not fail on a folder nobody generated); generating them calls restore() again
        if (
            val is not None
            and holds_masks(project.masks_dir(val))
            and self._defaults.apply(self.form.val_data, "val", project.masks_dir(val), force)
        ):
            self.form.val_mode.setCurrentIndex(self.form.val_mode.findData(VAL_FOLDER))
        self._update_resume_button()  # the project's newest run, when it stopped before its end

    def _roles_confirmed(self, config: TrainConfig) -> bool:
        """Training on val masks (or validating on train masks) only after an explicit choice."""
        project = self.state.project
        if project is None:
            return True
        warnings = list(
            dict.fromkeys(  # one line per problem, not per folder
                w
                for folder in config.training_folders()
                for w in project.training_warnings(folder, config.val_data)
            )
        )
        if not warnings:
            return True
        entries = [project.role_of_masks(f) for f in config.training_folders()]
        if any(e is not None and e.role is not Role.TRAIN for e in entries):
            warnings.append("a dataset becomes a training dataset in File › Project datasets… (its role)")
        entry = project.role_of_masks(config.data)
        question = (
            "Train on the validation masks?"
            if entry is not None and entry.role is Role.VAL
            else "Train with these masks?"
        )
        if confirm_roles(self, question, warnings, "Train anyway"):
            return True
        self._log("not started: " + "; ".join(warnings))
        return False

    def _on_masks_dir_changed(self) -> None:
        if self.state.project is not None:
            return  # the project's roles choose Train's data (restore), not the last folder attached
        if self.state.masks_dir is not None and not self.running:
            self.form.data.setText(str(self.state.masks_dir))

    def _show_error(self, report: ErrorReport) -> None:
        self.last_error = report
        self._banner(report, ERROR_STYLE)
        self._log(
            f"error: {report.message}" + (f" (hint: {report.hint})" if report.hint else ""), color="#8a1010"
        )
        self.state.status_message.emit(f"{report.title}: {report.message}")

    def _banner(self, report: ErrorReport, style: str) -> None:
        hint = f"<br><i>Hint: {html.escape(report.hint)}</i>" if report.hint else ""
        self.error_label.setStyleSheet(style)
        self.error_label.setText(f"<b>{html.escape(report.title)}</b>: {html.escape(report.message)}{hint}")
        self.error_label.setVisible(True)

    def _warn_if_skipped(self) -> None:
        """After a run: a warning banner when images or masks could not be read (the trainer skips them)."""
        if self._skipped_warnings and self.last_error is None:
            self.last_warning = ErrorReport(
                "Some images were skipped",
                f"{self._skipped_warnings} unreadable image or mask warnings during this run (see the log)",
                "Check that the images folder named in the mask dataset's manifest.json exists and holds "
                "the images; regenerate the masks if they are damaged.",
            )
            self._banner(self.last_warning, WARNING_STYLE)

    def _clear_error(self) -> None:
        self.last_error = self.last_warning = None
        self._skipped_warnings = 0
        self.error_label.setVisible(False)

    def _log_event(self, e: ev.Event) -> None:
        if isinstance(e, ev.StartEvent):
            self._log(f"device {e.device or '?'}, world size {e.world_size}")
            if e.init_from:
                self._log(f"starting from the weights of {e.init_from}")
            if e.inputs_summary:
                self._log(e.inputs_summary)
        elif isinstance(e, ev.EpochEvent):
            parts = [f"epoch {e.epoch + 1}"]
            for key, label in (
                ("train_loss", "train loss"),
                ("val_loss", "val loss"),
                ("miou", "mIoU"),
                ("pixel_acc", "pixel acc"),
                ("mean_dice", "dice"),
            ):
                value = getattr(e, key)
                if isinstance(value, (int, float)):
                    parts.append(f"{label} {value:.4f}")
            self._log(", ".join(parts))
        elif isinstance(e, ev.CheckpointEvent):
            self._log(f"saved {e.path}" + (" (best)" if e.best else ""))
        elif isinstance(e, ev.WarningEvent):
            if e.kind == ev.WarningKind.SKIPPED_IMAGES:
                self._skipped_warnings += 1
            self._log(f"warning: {gui_wording(e.message)}", color="#b45a00")
        elif isinstance(e, ev.EndEvent):
            reason = f" ({e.reason})" if e.reason else ""
            color = "#8a1010" if e.status == "failed" else None
            self._log(f"end: {e.status}{reason}", color=color)

    def _log(self, text: str, color: str | None = None) -> None:
        if color is None:
            self.log.appendPlainText(text)
        else:
            self.log.appendHtml(
                f'<span style="color:{color}">{html.escape(text)}</span>'.replace("\n", "<br>")
            )
