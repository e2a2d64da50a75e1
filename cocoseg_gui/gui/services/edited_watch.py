"""Which images of the open mask folder were saved from the mask editor (its edited.json), kept current.

The browser marks those images and filters on them. edited.json is replaced by rename at every editor
save (core/editing/save.py), so the mask folder itself is watched (a rename into it changes the folder);
``refresh()`` re-reads it at once (a save in this window can call it rather than wait for the watcher).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from cocoseg_gui.core.editing.save import read_edited
from cocoseg_gui.core.errors import DatasetError


def edited_names(folder: Path | None) -> frozenset[str]:
    """The image file names edited.json lists; empty without a folder or a readable edited.json."""
    if folder is None:
        return frozenset()
    try:
        return frozenset(read_edited(folder))
    except DatasetError:
        return frozenset()  # unreadable: nothing marked (the next editor save rewrites it)


class EditedWatch(QObject):
    """Emits ``changed(frozenset of file names)`` when the open mask folder's edited.json changes."""

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.names: frozenset[str] = frozenset()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _p: self._later.start())
        self._later = QTimer(self, singleShot=True, interval=150)  # one read per burst of renames
        self._later.timeout.connect(self.refresh)

    def set_folder(self, folder: Path | None) -> None:
        """Watch ``folder`` (None: nothing) and announce its edited images."""
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None and self.folder.is_dir():
            self._watcher.addPath(str(self.folder))
        self.names = edited_names(self.folder)
        self.changed.emit(self.names)

    def refresh(self) -> None:
        names = edited_names(self.folder)
        if names != self.names:
            self.names = names
            self.changed.emit(names)
