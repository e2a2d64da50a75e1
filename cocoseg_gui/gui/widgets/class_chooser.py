"""ClassChooser: the Edit toolbar's class list, usable with 80+ classes: type part of a name to filter.

An editable combo box whose completer matches anywhere in "index name" (case-insensitive), so "bra"
finds "24 zebra" and "4" finds every class with a 4. Each entry has its colour swatch; the box always
shows the active class (``set_active``), and what the user types is never kept as a new entry: Enter
takes the first match, leaving the field without one puts the active class back.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

ClassEntry = tuple[int, str, tuple[int, int, int]]  # index, name, display colour


def swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def entry_text(index: int, name: str) -> str:
    return f"{index} {name}"


class ClassChooser(QComboBox):
    """Emits ``class_chosen(index)`` when the user picks a class (list, completer or Enter)."""

    class_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(20)
        self.setMinimumContentsLength(16)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lineEdit().setPlaceholderText("type to find a class")
        self.lineEdit().setClearButtonEnabled(False)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setMaxVisibleItems(20)
        completer.activated[str].connect(self._choose_text)
        self.setCompleter(completer)
        self.activated.connect(self._on_activated)
        self.lineEdit().returnPressed.connect(lambda: self._choose_text(self.lineEdit().text()))
        self.lineEdit().editingFinished.connect(self._show_active)
        self._entries: list[ClassEntry] = []
        self._active: int | None = None

    # ------------------------------------------------------------------------------------------ state
    def set_classes(self, entries: Sequence[ClassEntry]) -> None:
        """The classes listed (rebuilt only when they changed)."""
        entries = list(entries)
        if entries == self._entries:
            return
        self._entries = entries
        self.blockSignals(True)
        try:
            self.clear()
            for index, name, rgb in entries:
                self.addItem(swatch(rgb), entry_text(index, name), index)
        finally:
            self.blockSignals(False)
        self._show_active()

    def set_active(self, index: int) -> None:
        """Show ``index`` as the chosen class (the editor's settings are the one place of truth)."""
        self._active = int(index)
        self._show_active()

    def active(self) -> int | None:
        return self._active

    def matches(self, text: str) -> list[int]:
        """The classes whose "index name" contains ``text`` (case-insensitive), in list order."""
        needle = text.strip().casefold()
        return [i for i, name, _rgb in self._entries if needle in entry_text(i, name).casefold()]

    # ------------------------------------------------------------------------------------------ input
    def _on_activated(self, row: int) -> None:
        # QComboBox also "activates" its current row after Enter in the field: the active class
        # again, which changes nothing (and must not undo the match Enter just chose)
        if 0 <= row < self.count() and int(self.itemData(row)) != self._active:
            self.class_chosen.emit(int(self.itemData(row)))
        self._show_active()  # a class the editor refused is not left shown

    def _choose_text(self, text: str) -> None:
        exact = self.findText(text, Qt.MatchFlag.MatchFixedString)
        found = [int(self.itemData(exact))] if exact >= 0 else self.matches(text)
        if found and found[0] != self._active:
            self.class_chosen.emit(found[0])
        self.completer().popup().hide()
        if found:
            self.clearFocus()  # the digits and tool keys are shortcuts again, not typing
        self._show_active(force=True)

    def _show_active(self, force: bool = False) -> None:
        if not force and self.lineEdit().hasFocus() and self.completer().popup().isVisible():
            return  # the user is typing: leave the text alone
        row = self.findData(self._active) if self._active is not None else -1
        self.blockSignals(True)
        try:
            self.setCurrentIndex(row)
            if row < 0:
                self.setEditText("")
        finally:
            self.blockSignals(False)
