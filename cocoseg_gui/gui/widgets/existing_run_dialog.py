"""The question asked when Start targets a folder that already holds a run (never replaced silently)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

NEW_FOLDER, RESUME, OVERWRITE, CANCEL = "new_folder", "resume", "overwrite", "cancel"


def ask_existing_run(parent: QWidget | None, folder: Path, found: list[str], new_folder: Path) -> str:
    """NEW_FOLDER, RESUME, OVERWRITE or CANCEL (tests patch this function to answer)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Run folder already used")
    box.setText(f"{folder} already holds a training run ({', '.join(found)}).")
    box.setInformativeText(
        f"Start this run in a new folder ({new_folder.name}), continue the existing run, or overwrite it "
        "(its checkpoints and curves are deleted)?"
    )
    new = box.addButton("New folder", QMessageBox.ButtonRole.AcceptRole)
    buttons: dict[QAbstractButton | None, str] = {
        new: NEW_FOLDER,
        box.addButton("Resume", QMessageBox.ButtonRole.ActionRole): RESUME,
        box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole): OVERWRITE,
    }
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(new)
    box.setEscapeButton(cancel)
    box.exec()
    return buttons.get(box.clickedButton(), CANCEL)
