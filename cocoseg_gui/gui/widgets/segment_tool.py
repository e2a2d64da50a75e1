"""SegmentTool: Edit mode's click-to-segment (A) on the viewer, driving a core ``ClickSegmentSession``.

``AssistTools`` routes the viewer's mouse here while ``Tool.SAM`` is the tool and shows what it
proposes in the assists' overlay, so Enter (accept into the active class under the overwrite rule,
one undo step) and Esc work as for every assist. Left click: a point on the object; right click or
Alt+click: background; a drag: a box (decoded as it goes, the latest box only). V cycles SAM's three
candidates, Shift+A (or Refine) makes the active class's region the mask prompt.

Nothing of the model runs on the GUI thread (ADR 0038, "GUI tool"): loading the weights and the
image's embedding run in a ``JobWorker`` when an image is shown with the tool chosen, and so does
each decode: the session is used by one job at a time, later prompts queue behind it (a drag's boxes
coalesce), clicks made before the embedding is ready wait for it ("preparing…"). Once it is ready
and no prompt came for ``AHEAD_IDLE_MS``, the next image and then the previous one (``images_ahead``,
given by the workspace: the user goes back and forth) are embedded ahead into the disk cache, one job
at a time in the same worker pattern: they share the CPU with the clicks, so each waits for a pause.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.editing.stroke import Point
from cocoseg_gui.core.editing.tools import Tool
from cocoseg_gui.core.project.image_view_state import ImageViewState
from cocoseg_gui.core.segment.click_session import ClickSegmentSession
from cocoseg_gui.core.segment.kinds import EXTRA_HINT
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.services.preferences import SAM_WEIGHTS_KEY, read_preferences
from cocoseg_gui.gui.services.workers import JobWorker
from cocoseg_gui.gui.widgets.dialogs import error_text, show_error

WEIGHTS_FILTER = "Weights (*.pt *.pth *.bin);;All files (*)"  # the file dialogs that choose SAM weights
PACKAGES = ("segment_anything", "mobile_sam")  # the optional ``sam`` extra
CLICK_SLOP = 3.0  # screen pixels: a press that moves less is a click, more a box
AHEAD_IDLE_MS = 2000  # the next image is embedded after this long without a prompt (it slows clicks 2x)
Move, Press, Release = QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease
Op = Callable[[Any], None]  # one change of the session, run in the worker
Ahead = tuple[int, Callable[[], np.ndarray]]  # an image's id and a reader of its pixels (run in a job)


def missing_packages() -> list[str]:
    """The optional packages the tool needs that are not installed (found without importing them)."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def unavailable_tip() -> str:
    return f"Click to segment needs the packages {', '.join(missing_packages())}: {EXTRA_HINT}"


@dataclass
class _Drag:
    start: Point
    screen: tuple[float, float]
    positive: bool
    boxing: bool = False


def _load_and_embed(
    weights: Path, segmenter: Any, rgb: np.ndarray, mask_shape: tuple[int, int], **_job: Any
) -> tuple[Any, Any]:
    """(segmenter, session) for ``rgb``: the weights loaded once (recognised, strict), the embedding
    from the disk cache or the encoder. Runs in the worker."""
    from cocoseg_gui.core.segment.click_session import ClickSegmentSession
    from cocoseg_gui.core.segment.embedding_cache import EmbeddingCache
    from cocoseg_gui.core.segment.model import load_sam
    from cocoseg_gui.core.segment.segmenter import Segmenter

    if segmenter is None:
        segmenter = Segmenter(load_sam(weights), EmbeddingCache())
    return segmenter, ClickSegmentSession(segmenter, segmenter.embed(rgb), mask_shape)


def _embed_into_cache(segmenter: Any, read: Callable[[], np.ndarray], **_job: Any) -> None:
    """A neighbour's embedding into the disk cache, so that showing it costs no encoder run."""
    segmenter.embed(read())


def _run_ops(session: Any, ops: list[Op], **_job: Any) -> Any:
    for op in ops:
        op(session)
    return session


