"""The mask generation report (report.json): skipped annotations by reason, pixels per class (table, bars)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cocoseg_gui.core.masks.palette import display_color
from cocoseg_gui.core.masks.report import classes_with_pixels

SKIP_LABELS = {
    "missing_segmentation": "missing segmentation",
    "empty_segmentation": "empty segmentation",
    "zero_area": "zero area",
    "degenerate_polygon": "degenerate polygon",
    "unknown_category": "unknown category",
    "unknown_image": "unknown image",
    "class_not_selected": "class not selected",
    "crowd": "crowd (skipped)",
    "below_min_area": "below min area",
}


class ClassBarChart(QWidget):
    """Horizontal bars: pixels per class (largest first), in the class colours, with the share printed."""

    def __init__(self, parent: QWidget | None = None, max_bars: int = 10) -> None:
        super().__init__(parent)
        self.max_bars = max_bars
        self.bars: list[tuple[str, int, tuple[int, int, int]]] = []  # name, pixels, colour
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(60)

    def set_bars(self, bars: Sequence[tuple[str, int, tuple[int, int, int]]]) -> None:
        self.bars = sorted(bars, key=lambda b: -b[1])[: self.max_bars]
        self.setFixedHeight(max(60, 8 + 18 * len(self.bars)))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(280, max(60, 8 + 18 * len(self.bars)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_color = self.palette().color(self.foregroundRole())
        if not self.bars:
            painter.setPen(text_color)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No report yet")
            return
        total = sum(b[1] for b in self.bars) or 1
        top = max(b[1] for b in self.bars) or 1
        label_w = min(110, self.width() // 3)
        pct_w = 52
        bar_w = max(10, self.width() - label_w - pct_w - 12)
        for i, (name, pixels, rgb) in enumerate(self.bars):
            y = 4 + 18 * i
            painter.setPen(text_color)
            painter.drawText(
                QRectF(0, y, label_w - 4, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            w = max(1.0, bar_w * pixels / top)
            painter.setPen(QColor(*rgb).darker(140))
            painter.setBrush(QColor(*rgb))
            painter.drawRect(QRectF(label_w + 2, y + 2, w, 12))
            painter.setPen(text_color)
            painter.drawText(
                QRectF(label_w + 6 + w, y, pct_w + 4, 16),
                Qt.AlignmentFlag.AlignVCenter,
                f"{100 * pixels / total:.1f}%",
            )
        painter.end()


def _table(headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSortingEnabled(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _item(value: Any, numeric: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if numeric:
        item.setData(Qt.ItemDataRole.DisplayRole, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    else:
        item.setText(str(value))
    return item


class MaskReportView(QWidget):
    """Shows a report.json dict (docs/formats.md)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Generate masks to see the report.")
        self.summary.setWordWrap(True)
        self.chart = ClassBarChart()
        self.classes_table = _table(["Class", "Pixels", "Images", "Share"])
        self.skips_table = _table(["Reason", "Count"])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.classes_table, "Pixels per class")
        self.tabs.addTab(self.skips_table, "Skipped")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart)
        layout.addWidget(self.tabs, 1)
        self.report: dict[str, Any] | None = None

    def set_report(self, report: dict[str, Any] | None) -> None:
        self.report = report
        self.classes_table.setRowCount(0)
        self.skips_table.setRowCount(0)
        if not report:
            self.summary.setText("Generate masks to see the report.")
            self.chart.set_bars([])
            return
        classes = [c for c in report.get("classes", []) if isinstance(c, dict)]
        total = sum(int(c.get("pixels", 0)) for c in classes) or 1
        self.classes_table.setRowCount(len(classes))
        for row, c in enumerate(classes):
            pixels = int(c.get("pixels", 0))
            self.classes_table.setItem(row, 0, _item(f"{c.get('index')} {c.get('name', '')}"))
            self.classes_table.setItem(row, 1, _item(pixels, numeric=True))
            self.classes_table.setItem(row, 2, _item(int(c.get("images", 0)), numeric=True))
            self.classes_table.setItem(row, 3, _item(f"{100 * pixels / total:.2f}%"))
        self.chart.set_bars(
            [
                (
                    str(c.get("name", c.get("index"))),
                    int(c.get("pixels", 0)),
                    display_color(int(c.get("index", 0))),
                )
                for c in classes
                if int(c.get("index", 0)) not in (0,) and int(c.get("pixels", 0)) > 0
            ]
        )
        rows = self._skip_rows(report)
        self.skips_table.setRowCount(len(rows))
        for row, (label, count) in enumerate(rows):
            self.skips_table.setItem(row, 0, _item(label))
            count_item = _item(count, numeric=True)
            self.skips_table.setItem(row, 1, count_item)
            if count:
                count_item.setForeground(QColor(200, 120, 0))
        skipped = sum(int(v) for v in report.get("skipped", {}).values())
        drawn = classes_with_pixels(report)
        images = len(report.get("per_image", {}))
        text = (
            f"{images} masks · {drawn} classes with pixels · {skipped} annotations skipped · "
            f"{len(report.get('images_without_annotations', []))} images without annotations"
        )
        alarm = bool(images) and not drawn  # a generation that silently produced nothing must not look fine
        if alarm:
            text = f"Warning: every mask is background only; check the classes and the skips. {text}"
        elif not images:  # a new dataset: nothing wrong, nothing labelled yet (it read "0 masks" in red)
            text = "No masks yet: label images in Edit mode (E); each saved mask is counted here."
        self.summary.setText(text)
        self.summary.setStyleSheet("QLabel { color: #8a1010; font-weight: bold; }" if alarm else "")

    @staticmethod
    def _skip_rows(report: dict[str, Any]) -> list[tuple[str, int]]:
        rows = [
            (SKIP_LABELS.get(k, k.replace("_", " ")), int(v)) for k, v in report.get("skipped", {}).items()
        ]
        rows.append(("clipped out of bounds (drawn)", int(report.get("clipped_out_of_bounds", 0))))
        rows.append(("images without annotations", len(report.get("images_without_annotations", []))))
        rows.append(("image size mismatches", len(report.get("size_mismatches", []))))
        rows.append(("unreadable images", len(report.get("unreadable_images", []))))
        rows.append(("refused image entries", len(report.get("refused_images", []))))
        return rows
