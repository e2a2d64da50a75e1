"""A searchable checklist of COCO categories (with optional image counts) and All / None buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_CAT_ROLE = Qt.ItemDataRole.UserRole + 1


class CategoryChecklist(QWidget):
    """Check categories; ``changed`` carries the checked category ids. All/None act on the shown items."""

    changed = Signal(object)  # frozenset[int]

    def __init__(self, placeholder: str = "Search categories…", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText=placeholder, clearButtonEnabled=True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.all_button = QPushButton("All")
        self.none_button = QPushButton("None")
        for b in (self.all_button, self.none_button):
            b.setAutoDefault(False)
            # as wide as their word: the style's 80 px buttons left "Filter b…" of the search at 240 px
            b.setMaximumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 28)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search, 1)
        top.addWidget(self.all_button)
        top.addWidget(self.none_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        self.search.textChanged.connect(self._apply_search)
        self.all_button.clicked.connect(lambda: self._check_shown(True))
        self.none_button.clicked.connect(lambda: self._check_shown(False))
        self.list.itemChanged.connect(lambda _item: self.changed.emit(self.checked_ids()))

    def set_categories(
        self, categories: Iterable[tuple[int, str, int | None]], checked: bool = False
    ) -> None:
        """Replace the items: (category id, name, image count or None)."""
        self.list.blockSignals(True)
        self.list.clear()
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        for cat_id, name, count in categories:
            item = QListWidgetItem(name if count is None else f"{name}  ({count})")
            item.setData(_CAT_ROLE, int(cat_id))
            item.setData(Qt.ItemDataRole.ToolTipRole, f"category id {cat_id}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(state)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._apply_search(self.search.text())
        self.changed.emit(self.checked_ids())

    def checked_ids(self) -> frozenset[int]:
        return frozenset(
            int(self.list.item(i).data(_CAT_ROLE))
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        )

    def all_ids(self) -> list[int]:
        return [int(self.list.item(i).data(_CAT_ROLE)) for i in range(self.list.count())]

    def set_checked(self, ids: Iterable[int]) -> None:
        wanted = {int(i) for i in ids}
        self._set_states(lambda item: int(item.data(_CAT_ROLE)) in wanted, shown_only=False)

    def _check_shown(self, checked: bool) -> None:
        self._set_states(lambda item: checked, shown_only=True)

    def _set_states(self, rule: Callable[[QListWidgetItem], bool], shown_only: bool) -> None:
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            if shown_only and item.isHidden():
                continue
            item.setCheckState(Qt.CheckState.Checked if rule(item) else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self.changed.emit(self.checked_ids())

    def _apply_search(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())
