"""The question after a run whose model did not earn its place: both scores, "Use the new model?".

Opened with ``QMessageBox.open()`` (window-modal, never a nested event loop): the answer arrives through
``on_answer`` on the GUI thread, so a run that ends while nobody watches (the screenshot driver, a quit)
waits for no one. ADR 0022.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from cocoseg_gui.core.training.model_score import ModelScore, Verdict, describe_quality

USE_NEW = "Use the new model"
KEEP = "Keep the current model"


def ask_use_new_model(
    parent: QWidget, new: ModelScore, current: ModelScore, verdict: Verdict, on_answer: Callable[[bool], None]
) -> QMessageBox:
    """Show both scores and ask; ``on_answer(True)`` when the user takes the new model."""
    box = QMessageBox(QMessageBox.Icon.Question, "Use the new model?", "Use the new model?", parent=parent)
    box.setObjectName("model_question")
    box.setText(f"The new model did not replace the project's model: {verdict.reason}.")
    box.setInformativeText(
        f"New: {new.checkpoint}\n    {describe_quality(new)}\n\n"
        f"Current: {current.checkpoint}\n    {describe_quality(current)}\n\n"
        "Predict, proposals and the label-error finder use the project's model."
    )
    use = box.addButton(USE_NEW, QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton(KEEP, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.finished.connect(lambda _r: on_answer(box.clickedButton() is use))
    box.open()
    return box
