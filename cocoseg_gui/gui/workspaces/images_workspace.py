"""The Images & masks workspace: dataset browser, viewer (or image | mask side by side), legend, Masks dock.

It owns the ``ImageViewState`` (core.image_view_state) of the image being looked at: images load through
``services.image_source`` into it, and the viewer, the side-by-side view and the legend observe it, so
hidden or soloed classes and the display options hold from one image to the next. MainWindow keeps the
menus, the status bar and opening datasets; it hands the dataset over with ``set_dataset`` and relays
``status_message`` / ``hover_text`` to its status bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QObject, QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QStackedWidget, QWidget
from shiboken6 import isValid

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.tools import tool_spec
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.masks.outlines import Outline, class_outlines
from cocoseg_gui.core.masks.palette import distinct_colors
from cocoseg_gui.core.project.image_view_state import DisplayChanged, ImageChanged, ImageViewState, ShownImage
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.services.image_source import ImageLoader, ImageSource, LoadedImage
from cocoseg_gui.gui.services.inventory_watch import InventoryWatch
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.assist_overlay import AssistOverlay
from cocoseg_gui.gui.widgets.assist_tools import AssistTools
from cocoseg_gui.gui.widgets.browser import DatasetBrowser
from cocoseg_gui.gui.widgets.brush_cursor import BrushCursor
from cocoseg_gui.gui.widgets.dialogs import error_text
from cocoseg_gui.gui.widgets.edit_saving import EditSaving
from cocoseg_gui.gui.widgets.edit_toolbar import EditToolbar
from cocoseg_gui.gui.widgets.legend import LegendWidget
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer
from cocoseg_gui.gui.widgets.polygon_overlay import PolygonOverlay
from cocoseg_gui.gui.widgets.side_by_side import MODE_IMAGE_MASK, SideBySideView
from cocoseg_gui.gui.workspaces.proposals_controller import ProposalsController

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.project.project import Project
    from cocoseg_gui.gui.workspaces.protocol import ScreenshotDemo


# Dock widths below which the side docks stop being usable ("S…" search fields, clipped Browse buttons); a
# layout restored from a bigger window that leaves one narrower gets the default sizes.
MIN_BROWSER_DOCK_W = 200
MIN_MASKS_DOCK_W = 290
MIN_CENTRAL_SHARE = 0.3  # the image view keeps at least this share of the workspace's width
OUTLINE_REDRAW_MS = 250  # after an edit stops this long, the outlines are redrawn from the edited map


def _pixels(source: ImageSource, image_id: int) -> np.ndarray:
    """One image's RGB pixels (click to segment reads a neighbour's in its job)."""
    return source.load(image_id).rgb


class ImagesWorkspace(QMainWindow):
    """An inner main window (its docks can be moved) showing one dataset's images with their masks."""

    image_shown = Signal(int)  # image id, once the viewer shows it with its mask
    image_failed = Signal(int, str)  # image id, the message for the status bar
    status_message = Signal(str, int)  # text, milliseconds
    hover_text = Signal(str)  # "x, y: class" under the cursor, "" when outside
    edit_mode_changed = Signal(bool)
    edits_changed = Signal()  # unsaved state or what undo/redo would do changed
    masks_changed = Signal()  # the open mask folder's masks changed (a save here, another window, a job)
    outlines_redrawn = Signal()  # the viewer's outlines follow an edit (tests wait on it)
    rows_changed = Signal(int, int)  # the browser's rows shown, of the dataset's images (filters, a dataset)

    def __init__(self, masks_panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setObjectName("browse_workspace")
        self.setDockNestingEnabled(True)
        self.view_state = ImageViewState()
        self.source: ImageSource | None = None
        self.inventory_watch = InventoryWatch(self)  # the mask folder changed by someone else
        self._unsubscribe_inventory: Callable[[], None] | None = None

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
        self.browser.rows_changed.connect(self.rows_changed)
        self.viewer.hovered.connect(self._on_hover)
        self.side.hovered.connect(lambda x, y, _left, right: self._on_hover(x, y, right))
        self._build_editor()

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
        self.edit_saving.leave_image(can_cancel=False)
        problem = self._make_source(index, images_dir, masks_dir)
        assert self.source is not None
        self._editor_follows_source()
        # another dataset's first image is fitted: a zoom kept for images of one size is no use there
        for view in (self.viewer, self.side.left, self.side.right):
            view.set_auto_fit(True, refit=False)
        self.browser.set_dataset(index, images_dir, self.source.masked_file_names())
        self.browser.set_edited_names(self.source.inventory.edited_names())
        return problem

    def set_masks_dir(self, masks_dir: Path | None) -> CocoSegError | None:
        """Show the masks of ``masks_dir`` (None: drawn from the annotations); the current image reloads."""
        if self.source is None:
            return None
        self.edit_saving.leave_image(can_cancel=False)
        problem = self._make_source(self.source.index, self.source.images_dir, masks_dir)
        assert self.source is not None
        self._editor_follows_source()
        self._on_inventory_changed()
        current = self.browser.current_image_id()
        if current is not None:
            self.show_image(current)
        return problem

    def _editor_follows_source(self) -> None:
        """Edits belong to one mask folder: another one starts fresh (Edit mode ends without one)."""
        assert self.source is not None
        self.editor.reset(self.source.masks_dir, self.source.inventory)
        self.proposals.masks_changed()
        if self.editing and self.source.masks_dir is None:
            self.set_editing(False)
        elif self.editing and self.source.masks_dir is not None:
            self.edit_saving.start_editing(self.source.masks_dir)  # the claim follows the folder

    def _make_source(self, index: CocoIndex, images_dir: Path, masks_dir: Path | None) -> CocoSegError | None:
        problem = None
        try:
            self.source = ImageSource(index, images_dir, masks_dir)
        except CocoSegError as exc:
            self.source, problem = ImageSource(index, images_dir, None), exc
        if self._unsubscribe_inventory is not None:
            self._unsubscribe_inventory()
        inventory = self.source.inventory  # the one record of the folder's masks every view reads
        self._unsubscribe_inventory = inventory.changed.subscribe(lambda _e: self._on_inventory_changed())
        self.inventory_watch.set_inventory(inventory)
        return problem

    def _on_inventory_changed(self) -> None:
        """A save (here or elsewhere) changed the folder's masks: the browser's "has mask" and "edited"
        marks and filters follow, and ``masks_changed`` tells the window (mask count, Masks report)."""
        if self.source is None:
            return
        self.browser.set_masked_names(self.source.masked_file_names())
        self.browser.set_edited_names(self.source.inventory.edited_names())
        self.masks_changed.emit()

    def has_dataset(self) -> bool:
        return self.source is not None

    def masks_dir(self) -> Path | None:
        """The mask folder shown (None: masks drawn from the annotations, or no dataset)."""
        return self.source.masks_dir if self.source is not None else None

    def notices(self) -> list[str]:
        """Lasting notes on what is shown: classes left out, what opening the folder for editing set
        right (a journal set aside, edited.json recovered)."""
        note = self.source.note if self.source is not None else ""
        return [*([note] if note else []), *self.editor.open_notes]

    def shown_count(self) -> int:
        """How many images the browser lists (after its filters)."""
        return self.browser.model.rowCount()

    def current_image_id(self) -> int | None:
        """The image selected in the browser (None: none, e.g. a dataset without images)."""
        return self.browser.current_image_id()

    def wait_thumbnails(self, timeout_ms: int) -> None:
        """Wait for the thumbnails already requested (the screenshot driver, before its grab)."""
        self.browser.loader.wait_idle(timeout_ms)

    def flush_thumbnails(self) -> None:
        """Show the thumbnails that arrived (they are shown in batches)."""
        self.browser.model.flush_thumbnails()

    def select_image(self, image_id: int) -> None:
        """Show ``image_id`` (selected in the browser, as if clicked)."""
        self.browser.select_image(image_id)

    def set_checkpoint(self, path: Path | None) -> None:
        """The session's checkpoint: "Project checkpoint" proposals use it."""
        self.proposals.set_session_checkpoint(path)

    def use_settings(self, settings: QSettings) -> None:
        """Where the editor keeps its autosave-on-switch choice."""
        self.edit_saving.use_settings(settings)
        self.assists.segment.use_settings(settings)  # the click-to-segment weights file

    def show_masks_dock(self) -> None:
        self.masks_dock.show()
        self.masks_dock.raise_()

    def mask_count(self) -> int | None:
        """How many images the open mask folder has masks for; None without a mask folder."""
        if self.source is None or self.source.masks_dir is None:
            return None
        return len(self.source.inventory)

    # ------------------------------------------------------------------------------------------ images
    @property
    def current(self) -> ShownImage | None:
        """The image shown (None before the first one or when it could not be shown)."""
        return self.view_state.image

    def show_image(self, image_id: int) -> None:
        current = self.editor.current_image
        if current not in (None, int(image_id)) and not self.edit_saving.leave_image():
            self._stay_on(current)  # Cancel: the browser goes back to the edited image
            # ...and again once the event that asked is over: a mouse click in the list asks from inside
            # the view's press handler, which selects the clicked row after we return (a real window
            # showed the other image selected while the edited one stayed shown)
            QTimer.singleShot(0, lambda: self._stay_on(current))
            return
        if self.source is not None:
            self.loader.request(self.source, int(image_id))

    def step(self, delta: int) -> None:
        self.browser.step(delta)

    def _images_ahead(self) -> list[tuple[int, Callable[[], np.ndarray]]]:
        """The browser's next and previous images (the user goes back and forth), each with a reader of
        its pixels (for a job); none at the ends."""
        source, row = self.source, self.browser.view.currentIndex().row()
        if source is None or row < 0:
            return []
        rows = [r for r in (row + 1, row - 1) if 0 <= r < self.browser.model.rowCount()]
        return [
            (image_id, partial(_pixels, source, image_id))
            for image_id in map(self.browser.model.image_id_at, rows)
        ]

    def _on_image_loaded(self, item: LoadedImage) -> None:
        if self.source is None or self.browser.current_image_id() not in (None, item.image_id):
            return  # the user moved on; the loader is already fetching the new one
        try:
            self.view_state.show(self._shown(item))
        except Exception as exc:  # a slot must not fail silently: the wait for this image would never end
            self._on_image_failed(item.image_id, exc)
            return
        if item.mask is not None and self.browser.is_edited(item.file_name):
            self._redraw_outlines()  # an image edited before: the outlines of its mask, not its annotations
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
            # the classes of this image in colours told apart (the palette alone has look-alike pairs)
            present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
            labels = LabelMap(mask, self.source.class_names(), distinct_colors(self.source.colors, present))
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
        restored = isinstance(saved, QByteArray | bytes) and bool(saved) and self.restoreState(saved)
        # restoreState also restores the toolbars' visibility: a window closed in Edit mode came back
        # with the edit and proposal bars showing while Edit mode was off
        self.edit_toolbar.setVisible(self.editing)
        self.proposals.bar.setVisible(self.editing)
        return restored

    def save_layout(self) -> QByteArray:
        return self.saveState()

    def default_layout(self, width: int, height: int) -> None:
        """Dock sizes for a window of ``width`` x ``height`` when no saved layout exists."""
        width = max(width, 800)
        # at 1024 px the docks took 23 % + 27 % plus margins and left the image about 300 px: they now
        # start just above their usable minimum there and grow with the window
        self.resizeDocks(
            [self.browser_dock, self.masks_dock],
            [max(int(width * 0.2), MIN_BROWSER_DOCK_W + 10), max(int(width * 0.24), MIN_MASKS_DOCK_W + 10)],
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
        central = self.centralWidget()
        return central is not None and central.width() >= MIN_CENTRAL_SHARE * self.width()

    # ----------------------------------------------------------------------------------------- editing
    def _build_editor(self) -> None:
        """Edit mode (ADR 0016): the toolbar, the brush cursor, the keys; mouse input via eventFilter."""
        self.editor = ImageEditor()
        self.edit_saving = EditSaving(self.editor, self, self.status_message.emit)  # autosave or ask
        self.act_autosave = self.edit_saving.act_autosave
        self.edit_toolbar = EditToolbar(self.editor, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.edit_toolbar)
        self.edit_toolbar.setVisible(False)
        self.edit_toolbar.class_box.keys_go_to = self.viewer  # after a class is found, keys paint again
        self.brush_cursor = BrushCursor(self.viewer.scene())
        self.polygon_overlay = PolygonOverlay(self.viewer.scene())
        self._pointer: tuple[float, float] | None = None  # the last mask point under the mouse
        self.act_edit = self._edit_action("&Edit mode", "edit.mode", checkable=True)
        self.act_edit.toggled.connect(self.set_editing)
        self.act_undo = self._edit_action("&Undo", "edit.undo", self.undo)
        self.act_redo = self._edit_action("&Redo", "edit.redo", self.redo)
        self.act_save = self._edit_action("&Save mask", "edit.save", self.save_current)
        self.act_smaller = self._edit_action(
            "Smaller brush", "edit.smaller", lambda: self.editor.resize_tool(-1)
        )
        self.act_bigger = self._edit_action("Bigger brush", "edit.bigger", lambda: self.editor.resize_tool(1))
        self.assists = AssistTools(self.editor, self.view_state, AssistOverlay(self.viewer.scene()))
        self.assists.install(self.edit_toolbar, self)  # wand, superpixels, GrabCut (issue 11)
        self.assists.status_message.connect(self.status_message)
        self.assists.segment.images_ahead = self._images_ahead  # click to segment embeds them ahead

        def cancel_stroke_and_assist() -> None:
            self.assists.reset()
            self.editor.cancel()

        self.act_cancel = self._edit_action("Cancel stroke / assist", "edit.cancel", cancel_stroke_and_assist)
        # the polygon's keys exist only while a polygon is open: Enter and Backspace stay the fields' keys
        self.act_close_polygon = self._edit_action(
            "Close polygon (fill)", "edit.close_polygon", self.close_polygon
        )
        self.act_subtract_polygon = self._edit_action(
            "Close polygon (subtract the class)",
            "edit.subtract_polygon",
            lambda: self.close_polygon(subtract=True),
        )
        self.act_remove_vertex = self._edit_action(
            "Remove last vertex", "edit.remove_vertex", self.editor.remove_vertex
        )
        self._polygon_actions = [self.act_close_polygon, self.act_subtract_polygon, self.act_remove_vertex]
        self.act_find_class = self._edit_action("Find class", "edit.find_class", self.edit_toolbar.find_class)
        self.class_actions = [
            self._edit_action(f"Class {i}", f"edit.class_{i}", partial(self.pick_class, i)) for i in range(10)
        ]
        self._mode_actions = [
            self.act_smaller,
            self.act_bigger,
            self.act_cancel,
            self.act_find_class,
            *self.class_actions,
        ]
        for action in self._mode_actions:
            action.setEnabled(False)
        self.viewer.viewport().installEventFilter(self)
        self.view_state.image_changed.subscribe(self._on_edit_image)
        self.editor.changed.subscribe(lambda _e: self._on_editor_changed())
        self.legend.class_picked.connect(self.pick_class)
        # an edited map's outlines: its regions', computed in a worker once the edits pause
        self._outline_job: JobWorker | None = None
        self._outline_timer = QTimer(self, singleShot=True, interval=OUTLINE_REDRAW_MS)
        self._outline_timer.timeout.connect(self._redraw_outlines)
        self.view_state.labels_changed.subscribe(lambda _e: self._outline_timer.start())
        self.view_state.image_changed.subscribe(lambda _e: self._drop_outline_job())
        # M: model proposals (its own bar, layer and keys), given what it uses of this workspace
        self.proposals = ProposalsController(self, self, self.viewer.scene(), self.status_message.emit)
        self._on_editor_changed()

    def _edit_action(
        self,
        text: str,
        shortcut: str,
        slot: Callable[[], object] | None = None,
        checkable: bool = False,
    ) -> QAction:
        action = shortcuts.bind(QAction(text, self, checkable=checkable), shortcut)
        action.setToolTip(f"{text.replace('&', '')} ({', '.join(shortcuts.keys(shortcut))})")
        if slot is not None:
            action.triggered.connect(lambda _c=False: slot())
        self.addAction(action)  # shortcuts work while this workspace is the visible tab
        return action

    @property
    def editing(self) -> bool:
        return self.act_edit.isChecked()

    def set_editing(self, on: bool) -> None:
        """Enter or leave Edit mode; it needs a mask folder to save into."""
        on = bool(on)
        if on and (self.source is None or self.source.masks_dir is None):
            self.status_message.emit(
                "Edit mode needs a mask folder: open one (Ctrl+M) or generate masks first", 8000
            )
            on = False
        if self.act_edit.isChecked() != on:
            self.act_edit.setChecked(on)  # comes back here through toggled
            return
        if on:
            assert self.source is not None
            if self.editor.mask_folder != self.source.masks_dir:
                self.editor.reset(self.source.masks_dir)
            self._attach_current()
        else:
            self.edit_saving.stop_editing()
            self.editor.release()
            self.editor.cancel()  # an open polygon is dropped
            self.assists.reset()
            self.brush_cursor.hide()
        self.viewer.set_left_button_pans(not on)
        self.edit_toolbar.setVisible(on)
        self.proposals.set_editing(on)
        self.legend.pick_mode = on
        for action in self._mode_actions:
            action.setEnabled(on)
        self.edit_mode_changed.emit(on)
        self._on_editor_changed()
        if on and self.source is not None and self.source.masks_dir is not None:
            self.edit_saving.start_editing(self.source.masks_dir)  # tells who else edits the folder

    def _on_edit_image(self, event: ImageChanged) -> None:
        if self.editing:
            self._attach_current()

    def _attach_current(self) -> None:
        image = self.view_state.image
        if image is None or self.source is None:
            self.editor.detach()
            return
        if image.labels is None:  # no mask yet (an image not labelled): start from background
            w, h = image.size
            labels = LabelMap(np.zeros((h, w), np.uint8), self.source.class_names(), self.source.colors)
            self.view_state.show(replace(image, labels=labels, mask_source="new mask"))
            return  # comes back through image_changed
        mask_h, mask_w = image.labels.shape
        w, h = image.size
        size = (h, w) if (mask_h, mask_w) == (h, w) else None  # masks stored smaller keep their size
        self.editor.attach(image.image_id, image.file_name, image.labels, size)

    def _on_editor_changed(self) -> None:
        undo, redo = self.editor.undo_text, self.editor.redo_text
        self.act_undo.setText(f"&Undo {undo}" if undo else "&Undo")
        self.act_redo.setText(f"&Redo {redo}" if redo else "&Redo")
        self.act_undo.setEnabled(self.editing and undo is not None)
        self.act_redo.setEnabled(self.editing and redo is not None)
        self.act_save.setEnabled(self.editing and self.editor.current_image is not None)
        polygon_open = self.editing and bool(self.editor.polygon_vertices)
        for action in self._polygon_actions:
            action.setEnabled(polygon_open)
        self._show_polygon()
        # the footprint follows the tool: switching from the superpixel brush to Fill left it on screen
        if self.editing:
            self._show_cursor(self._pointer)
        self.browser.set_unsaved_names(self.editor.unsaved())  # "*" in the list, like the title
        self.edits_changed.emit()

    def _drop_outline_job(self) -> None:
        self._outline_timer.stop()
        if self._outline_job is not None:
            self._outline_job.cancel()
            self._outline_job = None

    def _redraw_outlines(self) -> None:
        """The outlines of the edited map replace the annotations' instance outlines (they no longer
        matched what was drawn: an erased person kept its outline, a painted one had none)."""
        image = self.view_state.image
        if image is None or image.labels is None:
            return
        self._drop_outline_job()
        job = JobWorker(class_outlines, np.array(image.labels.array), *image.mask_scale)
        self._outline_job = job

        def done(outlines: list[Outline]) -> None:
            # isValid: a window closed without shutdown() (its scene deleted) still gets the result
            if self._outline_job is job and self.view_state.image is image and isValid(self.viewer):
                self._outline_job = None
                self.viewer.set_outlines(outlines)
                self.outlines_redrawn.emit()

        job.succeeded.connect(done)
        job.failed.connect(
            lambda exc: self.status_message.emit(f"Outlines not redrawn: {error_text(exc)}", 8000)
        )
        job.start()

    def pick_class(self, index: int) -> None:
        """Keys 0-9 and legend clicks in Edit mode: the class painted ('not a class' when absent)."""
        if not self.editor.set_class(int(index)):
            self.status_message.emit(f"No class {index} in this mask folder", 4000)

    def undo(self) -> None:
        self.editor.undo()

    def redo(self) -> None:
        self.editor.redo()

    def close_polygon(self, subtract: bool = False) -> None:
        """Enter (fill) or Ctrl+Enter (subtract): the open polygon becomes one undo step."""
        self.editor.close_polygon(subtract=subtract)

    def has_unsaved_edits(self) -> bool:
        return bool(self.editor.unsaved())

    def unsaved_files(self) -> list[str]:
        return self.editor.unsaved()

    def save_current(self) -> bool:
        """Ctrl+S: save the shown image's mask; a failure names the file and offers Save elsewhere."""
        return self.edit_saving.save()

    def save_all(self) -> bool:
        return self.edit_saving.save_all()

    def discard_all(self) -> None:
        self.editor.discard_all()

    def _stay_on(self, image_id: int) -> None:
        """Select ``image_id`` in the browser again without showing it anew (it is still shown)."""
        self.browser.blockSignals(True)
        try:
            self.browser.select_image(image_id)
        finally:
            self.browser.blockSignals(False)

    def _mask_point(self, pos: QPointF) -> tuple[float, float] | None:
        """A viewport position -> continuous MASK pixel coordinates (the mask may be smaller)."""
        image = self.view_state.image
        if image is None or image.labels is None:
            return None
        inverse, _ok = self.viewer.viewportTransform().inverted()
        scene = inverse.map(QPointF(pos))
        (mh, mw), (w, h) = image.labels.shape, image.size
        return scene.x() * mw / w, scene.y() * mh / h  # not / mask_scale: the same float as before

    def _show_polygon(self) -> None:
        """The open polygon with a segment to the pointer (hidden when none is open)."""
        image, vertices = self.view_state.image, self.editor.polygon_vertices
        if not vertices or image is None or image.labels is None:
            self.polygon_overlay.hide()
            return
        self.polygon_overlay.show(vertices, self._pointer, *image.mask_scale)

    def _show_cursor(self, point: tuple[float, float] | None) -> None:
        image, s = self.view_state.image, self.editor.settings
        self._pointer = point
        if self.editor.polygon_vertices:
            self._show_polygon()
        if point is None or image is None or image.labels is None or not tool_spec(s.tool).cursor:
            self.brush_cursor.hide()
            return
        self.brush_cursor.set_shape(s.radius, s.tip, *image.mask_scale)
        self.brush_cursor.move_to(math.floor(point[0]), math.floor(point[1]))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.viewer.viewport() or not self.editing:
            return super().eventFilter(watched, event)
        kind = event.type()
        if kind == QEvent.Type.Leave:
            self._pointer = None  # a later tool change must not bring the footprint back out here
            self.brush_cursor.hide()
        elif kind == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:  # Ctrl+wheel: brush size
                self.editor.resize_tool(1 if event.angleDelta().y() > 0 else -1)
                self._show_cursor(self._mask_point(event.position()))
                return True
        elif isinstance(event, QMouseEvent):
            return self._edit_mouse(kind, event)
        return super().eventFilter(watched, event)

    def _edit_mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        point = self._mask_point(event.position())
        if self.assists.active and self.assists.mouse(kind, event, point):
            self._show_cursor(point)  # the superpixel brush's footprint follows the stroke
            return True
        left = event.button() == Qt.MouseButton.LeftButton
        if self.proposals.handle_mouse(kind, event, point):  # accept a proposal in a box or stroke
            return True
        if kind == QEvent.Type.MouseButtonPress and left and point is not None:
            mods = event.modifiers()
            if mods & Qt.KeyboardModifier.AltModifier:
                self.editor.pick(point)
            else:
                self.editor.press(point, straight=bool(mods & Qt.KeyboardModifier.ShiftModifier))
            self._show_cursor(point)
            return True
        if kind == QEvent.Type.MouseButtonDblClick and left and self.editor.polygon_vertices:
            self.close_polygon()  # a double-click closes the polygon like Enter
            return True
        if kind == QEvent.Type.MouseMove:
            drawing = self.editor.stroking or self.editor.lassoing
            if drawing and point is not None:
                self.editor.move(point)
            self._show_cursor(point)
            if drawing:
                return True
        if kind == QEvent.Type.MouseButtonRelease and left and (self.editor.stroking or self.editor.lassoing):
            self.editor.release()
            return True
        return False

    # -------------------------------------------------------------------------------- Workspace protocol
    def busy_job(self) -> str | None:
        return self.proposals.busy_job()  # loading one image is not worth asking before quitting

    def stop(self) -> None:
        """Image loads are short and replaced by the next request; the batch proposal job is cancelled."""
        self.proposals.cancel_batch()

    def shutdown(self) -> None:
        self.edit_saving.stop_editing()
        self._drop_outline_job()  # a result arriving after the window closed would draw on a deleted scene
        self.assists.segment.shutdown()  # likewise an embedding ahead (its timer goes with the window)
        self.proposals.shutdown()
        self.browser.shutdown()
        self.loader.wait_idle(5000)
        self.inventory_watch.wait_idle(5000)

    def restore(self, project: Project | None) -> None:
        """The open dataset comes from MainWindow (set_dataset); proposals go into the project's folder."""
        self.proposals.set_project(project)

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
