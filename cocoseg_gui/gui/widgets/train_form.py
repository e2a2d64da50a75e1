"""The training options form: widgets for every TrainConfig option and QSettings persistence.

The form's state leaves it as a typed TrainRequest (core/training/train_request.py), which checks it, and
comes in as one (``set_values``; core builds it from a run's config.json, the remembered settings or the
fine-tune preset): nothing here decides what a field or a config.json key means."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.training.model_registry import MODEL_NAMES, model_spec, options_hint
from cocoseg_gui.core.training.names import CLASS_WEIGHTINGS, LOSS_NAMES, PRETRAINED_CHOICES
from cocoseg_gui.core.training.train_request import (
    FINE_TUNE_EPOCHS,
    SETTINGS_KEYS,
    VAL_FOLDER,
    VAL_SPLIT,
    VAL_TRAIN,
    TrainRequest,
    fine_tune_request,
    settings_values,
)
from cocoseg_gui.gui.services.devices import DeviceChoice, defaults_for
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.folder_list import FolderList

SETTINGS_GROUP = "train"
INIT_ROWS_DELAY_MS = 300  # typing pause before the edited-since count is read again
PROBLEM_COLOR = "#8a1010"
AMP_CHOICES = ("off", "bf16", "fp16")
LOSS_LABELS = {
    "ce": "cross-entropy",
    "wce": "weighted cross-entropy",
    "focal": "focal",
    "dice": "dice",
    "ce+dice": "cross-entropy + dice",
}


def default_run_root() -> Path:
    return Path.home() / "cocoseg-runs"


def new_run_name(prefix: str = "run") -> str:
    return time.strftime(f"{prefix}-%Y%m%d-%H%M%S")


def format_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03``; '-' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "-"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class PathField(QWidget):
    """A line edit with a Browse button (folder or file)."""

    changed = Signal(str)

    def __init__(
        self, caption: str, folder: bool = True, placeholder: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.caption, self.folder = caption, folder
        self.edit = QLineEdit(placeholderText=placeholder)
        self.button = QPushButton("Browse...")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.button.clicked.connect(self._browse)
        self.edit.textChanged.connect(self.changed)

    def _browse(self) -> None:
        start = self.edit.text() or str(Path.home())
        if self.folder:
            chosen = QFileDialog.getExistingDirectory(self, self.caption, start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, self.caption, start)
        if chosen:
            self.edit.setText(chosen)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)


class TrainForm(QWidget):
    """All options of a training run. ``request()`` gives them as a TrainRequest (its ``config()`` checks
    them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = PathField("Mask dataset folder", placeholder="a folder made by cocoseg masks")
        self.extra_data = FolderList(
            "Also train on (mask dataset folder)",
            "More training mask folders (the project's other train datasets): trained together with the "
            "mask dataset above; their classes must match it by name and COCO category id",
        )
        self.inputs_info = QLabel(wordWrap=True)
        self.inputs_info.setToolTip(
            "Images with a mask, and masks edited in the mask editor (since the "
            "starting checkpoint's training, when one is set), per training folder"
        )
        self.val_mode = QComboBox()
        self.val_mode.addItem("split off a fraction", VAL_SPLIT)
        self.val_mode.addItem("second mask folder", VAL_FOLDER)
        self.val_mode.addItem("the training data (optimistic)", VAL_TRAIN)
        self.val_fraction = QDoubleSpinBox(minimum=0.01, maximum=0.9, singleStep=0.05, decimals=2, value=0.2)
        self.val_data = PathField("Validation mask dataset folder")
        self.val_warning = QLabel("Validating on the training images overstates the scores.")
        self.val_warning.setStyleSheet("color: #b45a00;")
        self.out = PathField("Run folder", placeholder="a new folder for this run")

        self.model = QComboBox()
        for name in MODEL_NAMES:  # the models' registry: its names, each with its title
            self.model.addItem(name)
            self.model.setItemData(
                self.model.count() - 1, model_spec(name).title, Qt.ItemDataRole.ToolTipRole
            )
        self.model_options = QLineEdit(placeholderText="e.g. width=16 depth=3 (optional)")
        self.model_options.setToolTip(f"Model arguments as key=value pairs ({options_hint()})")
        self.pretrained = QComboBox(editable=True)
        self.pretrained.addItems(PRETRAINED_CHOICES)
        self.pretrained.setToolTip("none, imagenet, coco, or the path of a weights file")
        self.init_from = PathField(
            "Start from checkpoint", folder=False, placeholder="none: a model from scratch (or Pretrained)"
        )
        self.init_from.setToolTip(
            "Fine-tune: a new run starting from this checkpoint's weights (fresh optimiser and schedule) on "
            "the current masks, edited ones included. The mask dataset must have the checkpoint's classes."
        )
        self.fine_tune_button = QPushButton("Fine-tune on corrections")
        self.fine_tune_button.setToolTip(
            f"Start from the current checkpoint: {FINE_TUNE_EPOCHS} epochs at a tenth of its learning rate, "
            "on the current masks (your corrections included), in a new run folder"
        )
        self.edited_info = QLabel(wordWrap=True)
        self.edited_info.setStyleSheet("color: #555;")
        self.img_size = QSpinBox(minimum=32, maximum=2048, singleStep=32, value=192)
        self.batch_size = QSpinBox(minimum=1, maximum=512, value=4)
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=20)
        self.lr = QDoubleSpinBox(minimum=1e-6, maximum=1.0, decimals=6, singleStep=1e-4, value=1e-3)
        self.loss = QComboBox()
        for name in LOSS_NAMES:
            self.loss.addItem(LOSS_LABELS.get(name, name), name)
        self.class_weighting = QComboBox()
        self.class_weighting.addItems(CLASS_WEIGHTINGS)
        self.class_weighting.setToolTip("How class weights are derived from pixel counts (weighted losses)")
        self.oversample = QCheckBox("oversample images of rare classes")
        self.edited_weight = QDoubleSpinBox(minimum=1.0, maximum=100.0, singleStep=1.0, decimals=1, value=1.0)
        self.edited_weight.setPrefix("drawn ")
        self.edited_weight.setSuffix("x as often")
        self.edited_weight.setToolTip(
            "Images edited in the mask editor (since the starting checkpoint's training, when one is set): "
            "how much more often each is drawn than an unedited image. 1: like any other"
        )
        self.amp = QComboBox()
        self.amp.addItems(AMP_CHOICES)
        self.amp.setToolTip("Mixed precision (CUDA only)")
        self.time_budget = QLineEdit("6h", placeholderText="e.g. 6h, 90m, 1h30m; empty = none")
        self.device = QComboBox()
        self.device.addItem("auto", "auto")
        self.device.addItem("cpu", "cpu")
        self.workers = QSpinBox(minimum=0, maximum=64, value=0)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.log_every = QSpinBox(minimum=1, maximum=10000, value=1)
        self.log_every.setToolTip("Report the training loss every N steps (each report syncs the GPU once)")

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Mask dataset", self.data)
        form.addRow("Also train on", self.extra_data)
        form.addRow("Training data", self.inputs_info)
        form.addRow("Validation", self.val_mode)
        form.addRow("Val. fraction", self.val_fraction)
        form.addRow("Val. folder", self.val_data)
        form.addRow("", self.val_warning)
        form.addRow("Run folder", self.out)
        form.addRow("Model", self.model)
        form.addRow("Model options", self.model_options)
        form.addRow("Pretrained", self.pretrained)
        form.addRow("Start from checkpoint", self.init_from)
        form.addRow("", self.edited_info)
        form.addRow("", self.fine_tune_button)
        form.addRow("Image size", self.img_size)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Loss", self.loss)
        form.addRow("Class weighting", self.class_weighting)
        form.addRow("", self.oversample)
        form.addRow("Edited images", self.edited_weight)
        form.addRow("AMP", self.amp)
        form.addRow("Time budget", self.time_budget)
        form.addRow("Device", self.device)
        form.addRow("Workers", self.workers)
        form.addRow("Seed", self.seed)
        form.addRow("Plot every (steps)", self.log_every)
        self._form = form
        self.val_mode.currentIndexChanged.connect(self._update_val_rows)
        self._update_val_rows()
        # the edited-since count reads edited.json and the checkpoint run's log: once typing pauses, not
        # per keystroke (a long run's metrics.jsonl is not small)
        self._init_rows_timer = QTimer(self, singleShot=True, interval=INIT_ROWS_DELAY_MS)
        self._init_rows_timer.timeout.connect(self._update_init_rows)
        self.init_from.changed.connect(self._init_rows_timer.start)
        self.data.changed.connect(self._init_rows_timer.start)
        self.extra_data.changed.connect(self._init_rows_timer.start)
        self._inputs_job: JobWorker | None = None
        self.inputs_check: Any = None  # the last TrainingDataCheck (run_inputs.py), None until read
        self._update_init_rows()

    # -- validation mode rows
    def _update_val_rows(self) -> None:
        mode = self.val_mode.currentData()
        self._form.setRowVisible(self.val_fraction, mode == VAL_SPLIT)
        self._form.setRowVisible(self.val_data, mode == VAL_FOLDER)
        self._form.setRowVisible(self.val_warning, mode == VAL_TRAIN)

    # -- fine-tuning
    def _update_init_rows(self) -> None:
        """Pretrained is moot with a starting checkpoint; say how many masks were edited since it trained."""
        init = self.init_from.text()
        self.pretrained.setEnabled(not init)
        self.edited_info.setText(edited_summary(self.data.text(), init, self.extra_data.folders()))
        self._form.setRowVisible(self.edited_info, bool(self.edited_info.text()))
        self._check_inputs()

    # -- the training folders, counted before Start
    def training_folders(self) -> list[Path]:
        return [Path(self.data.text()), *self.extra_data.folders()] if self.data.text() else []

    def _check_inputs(self) -> None:
        """Count each training folder's images and edited masks, and check their classes, in a job (the
        maps of a large dataset are not read on the GUI thread); the result fills inputs_info."""
        from cocoseg_gui.core.training.run_inputs import check_training_data

        if self._inputs_job is not None:
            self._inputs_job.succeeded.disconnect(self._show_inputs)  # its folders are no longer shown
            self._inputs_job.cancel()
            self._inputs_job = None
        folders = self.training_folders()
        if not folders or not folders[0].is_dir():
            self.inputs_check = None
            self.inputs_info.setText("")
            self._form.setRowVisible(self.inputs_info, False)
            return
        init = self.init_from.text() or None
        job = JobWorker(check_training_data, folders, init)
        job.succeeded.connect(self._show_inputs)  # a bound slot: never called once the form is deleted
        self._inputs_job = job
        job.start()

    def _show_inputs(self, check: Any) -> None:
        self._inputs_job = None
        self.inputs_check = check
        lines = [_escape(line) for line in check.lines()]
        if check.class_problem:
            lines.append(f'<span style="color:{PROBLEM_COLOR}">{_escape(check.class_problem)}</span>')
        self.inputs_info.setText("<br>".join(lines))
        self._form.setRowVisible(self.inputs_info, bool(lines))

    def inputs_pending(self) -> bool:
        """True while the folders are being counted (tests wait for it)."""
        return self._inputs_job is not None or self._init_rows_timer.isActive()

    def apply_fine_tune_preset(self, checkpoint: Path, run_config: dict[str, Any], run_folder: Path) -> None:
        """Fill the form for a short fine-tune from ``checkpoint`` (its run's options in ``run_config``;
        core's ``fine_tune_request`` decides them)."""
        self.set_values(fine_tune_request(self.request(), run_config, checkpoint, run_folder))
        self._update_init_rows()  # now: the preset's log line quotes it

    # -- devices
    def set_devices(self, devices: list[DeviceChoice]) -> None:
        """Fill the device combo (keeps the current choice when it still exists)."""
        current = self.device.currentData()
        self.device.clear()
        self.device.addItem("auto", "auto")
        for d in devices:
            self.device.addItem(d.label, d.name)
        i = self.device.findData(current)
        self.device.setCurrentIndex(max(i, 0))

    def apply_device_defaults(self, device: str) -> None:
        """Sizes that suit the device: small unet runs on CPU, bigger batches with AMP on a GPU."""
        d = defaults_for(device)
        self.img_size.setValue(d.img_size)
        self.batch_size.setValue(d.batch_size)
        self.workers.setValue(d.workers)
        self.amp.setCurrentText("bf16" if d.amp else "off")
        if device == "cpu":
            self.model.setCurrentText("unet")
        i = self.device.findData(device)
        if i >= 0:
            self.device.setCurrentIndex(i)

    def matches_device_defaults(self, device: str) -> bool:
        """True while the size fields still hold the defaults for ``device`` (the user changed nothing)."""
        d = defaults_for(device)
        return (self.img_size.value(), self.batch_size.value(), self.workers.value()) == (
            d.img_size,
            d.batch_size,
            d.workers,
        )

    # -- values
    def request(self) -> TrainRequest:
        """The fields as they are now (no check: ``TrainRequest.config()`` does it)."""
        return TrainRequest(
            data=self.data.text(),
            extra_data=self.extra_data.folders(),
            out=self.out.text(),
            val_mode=str(self.val_mode.currentData()),
            val_fraction=float(self.val_fraction.value()),
            val_data=self.val_data.text(),
            model=self.model.currentText(),
            model_options=self.model_options.text(),
            pretrained=self.pretrained.currentText(),
            init_from=self.init_from.text(),
            img_size=self.img_size.value(),
            batch_size=self.batch_size.value(),
            epochs=self.epochs.value(),
            lr=float(self.lr.value()),
            loss=str(self.loss.currentData()),
            class_weighting=self.class_weighting.currentText(),
            oversample=self.oversample.isChecked(),
            edited_weight=float(self.edited_weight.value()),
            amp=self.amp.currentText(),
            time_budget=self.time_budget.text(),
            device=self.device.currentData() or "auto",
            workers=self.workers.value(),
            seed=self.seed.value(),
            log_every=self.log_every.value(),
        )

    def set_values(self, request: TrainRequest) -> None:
        """Show ``request`` (``TrainRequest.from_config`` of a run's config.json, ``from_settings``, a
        preset). A model the list lacks keeps the current one; a device the list lacks is added."""
        r = request
        self.data.setText(r.data)
        self.out.setText(r.out)
        self.extra_data.set_folders(r.extra_data)
        self.edited_weight.setValue(r.edited_weight)
        self.val_mode.setCurrentIndex(max(self.val_mode.findData(r.val_mode), 0))
        self.val_fraction.setValue(r.val_fraction)
        self.val_data.setText(r.val_data)
        for text, combo in ((r.model, self.model), (r.class_weighting, self.class_weighting)):
            if combo.findText(text) >= 0:
                combo.setCurrentText(text)
        self.model_options.setText(r.model_options)
        self.pretrained.setCurrentText(r.pretrained)
        self.init_from.setText(r.init_from)
        if self.loss.findData(r.loss) >= 0:
            self.loss.setCurrentIndex(self.loss.findData(r.loss))
        for value, spin in (
            (r.img_size, self.img_size),
            (r.batch_size, self.batch_size),
            (r.epochs, self.epochs),
            (r.workers, self.workers),
            (r.seed, self.seed),
            (r.log_every, self.log_every),
        ):
            spin.setValue(value)
        self.lr.setValue(r.lr)
        self.oversample.setChecked(r.oversample)
        self.amp.setCurrentText(r.amp)
        self.time_budget.setText(r.time_budget)
        i = self.device.findData(r.device)
        if i < 0:
            self.device.addItem(r.device, r.device)
            i = self.device.count() - 1
        self.device.setCurrentIndex(i)

    # -- settings
    def save_settings(self, settings: QSettings) -> None:
        """The checked options as the next session's defaults (nothing when they do not check)."""
        try:
            config = self.request().config()
        except OptionsError:
            return
        settings.beginGroup(SETTINGS_GROUP)
        for key, text in settings_values(config).items():
            settings.setValue(key, text)
        settings.setValue("run_root", str(config.out.parent))  # each run gets a new folder: its parent
        settings.endGroup()

    def load_settings(self, settings: QSettings) -> bool:
        """Prefill from the last run's options; False when nothing was saved."""
        settings.beginGroup(SETTINGS_GROUP)
        saved = {k: settings.value(k) for k in SETTINGS_KEYS if settings.contains(k)}
        settings.endGroup()
        request = TrainRequest.from_settings(saved, self.request())
        if request is None:
            return False
        self.set_values(request)
        return True

    def suggest_run_folder(self, settings: QSettings) -> None:
        """A fresh timestamped run folder under the last run's parent folder."""
        root = settings.value(f"{SETTINGS_GROUP}/run_root") or str(default_run_root())
        self.out.setText(str(Path(str(root)) / new_run_name()))


def edited_summary(data: str, init_from: str, extra: list[Path] | None = None) -> str:
    """ "N masks edited since the last training" for the form, "" when it cannot be said (no folder or file).

    Reads only the mask folders' edited.json and the checkpoint run's metrics.jsonl and config.json (small
    files; the image counts per folder come from a job, see TrainForm._check_inputs).
    """
    from cocoseg_gui.core.training.run_inputs import collect_run_inputs

    if not init_from or not data or not Path(init_from).is_file() or not Path(data).is_dir():
        return ""
    try:
        inputs = collect_run_inputs(Path(data), Path(init_from), extra or [], count_images=False)
    except OSError:
        return ""
    return inputs.summary(per_dataset=False)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
