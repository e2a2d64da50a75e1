"""The dataset browser dock: filters (name, presence, categories), sorting, and the thumbnail list."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QLabeledDoubleRangeSlider

from cocoseg_gui.gui.widgets.browser.category_checklist import CategoryChecklist
from cocoseg_gui.gui.widgets.browser.filtering import (
    RANKINGS,
    BrowserQuery,
    ImageTable,
    Presence,
    SortKey,
)
from cocoseg_gui.gui.widgets.browser.image_list_model import ImageListModel
from cocoseg_gui.gui.widgets.browser.thumbnails import ThumbnailLoader, thumb_box

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a thumbnail centred in its box with the elided file name under it."""

    PAD = 4

    def __init__(self, box: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = box

    def cell_size(self, text_height: int) -> QSize:
        return QSize(self.box.width() + 2 * self.PAD, self.box.height() + text_height + 3 * self.PAD)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size(option.fontMetrics.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.fillRect(rect, palette.highlight())
        pix = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pix, QPixmap) and not pix.isNull():
            x = rect.x() + (rect.width() - pix.width()) // 2
            y = rect.y() + self.PAD + (self.box.height() - pix.height()) // 2
            painter.drawPixmap(x, y, pix)
        text_rect = QRect(
            rect.x() + 2,
            rect.y() + self.box.height() + 2 * self.PAD,
            rect.width() - 4,
            option.fontMetrics.height(),
        )
        text = option.fontMetrics.elidedText(
            str(index.data() or ""), Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class ThumbnailView(QListView):
    """A wrapping grid of thumbnails in list mode (uniform sizes: no per-item layout on 118k rows)."""

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        w, h = thumb_box(thumb_size)
        self.setIconSize(QSize(w, h))
        delegate = ThumbnailDelegate(QSize(w, h), self)
        self.setItemDelegate(delegate)
        self.setGridSize(delegate.cell_size(self.fontMetrics().height()))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMovement(QListView.Movement.Static)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalScrollBar().setSingleStep(24)

    def repaint_rows(self, first: int, last: int) -> None:
        """Repaint the visible cells of rows ``first..last`` (cheap, unlike ``dataChanged``)."""
        top = self.indexAt(self.viewport().rect().topLeft())
        grid, size = self.gridSize(), self.viewport().size()
        per_page = (size.width() // max(1, grid.width()) + 1) * (size.height() // max(1, grid.height()) + 2)
        first_visible = top.row() if top.isValid() else 0
        lo, hi = max(first, first_visible), min(last, first_visible + per_page)
        region = QRect()
        for row in range(lo, hi + 1):
            region = region.united(self.visualRect(self.model().index(row, 0)))
        if not region.isEmpty():
            self.viewport().update(region)


class DatasetBrowser(QWidget):
    image_selected = Signal(int)  # image id
    rows_changed = Signal(int, int)  # shown, total

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = ThumbnailLoader(parent=self)
        self.model = ImageListModel(self.loader, self)
        self.table: ImageTable | None = None
        self._edited: frozenset[str] = frozenset()  # edited.json's image names, kept across set_dataset
        self._unsaved: frozenset[str] = frozenset()  # images with unsaved editor edits
        self._rankings: dict[SortKey, dict[str, float]] = {}  # RANKINGS' scores by file name, kept too

        self.name_filter = QLineEdit(placeholderText="Filter by file name…", clearButtonEnabled=True)
        self.presence = QComboBox()
        for p in Presence:
            self.presence.addItem(p.value.capitalize() if p is not Presence.ALL else "All images", p.value)
        self.sort = QComboBox()
        for key, label in (
            (SortKey.FILE, "Sort: file order"),
            (SortKey.NAME, "Sort: name"),
            (SortKey.ID, "Sort: id"),
            (SortKey.ANNOTATIONS, "Sort: annotations"),
        ):
            self.sort.addItem(label, key.value)
        for combo in (self.presence, self.sort):  # their longest entry ("most suspicious first") set the
            # dock's minimum at ~330 px, a third of a 1024 px window: they shrink, eliding their text
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        self.descending = QToolButton()
        self.descending.setCheckable(True)
        self._show_sort_direction(False)
        self.count_label = QLabel("No dataset")
        self.view = ThumbnailView(self.loader.size)
        self.view.setModel(self.model)
        self.model.thumbnails_arrived.connect(self.view.repaint_rows)
        self.categories = CategoryChecklist("Filter by category…")
        self.categories.setToolTip("Show images containing any checked category (none checked: no filter)")

        row = QHBoxLayout()
        row.addWidget(self.presence, 1)
        row.addWidget(self.sort, 1)
        row.addWidget(self.descending)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.name_filter)
        top_layout.addLayout(row)
        top_layout.addWidget(self._build_ranges())
        top_layout.addWidget(self.count_label)
        top_layout.addWidget(self.view, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.categories)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self._debounce = QTimer(self, singleShot=True, interval=120)
        self._debounce.timeout.connect(self.refresh)
        self.name_filter.textChanged.connect(lambda _t: self._debounce.start())
        self.presence.currentIndexChanged.connect(lambda _i: self.refresh())
        self.sort.currentIndexChanged.connect(lambda _i: self._reset_ranges())  # first: slots run in order
        self.sort.currentIndexChanged.connect(lambda _i: self.refresh())
        self.descending.toggled.connect(self._show_sort_direction)
        self.descending.toggled.connect(lambda _c: self.refresh())
        self.categories.changed.connect(lambda _ids: self.refresh())
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)

    def _build_ranges(self) -> QCollapsible:
        """Range sliders (folded away until wanted): object size, and the ranking score when sorted by
        one (e.g. only the images whose likely-error score lies between two values)."""
        self.size_range = _range_slider("Objects whose √area (px) lies in this range")
        self.score_range = _range_slider("Images whose score (the sort's ranking) lies in this range", 2)
        self.ranges = QCollapsible("Object size, score")
        self.ranges.setDuration(0)
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Size", self.size_range)
        form.addRow("Score", self.score_range)
        self.ranges.addWidget(box)
        _no_margins(self.ranges)
        for slider in (self.size_range, self.score_range):
            slider.valueChanged.connect(lambda _v: self._debounce.start())
        self._reset_ranges()
        return self.ranges

    def _reset_ranges(self) -> None:
        """The sliders span the open dataset's object sizes and the sort's scores, all kept."""
        top = self.table.max_object_size() if self.table is not None else 0.0
        scores = self.table.scores.get(SortKey(self.sort.currentData())) if self.table is not None else None
        finite = scores[np.isfinite(scores)] if scores is not None else np.zeros(0)
        high = float(finite.max()) if len(finite) else 0.0
        for slider, (low, up) in (
            (self.size_range, (0.0, float(np.ceil(top)))),
            (self.score_range, (0.0, high)),
        ):
            slider.blockSignals(True)
            up = up if up > low else 1.0  # nothing to span (no ranking, no object): a plain 0..1
            slider.setRange(low, up)  # type: ignore[arg-type]  # superqt: its double slider inherits (int, int)
            slider.setValue((low, up))
            slider.blockSignals(False)
        self.size_range.setEnabled(top > 0)
        self.score_range.setEnabled(len(finite) > 0)

    @staticmethod
    def _narrowed(slider: QLabeledDoubleRangeSlider) -> tuple[float, float] | None:
        low, high = slider.value()
        return None if (low, high) == (slider.minimum(), slider.maximum()) else (low, high)

    def _show_sort_direction(self, descending: bool) -> None:
        """The arrow says the order shown now; the tooltip says what a click does."""
        self.descending.setText("↓" if descending else "↑")
        now, other = ("Descending", "ascending") if descending else ("Ascending", "descending")
        self.descending.setToolTip(f"{now} order (click for {other})")

    # -- dataset
    def set_dataset(
        self, index: CocoIndex | None, images_dir: Path | None, masked_names: AbstractSet[str] | None
    ) -> None:
        self.table = ImageTable(index) if index is not None else None
        if self.table is not None:
            self.table.set_masked_names(masked_names)
            self.table.set_edited_names(self._edited)
            self.table.set_unsaved_names(self._unsaved)
            for key, scores in self._rankings.items():
                self.table.set_scores(key, scores)
        self.model.set_table(self.table, images_dir)
        if index is not None:
            counts = _category_counts(index)
            self.categories.set_categories((c.id, c.name, counts.get(c.id, 0)) for c in index.categories)
        else:
            self.categories.set_categories([])
        self._reset_ranges()
        self.refresh()

    def set_masked_names(self, names: AbstractSet[str] | None) -> None:
        if self.table is None:
            return
        self.table.set_masked_names(names)
        if self.query().presence in (Presence.WITH_MASK, Presence.WITHOUT_MASK):
            self.refresh()
        else:
            self.view.viewport().update()

    def set_edited_names(self, names: set[str] | frozenset[str] | None) -> None:
        """The images saved from the mask editor: marked in the list, kept by the "Edited" filter."""
        self._edited = frozenset(names or ())
        if self.table is None:
            return
        self.table.set_edited_names(self._edited)
        if self.query().presence is Presence.EDITED:
            self.refresh()
        else:
            self.view.viewport().update()

    def is_edited(self, file_name: str) -> bool:
        """Saved from the mask editor (edited.json): its annotations' outlines no longer fit its mask."""
        return file_name in self._edited

    def set_unsaved_names(self, names: Iterable[str] | None) -> None:
        """The images with unsaved edits in the mask editor: "*" before the name, like the title."""
        names = frozenset(names or ())
        if names == self._unsaved:
            return  # most editor changes (a stroke, an undo) leave the set as it was
        self._unsaved = names
        if self.table is not None:
            self.table.set_unsaved_names(self._unsaved)
            self.view.viewport().update()

    def set_ranking(self, key: SortKey, scores: dict[str, float] | None, select: bool = False) -> None:
        """A ranking's scores by file name (higher first; None: gone): its sort entry appears in the
        sort box while it has scores; ``select`` sorts by it now."""
        assert key in RANKINGS
        if scores:
            self._rankings[key] = dict(scores)
        else:
            self._rankings.pop(key, None)
        if self.table is not None:
            self.table.set_scores(key, scores)
        row = self.sort.findData(key.value)
        label = "Sort: most suspicious first" if key is SortKey.SUSPICIOUS else "Sort: most uncertain first"
        self.sort.blockSignals(True)
        if scores and row < 0:
            self.sort.addItem(label, key.value)
            row = self.sort.count() - 1
            tip = (
                "Likely label errors (Tools › Find likely label errors…)"
                if key is SortKey.SUSPICIOUS
                else "Images the model is least sure about: label these next (Tools › Rank by uncertainty…)"
            )
            self.sort.setItemData(row, tip, Qt.ItemDataRole.ToolTipRole)
        elif not scores and row >= 0:
            if self.sort.currentIndex() == row:
                self.sort.setCurrentIndex(0)
            self.sort.removeItem(row)
        if select and scores:
            self.descending.blockSignals(True)
            self.descending.setChecked(False)
            self._show_sort_direction(False)
            self.descending.blockSignals(False)
            self.sort.setCurrentIndex(row)
        self.sort.blockSignals(False)
        self._reset_ranges()
        self.refresh()
        if select and scores:
            self.select_row(0)  # the most suspicious (uncertain) image

    # -- filtering
    def query(self) -> BrowserQuery:
        return BrowserQuery(
            categories=self.categories.checked_ids(),
            name_contains=self.name_filter.text(),
            presence=Presence(self.presence.currentData()),
            sort=SortKey(self.sort.currentData()),
            descending=self.descending.isChecked(),
            size_range=self._narrowed(self.size_range),
            score_range=self._narrowed(self.score_range) if self.score_range.isEnabled() else None,
        )

    def refresh(self) -> None:
        """Re-run the query; keep the current image if it is still shown, else show the first."""
        self._debounce.stop()
        current = self.current_image_id()
        if self.table is None:
            self.model.set_rows(np.zeros(0, dtype=np.int64))  # no rows
            self.count_label.setText("No dataset")
            self.rows_changed.emit(0, 0)
            return
        query = self.query()
        narrowed = query.size_range is not None or query.score_range is not None
        self.ranges.setText("Object size, score · filtering" if narrowed else "Object size, score")
        self.model.set_rows(self.table.query(query))
        shown, total = self.model.rowCount(), len(self.table)
        self.count_label.setText(f"{shown} of {total} images")
        self.rows_changed.emit(shown, total)
        row = self.model.row_of_image(current) if current is not None else None
        if row is None and shown:
            row = 0
        if row is not None:
            self.select_row(row)

    # -- selection
    def current_image_id(self) -> int | None:
        idx = self.view.currentIndex()
        return self.model.image_id_at(idx.row()) if idx.isValid() else None

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        idx = self.model.index(row)
        self.view.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(idx)

    def select_image(self, image_id: int) -> bool:
        """Show ``image_id`` (clearing filters if they hide it); False if not in the dataset."""
        row = self.model.row_of_image(image_id)
        if row is None and self.table is not None and self.table.position_of(image_id) is not None:
            self.clear_filters()
            row = self.model.row_of_image(image_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def step(self, delta: int) -> None:
        """Move the selection ``delta`` rows (next/previous image)."""
        idx = self.view.currentIndex()
        row = idx.row() + delta if idx.isValid() else 0
        self.select_row(max(0, min(self.model.rowCount() - 1, row)))

    def clear_filters(self) -> None:
        for w in (self.name_filter, self.presence, self.categories):
            w.blockSignals(True)
        self.name_filter.clear()
        self.presence.setCurrentIndex(0)
        self.categories.set_checked([])
        for w in (self.name_filter, self.presence, self.categories):
            w.blockSignals(False)
        self.refresh()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.image_selected.emit(self.model.image_id_at(current.row()))

    def shutdown(self) -> None:
        self.loader.shutdown()


def _no_margins(widget: QWidget) -> None:
    layout = widget.layout()
    if layout is not None:
        layout.setContentsMargins(0, 0, 0, 0)


def _range_slider(tip: str, decimals: int = 0) -> QLabeledDoubleRangeSlider:
    slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
    slider.setDecimals(decimals)
    # the low and high values at the ends (editable), none under the handles (clipped at the dock's edge)
    slider.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
    slider.setHandleLabelPosition(QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
    slider.setToolTip(tip)
    return slider


def _category_counts(index: CocoIndex) -> dict[int, int]:
    """Images per category id, whatever shape the index returns (dict or array aligned with categories)."""
    counts = index.category_image_counts()
    if isinstance(counts, dict):
        return {int(k): int(v) for k, v in counts.items()}
    return {c.id: int(n) for c, n in zip(index.categories, counts)}
