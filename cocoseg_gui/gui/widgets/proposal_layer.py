"""ProposalLayer: a model's proposal drawn over the image in its own item, and the box / stroke being
drawn to accept part of it.

The proposal is at mask resolution (like the label map) and scaled onto the image's pixels; it shows
either its classes (the mask folder's colours, dashed-looking by a lower alpha than the mask) or the
per-pixel confidence as a heat image (core.proposals.confidence_view). Nothing here edits anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene

from cocoseg_gui.core.proposals.confidence_view import confidence_rgba
from cocoseg_gui.core.proposals.proposal import NOT_PROPOSED_VALUE, ConfidenceKind, Proposal
from cocoseg_gui.gui.widgets.qimage_utils import mask_to_argb, overlay_lut

Z_LAYER = 1.5  # above the mask overlay (1), below outlines (2) and the cursors
PROPOSAL_ALPHA = 0.55


class ProposalLayer:
    """A pixmap item for the proposal, a rectangle for the accept box, a wide path for the accept stroke."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(Z_LAYER)
        self.item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.item.setVisible(False)
        scene.addItem(self.item)
        pen = QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.box_item = QGraphicsRectItem()
        self.box_item.setPen(pen)
        self.box_item.setZValue(13)
        self.box_item.setVisible(False)
        scene.addItem(self.box_item)
        self.stroke_item = QGraphicsPathItem()
        self.stroke_item.setZValue(13)
        self.stroke_item.setVisible(False)
        scene.addItem(self.stroke_item)
        self.image: QImage | None = None  # what is shown (tests read its pixels)

    @property
    def visible(self) -> bool:
        return self.item.isVisible()

    def show(
        self,
        proposal: Proposal,
        colors: np.ndarray,
        image_size: tuple[int, int],
        confidence: ConfidenceKind | None = None,
    ) -> None:
        """Draw ``proposal`` (mask pixels) over an image of ``image_size`` (width, height)."""
        if confidence is not None:
            rgba = np.ascontiguousarray(confidence_rgba(proposal, confidence))
            h, w = rgba.shape[:2]
            image = QImage(rgba.data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()
        else:
            lut = overlay_lut(colors, PROPOSAL_ALPHA, show_background=False)
            lut[NOT_PROPOSED_VALUE] = 0
            image = mask_to_argb(proposal.file_labels(), lut)
        self.image = image
        self.item.setPixmap(QPixmap.fromImage(image))
        mh, mw = proposal.shape
        self.item.setTransform(QTransform.fromScale(image_size[0] / mw, image_size[1] / mh))
        self.item.setVisible(True)

    def hide(self) -> None:
        self.item.setVisible(False)
        self.image = None
        self.set_box(None)
        self.set_stroke(())

    def set_box(self, rect: QRectF | None) -> None:
        """The box being dragged, in image (scene) pixels; None hides it."""
        self.box_item.setVisible(rect is not None)
        if rect is not None:
            self.box_item.setRect(rect.normalized())

    def set_stroke(self, points: Sequence[QPointF], width: float = 1.0) -> None:
        """The stroke being painted (scene pixels) as a translucent band ``width`` pixels wide."""
        if not points:
            self.stroke_item.setVisible(False)
            return
        path = QPainterPath(points[0])
        for p in points[1:]:
            path.lineTo(p)
        pen = QPen(QColor(255, 255, 255, 110), max(1.0, width))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self.stroke_item.setPen(pen)
        self.stroke_item.setPath(path)
        self.stroke_item.setVisible(True)
