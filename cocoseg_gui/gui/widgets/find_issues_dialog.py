"""Tools › Find likely label errors…: the checkpoint, the score that orders the images, and
cross-fitting (each image scored by a model trained without it), chosen before the job starts.

Cross-fitting trains one model per fold: the dialog says so, and how long that is in epochs, so the
choice is made knowing its cost. The epochs default to those of the checkpoint's run (its config.json
beside it: a small JSON file, never the checkpoint). The choices and their check are
core/quality/find_options.py.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.quality.cross_fit import MAX_FOLDS
from cocoseg_gui.core.quality.find_options import FindIssuesOptions, find_options, run_epochs
from cocoseg_gui.core.quality.image_scores import DEFAULT_SCORE

SCORE_CHOICES = (
    (
        "softmin",
        "Least likely labelled pixels (recommended)",
        "The soft minimum of the model's probability of the given label over the image's pixels: "
        "found the most corrupted masks in the benchmark",
    ),
    (
        "balanced",
        "Unusual for its class",
        "How unlikely the model finds each class's labelled pixels, compared with the same class in the "
        "other images: objects the model misses in every image do not fill the top of the list",
    ),
    (
        "regions",
        "Confidently relabelled area",
        "The share of the image the model confidently gives another class (confident learning)",
    ),
)
DEFAULT_FOLDS = 5
DEFAULT_FOLD_EPOCHS = 20  # when the checkpoint's run is not beside it


class FindIssuesDialog(QDialog):
    """Checkpoint, score, cross-fitting (folds, epochs per fold); Find starts, Cancel starts nothing."""

    def __init__(self, checkpoint: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find likely label errors")
        self.checkpoint_edit = QLineEdit(str(checkpoint) if checkpoint is not None else "")
        self.checkpoint_edit.setObjectName("issues_checkpoint")
        self.checkpoint_edit.textChanged.connect(self._update)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.checkpoint_edit, 1)
        lay.addWidget(browse)
        self.score_combo = QComboBox()
        self.score_combo.setObjectName("issues_score")
        for i, (key, text, tip) in enumerate(SCORE_CHOICES):
            self.score_combo.addItem(text, key)
            self.score_combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.score_combo.setCurrentIndex(self.score_combo.findData(DEFAULT_SCORE))
        self.cross_fit = QCheckBox("Score each image with a model trained without it (cross-fitting)")
        self.cross_fit.setObjectName("issues_cross_fit")
        self.cross_fit.setToolTip(
            "A model remembers part of the masks it trained on, wrong ones included. Use this when the "
            "checkpoint was trained on these masks: the images are split into groups and one model per "
            "group is trained on the others, like the checkpoint's run."
        )
        self.folds = QSpinBox()
        self.folds.setObjectName("issues_folds")
        self.folds.setRange(2, MAX_FOLDS)
        self.folds.setValue(DEFAULT_FOLDS)
        self.epochs = QSpinBox()
        self.epochs.setObjectName("issues_fold_epochs")
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(DEFAULT_FOLD_EPOCHS)
        self.cost = QLabel()
        self.cost.setObjectName("issues_cost")
        self.cost.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("issues_problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")
        self.cross_fit.toggled.connect(self._update)
        for w in (self.folds, self.epochs):
            w.valueChanged.connect(self._update)
        form = QFormLayout()
        form.addRow("Checkpoint", row)
        form.addRow("Order by", self.score_combo)
        form.addRow(self.cross_fit)
        form.addRow("Groups (models)", self.folds)
        form.addRow("Epochs per model", self.epochs)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.find_button = self.buttons.addButton("Find", QDialogButtonBox.ButtonRole.AcceptRole)
        self.find_button.setObjectName("issues_find")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addWidget(self.cost)
        outer.addWidget(self.problem)
        outer.addWidget(self.buttons)
        self._epochs_of: Path | None = None
        self._update()
        self.resize(600, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a checkpoint", self.checkpoint_edit.text(), "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.checkpoint_edit.setText(path)

    def _update(self) -> None:
        text = self.checkpoint_edit.text().strip()
        path = Path(text).expanduser() if text else None
        if path is not None and path != self._epochs_of:  # a new checkpoint: its run's epochs
            self._epochs_of = path
            self.epochs.setValue(run_epochs(path) or DEFAULT_FOLD_EPOCHS)
        on = self.cross_fit.isChecked()
        self.folds.setEnabled(on)
        self.epochs.setEnabled(on)
        self.cost.setText(
            f"Trains {self.folds.value()} models of {self.epochs.value()} epochs each, like the checkpoint's "
            "run, before ranking: this takes about as long as that many trainings."
            if on
            else "Ranks with the checkpoint itself (one prediction per image). If it was trained on these "
            "masks it agrees with some of their errors: tick cross-fitting to avoid that."
        )

    def options(self) -> FindIssuesOptions | None:
        """The choices, or None (the problem shown) when the checkpoint is not a file."""
        try:
            chosen = find_options(
                self.checkpoint_edit.text(),
                str(self.score_combo.currentData()),
                self.cross_fit.isChecked(),
                self.folds.value(),
                self.epochs.value(),
            )
        except OptionsError as exc:
            self.problem.setText(str(exc))
            return None
        self.problem.setText("")
        return chosen

    def _accept(self) -> None:
        if self.options() is not None:
            self.accept()
