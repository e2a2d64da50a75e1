"""Panels that fit a narrow dock: splitters turn vertical below a width, grids drop to one column."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QSplitter

NARROW_PX = 900  # above the wide layouts' minimum width, so switching never oscillates


def is_narrow(width: int) -> bool:
    return width < NARROW_PX


def orient_splitter(splitter: QSplitter, narrow: bool) -> None:
    """Side by side when wide, stacked when narrow."""
    wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
    if splitter.orientation() != wanted:
        splitter.setOrientation(wanted)


def orient_box(layout: QBoxLayout, narrow: bool) -> None:
    wanted = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
    if layout.direction() != wanted:
        layout.setDirection(wanted)
