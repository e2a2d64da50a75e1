"""AssistTools: the Edit mode's magic wand (W), superpixel brush (R), GrabCut (C) and click to segment
(A, ``segment_tool.SegmentTool``) on the viewer.

The Images workspace hands it the mouse events of the viewer while an assist is the tool (positions
already in mask pixels). Each assist shows its proposal in an ``AssistOverlay`` and writes nothing
until it is accepted: ``ImageEditor.accept_area`` then paints it into the active class under the
overwrite rule as ONE undo step. Esc drops the proposal. SLIC and GrabCut run in ``JobWorker``s (never
on the GUI thread; a newer request cancels the older); the wand is a flood fill sized by its region.

- Wand: click = proposal (the tolerance slider updates it live; Enter accepts); press and drag
  horizontally = tolerance follows the pointer (2 screen pixels per step), release accepts.
- Superpixels: the shown image's SLIC (cached per image and size) is computed when the tool is
  chosen; a stroke (brush radius) highlights the superpixels it touches, release accepts them.
- GrabCut: drag a box -> proposal; then left-drag marks foreground, right-drag (or Shift+drag)
  background, each re-runs the cut; Enter accepts, Esc rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar, QWidget

from cocoseg_gui.core.assists.grabcut import GrabCutResult, Scribble, grabcut_job
from cocoseg_gui.core.assists.image import rgb_at_mask_size
from cocoseg_gui.core.assists.superpixels import (
    DEFAULT_SEGMENTS,
    MAX_SEGMENTS,
    MIN_SEGMENTS,
    SuperpixelCache,
    Superpixels,
    superpixel_job,
)
from cocoseg_gui.core.assists.wand import DEFAULT_TOLERANCE, MAX_TOLERANCE, wand_area
from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.stroke import Point, segment_area
from cocoseg_gui.core.editing.tools import ASSIST_TOOLS, Tool
from cocoseg_gui.core.project.image_view_state import ImageViewState
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.assist_overlay import AssistOverlay
from cocoseg_gui.gui.widgets.dialogs import error_text
from cocoseg_gui.gui.widgets.segment_tool import SegmentTool, unavailable_tip

DRAG_PIXELS_PER_STEP = 2.0  # screen pixels of horizontal drag per tolerance step
CLICK_SLOP = 3.0  # a press that moves less than this (screen pixels) is a click
Move, Press, Release = QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease


@dataclass
class _Pending:
    """What is being proposed: the area and, per tool, what it was made from."""

    area: Area | None = None
    seed: Point | None = None  # wand
    press_x: float | None = None  # wand drag: screen x of the press
    base_tolerance: int = 0
    dragged: bool = False
    ids: set[int] = field(default_factory=set)  # superpixels chosen by the stroke
    last: Point | None = None
    queued: list[Point] | None = None  # a superpixel stroke made while SLIC still ran, replayed after
    released: bool = False  # ...and whether it had ended by then (it is accepted at once)
    rect_start: Point | None = None  # GrabCut box being dragged
    rect: Box | None = None
    result: GrabCutResult | None = None
    strokes: list[tuple[list[Point], bool]] = field(default_factory=list)  # GrabCut scribbles (fg?)
    scribble: tuple[list[Point], bool] | None = None


MouseHandler = Callable[[QEvent.Type, QMouseEvent, Point | None], bool]


@dataclass(frozen=True)
class Interaction:
    """How one assist tool (``ToolKind.ASSIST`` in ``core.editing.tools``) is driven: its handler of the
    viewer's mouse events and, for a tool whose registry entry has an ``image_job``, what starts that job
    (or takes its cached result) when the tool is chosen or another image is shown."""

    mouse: MouseHandler
    prepare: Callable[[], None] | None = None


class AssistTools(QObject):
    """Drives the assists for one ``ImageEditor`` on one viewer scene: ``interactions`` maps each assist
    tool of the registry to its ``Interaction``."""

    status_message = Signal(str, int)
    preview_changed = Signal()  # a proposal appeared, changed or went (tests wait on it)

    def __init__(self, editor: ImageEditor, view_state: ImageViewState, overlay: AssistOverlay) -> None:
        super().__init__()
        self.editor, self.view_state, self.overlay = editor, view_state, overlay
        self.tolerance = DEFAULT_TOLERANCE
        self.segments = DEFAULT_SEGMENTS
        self.cache = SuperpixelCache()
        self.superpixels: Superpixels | None = None
        self.pending = _Pending()
        self.job: JobWorker | None = None
        self._rgb_key: tuple[int, tuple[int, int]] | None = None
        self._rgb: np.ndarray | None = None
        self._tool: Tool | None = None
        self._image: int | None = None
        self._job_is_grabcut = False
        self.act_accept = shortcuts.bind(QAction("Accept the assist's proposal"), "assist.accept")
        self.act_accept.triggered.connect(lambda _c=False: self.accept())
        self.act_accept.setEnabled(False)
        self.segment = SegmentTool(
            editor,
            view_state,
            show=lambda area: self._show(area if area is not None else Area.nothing()),
            marks=lambda box: self.overlay.show_marks(box, (), *self._scale()),
        )
        self.segment.status_message.connect(self.status_message)
        self.interactions: dict[Tool, Interaction] = {
            Tool.WAND: Interaction(self._wand_mouse),
            Tool.SUPERPIXEL: Interaction(self._superpixel_mouse, prepare=self.ensure_superpixels),
            Tool.GRABCUT: Interaction(self._grabcut_mouse),
            Tool.SAM: Interaction(self.segment.mouse, prepare=self.segment.prepare),
        }
        self._controls: dict[Tool, list[QAction]] = {}  # a tool's toolbar controls, shown with it
        editor.changed.subscribe(lambda _e: self._on_editor_changed())

    # ------------------------------------------------------------------------------------- toolbar
    def install(self, toolbar: QToolBar, window: QWidget) -> None:
        """The tolerance and superpixel-size controls on ``toolbar`` (shown with their tool); the
        accept key on ``window``."""
        window.addAction(self.act_accept)
        self.tolerance_slider = QSlider(Qt.Orientation.Horizontal)
        self.tolerance_slider.setRange(0, MAX_TOLERANCE)
        self.tolerance_slider.setValue(self.tolerance)
        self.tolerance_slider.setFixedWidth(120)
        self.tolerance_slider.setToolTip("Magic wand tolerance (or drag on the image left/right)")
        self.tolerance_slider.valueChanged.connect(self.set_tolerance)
        self.tolerance_label = QLabel()
        self.segments_box = QSpinBox()
        self.segments_box.setRange(MIN_SEGMENTS, MAX_SEGMENTS)
        self.segments_box.setSingleStep(100)
        self.segments_box.setValue(self.segments)
        self.segments_box.setPrefix("superpixels ")
        self.segments_box.setToolTip("About how many superpixels SLIC cuts the image into")
        self.segments_box.valueChanged.connect(self.set_segments)
        self._controls[Tool.WAND] = [
            toolbar.addWidget(self.tolerance_label),
            toolbar.addWidget(self.tolerance_slider),
        ]
        self._controls[Tool.SUPERPIXEL] = [toolbar.addWidget(self.segments_box)]
        self.segment.install(window)
        toolbar.addAction(self.segment.act_choose)
        toolbar.addAction(self.segment.act_refine)
        self._controls[Tool.SAM] = [self.segment.act_choose, self.segment.act_refine]
        sam_button = getattr(toolbar, "tool_actions", {}).get(Tool.SAM)
        if sam_button is not None and not self.segment.available:  # the optional extra is missing
            sam_button.setEnabled(False)
            sam_button.setToolTip(unavailable_tip())
        self._refresh_controls()

    def _refresh_controls(self) -> None:
        if not hasattr(self, "tolerance_slider"):
            return
        tool = self.editor.settings.tool
        for owner, actions in self._controls.items():
            for action in actions:
                action.setVisible(tool is owner)
        self.tolerance_label.setText(f"tolerance {self.tolerance}")
        if self.tolerance_slider.value() != self.tolerance:
            self.tolerance_slider.setValue(self.tolerance)

    # ------------------------------------------------------------------------------------ settings
    def set_tolerance(self, value: int) -> None:
        """The wand's tolerance; an open wand proposal follows it."""
        value = int(min(MAX_TOLERANCE, max(0, value)))
        if value == self.tolerance:
            return
        self.tolerance = value
        self._refresh_controls()
        if self.pending.seed is not None:
            self._wand_preview()

    def set_segments(self, value: int) -> None:
        """The superpixels' number; another SLIC is computed (or taken from the cache)."""
        value = int(min(MAX_SEGMENTS, max(MIN_SEGMENTS, value)))
        if value != self.segments:
            self.segments = value
            if self.editor.settings.tool is Tool.SUPERPIXEL:
                self.reset()
                self.ensure_superpixels()

    @property
    def active(self) -> bool:
        return self.editor.settings.tool in ASSIST_TOOLS and self.editor.current_image is not None

    @property
    def has_proposal(self) -> bool:
        return self.pending.area is not None and not self.pending.area.empty

    # ---------------------------------------------------------------------------------------- image
    def rgb(self) -> np.ndarray | None:
        """The shown image on the mask's grid (cached per image)."""
        image, shape = self.view_state.image, self.editor.label_shape
        if image is None or shape is None:
            return None
        key = (image.image_id, shape)
        if key != self._rgb_key:
            self._rgb, self._rgb_key = rgb_at_mask_size(image.rgb, shape), key
        return self._rgb

    def _on_editor_changed(self) -> None:
        tool, image = self.editor.settings.tool, self.editor.current_image
        if (tool, image) != (self._tool, self._image):
            self._tool, self._image = tool, image
            self.reset()
            self.superpixels = None
            self.segment.reset_image()
            interaction = self.interactions.get(tool)
            if interaction is not None and interaction.prepare is not None and image is not None:
                interaction.prepare()  # the tool's per-image job (SLIC)
        elif self.pending.area is not None and self.overlay.colour != self._colour():
            self._show(self.pending.area)  # another class picked: the proposal takes its colour
        self._refresh_controls()

    def ensure_superpixels(self) -> None:
        """SLIC of the shown image at the current size: from the cache or a worker."""
        image_id, rgb = self.editor.current_image, self.rgb()
        if image_id is None or rgb is None:
            return
        cached = self.cache.get(image_id, self.segments)
        if cached is not None:
            self.superpixels = cached
            return
        self.superpixels = None
        self.status_message.emit("Computing superpixels…", 4000)
        self._start(superpixel_job, rgb, self.segments, ok=partial(self._superpixels_ready, image_id))
        self._job_is_grabcut = False

    def _superpixels_ready(self, image_id: int, result: Superpixels) -> None:
        self.cache.put(image_id, result)
        if image_id == self.editor.current_image and result.n_segments == self.segments:
            self.superpixels = result
            self.status_message.emit(f"{result.count} superpixels: paint over them", 4000)
            self._replay_queued()

    def _replay_queued(self) -> None:
        """The stroke painted while SLIC ran: its superpixels are proposed, and accepted if it ended."""
        queued, released = self.pending.queued, self.pending.released
        if not queued:
            return
        self.pending = _Pending(last=queued[-1])
        for a, b in zip(queued[:1] + queued[:-1], queued, strict=True):
            self._touch(a, b)
        if released:
            self.accept()

    # ------------------------------------------------------------------------------------------ jobs
    def _start(self, fn: Callable[..., object], *args: object, ok: Callable[[Any], None]) -> None:
        """Run ``fn`` in a JobWorker; a newer request cancels the older (its result is dropped)."""
        if self.job is not None:
            self.job.cancel()
        job = JobWorker(fn, *args)
        self.job = job

        def succeeded(result: object) -> None:
            if self.job is job:
                ok(result)

        def failed(exc: BaseException) -> None:
            if self.job is job:
                self.status_message.emit(f"{self.editor.settings.tool.value}: {error_text(exc)}", 8000)

        def done() -> None:
            if self.job is job:
                self.job = None

        job.succeeded.connect(succeeded)
        job.failed.connect(failed)
        job.done.connect(done)
        job.start()

    def busy(self) -> bool:
        return self.job is not None

    # ---------------------------------------------------------------------------------------- mouse
    def mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        """A viewer mouse event while an assist is the tool; True when it was used. An error becomes a
        status message (an exception escaping an event filter would end the application)."""
        try:
            return self._mouse(kind, event, point)
        except Exception as exc:
            self.reset()
            self.status_message.emit(f"{self.editor.settings.tool.value}: {error_text(exc)}", 10000)
            return True

    def _mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        interaction = self.interactions.get(self.editor.settings.tool)
        return interaction.mouse(kind, event, point) if interaction is not None else False

    def _wand_mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        p = self.pending
        x = event.position().x()
        if kind == Press and event.button() == Qt.MouseButton.LeftButton and point is not None:
            self.pending = _Pending(seed=point, press_x=x, base_tolerance=self.tolerance)
            self._wand_preview()
            return True
        if kind == Move and p.press_x is not None:
            dx = x - p.press_x
            if abs(dx) >= CLICK_SLOP:
                p.dragged = True
            if p.dragged:
                self.set_tolerance(p.base_tolerance + round(dx / DRAG_PIXELS_PER_STEP))
            return True
        if kind == Release and event.button() == Qt.MouseButton.LeftButton and p.press_x is not None:
            p.press_x = None
            if p.dragged:
                self.accept()
            return True
        return False

    def _wand_preview(self) -> None:
        rgb, seed = self.rgb(), self.pending.seed
        if rgb is None or seed is None:
            return
        self._show(wand_area(rgb, seed, self.tolerance))

    def _superpixel_mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        p = self.pending
        if kind == Press and event.button() == Qt.MouseButton.LeftButton and point is not None:
            if self.superpixels is None:  # the stroke is kept and applied once they are ready
                self.pending = _Pending(queued=[point])
                self.status_message.emit("Computing superpixels… your stroke is applied when ready", 0)
                if not self.busy():
                    self.ensure_superpixels()
                return True
            self.pending = _Pending(last=point)
            self._touch(point, point)
            return True
        if p.queued is not None:
            if kind == Move and point is not None and not p.released:
                p.queued.append(point)
            elif kind == Release and event.button() == Qt.MouseButton.LeftButton:
                p.released = True
            return kind in (Move, Release)
        if kind == Move and p.last is not None and point is not None:
            self._touch(p.last, point)
            p.last = point
            return True
        if kind == Release and event.button() == Qt.MouseButton.LeftButton and p.last is not None:
            self.accept()
            return True
        return False

    def _touch(self, a: Point, b: Point) -> None:
        sp, shape = self.superpixels, self.editor.label_shape
        if sp is None or shape is None:
            return
        s = self.editor.settings
        ids = set(sp.ids_under(segment_area(a, b, s.brush_radius, s.tip, shape)).tolist())
        if not ids <= self.pending.ids:
            self.pending.ids |= ids
            self._show(sp.area_of(self.pending.ids))

    def _grabcut_mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        p, button = self.pending, event.button()
        if (
            kind == Press
            and point is not None
            and button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        ):
            if p.rect is None:
                if button == Qt.MouseButton.LeftButton:
                    p.rect_start = point
                return True
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            p.scribble = ([point], button == Qt.MouseButton.LeftButton and not shift)
            self._marks()
            return True
        if kind == Move and point is not None:
            if p.rect_start is not None:
                self._marks(self._drag_box(p.rect_start, point))
                return True
            if p.scribble is not None:
                p.scribble[0].append(point)
                self._marks()
                return True
            return False
        if kind == Release and point is not None:
            if p.rect_start is not None:
                box = self._drag_box(p.rect_start, point)
                p.rect_start = None
                if box.shape[0] >= 2 and box.shape[1] >= 2:
                    p.rect = box
                    self._run_grabcut([])
                self._marks()
                return True
            if p.scribble is not None:
                points, fg = p.scribble
                p.scribble = None
                p.strokes.append((points, fg))
                radius = self.editor.settings.brush_radius
                self._run_grabcut([Scribble(tuple(points), radius, fg)])
                self._marks()
                return True
        return False

    def _drag_box(self, a: Point, b: Point) -> Box:
        shape = self.editor.label_shape or (0, 0)
        x0, x1 = sorted((a[0], b[0]))
        y0, y1 = sorted((a[1], b[1]))
        return Box(int(y0), int(x0), int(y1) + 1, int(x1) + 1).clipped(shape)

    def _run_grabcut(self, scribbles: list[Scribble]) -> None:
        rgb, rect = self.rgb(), self.pending.rect
        if rgb is None or rect is None:
            return
        self.status_message.emit("GrabCut…", 3000)
        self._start(grabcut_job, rgb, rect, scribbles, self.pending.result, ok=self._grabcut_ready)
        self._job_is_grabcut = True

    def _grabcut_ready(self, result: GrabCutResult) -> None:
        if self.pending.rect is None:
            return  # rejected meanwhile
        self.pending.result = result
        self._show(result.area)
        self.status_message.emit(
            "GrabCut: Enter accepts, left-drag adds foreground, right-drag background, Esc rejects", 6000
        )

    # ------------------------------------------------------------------------------------- preview
    def _scale(self) -> tuple[float, float]:
        image, shape = self.view_state.image, self.editor.label_shape
        if image is None or shape is None:
            return 1.0, 1.0
        w, h = image.size
        return w / shape[1], h / shape[0]

    def _show(self, area: Area) -> None:
        self.pending.area = area
        sx, sy = self._scale()
        self.overlay.show_area(area, self._colour(), sx, sy)
        self.act_accept.setEnabled(self.has_proposal)
        self.preview_changed.emit()

    def _colour(self) -> tuple[int, int, int]:
        return self.editor.class_color(self.editor.settings.active_class)

    def _marks(self, dragging: Box | None = None) -> None:
        p = self.pending
        strokes = [s for s, _fg in p.strokes] + ([p.scribble[0]] if p.scribble is not None else [])
        self.overlay.show_marks(dragging or p.rect, strokes, *self._scale())

    # ----------------------------------------------------------------------------------- accept/esc
    def accept(self) -> Box:
        """Write the proposal into the active class under the overwrite rule (one undo step)."""
        area, tool = self.pending.area, self.editor.settings.tool
        self.reset()
        if area is None or area.empty or tool not in ASSIST_TOOLS:
            return Box.empty_box()
        return self.editor.accept_area(area, tool)

    def reset(self) -> None:
        """Esc: drop the proposal (and cancel a GrabCut in flight); nothing was written."""
        if self.job is not None and (
            self._job_is_grabcut or self.editor.settings.tool is not Tool.SUPERPIXEL
        ):
            self.job.cancel()
            self.job = None
        self.pending = _Pending()
        self.segment.clear()
        self.overlay.clear()
        self.act_accept.setEnabled(False)
        self.preview_changed.emit()
