"""A one-line label that shortens its text with "…" in the middle to fit, the full text in its tooltip.

For the status bar and for paths: at 1024 px wide a long dataset summary or run folder would otherwise
push its neighbours off the window or widen a dock; the middle goes first so both the start (what) and the
end (file name) stay readable.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

MIN_CHARS = 8  # the least it shrinks to: a few characters around the "…"


class ElidedLabel(QLabel):
    """``text()`` is the full text; what is painted is elided in the middle to the label's width.

    The tooltip follows the text unless set explicitly with ``setToolTip`` after ``setText``. ``max_width``
    caps the width it asks for (in a status bar: room left for the temporary message); ``max_share`` lets
    the cap grow with the window (a share of its width), so a wide window shows the whole text.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        max_width: int | None = None,
        max_share: float = 0.0,
    ) -> None:
        super().__init__(parent)
        self.max_width = max_width
        self.max_share = max_share
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()

    def shown_text(self) -> str:
        """The text as painted now (elided when the label is narrower than the text)."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, max(width, 0))

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.max_width is not None:
            cap = max(self.max_width, int(self.window().width() * self.max_share))
            hint.setWidth(min(hint.width(), cap))
        return hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        least = self.fontMetrics().horizontalAdvance("x" * MIN_CHARS + "…")
        margins = self.contentsMargins()
        return QSize(min(hint.width(), least + margins.left() + margins.right()), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        flags = self.alignment() | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(self.contentsRect(), flags, self.shown_text())


class ElidingStatusBar(QStatusBar):
    """A status bar whose temporary message is elided in the middle where the permanent widgets begin
    (Qt cuts it off mid-word there); the full message is ``currentMessage()`` and the bar's tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.messageChanged.connect(self.setToolTip)

    def message_width(self) -> int:
        """Pixels the temporary message may use: up to the first visible permanent widget."""
        children = self.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
        left = [w.x() for w in children if w.isVisible()]
        right = min([x for x in left if x > 0], default=self.width())
        layout = self.layout()
        margin = layout.contentsMargins().left() if layout is not None else 0
        return max(right - 2 * margin - 8, 0)

    def shown_message(self) -> str:
        return self.fontMetrics().elidedText(
            self.currentMessage(), Qt.TextElideMode.ElideMiddle, self.message_width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.currentMessage():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.rect().adjusted(6, 0, 0, 0)
        rect.setWidth(self.message_width())
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.shown_message()
        )
