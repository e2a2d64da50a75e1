"""SideBySideView: two MaskViewers with titles, zoom and pan in step (image | mask, truth | prediction)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QShowEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from cocoseg_gui.core.masks.label_map import LabelsChanged
from cocoseg_gui.core.project.image_view_state import DisplayOptions, ImageViewState
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer, ViewState

MODE_IMAGE_MASK = "image|mask"  # left: image only; right: mask only, full opacity, background drawn
MODE_IMAGE_OVERLAY = "image|overlay"  # left: image only; right: image with the mask overlay
MODE_CUSTOM = "custom"  # whatever set_left / set_right gave
MODES = (MODE_IMAGE_MASK, MODE_IMAGE_OVERLAY, MODE_CUSTOM)

Image = np.ndarray | QImage | None
Mask = np.ndarray | None
Names = Mapping[int, str] | None  # class index -> name (hover readout); None: keep those given before


class SideBySideView(QWidget):
    """Two viewers side by side. ``set_data`` + a mode shows one (image, mask) pair two ways; ``set_left`` /
    ``set_right`` show any two layers (e.g. ground truth | prediction, or an error map with its own colours).
    """

    hovered = Signal(int, int, int, int)  # image x, y, class on the left, class on the right (-1 if none)

    def __init__(self, parent: QWidget | None = None, left_title: str = "", right_title: str = "") -> None:
        super().__init__(parent)
        self.left = MaskViewer()
        self.right = MaskViewer()
        self._left_title = QLabel(left_title)
        self._right_title = QLabel(right_title)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for title, viewer in ((self._left_title, self.left), (self._right_title, self.right)):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # a long title ("No ground truth for this image") must not widen its pane: the split starts even
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            pane = QWidget()
            lay = QVBoxLayout(pane)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            lay.addWidget(title)
            lay.addWidget(viewer, 1)
            splitter.addWidget(pane)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.splitter = splitter

        self._mode = MODE_IMAGE_OVERLAY
        self._image: Image = None
        self._mask: np.ndarray | None = None
        self._colors: np.ndarray | None = None
        self._names: dict[int, str] = {}
        self._opacity = 0.5
        self._syncing = False
        self._linked = True
        self._state: ImageViewState | None = None
        self._stale = False  # the observed state's image is not shown yet (filled when visible)
        self.left.view_changed.connect(lambda: self._sync(self.left, self.right))
        self.right.view_changed.connect(lambda: self._sync(self.right, self.left))
        self.left.hovered.connect(lambda x, y, _c: self._on_hover(self.right, x, y))
        self.right.hovered.connect(lambda x, y, _c: self._on_hover(self.left, x, y))
        self._update_titles_visibility()

    # ---------------------------------------------------------------------------------------- content
    def set_titles(self, left: str, right: str) -> None:
        self._left_title.setText(left)
        self._right_title.setText(right)
        self._update_titles_visibility()

    def titles(self) -> tuple[str, str]:
        return self._left_title.text(), self._right_title.text()

    def set_data(
        self, image: Image, mask: Mask, colors: np.ndarray | None = None, names: Names = None
    ) -> None:
        """One (image, class map) pair shown according to the mode ("image|mask" or "image|overlay");
        ``colors`` and ``names`` as MaskViewer.set_mask takes them."""
        self._image, self._mask, self._colors = image, mask, colors
        if names is not None:
            self._names = dict(names)
        if self._mode == MODE_CUSTOM:
            self._mode = MODE_IMAGE_OVERLAY
        self._apply_mode()

    def set_left(
        self, image: Image, mask: Mask = None, colors: np.ndarray | None = None, names: Names = None
    ) -> None:
        """Any layers on the left (switches to "custom" mode)."""
        self._mode = MODE_CUSTOM
        self._show(self.left, image, mask, colors, names, show_background=False, opacity=self._opacity)

    def set_right(
        self, image: Image, mask: Mask = None, colors: np.ndarray | None = None, names: Names = None
    ) -> None:
        """Any layers on the right, e.g. a prediction or an error-view mask with its own 256x3 colours."""
        self._mode = MODE_CUSTOM
        self._show(self.right, image, mask, colors, names, show_background=False, opacity=self._opacity)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown side-by-side mode {mode!r}; expected one of {', '.join(MODES)}")
        self._mode = mode
        self._apply_mode()

    def mode(self) -> str:
        return self._mode

    def _apply_mode(self) -> None:
        if self._mode == MODE_CUSTOM:
            return
        names = self._names
        self._show(self.left, self._image, None, None, names, show_background=False, opacity=self._opacity)
        if self._mode == MODE_IMAGE_MASK:
            self._show(self.right, None, self._mask, self._colors, names, show_background=True, opacity=1.0)
            if self._mask is None:  # nothing to show as a mask: keep the geometry of the image
                self.right.set_image(self._image)
        else:
            self._show(self.right, self._image, self._mask, self._colors, names, False, self._opacity)
        self._sync(self.left, self.right)

    @staticmethod
    def _show(
        viewer: MaskViewer,
        image: Image,
        mask: np.ndarray | None,
        colors: np.ndarray | None,
        names: Names,
        show_background: bool,
        opacity: float,
    ) -> None:
        viewer.set_mask(None)
        viewer.set_image(image)
        viewer.set_show_background(show_background)
        viewer.set_mask(mask, colors, names)
        viewer.set_opacity(opacity)

    # ------------------------------------------------------------------------------------------- state
    def observe(self, state: ImageViewState) -> None:
        """Show ``state``'s image and label map (per the mode) and follow them; a hidden view only notes
        that it is out of date and catches up when shown, so browsing costs nothing while it is hidden."""
        self._state = state
        unsubscribe = [
            state.image_changed.subscribe(lambda _event: self._mark_stale()),
            state.labels_changed.subscribe(self._on_labels_changed),
            state.display_changed.subscribe(lambda event: self.apply_display(event.new)),
        ]
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self._mark_stale()

    def apply_display(self, options: DisplayOptions) -> None:
        self.set_hidden_classes(options.visibility.hidden_classes())
        self.set_opacity(options.opacity)
        self.set_overlay_visible(options.overlay)

    def _mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self._catch_up()

    def _catch_up(self) -> None:
        state = self._state
        if state is None or not self._stale:
            return
        self._stale = False
        image, labels = state.image, state.labels
        self.set_data(
            None if image is None else image.rgb,
            None if labels is None else labels.array,
            None if labels is None else labels.colors,
            None if labels is None else labels.names,
        )
        self.apply_display(state.display)

    def _on_labels_changed(self, event: LabelsChanged) -> None:
        labels = self._state.labels if self._state is not None else None
        if self._stale or labels is None:
            return
        if event.replaced or self._mode == MODE_CUSTOM:
            self._mark_stale()
            return
        self._mask = labels.array
        self.right.update_mask_box(labels.array, event.box)  # the left side shows the image only

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._catch_up()

    # ---------------------------------------------------------------------------------- pass-through
    def set_opacity(self, alpha: float) -> None:
        """Overlay opacity on both sides (a mask-only side stays opaque)."""
        self._opacity = min(max(float(alpha), 0.0), 1.0)
        for viewer in (self.left, self.right):
            if not (viewer is self.right and self._mode == MODE_IMAGE_MASK):
                viewer.set_opacity(self._opacity)

    def opacity(self) -> float:
        return self._opacity

    def set_hidden_classes(self, hidden: Iterable[int]) -> None:
        hidden = set(hidden)
        self.left.set_hidden_classes(hidden)
        self.right.set_hidden_classes(hidden)

    def set_overlay_visible(self, visible: bool) -> None:
        self.left.set_overlay_visible(visible)
        self.right.set_overlay_visible(visible)

    def zoom_fit(self) -> None:
        self.left.zoom_fit()

    def zoom_100(self) -> None:
        self.left.zoom_100()

    def zoom_by(self, factor: float) -> None:
        self.left.zoom_by(factor)

    def view_state(self) -> ViewState:
        return self.left.view_state()

    def set_view_state(self, state: ViewState) -> None:
        """Apply a (scale, centre) to both sides (to the left only when unlinked)."""
        self.left.set_view_state(state)
        self._sync(self.left, self.right)

    # ---------------------------------------------------------------------------------------- linking
    def set_linked(self, linked: bool) -> None:
        """Keep zoom and pan in step (default True)."""
        self._linked = bool(linked)
        if self._linked:
            self._sync(self.left, self.right)

    def linked(self) -> bool:
        return self._linked

    def _sync(self, source: MaskViewer, target: MaskViewer) -> None:
        if self._syncing or not self._linked:
            return
        self._syncing = True
        try:
            target.set_view_state(source.view_state())
            target.set_auto_fit(source.auto_fit(), refit=False)
        finally:
            self._syncing = False

    def _on_hover(self, other: MaskViewer, x: int, y: int) -> None:
        """Mark the hovered pixel in the other view and report both classes there."""
        if x < 0:
            other.set_marker(None)
            self.hovered.emit(-1, -1, -1, -1)
            return
        other.set_marker(x, y)
        self.hovered.emit(x, y, self.left.class_at(x, y), self.right.class_at(x, y))

    def _update_titles_visibility(self) -> None:
        self._left_title.setVisible(bool(self._left_title.text()))
        self._right_title.setVisible(bool(self._right_title.text()))