class SegmentTool(QObject):
    """The click-to-segment interaction; ``show`` puts an Area in the assists' overlay (None clears)."""

    status_message = Signal(str, int)
    ready = Signal()  # the shown image's embedding is ready (tests wait on it)
    decoded = Signal()  # a decode finished and its preview is shown

    def __init__(
        self,
        editor: ImageEditor,
        view_state: ImageViewState,
        show: Callable[[Area | None], None],
        marks: Callable[[Box | None], None],
    ) -> None:
        super().__init__()
        self.editor, self.view_state = editor, view_state
        self._show, self._marks = show, marks
        self.settings: QSettings | None = None
        self.weights: Path | None = None
        self.segmenter: Any = None  # core Segmenter, loaded in the worker
        self.session: Any = None  # core ClickSegmentSession of the shown image
        self.job: JobWorker | None = None
        self._image: int | None = None  # the image the session (or the job in flight) is for
        self._ops: list[Op] = []  # prompts waiting for the embedding or the running decode
        self._box_op: Op | None = None  # the latest box of a drag, coalesced
        self._drag: _Drag | None = None
        self._cleared = 0  # how often the prompts were cleared: a decode started before shows nothing
        self._window: QWidget | None = None
        # the workspace says which images to embed ahead, in order (the next, then the previous)
        self.images_ahead: Callable[[], list[Ahead]] = list
        self.ahead_job: JobWorker | None = None
        self._ahead_id: int | None = None  # the image ahead_job embeds
        self._ahead_done: set[int] = set()  # images embedded (shown or ahead) with these weights
        self._shut_down = False  # the window closed: a job ending later touches nothing (its timer is gone)
        self._ahead_timer = QTimer(singleShot=True, interval=AHEAD_IDLE_MS)
        self._ahead_timer.timeout.connect(self._embed_ahead)
        self.act_cycle = shortcuts.bind(QAction("Next of the 3 masks"), "segment.cycle")
        self.act_cycle.triggered.connect(lambda _c=False: self.cycle())
        self.act_refine = shortcuts.bind(QAction("Refine"), "segment.refine")
        self.act_refine.setToolTip(
            "Refine (Shift+A): the active class's current region becomes the mask prompt; "
            "then click the object"
        )
        self.act_refine.triggered.connect(lambda _c=False: self.refine())
        self.act_choose = QAction("Weights…")
        self.act_choose.triggered.connect(lambda _c=False: self.choose_weights())

    # ------------------------------------------------------------------------------------ set up
    def install(self, window: QWidget) -> None:
        self._window = window
        self._ahead_timer.setParent(window)  # goes with the window: never fires after it
        window.addAction(self.act_cycle)
        window.addAction(self.act_refine)

    def use_settings(self, settings: QSettings) -> None:
        """The stored weights file; read again after Edit › Preferences…, which may have changed it."""
        self.settings = settings
        path = read_preferences(settings).sam_weights
        if path != self.weights:
            self.set_weights(path)  # the loaded model and the images embedded ahead go with the old file
        self._refresh_choose()

    @property
    def available(self) -> bool:
        return not missing_packages()

    def _refresh_choose(self) -> None:
        name = self.weights.name if self.weights is not None else "none"
        self.act_choose.setToolTip(f"The SAM / MobileSAM weights file (now: {name}); choose another")
        self.act_choose.setText(f"Weights: {self.weights.name}" if self.weights else "Choose weights…")

    def choose_weights(self) -> None:
        """The file dialog, then ``set_weights``."""
        path, _filter = QFileDialog.getOpenFileName(
            self._window, "SAM / MobileSAM weights", "", WEIGHTS_FILTER
        )
        if path:
            self.set_weights(Path(path))

    def set_weights(self, path: Path | None) -> None:
        """Use ``path`` from now on (kept in the settings); it is loaded, and a bad one refused, when
        the next image is prepared (at once when the tool is chosen)."""
        self.weights, self.segmenter = path, None
        self._ahead_done.clear()
        if self.settings is not None:
            if path is None:
                self.settings.remove(SAM_WEIGHTS_KEY)
            else:
                self.settings.setValue(SAM_WEIGHTS_KEY, str(path))
        self._refresh_choose()
        self.reset_image()
        if path is not None and self.editor.settings.tool is Tool.SAM:
            self.prepare()

    def shutdown(self) -> None:
        """The window closes: jobs cancelled, their late ``done`` ignored (the timer goes with the window)."""
        self._shut_down = True
        self.reset_image()
        if self.ahead_job is not None:
            self.ahead_job.cancel()
            self.ahead_job = None

    # ------------------------------------------------------------------------------------ image
    def reset_image(self) -> None:
        """Another image, another tool or other weights: the session and waiting prompts go."""
        if self.job is not None:
            self.job.cancel()
            self.job = None
        self._ahead_timer.stop()
        self.session, self._image, self._ops, self._box_op, self._drag = None, None, [], None, None

    def prepare(self) -> None:
        """The shown image's embedding in the worker (the weights loaded first when needed)."""
        image, shape = self.view_state.image, self.editor.label_shape
        if image is None or shape is None or not self.available:
            return
        if self.weights is None:
            self.status_message.emit("Click to segment: choose a weights file (the toolbar's Weights…)", 8000)
            return
        if self._image == image.image_id and (self.session is not None or self.job is not None):
            return
        ops = self._ops if self._image == image.image_id else []  # clicks waiting for this image
        self.reset_image()
        self._image, self._ops = image.image_id, ops
        self.status_message.emit("Click to segment: preparing the image…", 0)
        if self.ahead_job is not None and self._ahead_id == image.image_id:
            return  # being embedded ahead: prepared again (from the cache) when that ends
        self._start(_load_and_embed, self.weights, self.segmenter, image.rgb, shape, ok=self._embedded)

    def _embedded(self, result: tuple[Any, Any]) -> None:
        if self._shut_down:
            return
        self.segmenter, self.session = result
        if self._image is not None:
            self._ahead_done.add(self._image)  # in the cache: never embedded ahead again
        self.status_message.emit("Click to segment: click the object (right click: background)", 6000)
        self.ready.emit()
        self._flush()
        self._ahead_timer.start()

    def _embed_ahead(self) -> None:
        """The first of ``images_ahead`` not embedded yet, in its own job (into the cache), once per
        image and weights; the one after waits for another pause."""
        if self.segmenter is None or self.ahead_job is not None:
            return
        todo = [ahead for ahead in self.images_ahead() if ahead[0] not in self._ahead_done]
        if not todo:
            return
        image_id, read = todo[0]
        self._ahead_done.add(image_id)
        self._ahead_id, job = image_id, JobWorker(_embed_into_cache, self.segmenter, read)
        self.ahead_job = job

        def done() -> None:
            if self._shut_down:
                return
            self.ahead_job = None
            waiting = self._image == image_id and self.session is None and self.job is None
            if waiting and self.editor.settings.tool is Tool.SAM:
                self.prepare()  # shown meanwhile: prepared now, from the cache
            elif self.session is not None and self.job is None and not self._ops:
                self._ahead_timer.start()  # the next of images_ahead, after another pause

        job.done.connect(done)  # a failure is met again, and reported, when that image is shown
        job.start()

    def _failed(self, exc: BaseException) -> None:
        """A bad weights file: a dialog with the core's message (it names the file); the tool goes off."""
        if self.session is None:  # loading or embedding failed
            bad = self.weights
            self.set_weights(None)
            self.editor.update(tool=Tool.BRUSH)
            self.status_message.emit(f"Click to segment: {bad} was not loaded", 8000)
            show_error(self._window, "Click to segment", exc)
        else:
            self.status_message.emit(f"Click to segment: {error_text(exc)}", 8000)

    # ---------------------------------------------------------------------------------- prompts
    def mouse(self, kind: QEvent.Type, event: QMouseEvent, point: Point | None) -> bool:
        button = event.button()
        pos = event.position()
        buttons = (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        if kind == Press and point is not None and button in buttons:
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            positive = button == Qt.MouseButton.LeftButton and not alt
            self._drag = _Drag(point, (pos.x(), pos.y()), positive)
            return True
        drag = self._drag
        if drag is None:
            return False
        if kind == Move and point is not None:
            moved = max(abs(pos.x() - drag.screen[0]), abs(pos.y() - drag.screen[1]))
            if not drag.boxing and moved >= CLICK_SLOP:
                drag.boxing = drag.positive  # a right-button drag stays a background click
            if drag.boxing:
                self._box(drag.start, point, final=False)
            return True
        if kind == Release:
            self._drag = None
            end = point if point is not None else drag.start
            if drag.boxing:
                self._box(drag.start, end, final=True)
            else:
                x, y = drag.start  # continuous mask coordinates (a pixel's centre is +0.5)
                positive = drag.positive

                def add_point(s: ClickSegmentSession) -> None:
                    s.add_point(x, y, positive)

                self.request(add_point)
            return True
        return False

    def _box(self, a: Point, b: Point, final: bool) -> None:
        (x0, x1), (y0, y1) = sorted((a[0], b[0])), sorted((a[1], b[1]))
        self._marks(Box(int(y0), int(x0), int(y1) + 1, int(x1) + 1))
        self._box_op = lambda s: s.set_box(x0, y0, x1, y1)
        if self.session is None:
            self.status_message.emit("Click to segment: preparing… your box is applied when ready", 0)
        self._flush()

    def request(self, op: Op) -> None:
        """Apply ``op`` to the session in the worker, after those already waiting."""
        self._ops.append(op)
        if self._ahead_timer.isActive():
            self._ahead_timer.start()  # the user is prompting: the next image waits
        if self.session is None:
            if self.job is None and self.ahead_job is None:
                self.prepare()
            self.status_message.emit("Click to segment: preparing… your click is applied when ready", 0)
            return
        self._flush()

    def _flush(self) -> None:
        if self.session is None or self.job is not None:
            return
        ops = self._ops + ([self._box_op] if self._box_op is not None else [])
        self._ops, self._box_op = [], None
        if ops:
            self._start(_run_ops, self.session, ops, ok=partial(self._decoded, cleared=self._cleared))

    def _decoded(self, session: Any, cleared: int) -> None:
        if session is not self.session or cleared != self._cleared:
            return  # another image, or Esc / Enter came while it ran: its preview is stale
        self._show(session.area())
        if session.candidates:
            self.status_message.emit(
                f"Mask {session.index + 1}/{session.candidates} (predicted IoU {session.score:.2f}): "
                "Enter accepts, V next mask, click to add, Esc clears",
                0,
            )
        self.decoded.emit()
        self._flush()

    def cycle(self) -> None:
        """V: SAM's next candidate (a lone click has three)."""
        if self.session is not None and self.session.candidates > 1:
            self.request(lambda s: s.cycle())

    def refine(self) -> None:
        """Shift+A: the active class's region as the mask prompt (used with the next click or box)."""
        labels = self.editor.current_labels
        if labels is None or self.editor.settings.tool is not Tool.SAM:
            return
        region = np.asarray(labels) == self.editor.settings.active_class
        if not region.any():
            self.status_message.emit("Refine: the active class has no pixels on this image", 6000)
            return

        def refine(s: ClickSegmentSession) -> None:
            s.refine_with(region)

        self.request(refine)
        self.status_message.emit("Refine: the class's region is the prompt; click the object", 6000)

    def clear(self) -> None:
        """Esc (and after Enter): the prompts go; the embedding stays."""
        self._ops, self._box_op, self._drag = [], None, None
        self._cleared += 1
        if self.session is not None and self.job is None:
            self.session.clear(notify=False)
        elif self.session is not None:
            self._ops.append(lambda s: s.clear(notify=False))  # after the decode in flight
        self._marks(None)
        if self.session is not None and self.editor.settings.tool is Tool.SAM:  # the mask's hint goes
            self.status_message.emit("Click to segment: click the object (right click: background)", 4000)

    # ------------------------------------------------------------------------------------- jobs
    def _start(self, fn: Callable[..., Any], *args: Any, ok: Callable[[Any], None]) -> None:
        job = JobWorker(fn, *args)
        self.job = job

        def succeeded(result: object) -> None:
            if self.job is job:
                ok(result)

        def failed(exc: object) -> None:
            if self.job is job:
                self.job = None
                self._failed(exc)  # type: ignore[arg-type]

        def done() -> None:
            if self.job is job:
                self.job = None
                self._flush()

        job.succeeded.connect(succeeded)
        job.failed.connect(failed)
        job.done.connect(done)
        job.start()
