"""ClassChooser: the Edit toolbar's class list, usable with 80+ classes: type part of a name to filter.

An editable combo box whose completer matches anywhere in "index name" (case-insensitive), so "bra"
finds "24 zebra" and "4" finds every class with a 4. Each entry has its colour swatch; the box always
shows the active class (``set_active``), and what the user types is never kept as a new entry: Enter
takes the first match, leaving the field without one puts the active class back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFocusEvent, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QCompleter, QWidget

ClassEntry = tuple[int, str, tuple[int, int, int]]  # index, name, display colour
KEYS_BACK_S = 0.5  # after a choice, focus coming back to the box (not by click or "/") is handed on


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
        self.setMinimumContentsLength(13)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        line = self.lineEdit()
        assert line is not None  # an editable combo box has one
        self._line = line
        line.setPlaceholderText("type to find a class")
        line.setClearButtonEnabled(False)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setMaxVisibleItems(20)
        completer.activated[str].connect(self._choose_text)  # type: ignore[index]  # PySide6 stubs lack signal[type]
        self.setCompleter(completer)
        self._completer = completer
        self.activated.connect(self._on_activated)
        line.returnPressed.connect(lambda: self._choose_text(line.text()))
        line.editingFinished.connect(self._show_active)
        self._entries: list[ClassEntry] = []
        self.keys_go_to: QWidget | None = None  # the widget that gets the keys after a choice
        self._keys_back_until = 0.0  # monotonic time until which a focus-in goes back to keys_go_to
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

    def _popup(self) -> QAbstractItemView:
        popup = self._completer.popup()
        assert popup is not None  # the completer makes its popup when first asked
        return popup

    def _choose_text(self, text: str) -> None:
        exact = self.findText(text, Qt.MatchFlag.MatchFixedString)
        found = [int(self.itemData(exact))] if exact >= 0 else self.matches(text)
        if found and found[0] != self._active:
            self.class_chosen.emit(found[0])
        self._popup().hide()
        if found:
            self._keys_back_until = time.monotonic() + KEYS_BACK_S
            self._give_keys_back()
        self._show_active(force=True)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        # the popup's closing (and the window's re-activation after it) focus the box again a moment
        # after the choice; a click or "/" (mouse / shortcut focus) is the user wanting to type
        typed = event.reason() in (Qt.FocusReason.MouseFocusReason, Qt.FocusReason.ShortcutFocusReason)
        if not typed and time.monotonic() < self._keys_back_until:
            QTimer.singleShot(0, self._give_keys_back)

    def _give_keys_back(self) -> None:
        """The digits and tool keys are shortcuts again, not typing. Focus goes to ``keys_go_to`` (the
        viewer), not nowhere: when Enter closes the completer's popup, the window is activated again and
        would focus the box anew (a real window typed the next key, W, into the box instead of picking
        the wand)."""
        if self.keys_go_to is not None:
            self.keys_go_to.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.clearFocus()

    def _show_active(self, force: bool = False) -> None:
        if not force and self._line.hasFocus() and self._popup().isVisible():
            return  # the user is typing: leave the text alone
        row = self.findData(self._active) if self._active is not None else -1
        self.blockSignals(True)
        try:
            self.setCurrentIndex(row)
            if row < 0:
                self.setEditText("")
        finally:
            self.blockSignals(False)
