"""ProposalBar: Edit mode's proposal toolbar: the source, Propose, the accept buttons, the confidence
view, the batch job's progress and the review buttons. Only widgets and signals: the workspace's
ProposalsController does the work."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QPushButton, QToolBar, QWidget

from cocoseg_gui.core.proposals.proposal import ConfidenceKind
from cocoseg_gui.core.proposals.source import TORCHVISION_MODELS

SOURCE_PROJECT = "project"  # the session's checkpoint, followed when it changes (a fine-tune ends)
SOURCE_FILE = "file"  # a cocoseg checkpoint chosen as a file
SOURCE_TV_FILE = "tv-file"  # torchvision weights chosen as a file


class ProposalBar(QToolBar):
    source_chosen = Signal(str)  # SOURCE_* or a torchvision model name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Proposals", parent)
        self.setObjectName("proposal_toolbar")
        self.source_combo = QComboBox(minimumContentsLength=14)  # long torchvision names: elided in the box
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.source_combo.setToolTip("Where proposals come from (torchvision weights: never downloaded)")
        self.source_combo.addItem("Project checkpoint", SOURCE_PROJECT)
        self.source_combo.addItem("Checkpoint file…", SOURCE_FILE)
        for name in TORCHVISION_MODELS:
            self.source_combo.addItem(f"torchvision {name}", name)
        self.source_combo.addItem("Torchvision weights file…", SOURCE_TV_FILE)
        self.source_combo.activated.connect(lambda i: self.source_chosen.emit(self.source_combo.itemData(i)))
        self.addWidget(QLabel(" Model "))
        self.addWidget(self.source_combo)
        self.act_accept_class = QAction("Accept class", self)
        self.act_accept_class.setToolTip("Accept class: the proposal's pixels of the active class")
        self.act_accept_class.setIconText("Class")  # room for Replace and Next at 1024 px
        self.act_accept_box = QAction("Accept in box", self, checkable=True)
        self.act_accept_box.setToolTip("Accept in box: drag a box, the proposal inside it is accepted")
        self.act_accept_box.setIconText("In box")  # short button texts: the bar fits a 1024 px window
        self.act_accept_stroke = QAction("Accept in stroke", self, checkable=True)
        self.act_accept_stroke.setToolTip(
            "Accept in stroke: paint with the brush size, the proposal under it is accepted"
        )
        self.act_accept_stroke.setIconText("In stroke")
        self.act_replace = QAction("Replace labels", self, checkable=True)  # off: only unlabelled pixels
        self.act_replace.setIconText("Replace")
        self.act_replace.setToolTip(
            "Off (default): an accept only labels unlabelled pixels and keeps every label already made. "
            "On: it may replace labelled pixels too; you are told how many of which classes first"
        )
        self.act_reject = QAction("Reject", self)
        self.act_reject.setToolTip("Hide the proposal; the mask is not changed")
        self.act_confidence = QAction("Confidence", self, checkable=True)
        self.act_confidence.setToolTip("Show how sure the model is per pixel (red: unsure)")
        self.confidence_combo = QComboBox()
        self.confidence_combo.addItem("max softmax", ConfidenceKind.MAX_SOFTMAX)
        self.confidence_combo.addItem("margin", ConfidenceKind.MARGIN)
        self.act_batch = QAction("Propose unlabelled…", self)
        self.act_batch.setToolTip(
            "Propose unlabelled: every image without a saved mask, into a proposals folder (progress, Cancel)"
        )
        self.act_batch.setIconText("Unlabelled…")
        self.progress = QProgressBar(minimum=0, maximum=100, value=0, textVisible=True)
        self.progress.setMaximumWidth(140)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.review_label = QLabel("")
        self.act_review_accept = QAction("Accept && next", self)
        self.act_review_edit = QAction("Edit", self)
        self.act_review_edit.setToolTip("Accept the proposal and keep editing this image")
        self.act_review_skip = QAction("Skip", self)
        self.review_actions = [self.act_review_accept, self.act_review_edit, self.act_review_skip]

    def install(self, propose: QAction, accept_all: QAction, next_unreviewed: QAction) -> None:
        """Lay out the bar with the workspace's keyed actions (M, Shift+M, N) among the buttons."""
        self.addAction(propose)
        self.addAction(accept_all)
        for act in (self.act_accept_class, self.act_accept_box, self.act_accept_stroke, self.act_replace):
            self.addAction(act)
        self.addAction(self.act_reject)
        self.addSeparator()
        self.addAction(self.act_confidence)
        self.addWidget(self.confidence_combo)
        self.addSeparator()
        self.addAction(self.act_batch)
        self.progress_action = self.addWidget(self.progress)
        self.cancel_action = self.addWidget(self.cancel_button)
        self.addWidget(self.review_label)
        for act in self.review_actions:
            self.addAction(act)
        self.addAction(next_unreviewed)

    def confidence_kind(self) -> ConfidenceKind | None:
        return (
            ConfidenceKind(self.confidence_combo.currentData()) if self.act_confidence.isChecked() else None
        )

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.progress_action.setVisible(busy)
        self.cancel_action.setVisible(busy)
        if busy:
            self.progress.setFormat(text or "%p%")

    def set_review(self, text: str) -> None:
        """'Proposals: 3 of 40 unreviewed' while a proposals folder is open, '' otherwise."""
        self.review_label.setText(f" {text} " if text else "")
        for act in self.review_actions:
            act.setVisible(bool(text))
