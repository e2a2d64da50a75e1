"""ImageEditor: the Edit mode's state without Qt: tool settings, one ImageEdit per image, save.

The GUI hands it mouse positions already in MASK pixels and the shown image's ``LabelMap``; every
changed box is written into that map with ``LabelMap.apply`` (which notifies the views with the box),
so a brush event costs the brush's box end to end. Sessions (working array + undo history) are kept
per image for the whole session, so undo survives browsing and unsaved edits survive a revisit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.editing.box import Area, Box
from cocoseg_gui.core.editing.footprint import Tip, check_radius
from cocoseg_gui.core.editing.history import HistoryBook, step_description
from cocoseg_gui.core.editing.image_edit import Brush, ImageEdit
from cocoseg_gui.core.editing.rules import OVERWRITE, Mode, Rule, pick
from cocoseg_gui.core.editing.save import (
    SavedMask,
    recover_damaged_edited,
    repair_interrupted_save,
    save_edited_mask,
    save_mask_copy,
)
from cocoseg_gui.core.editing.stroke import Point, pixel
from cocoseg_gui.core.editing.tools import ASSIST_TOOLS, BRUSH_TOOLS, STEP_NAMES, Tool
from cocoseg_gui.core.errors import CocoSegError
from cocoseg_gui.core.files.folder_lock import WINDOW_LOCK_WAIT_S
from cocoseg_gui.core.masks.inventory import MaskInventory
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.observers import Observers
from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX

MAX_BRUSH_RADIUS = 200
__all__ = ["ASSIST_TOOLS", "BRUSH_TOOLS", "MAX_BRUSH_RADIUS", "ImageEditor", "Tool", "ToolSettings"]


@dataclass(frozen=True)
class ToolSettings:
    """What a click does: the tool, the class it paints, the two brush sizes, tip and overwrite rule."""

    tool: Tool = Tool.BRUSH
    active_class: int = 1
    brush_radius: int = 4
    eraser_radius: int = 8
    tip: Tip = Tip.ROUND
    rule: Rule = OVERWRITE
    fill_whole_class: bool = False  # the fill takes every pixel of the clicked class, not its region

    @property
    def radius(self) -> int:
        """The size of the tool in use (the eraser keeps its own)."""
        return self.eraser_radius if self.tool is Tool.ERASER else self.brush_radius


@dataclass(eq=False)
class _Entry:
    """One edited image: its session (working array, history) and where it is saved."""

    image_id: int
    file_name: str
    session: ImageEdit
    labels: LabelMap
    image_size: tuple[int, int] | None  # (height, width) a saved mask must have; None: not checked


@dataclass(eq=False)
class ImageEditor:
    """Edits of the images of one mask folder; ``changed`` fires on any change a view shows."""

    mask_folder: Path | None = None
    inventory: MaskInventory | None = None  # the folder's one record of which images have masks
    settings: ToolSettings = field(default_factory=ToolSettings)
    book: HistoryBook = field(default_factory=HistoryBook)
    changed: Observers[None] = field(default_factory=Observers)
    # a window waits this long for another process's save (ms) before saying who holds the folder
    lock_timeout: float = WINDOW_LOCK_WAIT_S
    open_notes: list[str] = field(default_factory=list)  # what opening the folder set right (reset)
    _entries: dict[int, _Entry] = field(default_factory=dict)
    _current: _Entry | None = None
    _stroking: bool = False
    _vertices: list[Point] = field(default_factory=list)  # the open polygon (mask pixels)
    _lassoing: bool = False  # the button is held with the polygon tool: a freehand lasso

    # -------------------------------------------------------------------------------------- settings
    def update(self, **changes: Any) -> None:
        """Change tool settings, e.g. ``update(tool=Tool.FILL)``; radii are clamped to 0..200."""
        for key in ("brush_radius", "eraser_radius"):
            if key in changes:
                changes[key] = check_radius(min(MAX_BRUSH_RADIUS, max(0, int(changes[key]))))
        new = replace(self.settings, **changes)
        if new.tool is not Tool.POLYGON:
            self._drop_polygon()
        if new != self.settings:
            self.settings = new
            self.changed.emit(None)

    def resize_tool(self, delta: int) -> None:
        """``[`` / ``]``: the current tool's size by ``delta`` (brush and eraser keep separate sizes)."""
        key = "eraser_radius" if self.settings.tool is Tool.ERASER else "brush_radius"
        self.update(**{key: getattr(self.settings, key) + delta})

    def set_rule(self, mode: Mode, target: int | None = None) -> None:
        self.update(rule=Rule(mode, target if Mode(mode) is Mode.ONLY_CLASS else None))

    def set_class(self, index: int) -> bool:
        """Make ``index`` the class painted; False when the shown map has no such class."""
        labels = self._current.labels if self._current is not None else None
        if labels is not None and not labels.allowed(int(index)):
            return False
        self.update(active_class=int(index))
        return True

    def class_names(self) -> dict[int, str]:
        """The shown map's classes (index -> name), for the class pickers."""
        return dict(self._current.labels.names) if self._current is not None else {}

    def class_color(self, index: int) -> tuple[int, int, int]:
        if self._current is None:
            return (0, 0, 0)
        r, g, b = (int(v) for v in self._current.labels.colors[index % 256])
        return r, g, b

    def class_name(self, index: int) -> str:
        names = self._current.labels.names if self._current is not None else {}
        return names.get(index) or {BACKGROUND: "background", IGNORE_INDEX: "ignore"}.get(index, str(index))

    # ---------------------------------------------------------------------------------------- images
    def attach(
        self, image_id: int, file_name: str, labels: LabelMap, image_size: tuple[int, int] | None
    ) -> None:
        """Edit ``labels`` (the shown image's map). An image edited earlier in the session gets its
        working array back when it holds unsaved edits; a clean one starts over from what was loaded."""
        entry = self._entries.get(image_id)
        if entry is not None and entry.session.dirty:
            if entry.session.label.shape == labels.shape and not np.array_equal(
                entry.session.label, labels.array
            ):
                labels.replace(entry.session.label)
            entry.labels = labels
        elif entry is None or not np.array_equal(entry.session.label, labels.array):
            if entry is not None:
                self.book.forget(image_id)  # the file changed under a clean session: its undo is stale
            session = ImageEdit(np.array(labels.array), self.book[image_id])
            entry = _Entry(image_id, file_name, session, labels, image_size)
            self._entries[image_id] = entry
        else:
            entry.labels = labels
        self._current = entry
        self._stroking = False
        self._drop_polygon()
        self.changed.emit(None)

    def detach(self) -> None:
        """No image is edited (none shown, or Edit mode left with nothing to keep attached)."""
        if self._stroking:
            self.release()
        self._drop_polygon()
        self._current = None
        self.changed.emit(None)

    def reset(self, mask_folder: Path | None, inventory: MaskInventory | None = None) -> None:
        """Another mask folder: sessions of the old one are dropped (save them first). A save of
        the new folder that a kill interrupted is finished here (save_journal) and a damaged
        edited.json recovered (best effort: the next save repairs it or says why not); what that
        set right is in ``open_notes``. ``inventory``: the folder's MaskInventory, told of every
        save (and re-read after a repair), so every view sees what is on disk."""
        self.open_notes = []
        if mask_folder is not None:
            repaired: list[str] | bool = False
            recovered = False
            with contextlib.suppress(CocoSegError):
                repaired = repair_interrupted_save(mask_folder, self.open_notes, self.lock_timeout)
            with contextlib.suppress(CocoSegError, OSError):
                recovered = recover_damaged_edited(mask_folder, self.open_notes, self.lock_timeout)
            if (repaired or recovered) and inventory is not None:
                inventory.reload()  # the repair may have added a map entry or edited records
        self.mask_folder = mask_folder
        self.inventory = inventory
        self._entries.clear()
        self.book = HistoryBook(self.book.max_steps, self.book.max_bytes)
        self._current = None
        self._stroking = False
        self._drop_polygon()
        self.changed.emit(None)

    @property
    def current_image(self) -> int | None:
        return self._current.image_id if self._current is not None else None

    @property
    def stroking(self) -> bool:
        return self._stroking

    # ----------------------------------------------------------------------------------------- mouse
    def press(self, point: Point, straight: bool = False) -> None:
        """Mouse press at ``point`` (mask pixels). ``straight`` (Shift): a line from the last stroke."""
        entry, s = self._current, self.settings
        if entry is None or self._stroking:
            return
        session = entry.session
        if s.tool in ASSIST_TOOLS:
            return  # previewed first, written by accept_area
        if s.tool is Tool.PICKER:
            self.pick(point)
        elif s.tool is Tool.POLYGON:
            self._vertices.append(point)
            self._lassoing = True
            self.changed.emit(None)
        elif s.tool is Tool.FILL:
            name = step_description(STEP_NAMES[Tool.FILL], self.class_name(s.active_class))
            self._mirror(session.fill(point, s.active_class, name, s.rule, whole_class=s.fill_whole_class))
            self.changed.emit(None)
        else:
            brush = self._brush()
            name = step_description(STEP_NAMES[s.tool], self.class_name(brush.value))
            last = session.last_point
            start = (last[0] + 0.5, last[1] + 0.5) if straight and last is not None else point
            self._stroking = True
            self._mirror(session.begin_stroke(start, brush, name))
            if start is not point:
                self._mirror(session.stroke_to(point))

    def move(self, point: Point) -> None:
        """Mouse move with the button held: the segment from the last point (no gaps), or with the
        polygon tool a lasso vertex whenever the pointer reaches another pixel."""
        if self._lassoing and self._vertices and pixel(point) != pixel(self._vertices[-1]):
            self._vertices.append(point)
        elif self._current is not None and self._stroking:
            self._mirror(self._current.session.stroke_to(point))

    def release(self) -> None:
        """Mouse release: the stroke becomes one undo step (a lasso just stops adding vertices)."""
        self._lassoing = False
        if self._current is not None and self._stroking:
            self._stroking = False
            self._current.session.end_stroke()
            self.changed.emit(None)

    def cancel(self) -> None:
        """Esc during a stroke: its pixels go back, no step is recorded; Esc drops an open polygon."""
        if self._vertices:
            self._drop_polygon()
            self.changed.emit(None)
        if self._current is not None and self._stroking:
            self._stroking = False
            self._mirror(self._current.session.cancel_stroke())
            self.changed.emit(None)

    def pick(self, point: Point) -> int | None:
        """The picker (Alt+click): the class under ``point`` becomes the active class."""
        if self._current is None:
            return None
        value = pick(self._current.session.label, point)
        if value is not None:
            self.set_class(value)
        return value

    # --------------------------------------------------------------------------------------- polygon
    @property
    def polygon_vertices(self) -> list[Point]:
        """The open polygon's vertices (mask pixels), for the overlay that draws it."""
        return list(self._vertices)

    @property
    def lassoing(self) -> bool:
        return self._lassoing

    def remove_vertex(self) -> bool:
        """Backspace: drop the last vertex of the open polygon."""
        if not self._vertices:
            return False
        self._vertices.pop()
        self.changed.emit(None)
        return True

    def close_polygon(self, subtract: bool = False) -> Box | None:
        """Enter: fill the open polygon with the active class under the overwrite rule as one undo
        step; ``subtract`` (Ctrl+Enter) turns that class back to background inside it instead."""
        entry, s = self._current, self.settings
        vertices = self._vertices
        self._drop_polygon()
        if entry is None or len(vertices) < 3:
            self.changed.emit(None)
            return None
        verb = "Polygon subtract" if subtract else STEP_NAMES[Tool.POLYGON]
        name = step_description(verb, self.class_name(s.active_class))
        box = entry.session.polygon(vertices, s.active_class, name, s.rule, subtract=subtract)
        self._mirror(box)
        self.changed.emit(None)
        return box

    # ---------------------------------------------------------------------------------------- assists
    def accept_area(self, area: Area, tool: Tool | None = None) -> Box:
        """An assist's previewed ``area`` (mask pixels) into the active class under the overwrite rule,
        as one undo step named after ``tool`` (default: the current tool)."""
        entry, s = self._current, self.settings
        if entry is None or self._stroking or area.empty:
            return Box.empty_box()
        name = step_description(STEP_NAMES[tool or s.tool], self.class_name(s.active_class))
        box = entry.session.apply_area(area, s.active_class, name, s.rule)
        self._mirror(box)
        self.changed.emit(None)
        return box

    @property
    def label_shape(self) -> tuple[int, int] | None:
        """The edited map's (height, width), None when no image is attached."""
        return self._current.session.label.shape if self._current is not None else None

    # ------------------------------------------------------------------------------- outside tools
    @property
    def current_labels(self) -> np.ndarray | None:
        """The shown image's working map, read-only (what an outside tool such as a proposal reads)."""
        if self._current is None:
            return None
        view = self._current.session.label.view()
        view.flags.writeable = False
        return view

    def apply_edit(self, box: Box, description: str, write: Callable[[np.ndarray], Box]) -> Box:
        """One undo step from an outside tool: ``write(label)`` changes pixels inside ``box`` only
        (applying ``settings.rule`` itself) and returns the changed box."""
        entry = self._current
        if entry is None or self._stroking or box.empty:
            return Box.empty_box()
        label = entry.session.label
        changed = entry.session.one_shot(box, description, lambda: write(label))
        self._mirror(changed)
        self.changed.emit(None)
        return changed

    def _drop_polygon(self) -> None:
        self._vertices = []
        self._lassoing = False

    def _brush(self) -> Brush:
        s = self.settings
        if s.tool is Tool.IGNORE:  # the ignore brush: 255 with the brush's size and tip
            return Brush(IGNORE_INDEX, s.brush_radius, s.tip, s.rule)
        if s.tool is Tool.ERASER:  # erasing "preserves other classes" would erase nothing
            rule = s.rule if Mode(s.rule.mode) is Mode.ONLY_CLASS else OVERWRITE
            return Brush(BACKGROUND, s.eraser_radius, s.tip, rule)
        return Brush(s.active_class, s.brush_radius, s.tip, s.rule)

    def _mirror(self, box: Box | None) -> None:
        """Copy the session's changed box into the shown label map (which notifies the views)."""
        entry = self._current
        if entry is None or box is None or box.empty:
            return
        entry.labels.apply(box, entry.session.label[box.slices])

    # ------------------------------------------------------------------------------------- undo/redo
    def undo(self) -> bool:
        return self._undo_redo(redo=False)

    def redo(self) -> bool:
        return self._undo_redo(redo=True)

    def _undo_redo(self, redo: bool) -> bool:
        entry = self._current
        if entry is None or self._stroking:
            return False
        box = entry.session.redo() if redo else entry.session.undo()
        self._mirror(box)
        self.changed.emit(None)
        return box is not None

    @property
    def undo_text(self) -> str | None:
        """What Ctrl+Z undoes ("Brush stroke (person)"), None when nothing."""
        return self._current.session.history.undo_description if self._current is not None else None

    @property
    def undo_memory_bytes(self) -> int:
        """Bytes the undo/redo patches of every image hold (bounded by ``book.max_bytes``)."""
        return self.book.memory_bytes

    @property
    def redo_text(self) -> str | None:
        return self._current.session.history.redo_description if self._current is not None else None

    # ------------------------------------------------------------------------------------------ save
    @property
    def dirty(self) -> bool:
        """The shown image has unsaved edits."""
        return self._current is not None and self._current.session.dirty

    def unsaved(self) -> list[str]:
        """File names of every image with unsaved edits (the quit question lists them)."""
        return [e.file_name for e in self._entries.values() if e.session.dirty]

    def save(self, image_id: int | None = None) -> SavedMask | None:
        """Save an image's map (default: the shown one) into the mask folder; None when nothing to save.

        Raises SaveError / DatasetError naming the file; the edits stay in memory either way."""
        entry = self._current if image_id is None else self._entries.get(image_id)
        if entry is None or self.mask_folder is None or (self._stroking and entry is self._current):
            return None
        saved = save_edited_mask(
            self.mask_folder,
            entry.file_name,
            entry.session.label,
            entry.image_size,
            entry.image_id,
            self.lock_timeout,
        )
        if self.inventory is not None:
            self.inventory.record_save(entry.file_name, saved.mask_name)
        entry.session.mark_saved()
        self.changed.emit(None)
        return saved

    def save_copy(self, folder: Path, image_id: int | None = None) -> Path | None:
        """Write an image's map (default: the shown one) as a PNG into another ``folder`` (save
        elsewhere after a failed save); the edits stay unsaved: the mask folder still lacks them."""
        entry = self._current if image_id is None else self._entries.get(image_id)
        if entry is None:
            return None
        return save_mask_copy(folder, entry.file_name, entry.session.label)

    def file_name(self, image_id: int) -> str | None:
        entry = self._entries.get(image_id)
        return entry.file_name if entry is not None else None

    def unsaved_ids(self) -> list[int]:
        return [e.image_id for e in self._entries.values() if e.session.dirty]

    def discard(self, image_id: int) -> None:
        """Forget one image's edits and history (switching away with Discard): shown again, it is
        read from its file. The shown map is left as it is: another image replaces it."""
        entry = self._entries.pop(image_id, None)
        self.book.forget(image_id)
        if entry is not None and entry is self._current:
            self._stroking = False
            self._drop_polygon()
            self._current = None
        self.changed.emit(None)

    def save_all(self) -> list[SavedMask]:
        """Save every image with unsaved edits (quitting with Save); stops at the first error."""
        return [s for e in list(self._entries.values()) if e.session.dirty and (s := self.save(e.image_id))]

    def discard_all(self) -> None:
        """Forget unsaved edits (quitting with Discard)."""
        for entry in self._entries.values():
            entry.session.mark_saved()
        self.changed.emit(None)
