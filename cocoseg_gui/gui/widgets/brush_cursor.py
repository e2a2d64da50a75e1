"""BrushCursor: the brush's exact footprint drawn over the image at any zoom (what you see is painted).

The outline comes from ``core.editing.footprint.footprint_outline`` (pixel edges of the tip), scaled
from mask pixels to the scene's image pixels, so on a mask smaller than its image the cursor covers
the image pixels the mask pixels will colour. A dark halo under a white line keeps it visible on any
image; cosmetic pens keep the line one screen pixel wide whatever the zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from cocoseg_gui.core.editing.footprint import Tip, footprint_outline


def halo_path_items(scene: QGraphicsScene, z: float) -> list[QGraphicsPathItem]:
    """A dark halo and a white line (cosmetic pens: the same width at any zoom), hidden, at ``z`` and up:
    an outline readable over any image and mask colour."""
    items: list[QGraphicsPathItem] = []
    for k, (color, width) in enumerate(((QColor(0, 0, 0, 170), 3.0), (QColor(255, 255, 255), 1.0))):
        item = QGraphicsPathItem()
        pen = QPen(color, width)
        pen.setCosmetic(True)
        item.setPen(pen)
        item.setZValue(z + k)
        item.setVisible(False)
        scene.addItem(item)
        items.append(item)
    return items


class HaloOutline:
    """A path drawn as halo + line (``halo_path_items``): hide it, ask if it shows, read its path."""

    def __init__(self, scene: QGraphicsScene, z: float) -> None:
        self.items = halo_path_items(scene, z)

    def hide(self) -> None:
        for item in self.items:
            item.setVisible(False)

    def show_path(self, path: QPainterPath, tooltip: str | None = None) -> None:
        """Draw ``path`` (scene coordinates); an empty path hides the outline."""
        if path.isEmpty():
            self.hide()
            return
        for item in self.items:
            item.setPath(path)
            if tooltip is not None:
                item.setToolTip(tooltip)
            item.setVisible(True)

    def visible(self) -> bool:
        return self.items[1].isVisible()

    def path(self) -> QPainterPath:
        return self.items[1].path()


class BrushCursor(HaloOutline):
    """Two path items (halo + line) in ``scene``; hidden until ``move_to``."""

    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene, z=10)
        self._key: tuple[int, Tip, float, float] | None = None
        self._scale = (1.0, 1.0)

    def set_shape(self, radius: int, tip: Tip, scale_x: float = 1.0, scale_y: float = 1.0) -> None:
        """The footprint of ``radius``/``tip``; ``scale_*``: image pixels per mask pixel."""
        key = (int(radius), Tip(tip), float(scale_x), float(scale_y))
        if key == self._key:
            return
        self._key, self._scale = key, (float(scale_x), float(scale_y))
        path = QPainterPath()
        for (x0, y0), (x1, y1) in footprint_outline(int(radius), Tip(tip)).tolist():
            path.moveTo(x0 * scale_x, y0 * scale_y)
            path.lineTo(x1 * scale_x, y1 * scale_y)
        for item in self.items:
            item.setPath(path)

    def move_to(self, mask_x: int, mask_y: int) -> None:
        """Centre the outline on mask pixel (x, y)."""
        sx, sy = self._scale
        pos = QPointF((mask_x + 0.5) * sx, (mask_y + 0.5) * sy)
        for item in self.items:
            item.setPos(pos)
            item.setVisible(True)
