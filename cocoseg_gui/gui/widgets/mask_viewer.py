"""MaskViewer: an image with a class-mask overlay and outlines; zoom around the cursor, pan, hover readout."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QWidget,
)

from cocoseg_gui.core.masks.box import Box
from cocoseg_gui.core.masks.label_map import LabelsChanged
from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.core.project.image_view_state import DisplayOptions, ImageChanged, ImageViewState
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.widgets.qimage_utils import (
    mask_to_argb_view,
    overlay_lut,
    resize_nearest,
    rgb_to_qimage,
    scaled_span,
)

ViewState = tuple[float, QPointF]

MIN_SCALE = 0.02
MAX_SCALE = 64.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch (120 eighths of a degree)


class MaskViewer(QGraphicsView):
    """Shows an RGB image, a class mask drawn over it and optional instance outlines.

    Coordinates in signals and ``class_at`` are image pixels (scene units). The overlay is a single ARGB32
    pixmap built from the mask through a 256-entry lookup table; its opacity is the item's opacity, so
    moving an opacity slider never rebuilds it.
    """

    hovered = Signal(int, int, int)  # image x, y, class under cursor (class -1 outside image / no mask)
    view_changed = Signal()  # zoom or pan changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_item = QGraphicsPixmapItem()
        self._overlay_item = QGraphicsPixmapItem()
        self._image_item.setZValue(0)
        self._overlay_item.setZValue(1)
        self._image_item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._overlay_item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._scene.addItem(self._image_item)
        self._scene.addItem(self._overlay_item)
        self._outline_items: list[tuple[int, QGraphicsPathItem]] = []
        self._marker_items: list[QGraphicsPathItem] = []  # a white crosshair on a dark halo
        for z, (color, width) in enumerate(((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.0))):
            item = QGraphicsPathItem()
            pen = QPen(color, width)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(3 + z)
            item.setVisible(False)
            self._scene.addItem(item)
            self._marker_items.append(item)

        self._image_size: tuple[int, int] | None = None  # (w, h) of the image, or of the mask without image
        self._mask: np.ndarray | None = None  # display mask, already at the image size
        self._colors: np.ndarray = display_palette()
        self._names: dict[int, str] = {}
        self._hidden: frozenset[int] = frozenset()
        self._opacity = 0.5
        self._overlay_visible = True
        self._outlines_visible = True
        self._show_background = False
        self._auto_fit = True  # fit on resize until the user zooms
        self._applying_state = False
        self._pan_origin: QPoint | None = None
        self._left_button_pans = True

        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setBackgroundBrush(QBrush(QColor(48, 48, 48)))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self._overlay_item.setOpacity(self._opacity)
        self.horizontalScrollBar().valueChanged.connect(self._emit_view_changed)
        self.verticalScrollBar().valueChanged.connect(self._emit_view_changed)
        self._update_smoothing()
        # why nothing is shown (an image that cannot be read), centred over the empty view
        self._message = QLabel(self.viewport())
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setStyleSheet("color: #f0f0f0; background: transparent; padding: 24px;")
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message.hide()

    # ----------------------------------------------------------------------------------------- content
    def set_message(self, text: str) -> None:
        """Show ``text`` over the view (e.g. why an image cannot be shown); "" hides it."""
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self._message.setGeometry(self.viewport().rect())

    def message(self) -> str:
        return self._message.text() if self._message.isVisible() else ""

    def set_image(self, rgb: np.ndarray | QImage | None) -> None:
        """Show an HxWx3 uint8 RGB array (or a QImage); None clears it. Fits the view on the first image."""
        if rgb is None:
            self._image_item.setPixmap(QPixmap())
            size = None if self._mask is None else (self._mask.shape[1], self._mask.shape[0])
        else:
            qimg = rgb if isinstance(rgb, QImage) else rgb_to_qimage(rgb)
            self._image_item.setPixmap(QPixmap.fromImage(qimg))
            size = (qimg.width(), qimg.height())
        self._set_content_size(size)
        if self._mask is not None and size is not None and (self._mask.shape[1], self._mask.shape[0]) != size:
            self._mask = resize_nearest(self._mask, size[1], size[0])
        self._rebuild_overlay()

    def set_mask(
        self,
        mask: np.ndarray | None,
        colors: np.ndarray | None = None,
        names: Mapping[int, str] | None = None,
    ) -> None:
        """The one way to show a class map: an HxW uint8 mask (255 = ignore) coloured by ``colors`` (256x3,
        lifted VOC default) and named by ``names`` (class index -> name, for the hover readout; None keeps
        the names given with an earlier map, so a map of the same classes need not repeat them).

        A mask whose size differs from the image's is scaled to it (nearest neighbour) for display.
        """
        if names is not None:
            self._names = dict(names)
        if colors is not None:
            colors = np.asarray(colors, dtype=np.uint8)
            if colors.shape != (256, 3):
                raise ValueError(f"colors must be 256x3, got shape {colors.shape}")
            self._colors = colors
        else:
            self._colors = display_palette()
        if mask is None:
            self._mask = None
        else:
            m = np.asarray(mask)
            if m.ndim != 2:
                raise ValueError(f"expected an HxW class mask, got shape {m.shape}")
            if m.dtype != np.uint8:
                m = m.astype(np.uint8)
            if self._image_item.pixmap().isNull():
                self._set_content_size((m.shape[1], m.shape[0]))
            elif self._image_size is not None:
                m = resize_nearest(m, self._image_size[1], self._image_size[0])
            self._mask = m.copy() if m is mask or not m.flags.writeable else m  # ours: box updates
        self._rebuild_overlay()

    def update_mask_box(self, mask: np.ndarray, box: Box) -> None:
        """Redraw only ``box`` (in ``mask``'s pixels) of the overlay from ``mask``, the whole class map
        at its own resolution: an edit costs its box, not the image (outlines are not redrawn)."""
        if self._mask is None:
            self.set_mask(mask, self._colors)
            return
        (mh, mw), (dh, dw) = mask.shape, self._mask.shape
        rows, src_rows = scaled_span(box.top, box.bottom, mh, dh)
        cols, src_cols = scaled_span(box.left, box.right, mw, dw)
        if not src_rows.size or not src_cols.size:
            return
        patch = np.ascontiguousarray(np.asarray(mask)[src_rows[:, None], src_cols[None, :]])
        self._mask[rows, cols] = patch
        lut = overlay_lut(self._colors, 1.0, self._hidden, self._show_background)
        image, buffer = mask_to_argb_view(patch, lut)
        pixmap = self._overlay_item.pixmap()
        # the item lets go of its copy first, so painting does not detach (copy) the whole overlay
        self._overlay_item.setPixmap(QPixmap())
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)  # replace, not blend
        painter.drawImage(cols.start, rows.start, image)
        painter.end()
        del image, buffer
        self._overlay_item.setPixmap(pixmap)

    # ------------------------------------------------------------------------------------------- state
    def observe(self, state: ImageViewState) -> None:
        """Show ``state``'s image, label map and display options, and follow their changes."""
        unsubscribe = [
            state.image_changed.subscribe(self._on_image_changed),
            state.labels_changed.subscribe(lambda event: self._on_labels_changed(state, event)),
            state.display_changed.subscribe(lambda event: self.apply_display(event.new)),
        ]
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self._on_image_changed(ImageChanged(state.image, state.error))
        self.apply_display(state.display)

    def apply_display(self, options: DisplayOptions) -> None:
        self.set_hidden_classes(options.visibility.hidden_classes())
        self.set_opacity(options.opacity)
        self.set_overlay_visible(options.overlay)
        self.set_outlines_visible(options.overlay and options.outlines)

    def _on_image_changed(self, event: ImageChanged) -> None:
        image, labels = event.image, event.image.labels if event.image is not None else None
        self.set_mask(None)  # so the new image does not rescale the previous mask
        self.set_image(None if image is None else image.rgb)
        if labels is not None:
            self.set_mask(labels.array, labels.colors, labels.names)
        self.set_outlines(None if image is None else list(image.outlines))
        error = event.error
        self.set_message(f"Cannot show {error.file_name!r}\n\n{error.message}" if error else "")

    def _on_labels_changed(self, state: ImageViewState, event: LabelsChanged) -> None:
        labels = state.labels
        if labels is None:
            return
        if event.replaced:
            self.set_mask(labels.array, labels.colors, labels.names)
        else:
            self.update_mask_box(labels.array, event.box)

    def class_names(self) -> dict[int, str]:
        return dict(self._names)

    def class_name(self, index: int) -> str:
        """The name of a class index ("ignore" for 255, "background" for 0 unless named)."""
        if index in self._names:
            return self._names[index]
        return {0: "background", 255: "ignore"}.get(index, f"class {index}")

    def hover_text(self, x: int, y: int, cls: int) -> str:
        """A status-bar readout such as "x=12 y=40 person"."""
        if x < 0 or y < 0:
            return ""
        return f"x={x} y={y}" + (f" {self.class_name(cls)}" if cls >= 0 else "")

    def mask(self) -> np.ndarray | None:  # type: ignore[override]  # hides QWidget.mask(), which Qt never calls
        """The displayed mask (at the image size), or None."""
        return self._mask

    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the content in image pixels, or None when empty."""
        return self._image_size

    # ----------------------------------------------------------------------------------------- overlay
    def set_opacity(self, alpha: float) -> None:
        """Overlay opacity in 0..1 (changes only the item's opacity: no rebuild)."""
        self._opacity = min(max(float(alpha), 0.0), 1.0)
        self._overlay_item.setOpacity(self._opacity)

    def opacity(self) -> float:
        return self._opacity

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_visible = bool(visible)
        self._overlay_item.setVisible(self._overlay_visible and self._mask is not None)

    def overlay_visible(self) -> bool:
        return self._overlay_visible

    def set_hidden_classes(self, hidden: Iterable[int]) -> None:
        """Classes not drawn (neither fill nor outline)."""
        hidden = frozenset(int(i) for i in hidden)
        if hidden == self._hidden:
            return
        self._hidden = hidden
        self._rebuild_overlay()
        self._update_outline_visibility()

    def hidden_classes(self) -> set[int]:
        return set(self._hidden)

    def set_show_background(self, show: bool) -> None:
        """Draw class 0 in its palette colour (a mask-only view) instead of transparent."""
        if bool(show) != self._show_background:
            self._show_background = bool(show)
            self._rebuild_overlay()

    def show_background(self) -> bool:
        return self._show_background

    def _rebuild_overlay(self) -> None:
        if self._mask is None:
            self._overlay_item.setPixmap(QPixmap())
            self._overlay_item.setVisible(False)
            return
        lut = overlay_lut(self._colors, 1.0, self._hidden, self._show_background)
        image, buffer = mask_to_argb_view(self._mask, lut)
        self._overlay_item.setPixmap(QPixmap.fromImage(image))  # converts (copies) while buffer is alive
        del image, buffer
        self._overlay_item.setVisible(self._overlay_visible)

    # ---------------------------------------------------------------------------------------- outlines
    def set_outlines(self, polygons: list[tuple[int, np.ndarray]] | None) -> None:
        """Instance outlines: (class index, Nx2 xy polygon in image pixels); one path item per class."""
        for _, item in self._outline_items:
            self._scene.removeItem(item)
        self._outline_items = []
        if not polygons:
            return
        paths: dict[int, QPainterPath] = {}
        for cls, pts in polygons:
            arr = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
            if len(arr) < 2:
                continue
            poly = QPolygonF([QPointF(float(x), float(y)) for x, y in arr])
            path = paths.setdefault(int(cls), QPainterPath())
            path.addPolygon(poly)
            path.closeSubpath()
        for cls, path in paths.items():
            item = QGraphicsPathItem(path)
            r, g, b = (int(v) for v in self._colors[cls % 256])
            pen = QPen(QColor(r, g, b).lighter(140), 1.5)
            pen.setCosmetic(True)  # constant width on screen whatever the zoom
            item.setPen(pen)
            item.setZValue(2)
            self._scene.addItem(item)
            self._outline_items.append((cls, item))
        self._update_outline_visibility()

    def outline_path(self, cls: int) -> QPainterPath | None:
        """The outline drawn for class ``cls`` (image pixels), None when it has none."""
        return next((item.path() for c, item in self._outline_items if c == cls), None)

    def set_outlines_visible(self, visible: bool) -> None:
        self._outlines_visible = bool(visible)
        self._update_outline_visibility()

    def outlines_visible(self) -> bool:
        return self._outlines_visible

    def _update_outline_visibility(self) -> None:
        for cls, item in self._outline_items:
            item.setVisible(self._outlines_visible and cls not in self._hidden)

    # ------------------------------------------------------------------------------------------- marker
    def set_marker(self, x: int | None, y: int | None = None) -> None:
        """Mark image pixel (x, y) with a crosshair (the point hovered in a linked view); None hides it."""
        if x is None or y is None or x < 0 or y < 0:
            for item in self._marker_items:
                item.setVisible(False)
            return
        path = QPainterPath()
        path.addRect(QRectF(x, y, 1, 1))
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            cx, cy = x + 0.5 + dx * 1.5, y + 0.5 + dy * 1.5
            path.moveTo(cx, cy)
            path.lineTo(cx + dx * 4, cy + dy * 4)
        for item in self._marker_items:
            item.setPath(path)
            item.setVisible(True)

    def marker_visible(self) -> bool:
        return self._marker_items[0].isVisible()

    # ------------------------------------------------------------------------------------------ lookup
    def class_at(self, x: int, y: int) -> int:
        """The class index at image pixel (x, y); -1 outside the image or without a mask."""
        if self._mask is None:
            return -1
        h, w = self._mask.shape
        if 0 <= x < w and 0 <= y < h:
            return int(self._mask[y, x])
        return -1

    def image_pos(self, view_pos: QPoint | QPointF) -> tuple[int, int] | None:
        """The image pixel under a viewport position, or None outside the image."""
        if self._image_size is None:
            return None
        p = self.mapToScene(view_pos.toPoint() if isinstance(view_pos, QPointF) else view_pos)
        x, y = math.floor(p.x()), math.floor(p.y())
        w, h = self._image_size
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    # -------------------------------------------------------------------------------------------- zoom
    def scale_factor(self) -> float:
        """Current zoom: screen pixels per image pixel."""
        return self.transform().m11()

    def zoom_fit(self) -> None:
        """Fit the whole image in the view; the view then refits on resize until the user zooms."""
        self._auto_fit = True
        self._fit()

    def zoom_100(self) -> None:
        """One image pixel per screen pixel, keeping the view centre."""
        self._auto_fit = False
        self._set_scale(1.0, self._centre())

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Multiply the zoom by ``factor`` (clamped), keeping ``anchor`` (a viewport point) or the centre."""
        if factor <= 0:
            raise ValueError("zoom factor must be positive")
        self._auto_fit = False
        old = self.scale_factor()
        new = min(max(old * factor, self._min_scale()), MAX_SCALE)
        if new == old:
            return
        if anchor is None:
            self._set_scale(new, self._centre())
            return
        scene_pt = self.mapToScene(anchor)
        self._applying_state = True
        try:
            self.setTransform(QTransform.fromScale(new, new))
            # Move so the scene point under the anchor is under it again.
            delta = self.mapFromScene(scene_pt) - anchor
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        finally:
            self._applying_state = False
        self._update_smoothing()
        self.view_changed.emit()

    def auto_fit(self) -> bool:
        """True while the view refits itself on resize (no user zoom since the last fit)."""
        return self._auto_fit

    def set_auto_fit(self, enabled: bool, refit: bool = True) -> None:
        """Turn fit-on-resize on or off; ``refit`` fits now when turning it on."""
        self._auto_fit = bool(enabled)
        if self._auto_fit and refit:
            self._fit()

    def view_state(self) -> ViewState:
        """(scale, scene point at the view centre)."""
        return self.scale_factor(), self._centre()

    def set_left_button_pans(self, enabled: bool) -> None:
        """Drag with the left button to pan (default). Turn off to give the left button to an editing tool;
        the middle button always pans."""
        self._left_button_pans = bool(enabled)
        mode = QGraphicsView.DragMode.ScrollHandDrag if enabled else QGraphicsView.DragMode.NoDrag
        self.setDragMode(mode)

    def left_button_pans(self) -> bool:
        return self._left_button_pans

    def set_view_state(self, state: ViewState) -> None:
        """Apply a (scale, centre) from ``view_state`` (of this or another viewer) without emitting a loop.

        The view keeps that state on resize (no refit) until ``zoom_fit``."""
        scale, centre = state
        self._auto_fit = False
        self._set_scale(float(scale), QPointF(centre), emit=False)

    def _centre(self) -> QPointF:
        vp = self.viewport()
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(QPointF(vp.width() / 2, vp.height() / 2))

    def _min_scale(self) -> float:
        return min(MIN_SCALE, self._fit_scale())

    def _fit_scale(self) -> float:
        if self._image_size is None:
            return 1.0
        w, h = self._image_size
        vp = self.viewport().size()
        if vp.width() <= 1 or vp.height() <= 1:
            return 1.0
        return max(min(vp.width() / w, vp.height() / h), 1e-4)

    def _fit(self) -> None:
        if self._image_size is None:
            return
        w, h = self._image_size
        self._set_scale(self._fit_scale(), QPointF(w / 2, h / 2))

    def _set_scale(self, scale: float, centre: QPointF, emit: bool = True) -> None:
        scale = min(max(scale, self._min_scale()), MAX_SCALE)
        self._applying_state = True
        try:
            self.setTransform(QTransform.fromScale(scale, scale))
            self.centerOn(centre)
        finally:
            self._applying_state = False
        self._update_smoothing()
        if emit:
            self.view_changed.emit()

    def _update_smoothing(self) -> None:
        """Smooth when shrinking; crisp (nearest) pixels at 100% zoom and above."""
        smooth = self.scale_factor() < 1.0
        modes = Qt.TransformationMode
        mode = modes.SmoothTransformation if smooth else modes.FastTransformation
        self._image_item.setTransformationMode(mode)
        self._overlay_item.setTransformationMode(mode)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)

    def _set_content_size(self, size: tuple[int, int] | None) -> None:
        first = self._image_size is None
        changed = size != self._image_size
        self._image_size = size
        if size is None:
            self._scene.setSceneRect(QRectF())
            return
        if changed:  # a new size (or the first image) is fitted; the same size keeps the user's zoom
            self._scene.setSceneRect(QRectF(0, 0, size[0], size[1]))
            self._auto_fit = True
        if first or self._auto_fit:
            self._fit()

    def _emit_view_changed(self) -> None:
        if not self._applying_state:
            self.view_changed.emit()

    # ------------------------------------------------------------------------------------------ events
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            event.ignore()
            return
        self.zoom_by(WHEEL_STEP**steps, event.position().toPoint())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F or 0: fit; 1: 100%; + / -: zoom in / out around the centre."""
        action = shortcuts.key_event_id(event, shortcuts.Context.VIEWER)  # the keys of the shortcut table
        if action == "viewer.fit":
            self.zoom_fit()
        elif action == "viewer.zoom_100":
            self.zoom_100()
        elif action == "viewer.zoom_in":
            self.zoom_by(WHEEL_STEP)
        elif action == "viewer.zoom_out":
            self.zoom_by(1 / WHEEL_STEP)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._message.setGeometry(self.viewport().rect())
        if self._auto_fit:
            self._fit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_origin = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan_origin is not None:
            delta = pos - self._pan_origin
            self._pan_origin = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
        else:
            super().mouseMoveEvent(event)
        self._emit_hover(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_origin is not None:
            self._pan_origin = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.hovered.emit(-1, -1, -1)
        return super().viewportEvent(event)

    def _emit_hover(self, pos: QPoint) -> None:
        xy = self.image_pos(pos)
        if xy is None:
            self.hovered.emit(-1, -1, -1)
        else:
            self.hovered.emit(xy[0], xy[1], self.class_at(*xy))

    # ------------------------------------------------------------------------------------------ export
    def render_image(self, scale: float = 1.0) -> QImage:
        """The scene (image, overlay, outlines) rendered at ``scale`` image pixels -> output pixels."""
        if self._image_size is None:
            return QImage()
        w, h = self._image_size
        out = QImage(max(1, round(w * scale)), max(1, round(h * scale)), QImage.Format.Format_RGB32)
        out.fill(self.backgroundBrush().color())
        marker = self.marker_visible()
        self.set_marker(None)  # a hover marker is not part of the picture
        painter = QPainter(out)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        self._scene.render(painter, QRectF(out.rect()), QRectF(0, 0, w, h))
        painter.end()
        for item in self._marker_items:
            item.setVisible(marker)
        return out
