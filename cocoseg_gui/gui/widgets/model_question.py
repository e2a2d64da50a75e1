"""The question after a run whose model did not earn its place: both scores, "Use the new model?".

Opened with ``QMessageBox.open()`` (window-modal, never a nested event loop): the answer arrives through
``on_answer`` on the GUI thread, so a run that ends while nobody watches (the screenshot driver, a quit)
waits for no one. ADR 0027.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from cocoseg_gui.core.training.model_score import WEAK_MIOU, ModelScore, Verdict, describe_quality, weakness

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

    def answered(_result: int) -> None:
        parent.window().activateWindow()  # the window's shortcuts work again at once
        on_answer(box.clickedButton() is use)

    box.finished.connect(answered)
    box.open()
    return box


RUN_ANYWAY = "Run anyway"


def confirm_model_quality(parent: QWidget, action: str, score: ModelScore) -> bool:
    """Before a ranking or proposal job: a weak or unscored model is named with its score and the user
    chooses (``Run anyway`` or Cancel); True at once when the model scores well."""
    problem = weakness(score)
    if problem is None:
        return True
    box = QMessageBox(QMessageBox.Icon.Warning, action, action, parent=parent)
    box.setObjectName("weak_model_question")
    box.setText(f"{action}: {problem}.")
    box.setInformativeText(
        f"Model: {score.checkpoint}\n{describe_quality(score)}\n\n"
        f"Below a validation mIoU of {WEAK_MIOU:.2f} the results are mostly the model's own mistakes. "
        "Train longer, start from pretrained weights or correct more masks first; or run it anyway "
        "(the score is recorded with the results)."
    )
    run = box.addButton(RUN_ANYWAY, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    parent.window().activateWindow()  # the window's shortcuts (Ctrl+S, M) work again at once
    return box.clickedButton() is run
