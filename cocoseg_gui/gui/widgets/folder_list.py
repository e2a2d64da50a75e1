"""A short list of folders with Add… and Remove: the Train form's "Also train on" mask folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

ROW_HEIGHT_LINES = 3  # rows shown before the list scrolls: the form stays short at 1024x700


class FolderList(QWidget):
    """Folders, one a row, in order. ``text()``/``setText()`` join them with newlines, so the project's
    role defaults (project_dialog.RoleDefaults) move the list as they move a single folder field."""

    changed = Signal()

    def __init__(self, caption: str, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setToolTip(placeholder)
        self.list.setFixedHeight(self.list.fontMetrics().height() * ROW_HEIGHT_LINES + 12)  # never the
        # form's spare height (a tall window stretched the list and pushed its buttons apart)
        self.add_button = QPushButton("Add...")
        self.remove_button = QPushButton("Remove")
        buttons = QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)
        self.add_button.clicked.connect(self._browse)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def folders(self) -> list[Path]:
        return [Path(self.list.item(i).text()) for i in range(self.list.count())]

    def set_folders(self, folders: Sequence[str | Path]) -> None:
        """Show ``folders`` (duplicates dropped, order kept)."""
        if [str(f) for f in folders] == [str(f) for f in self.folders()]:
            return
        self.list.clear()
        seen: set[str] = set()
        for folder in folders:
            if str(folder) and str(folder) not in seen:
                seen.add(str(folder))
                self.list.addItem(str(folder))
        self._update_buttons()
        self.changed.emit()

    def add_folder(self, folder: str | Path) -> None:
        self.set_folders([*self.folders(), folder])

    def remove_selected(self) -> None:
        gone = {item.text() for item in self.list.selectedItems()}
        self.set_folders([f for f in self.folders() if str(f) not in gone])

    def text(self) -> str:
        return "\n".join(str(f) for f in self.folders())

    def setText(self, text: str) -> None:  # the QLineEdit method RoleDefaults calls
        self.set_folders([line for line in text.splitlines() if line.strip()])

    def _browse(self) -> None:
        folders = self.folders()
        start = str(folders[-1].parent) if folders else str(Path.home())
        chosen = QFileDialog.getExistingDirectory(self, self.caption, start)
        if chosen:
            self.add_folder(chosen)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.list.selectedItems()))
