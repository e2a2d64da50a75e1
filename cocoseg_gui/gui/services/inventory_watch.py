"""Keeps the open mask folder's MaskInventory (core.mask_inventory) current with what is on disk.

Saves in this window update the inventory directly (ImageEditor.save); this watch catches everything
else: another window or a `cocoseg` job saving into the folder. Every writer replaces its files by
rename, so watching the folder itself sees each one; a burst of renames is read once, in a JobWorker
(image_mask_map.json of a large dataset is megabytes), and applied on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from cocoseg_gui.core.masks.inventory import InventorySnapshot, MaskInventory
from cocoseg_gui.gui.services.workers import JobWorker


def _read(inventory: MaskInventory, **_job: object) -> InventorySnapshot:
    return inventory.read_snapshot()


class InventoryWatch(QObject):
    """Re-reads the watched inventory's folder when it changes on disk."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inventory: MaskInventory | None = None
        self._watcher = QFileSystemWatcher(self)
        self._later = QTimer(self, singleShot=True, interval=150)  # one read per burst of renames
        self._watcher.directoryChanged.connect(lambda _p: self._later.start())
        self._later.timeout.connect(self.refresh)
        self._job: JobWorker | None = None
        self._again = False

    def set_inventory(self, inventory: MaskInventory | None) -> None:
        """Watch ``inventory``'s folder (None: nothing)."""
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self.inventory = inventory
        root = inventory.root if inventory is not None else None
        if root is not None and root.is_dir():
            self._watcher.addPath(str(root))

    def refresh(self) -> None:
        """Read the folder again in a job (once more after it when asked while one runs)."""
        if self.inventory is None:
            return
        if self._job is not None:
            self._again = True
            return
        inventory = self.inventory
        job = JobWorker(_read, inventory)
        job.succeeded.connect(lambda snapshot: self._apply(inventory, snapshot))
        job.done.connect(self._done)
        self._job = job
        job.start()

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        return self._job is None or self._job.wait(timeout_ms)

    def _apply(self, inventory: MaskInventory, snapshot: InventorySnapshot) -> None:
        if inventory is self.inventory and not inventory.apply(snapshot):
            self._again = True  # a save here came between the read and now: read again
        # a failed read (the map unreadable for a moment) keeps what the inventory knew

    def _done(self) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.refresh()
