"""EditSaving: when and how the mask editor saves, and what a failed save offers.

- Switching images with unsaved edits either saves them (the setting "Save automatically when
  switching images", default on, remembered in QSettings) or asks Save / Discard / Cancel; Cancel
  keeps the image (``leave_image`` returns False and the workspace stays on it).
- A failed save (read-only folder, full disk) is a dialog naming the file, offering "Save elsewhere…":
  a chosen folder gets the mask PNG(s) while the edits stay in memory, unsaved, so nothing is lost.
  A folder another program holds past a few seconds is such a failure, naming who and since when.
- Edit mode claims the mask folder (core/files/folder_lock.py, never waited for): a second window entering
  Edit mode on the same folder is told who else is editing it, since when; saves still take turns.
- What a save (or opening the folder) set right on the way, a save journal set aside or a damaged
  edited.json recovered, is shown, never only logged.

The dialogs are module functions so tests replace them like QMessageBox's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.save import SavedMask
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.files.folder_lock import EDITING_LOCK_FILE, FolderLock, LockHolder
from cocoseg_gui.gui.services.preferences import AUTOSAVE_KEY, read_preferences
from cocoseg_gui.gui.widgets.dialogs import error_text

SWITCH_SAVE, SWITCH_DISCARD, SWITCH_CANCEL = "save", "discard", "cancel"


def ask_switch(parent: QWidget | None, file_name: str, can_cancel: bool = True) -> str:
    """Save / Discard (/ Cancel) the shown image's edits before another image or folder."""
    buttons = QMessageBox.StandardButton
    choices = buttons.Save | buttons.Discard | (buttons.Cancel if can_cancel else buttons.NoButton)
    answer = QMessageBox.question(
        parent,
        "Unsaved mask edits",
        f"The mask of {file_name} has unsaved edits.\n\nSave them before leaving the image?",
        choices,
        buttons.Save,
    )
    if answer == buttons.Save:
        return SWITCH_SAVE
    if answer == buttons.Discard:
        return SWITCH_DISCARD
    return SWITCH_CANCEL if can_cancel else SWITCH_SAVE  # Esc without Cancel: the safe choice


def ask_save_failed(parent: QWidget | None, message: str) -> bool:
    """The failed save's message (it names the file); True: "Save elsewhere…" was chosen."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Cannot save the mask", message, parent=parent)
    box.setObjectName("save_failed")
    box.setInformativeText(
        "The edits are kept in memory. Save the mask into another folder, or keep editing and "
        "save again once the folder can be written."
    )
    elsewhere = box.addButton("Save elsewhere…", QMessageBox.ButtonRole.ActionRole)
    keep = box.addButton("Keep in memory", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(elsewhere)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is elsewhere


def tell_other_editor(parent: QWidget | None, message: str) -> None:
    """Another window (or program) is editing the folder Edit mode was entered on."""
    title = "Another window is editing this folder"
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=parent)
    box.setObjectName("other_editor")
    box.exec()


def tell_notes(parent: QWidget | None, notes: list[str]) -> None:
    """What a save or opening the folder found damaged and set right (or could not)."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, "The mask folder needed repair", "\n\n".join(notes), parent=parent
    )
    box.setObjectName("folder_notes")
    box.exec()


def other_editor_text(folder: Path, other: LockHolder) -> str:
    return (
        f"Another window is editing the mask folder {folder}: {other.describe()}.\n\n"
        "Saves take turns, so neither window loses the other's saves; an image saved in both "
        "windows keeps the later save. Edit different images, or close the other window."
    )


def choose_folder(parent: QWidget | None) -> Path | None:
    folder = QFileDialog.getExistingDirectory(parent, "Save the mask elsewhere")
    return Path(folder) if folder else None


