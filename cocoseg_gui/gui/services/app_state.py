"""The window's shared state: which dataset is open, which mask folder, which run and checkpoint.

Panels receive the one ``AppState`` and listen to its signals instead of talking to each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

if TYPE_CHECKING:
    from cocoseg_gui.core.coco_index import CocoIndex


class AppState(QObject):
    dataset_changed = Signal()  # index / annotations_path / images_dir changed
    masks_dir_changed = Signal()  # a mask dataset folder was chosen or (re)generated
    run_dir_changed = Signal()  # a training run folder was chosen or a run just finished
    checkpoint_changed = Signal()
    status_message = Signal(str)  # short text for the status bar
    open_image_requested = Signal(int)  # image id to show in the browser/viewer
    compare_requested = Signal(str)  # image path to show in the Predict panel's compare view

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("cocoseg", "cocoseg")
        self.index: CocoIndex | None = None
        self.annotations_path: Path | None = None
        self.images_dir: Path | None = None
        self.masks_dir: Path | None = None
        self.run_dir: Path | None = None
        self.checkpoint_path: Path | None = None

    def set_dataset(self, index: CocoIndex, annotations_path: Path, images_dir: Path) -> None:
        self.index, self.annotations_path, self.images_dir = index, Path(annotations_path), Path(images_dir)
        self.dataset_changed.emit()

    def set_masks_dir(self, path: Path | None) -> None:
        self.masks_dir = Path(path) if path is not None else None
        self.masks_dir_changed.emit()

    def set_run_dir(self, path: Path | None) -> None:
        self.run_dir = Path(path) if path is not None else None
        self.run_dir_changed.emit()

    def set_checkpoint(self, path: Path | None) -> None:
        self.checkpoint_path = Path(path) if path is not None else None
        self.checkpoint_changed.emit()
