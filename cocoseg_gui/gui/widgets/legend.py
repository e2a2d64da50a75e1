"""LegendWidget: class rows (swatch, name, pixel share) that hide, show and solo classes with a click."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.palette import display_palette

LegendEntry = tuple[int, str, tuple[int, int, int], float]  # index, name, (r, g, b), pixel share 0..1
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1
SOLO_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier


def legend_entries(
    mask: np.ndarray,
    names: Mapping[int, str],
    colors: np.ndarray | None = None,
    include_background: bool = False,
    include_absent: bool = False,
) -> list[LegendEntry]:
    """Legend rows for a class mask: each class's share of the image's pixels (bincount, no Python loop).

    Classes present in the mask are listed (plus every named class when ``include_absent``); background (0)
    only with ``include_background``; the ignore index 255 when present, named "ignore" unless named.
    """
    pal = display_palette() if colors is None else np.asarray(colors, dtype=np.uint8)
    counts = np.bincount(np.asarray(mask, dtype=np.uint8).ravel(), minlength=256)
    total = max(int(counts.sum()), 1)
    indices = set(np.flatnonzero(counts).tolist())
    if include_absent:
        indices |= set(names)
    if not include_background:
        indices.discard(0)
    default = {0: "background", 255: "ignore"}
    out: list[LegendEntry] = []
    for i in sorted(indices):
        name = names.get(i, default.get(i, f"class {i}"))
        r, g, b = (int(v) for v in pal[i])
        out.append((i, name, (r, g, b), counts[i] / total))
    return out


def format_share(share: float) -> str:
    """12.3% / 0.04% / <0.01% / 0%."""
    pct = share * 100.0
    if pct == 0:
        return "0%"
    if pct < 0.01:
        return "<0.01%"
    return f"{pct:.2f}%" if pct < 1 else f"{pct:.1f}%"


def _swatch(rgb: tuple[int, int, int], hidden: bool, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    color = QColor(*rgb)
    if hidden:
        painter.setPen(QColor(128, 128, 128))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(0, 0, size - 1, size - 1)
        painter.drawLine(0, size - 1, size - 1, 0)
    else:
        painter.setPen(color.darker(150))
        painter.setBrush(color)
        painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pm)


class _LegendList(QListWidget):
    """A list whose clicks are the legend's gestures (toggle, Ctrl/Alt-click solo, double-click solo)."""

    clicked_index = Signal(int, bool)  # class index, solo
    double_clicked_index = Signal(int)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        super().mousePressEvent(event)
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            solo = bool(event.modifiers() & SOLO_MODIFIERS)
            self.clicked_index.emit(int(item.data(INDEX_ROLE)), solo)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        super().mouseDoubleClickEvent(event)
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked_index.emit(int(item.data(INDEX_ROLE)))


class LegendWidget(QWidget):
    """Rows "swatch name share" sorted by share. Click toggles a class hidden (greyed); Ctrl/Alt-click or
    double-click solos it (the same again restores what was hidden before); "Show all" resets.

    The hidden set persists across ``set_classes``: a class hidden on one image stays hidden on the next,
    and a soloed class stays the only one shown.
    """

    hidden_changed = Signal(set)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: list[LegendEntry] = []
        self._hidden: set[int] = set()
        self._solo: int | None = None
        self._before_solo: set[int] = set()
        self._last_toggle: int | None = None

        self.list = _LegendList()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setIconSize(QSize(14, 14))
        self.list.setUniformItemSizes(True)
        self.list.setToolTip("Click: hide/show · Ctrl/Alt-click or double-click: solo (again: unsolo)")
        self.list.clicked_index.connect(self._on_click)
        self.list.double_clicked_index.connect(self._on_double_click)
        self.show_all_button = QPushButton("Show all")
        self.show_all_button.clicked.connect(self.show_all)
        self.summary = QLabel("")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)

    # ---------------------------------------------------------------------------------------------- data
    def set_classes(self, entries: Iterable[LegendEntry]) -> None:
        """Rows (index, name, (r, g, b), share 0..1), shown sorted by decreasing share, then index."""
        self._entries = sorted(
            ((int(i), str(n), tuple(int(c) for c in rgb), float(s)) for i, n, rgb, s in entries),
            key=lambda e: (-e[3], e[0]),
        )
        self._rebuild()
        if self._solo is not None:  # solo means "only this class" on the next image too
            self._change(self._hidden | {i for i, *_ in self._entries if i != self._solo})

    def entries(self) -> list[LegendEntry]:
        """The rows in display order."""
        return list(self._entries)

    def row_texts(self) -> list[str]:
        return [self.list.item(r).text() for r in range(self.list.count())]

    def hidden(self) -> set[int]:
        return set(self._hidden)

    def set_hidden(self, hidden: Iterable[int]) -> None:
        """Set the hidden classes programmatically (emits hidden_changed when it changes)."""
        self._solo = None
        self._change(set(int(i) for i in hidden))

    def solo_class(self) -> int | None:
        """The class currently soloed, or None."""
        return self._solo

    # ------------------------------------------------------------------------------------------ gestures
    def toggle(self, index: int) -> None:
        """Hide a shown class or show a hidden one."""
        self._solo = None
        self._change(self._hidden ^ {index})

    def solo(self, index: int) -> None:
        """Show only ``index``; soloing the soloed class again restores the hidden set from before."""
        if self._solo == index:
            self._solo = None
            self._change(set(self._before_solo))
            return
        if self._solo is None:
            self._before_solo = set(self._hidden)
        self._solo = index
        self._change({i for i, *_ in self._entries if i != index} | (self._hidden - {index}))

    def show_all(self) -> None:
        self._solo = None
        self._change(set())

    def _on_click(self, index: int, solo: bool) -> None:
        if solo:
            self._last_toggle = None
            self.solo(index)
        else:
            self._last_toggle = index
            self.toggle(index)

    def _on_double_click(self, index: int) -> None:
        if self._last_toggle == index:  # the first click of the double click toggled it: undo that
            self._hidden ^= {index}
        self._last_toggle = None
        self.solo(index)

    def _change(self, hidden: set[int]) -> None:
        if hidden == self._hidden:
            self._refresh_rows()
            return
        self._hidden = hidden
        self._refresh_rows()
        self.hidden_changed.emit(set(hidden))

    # ---------------------------------------------------------------------------------------------- view
    def _rebuild(self) -> None:
        self.list.clear()
        for index, name, _rgb, share in self._entries:
            item = QListWidgetItem(f"{name}  {format_share(share)}")
            item.setData(INDEX_ROLE, index)
            item.setToolTip(f"class {index}: {name}, {share * 100:.3f}% of pixels")
            self.list.addItem(item)
        self._refresh_rows()

    def _refresh_rows(self) -> None:
        enabled_color = self.list.palette().color(self.list.foregroundRole())
        for row, (index, _name, rgb, _share) in enumerate(self._entries):
            item = self.list.item(row)
            hidden = index in self._hidden
            item.setIcon(_swatch(rgb, hidden))
            item.setForeground(QColor(140, 140, 140) if hidden else enabled_color)
            font = item.font()
            font.setItalic(hidden)
            font.setBold(index == self._solo)
            item.setFont(font)
        shown = sum(1 for i, *_ in self._entries if i not in self._hidden)
        self.summary.setText(f"{shown}/{len(self._entries)} classes shown" if self._entries else "no classes")
