"""IssueOutline: the shown image's likely label errors outlined in the viewer (regions of
core.quality), each a box in the brush cursor's halo style, its score in a tooltip.

Regions arrive in mask pixels and are drawn around their pixels scaled to the scene's image pixels (the
mask may be smaller than its image), like the brush cursor and the polygon overlay.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsScene

from cocoseg_gui.core.quality.regions import IssueRegion
from cocoseg_gui.gui.widgets.brush_cursor import HaloOutline


class IssueOutline(HaloOutline):
    """Two path items (halo + line) in ``scene`` holding every region's box; hidden without regions."""

    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene, z=8)  # under the brush cursor (10) and the polygon (12)
        self.regions: tuple[IssueRegion, ...] = ()

    def show(
        self,
        regions: Sequence[IssueRegion],
        class_names: Sequence[str],
        scale_x: float = 1.0,
        scale_y: float = 1.0,
    ) -> None:
        """Outline ``regions`` (mask pixels); ``scale_*``: image pixels per mask pixel."""
        self.regions = tuple(regions)
        if not self.regions:
            self.hide()
            return
        path = QPainterPath()
        lines = []
        for r in self.regions:
            path.addRect(QRectF(r.x * scale_x, r.y * scale_y, r.width * scale_x, r.height * scale_y))
            given, predicted = _name(class_names, r.given), _name(class_names, r.predicted)
            lines.append(f"{given} → model says {predicted}: {r.area} px, score {r.score:.2f}")
        tip = "Likely label errors\n" + "\n".join(lines[:8]) + ("\n…" if len(lines) > 8 else "")
        self.show_path(path, tip)


def _name(names: Sequence[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)
