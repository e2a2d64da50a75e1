"""A list model over an array of image positions: one row per shown image, thumbnails on demand.

``data(DecorationRole)`` is only called for rows the view paints, so only visible thumbnails are
requested; until one arrives a grey placeholder is shown. Arrivals are coalesced into one
``thumbnails_arrived(first, last)`` per 15 ms; the view repaints just those rows.

The row count lives in C++ (a ``QStringListModel`` of empty strings, one per row): after a filter, QListView
lays out every row and asks the model for each row's index, and a Python ``rowCount`` behind each of those
calls cost ~200 ms on 118k rows, against ~15 ms for the list (ADR 0035). ``data`` stays ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QStringListModel, Qt, QTimer, Signal

from cocoseg_gui.gui.widgets.browser.filtering import ImageTable
from cocoseg_gui.gui.widgets.browser.thumbnails import ThumbnailLoader, placeholder_pixmap

ImageIdRole = Qt.ItemDataRole.UserRole + 1
EDITED_MARK = "✎"  # before the name of an image saved from the mask editor
UNSAVED_MARK = "*"  # before the name of an image with unsaved edits (like the window title)

_Index = QModelIndex | QPersistentModelIndex


class ImageListModel(QStringListModel):
    thumbnails_arrived = Signal(int, int)  # first, last row whose decoration changed

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.table: ImageTable | None = None
        self.images_dir: Path | None = None
        self._rows = np.zeros(0, dtype=np.int64)  # row -> position in table
        self._row_of_position = np.zeros(0, dtype=np.int64)  # position -> row or -1
        self._placeholder = placeholder_pixmap(loader.size)
        self._changed: set[int] = set()
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(15)
        self._flush.timeout.connect(self._emit_changed)
        loader.ready.connect(self._on_thumbnail)

    # -- content
    def set_table(self, table: ImageTable | None, images_dir: Path | None) -> None:
        self.table, self.images_dir = table, images_dir
        self._rows = np.zeros(0, dtype=np.int64)
        self._row_of_position = np.full(len(table) if table else 0, -1, dtype=np.int64)
        self.loader.set_source(self._path_of if table is not None else None)
        self.setStringList([])  # resets the model

    def set_rows(self, positions: np.ndarray) -> None:
        self._rows = np.asarray(positions, dtype=np.int64)
        self._row_of_position[:] = -1
        self._row_of_position[self._rows] = np.arange(len(self._rows))
        self.setStringList([""] * len(self._rows))  # resets the model: the C++ row count (see above)

    def _path_of(self, position: int) -> Path:
        """Runs in a thumbnail thread; a name leaving the image folder raises (a crossed placeholder)."""
        from cocoseg_gui.core.coco.index import resolve_image_path

        assert self.table is not None and self.images_dir is not None
        return resolve_image_path(self.images_dir, self.table.names[position])

    # -- lookup
    def image_id_at(self, row: int) -> int:
        assert self.table is not None
        return int(self.table.ids[self._rows[row]])

    def row_of_image(self, image_id: int) -> int | None:
        if self.table is None:
            return None
        pos = self.table.position_of(image_id)
        if pos is None:
            return None
        row = int(self._row_of_position[pos])
        return row if row >= 0 else None

    def shown_image_ids(self) -> np.ndarray:
        return self.table.ids[self._rows] if self.table is not None else np.zeros(0, dtype=np.int64)

    # -- Qt model (rowCount: QStringListModel's)
    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Selectable, never editable (the list's strings are only its row count)."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.table is None:
            return None
        pos = int(self._rows[index.row()])
        if role == Qt.ItemDataRole.DecorationRole:
            pix = self.loader.get(pos)
            return pix if pix is not None else self._placeholder
        if role == Qt.ItemDataRole.DisplayRole:
            stem = Path(self.table.names[pos]).stem
            unsaved, edited = self.table.unsaved[pos], self.table.edited[pos]
            marks = [m for m, on in ((UNSAVED_MARK, unsaved), (EDITED_MARK, edited)) if on]
            return " ".join((*marks, stem))
        if role == ImageIdRole:
            return int(self.table.ids[pos])
        if role == Qt.ItemDataRole.ToolTipRole:
            mask = "mask on disk" if self.table.has_mask[pos] else "no mask file"
            if self.table.edited[pos]:
                mask += " · edited in the mask editor"
            if self.table.unsaved[pos]:
                mask += " · unsaved edits"
            return (
                f"{self.table.names[pos]}\nid {int(self.table.ids[pos])} · "
                f"{int(self.table.counts[pos])} annotations · {mask}"
            )
        return None

    # -- thumbnails arriving
    def _on_thumbnail(self, position: int) -> None:
        if 0 <= position < len(self._row_of_position) and self._row_of_position[position] >= 0:
            self._changed.add(int(self._row_of_position[position]))
            if not self._flush.isActive():
                self._flush.start()

    def flush_thumbnails(self) -> None:
        """Announce the thumbnails that arrived now, not after the 15 ms batching timer (before a grab)."""
        self._flush.stop()
        self._emit_changed()

    def _emit_changed(self) -> None:
        """Tell the views which rows got their thumbnail (``thumbnails_arrived``, not ``dataChanged``:
        QListView answers ``dataChanged`` with a pass over every row, 150 ms on 118k rows)."""
        if not self._changed:
            return
        lo, hi = min(self._changed), max(self._changed)
        self._changed.clear()
        hi = min(hi, len(self._rows) - 1)
        if lo <= hi:
            self.thumbnails_arrived.emit(lo, hi)
