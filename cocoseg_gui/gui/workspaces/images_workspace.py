"""The Images & masks workspace: dataset browser, viewer (or image | mask side by side), legend, Masks dock.

It owns the ``ImageViewState`` (core.image_view_state) of the image being looked at: images load through
``services.image_source`` into it, and the viewer, the side-by-side view and the legend observe it, so
hidden or soloed classes and the display options hold from one image to the next. MainWindow keeps the
menus, the status bar and opening datasets; it hands the dataset over with ``set_dataset`` and relays
``status_message`` / ``hover_text`` to its status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QStackedWidget, QWidget

from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.image_view_state import DisplayChanged, ImageViewState, ShownImage
from cocoseg_gui.core.label_map import LabelMap
from cocoseg_gui.gui.services.image_source import ImageLoader, ImageSource, LoadedImage
from cocoseg_gui.gui.widgets.browser import DatasetBrowser
from cocoseg_gui.gui.widgets.dialogs import error_text
from cocoseg_gui.gui.widgets.legend import LegendWidget
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer
from cocoseg_gui.gui.widgets.side_by_side import MODE_IMAGE_MASK, SideBySideView

if TYPE_CHECKING:
    from cocoseg_gui.core.coco_index import CocoIndex
    from cocoseg_gui.core.project import Project
    from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo


# Dock widths below which the side docks stop being usable ("S…" search fields, clipped Browse buttons); a
# layout restored from a bigger window that leaves one narrower gets the default sizes.
MIN_BROWSER_DOCK_W = 200
MIN_MASKS_DOCK_W = 290
MIN_CENTRAL_SHARE = 0.3  # the image view keeps at least this share of the workspace's width


class ImagesWorkspace(QMainWindow):
    """An inner main window (its docks can be moved) showing one dataset's images with their masks."""

    image_shown = Signal(int)  # image id, once the viewer shows it with its mask
    image_failed = Signal(int, str)  # image id, the message for the status bar
    status_message = Signal(str, int)  # text, milliseconds
    hover_text = Signal(str)  # "x, y: class" under the cursor, "" when outside

    def __init__(self, masks_panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setObjectName("browse_workspace")
        self.setDockNestingEnabled(True)
        self.view_state = ImageViewState()
        self.source: ImageSource | None = None

        self.viewer = MaskViewer()
        self.side = SideBySideView(left_title="Image", right_title="Mask")
        self.side.set_mode(MODE_IMAGE_MASK)
        self.central = QStackedWidget()  # single viewer or image | mask side by side
        self.central.addWidget(self.viewer)
        self.central.addWidget(self.side)
        self.setCentralWidget(self.central)
        self.browser = DatasetBrowser()
        self.browser_dock = self._dock(
            "Dataset", "browser", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.legend = LegendWidget()
        self.legend_dock = self._dock("Legend", "legend", self.legend, Qt.DockWidgetArea.RightDockWidgetArea)
        self.masks_dock = self._dock("Masks", "masks", masks_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.splitDockWidget(self.masks_dock, self.legend_dock, Qt.Orientation.Vertical)
        self.browser_dock.setMinimumWidth(MIN_BROWSER_DOCK_W)
        self.masks_dock.setMinimumWidth(MIN_MASKS_DOCK_W)

        for view in (self.viewer, self.side, self.legend):
            view.observe(self.view_state)
        self.view_state.display_changed.subscribe(self._on_display_changed)
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)
        self.browser.image_selected.connect(self.show_image)
        self.viewer.hovered.connect(self._on_hover)
        self.side.hovered.connect(lambda x, y, _left, right: self._on_hover(x, y, right))

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def docks(self) -> list[QDockWidget]:
        return [self.browser_dock, self.masks_dock, self.legend_dock]

    # ----------------------------------------------------------------------------------------- dataset
    def set_dataset(self, index: CocoIndex, images_dir: Path, masks_dir: Path | None) -> CocoSegError | None:
        """Browse ``index``'s images; returns why ``masks_dir`` could not be used (then: without masks)."""
        problem = self._make_source(index, images_dir, masks_dir)
        assert self.source is not None
        self.browser.set_dataset(index, images_dir, self.source.masked_file_names())
        return problem

    def set_masks_dir(self, masks_dir: Path | None) -> CocoSegError | None:
        """Show the masks of ``masks_dir`` (None: drawn from the annotations); the current image reloads."""
        if self.source is None:
            return None
        problem = self._make_source(self.source.index, self.source.images_dir, masks_dir)
        assert self.source is not None
        self.browser.set_masked_names(self.source.masked_file_names())
        if self.browser.current_image_id() is not None:
            self.show_image(self.browser.current_image_id())
        return problem

    def _make_source(self, index: CocoIndex, images_dir: Path, masks_dir: Path | None) -> CocoSegError | None:
        try:
            self.source = ImageSource(index, images_dir, masks_dir)
        except CocoSegError as exc:
            self.source = ImageSource(index, images_dir, None)
            return exc
        return None

    def mask_count(self) -> int | None:
        """How many images the open mask folder has masks for; None without a mask folder."""
        if self.source is None or self.source.masks_dir is None:
            return None
        return len(self.source.mask_map)

    # ------------------------------------------------------------------------------------------ images
    @property
    def current(self) -> ShownImage | None:
        """The image shown (None before the first one or when it could not be shown)."""
        return self.view_state.image

    def show_image(self, image_id: int) -> None:
        if self.source is not None:
            self.loader.request(self.source, int(image_id))

    def step(self, delta: int) -> None:
        self.browser.step(delta)

    def _on_image_loaded(self, item: LoadedImage) -> None:
        if self.source is None or self.browser.current_image_id() not in (None, item.image_id):
            return  # the user moved on; the loader is already fetching the new one
        try:
            self.view_state.show(self._shown(item))
        except Exception as exc:  # a slot must not fail silently: the wait for this image would never end
            self._on_image_failed(item.image_id, exc)
            return
        h, w = item.rgb.shape[:2]
        mask = f"mask from {item.mask_source}" if item.mask_source else "no mask"
        note = f" · {item.error}" if item.error else ""
        self.status_message.emit(f"{item.file_name} ({w}×{h}) · {mask}{note}", 6000)
        self.image_shown.emit(item.image_id)

    def _shown(self, item: LoadedImage) -> ShownImage:
        assert self.source is not None
        labels = None
        if item.mask is not None:
            mask = np.asarray(item.mask, dtype=np.uint8)
            labels = LabelMap(mask, self.source.class_names(), self.source.colors)
        return ShownImage(
            item.image_id,
            item.file_name,
            item.rgb,
            labels,
            path=self.source.image_path(item.file_name),
            mask_source=item.mask_source,
            outlines=tuple(item.outlines),
            note=item.error,
        )

    def _on_image_failed(self, image_id: int, exc: BaseException) -> None:
        message = f"Cannot show image {image_id}: {error_text(exc)}"
        name = self.source.index.image(image_id).file_name if self.source is not None else str(image_id)
        self.view_state.fail(image_id, name, error_text(exc))  # the view says why it is empty
        self.status_message.emit(message, 15000)
        self.image_failed.emit(image_id, message)

    # -------------------------------------------------------------------------------------------- view
    def _on_hover(self, x: int, y: int, cls: int) -> None:
        if x < 0:
            self.hover_text.emit("")
            return
        name = self.viewer.class_name(cls) if cls >= 0 else "no mask"
        self.hover_text.emit(f"{x}, {y}: {name}")

    def opacity(self) -> float:
        return self.view_state.display.opacity

    def set_opacity(self, value: float) -> None:
        self.view_state.set_opacity(value)

    def set_overlay(self, visible: bool) -> None:
        self.view_state.update_display(overlay=bool(visible))

    def set_outlines(self, visible: bool) -> None:
        self.view_state.update_display(outlines=bool(visible))

    def set_side_by_side(self, on: bool) -> None:
        self.view_state.update_display(side_by_side=bool(on))

    def _on_display_changed(self, event: DisplayChanged) -> None:
        self.central.setCurrentWidget(self.side if event.new.side_by_side else self.viewer)

    def _zoomed_view(self) -> MaskViewer | SideBySideView:
        return self.side if self.view_state.display.side_by_side else self.viewer

    def zoom_fit(self) -> None:
        self._zoomed_view().zoom_fit()

    def zoom_100(self) -> None:
        self._zoomed_view().zoom_100()

    def zoom_by(self, factor: float) -> None:
        self._zoomed_view().zoom_by(factor)

    # ------------------------------------------------------------------------------------------ layout
    def restore_layout(self, saved: object) -> bool:
        """Restore the docks from ``save_layout``'s bytes; False when there was nothing usable."""
        return isinstance(saved, QByteArray | bytes) and bool(saved) and self.restoreState(saved)

    def save_layout(self) -> QByteArray:
        return self.saveState()

    def default_layout(self, width: int, height: int) -> None:
        """Dock sizes for a window of ``width`` x ``height`` when no saved layout exists."""
        width = max(width, 800)
        self.resizeDocks(
            [self.browser_dock, self.masks_dock],
            [max(int(width * 0.23), MIN_BROWSER_DOCK_W + 40), max(int(width * 0.27), MIN_MASKS_DOCK_W + 40)],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.masks_dock, self.legend_dock],
            [int(height * 0.68), int(height * 0.22)],
            Qt.Orientation.Vertical,
        )

    def layout_usable(self) -> bool:
        """False when a dock sits at its minimum width (squeezed there by a layout saved in a bigger
        window) or the image view has less than MIN_CENTRAL_SHARE of the width."""
        docks = ((self.browser_dock, MIN_BROWSER_DOCK_W), (self.masks_dock, MIN_MASKS_DOCK_W))
        for dock, least in docks:
            if dock.isVisible() and not dock.isFloating() and dock.width() <= least:
                return False
        return self.centralWidget().width() >= MIN_CENTRAL_SHARE * self.width()

    # -------------------------------------------------------------------------------- Workspace protocol
    def busy_job(self) -> str | None:
        return None  # loading one image is not worth asking before quitting

    def stop(self) -> None:
        """Nothing long runs here: image loads are short and replaced by the next request."""

    def shutdown(self) -> None:
        self.browser.shutdown()
        self.loader.wait_idle(5000)

    def restore(self, project: Project | None) -> None:
        """The open dataset comes from MainWindow (set_dataset); nothing else to take from a project."""

    def prepare_screenshot(self, demo: ScreenshotDemo, done: Callable[[], None]) -> None:
        """Ready once an image is shown (or could not be)."""
        if self.current is not None or self.view_state.error is not None:
            QTimer.singleShot(0, done)
            return

        def finished(*_args: object) -> None:
            self.image_shown.disconnect(finished)
            self.image_failed.disconnect(finished)
            done()

        self.image_shown.connect(finished)
        self.image_failed.connect(finished)