class EditSaving(QObject):
    """The editor's save policy for the Images workspace; ``status`` shows a short message."""

    def __init__(self, editor: ImageEditor, parent: QWidget, status: Callable[[str, int], None]) -> None:
        super().__init__(parent)
        self.editor, self.parent_widget, self.status = editor, parent, status
        self._settings: QSettings | None = None
        self.act_autosave = QAction("Save automatically when switching images", self, checkable=True)
        self.act_autosave.setChecked(True)
        self.act_autosave.setToolTip("Off: switching images with unsaved edits asks Save / Discard / Cancel")
        self.act_autosave.toggled.connect(self._remember)
        self._claim: FolderLock | None = None  # Edit mode's claim on the mask folder
        self.other_editor: LockHolder | None = None  # who else was editing it when Edit mode began

    # ------------------------------------------------------------------------------------ edit claim
    def start_editing(self, folder: Path) -> None:
        """Edit mode on ``folder``: claim it, or tell who else is editing it (editing goes on)."""
        if self._claim is not None and self._claim.folder == Path(folder):
            return
        self.stop_editing()
        claim = FolderLock(folder, EDITING_LOCK_FILE, program="cocoseg-gui window")
        try:
            other = claim.try_acquire()
        except OSError:
            other = None  # no lock file there: no save there either, and the save says why
        else:
            if other is None:
                self._claim = claim
        self.other_editor = other
        if other is not None:
            text = other_editor_text(Path(folder), other)
            self.status(f"Another window is editing this folder: {other.describe()}", 0)
            tell_other_editor(self.parent_widget, text)
        if self.editor.open_notes:
            self._show_notes(list(self.editor.open_notes))
            self.editor.open_notes.clear()

    def stop_editing(self) -> None:
        """Edit mode left (or another folder, or the window closes): the claim goes."""
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        self.other_editor = None

    def _show_notes(self, notes: list[str]) -> None:
        self.status(notes[0], 20000)
        tell_notes(self.parent_widget, notes)

    # ----------------------------------------------------------------------------------------- setting
    @property
    def autosave(self) -> bool:
        return self.act_autosave.isChecked()

    @autosave.setter
    def autosave(self, on: bool) -> None:
        self.act_autosave.setChecked(bool(on))

    def use_settings(self, settings: QSettings) -> None:
        """Take the remembered setting (default on) and remember every change in ``settings``."""
        self._settings = settings
        self.act_autosave.setChecked(read_preferences(settings).autosave)

    def _remember(self, on: bool) -> None:
        if self._settings is not None:
            self._settings.setValue(AUTOSAVE_KEY, bool(on))

    # ------------------------------------------------------------------------------------------ saving
    def save(self, image_id: int | None = None) -> bool:
        """Save one image (default: the shown one); a failure offers to save elsewhere. True: saved."""
        return self._saving(lambda: self.editor.save(image_id), [image_id])

    def save_all(self) -> bool:
        return self._saving(self.editor.save_all, None)

    def _saving(
        self, save: Callable[[], SavedMask | list[SavedMask] | None], which: list[int | None] | None
    ) -> bool:
        try:
            saved = save()
        except CocoSegError as exc:
            if ask_save_failed(self.parent_widget, error_text(exc)):
                self.save_elsewhere(which if which is not None else list(self.editor.unsaved_ids()))
            return False
        if saved:
            done = saved if isinstance(saved, list) else [saved]
            self.status(f"Saved {', '.join(s.mask_name for s in done)}", 5000)
            notes = [n for s in done for n in s.notes]
            if notes:
                self._show_notes(notes)
        return True

    def save_elsewhere(self, image_ids: list[int | None]) -> list[Path]:
        """Ask for a folder and write those images' masks there (the edits stay unsaved in memory)."""
        folder = choose_folder(self.parent_widget)
        if folder is None:
            return []
        written: list[Path] = []
        try:
            for image_id in image_ids:
                path = self.editor.save_copy(folder, image_id)
                if path is not None:
                    written.append(path)
        except CocoSegError as exc:
            QMessageBox.critical(self.parent_widget, "Cannot save the mask", error_text(exc))
        if written:
            where = ", ".join(p.name for p in written)
            self.status(f"Saved a copy: {where} in {folder} (the mask folder still lacks the edits)", 10000)
        return written

    # -------------------------------------------------------------------------------------- switching
    def leave_image(self, can_cancel: bool = True) -> bool:
        """Before another image (or folder) is shown: False keeps the shown image (Cancel, or a save
        the user asked for failed). Autosave never holds the switch: a failed one keeps the edits."""
        if not self.editor.dirty:
            return True
        if self.autosave:
            self.save()
            return True
        image_id = self.editor.current_image
        assert image_id is not None
        name = self.editor.file_name(image_id) or str(image_id)
        answer = ask_switch(self.parent_widget, name, can_cancel)
        if answer == SWITCH_DISCARD:
            self.editor.discard(image_id)
            return True
        if answer == SWITCH_SAVE:
            return self.save() or not can_cancel
        return False
