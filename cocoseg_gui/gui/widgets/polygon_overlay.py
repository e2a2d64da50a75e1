"""PolygonOverlay: the open polygon / lasso drawn over the image while its vertices are placed.

Vertices arrive in mask pixels and are drawn at their pixel centres scaled to the scene's image pixels
(the mask may be smaller than its image), with a rubber-band segment to the pointer. Like the brush
cursor it is a dark halo under a white cosmetic line, visible on any image at any zoom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsScene

from cocoseg_gui.gui.widgets.brush_cursor import HaloOutline

Point = Sequence[float]  # (x, y) in mask pixels, as the editor's


class PolygonOverlay(HaloOutline):
    """Two path items (halo + line) in ``scene``; empty (hidden) without vertices."""

    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene, z=12)

    def show(
        self, vertices: Sequence[Point], pointer: Point | None, scale_x: float = 1.0, scale_y: float = 1.0
    ) -> None:
        """Draw ``vertices`` (mask pixels) and a segment to ``pointer``; ``scale_*``: image px per mask px."""
        if not vertices:
            self.hide()
            return

        def centre(p: Point) -> QPointF:
            return QPointF((math.floor(p[0]) + 0.5) * scale_x, (math.floor(p[1]) + 0.5) * scale_y)

        path = QPainterPath(centre(vertices[0]))
        for v in vertices[1:]:
            path.lineTo(centre(v))
        if pointer is not None:
            path.lineTo(centre(pointer))
        for item in self.items:
            item.setPath(path)
            item.setVisible(True)
