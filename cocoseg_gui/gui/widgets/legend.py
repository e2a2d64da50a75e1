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
from superqt import QLabeledSlider

from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.core.project.image_view_state import ClassVisibility, ImageViewState

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
    and a soloed class stays the only one shown. After ``observe(state)`` the rows follow the state's
    label map and the gestures change the state's ``ClassVisibility`` (core.image_view_state) instead of
    the legend's own; ``hidden_changed`` is emitted either way.
    """

    hidden_changed = Signal(set)
    class_picked = Signal(int)  # a click in pick mode (the mask editor): the class to paint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: list[LegendEntry] = []
        self._visibility = ClassVisibility()
        self._state: ImageViewState | None = None
        self._before_click: tuple[int, ClassVisibility] | None = None  # undone by a double click
        self.pick_mode = False  # Edit mode: a plain click picks the class instead of hiding it

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

        # the overlay's opacity where its colours are listed: a labelled slider (the [ ] keys step it)
        self.opacity_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity in % ([ and ] step it by 10)")
        self.opacity_slider.valueChanged.connect(self._on_opacity)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_all_button)
        opacity = QHBoxLayout()
        opacity.setContentsMargins(0, 0, 0, 0)
        opacity.addWidget(QLabel("Opacity %"))
        opacity.addWidget(self.opacity_slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(opacity)
        layout.addWidget(self.list, 1)

    # --------------------------------------------------------------------------------------------- state
    def observe(self, state: ImageViewState) -> None:
        """List the classes of ``state``'s label map and make the gestures change its visibility."""
        self._state = state
        unsubscribe = [
            state.image_changed.subscribe(lambda _event: self._show_labels()),
            state.labels_changed.subscribe(lambda _event: self._show_labels()),
            state.display_changed.subscribe(lambda event: self._show_visibility(event.new.visibility)),
            state.display_changed.subscribe(lambda event: self._show_opacity(event.new.opacity)),
        ]
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self._show_visibility(state.display.visibility)
        self._show_opacity(state.display.opacity)
        self._show_labels()

    def _show_opacity(self, opacity: float) -> None:
        self.opacity_slider.blockSignals(True)  # the state's value shown, not sent back
        try:
            self.opacity_slider.setValue(round(opacity * 100))
        finally:
            self.opacity_slider.blockSignals(False)

    def _on_opacity(self, percent: int) -> None:
        if self._state is not None:
            self._state.set_opacity(percent / 100)

    def _show_labels(self) -> None:
        labels = self._state.labels if self._state is not None else None
        if labels is None:
            self.set_classes([])
        else:
            self.set_classes(legend_entries(labels.array, labels.names, labels.colors))

    # ---------------------------------------------------------------------------------------------- data
    def set_classes(self, entries: Iterable[LegendEntry]) -> None:
        """Rows (index, name, (r, g, b), share 0..1), shown sorted by decreasing share, then index."""
        before = self.hidden()
        self._entries = sorted(
            ((int(i), str(n), (int(rgb[0]), int(rgb[1]), int(rgb[2])), float(s)) for i, n, rgb, s in entries),
            key=lambda e: (-e[3], e[0]),
        )
        self._rebuild()
        if self.hidden() != before:  # soloed: a class new on this image is hidden too
            self.hidden_changed.emit(self.hidden())

    def entries(self) -> list[LegendEntry]:
        """The rows in display order."""
        return list(self._entries)

    def row_texts(self) -> list[str]:
        return [self.list.item(r).text() for r in range(self.list.count())]

    def hidden(self) -> set[int]:
        """The listed classes not drawn (with the hidden ones not listed): all but the soloed one."""
        vis = self._visibility
        if vis.solo is None:
            return set(vis.hidden)
        return ({i for i, *_ in self._entries} | vis.hidden) - {vis.solo}

    def set_hidden(self, hidden: Iterable[int]) -> None:
        """Set the hidden classes programmatically (emits hidden_changed when it changes)."""
        self._change(ClassVisibility(frozenset(int(i) for i in hidden)))

    def solo_class(self) -> int | None:
        """The class currently soloed, or None."""
        return self._visibility.solo

    # ------------------------------------------------------------------------------------------ gestures
    def toggle(self, index: int) -> None:
        """Hide a shown class or show a hidden one."""
        self._change(self._visibility.toggled(index, (i for i, *_ in self._entries)))

    def solo(self, index: int) -> None:
        """Show only ``index``; soloing the soloed class again restores the hidden set from before."""
        self._change(self._visibility.soloed(index))

    def show_all(self) -> None:
        self._change(ClassVisibility())

    def _on_click(self, index: int, solo: bool) -> None:
        if self.pick_mode and not solo:
            self.class_picked.emit(index)
            return
        if solo:
            self._before_click = None
            self.solo(index)
        else:
            self._before_click = (index, self._visibility)
            self.toggle(index)

    def _on_double_click(self, index: int) -> None:
        before = self._before_click
        self._before_click = None
        if before is not None and before[0] == index:  # the first click of the double click toggled it
            self._change(before[1].soloed(index))
        else:
            self.solo(index)

    def _change(self, visibility: ClassVisibility) -> None:
        if self._state is not None:
            self._state.set_visibility(visibility)  # comes back through display_changed
        else:
            self._show_visibility(visibility)

    def _show_visibility(self, visibility: ClassVisibility) -> None:
        before = self.hidden()
        self._visibility = visibility
        self._refresh_rows()
        if self.hidden() != before:
            self.hidden_changed.emit(self.hidden())

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
        hidden_now = self.hidden()
        for row, (index, _name, rgb, _share) in enumerate(self._entries):
            item = self.list.item(row)
            hidden = index in hidden_now
            item.setIcon(_swatch(rgb, hidden))
            item.setForeground(QColor(140, 140, 140) if hidden else enabled_color)
            font = item.font()
            font.setItalic(hidden)
            font.setBold(index == self._visibility.solo)
            item.setFont(font)
        shown = sum(1 for i, *_ in self._entries if i not in hidden_now)
        self.summary.setText(f"{shown}/{len(self._entries)} classes shown" if self._entries else "no classes")
