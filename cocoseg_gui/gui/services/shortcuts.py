"""The app's one shortcut table (ADR 0033): every key of every menu, toolbar and workspace, with its action.

Widgets never write a key: they ``bind(action, id)`` and the key comes from here (the editing tools'
keys from their registry, ``core.editing.tools``). Help › Keyboard shortcuts lists this table
(``help_rows``), and tests/gui/test_shortcut_table.py fails on two rows with one key in overlapping
contexts and on a key set anywhere else in gui/.

A context says when a key is live; two contexts overlap when both can be live at once. A shortcut of
the Images workspace's view that steps aside in Edit mode (``yields_to_editing``: MainWindow disables
it there) does not overlap the Edit mode contexts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence

from cocoseg_gui.core.editing.tools import TOOLS


class Context(str, Enum):
    WINDOW = "window"  # anywhere in the window
    IMAGES = "images"  # the Images & masks workspace is the tab
    EDIT = "edit"  # the Images workspace in Edit mode
    POLYGON = "polygon"  # Edit mode with a polygon open (the polygon tool)
    ASSIST = "assist proposal"  # Edit mode with an assist's proposal shown (an assist tool)
    VIEWER = "viewer focus"  # the image view has the focus and no window shortcut took the key


_EDITING = {Context.EDIT, Context.POLYGON, Context.ASSIST}
OVERLAPS: dict[Context, set[Context]] = {
    Context.WINDOW: {c for c in Context if c is not Context.VIEWER},
    Context.IMAGES: {Context.WINDOW, Context.IMAGES, *_EDITING},
    Context.EDIT: {Context.WINDOW, Context.IMAGES, *_EDITING},
    Context.POLYGON: {Context.WINDOW, Context.IMAGES, Context.EDIT, Context.POLYGON},  # no assist tool
    Context.ASSIST: {Context.WINDOW, Context.IMAGES, Context.EDIT, Context.ASSIST},  # no polygon then
    Context.VIEWER: {Context.VIEWER},  # key presses: they reach the view only when no shortcut took them
}


@dataclass(frozen=True)
class Shortcut:
    id: str
    keys: tuple[str, ...]  # QKeySequence strings ("Ctrl+Shift+O"); the first is the main one
    action: str  # what it does, as Help lists it
    context: Context
    yields_to_editing: bool = False  # disabled in Edit mode (its key means something else there)


def _rows() -> tuple[Shortcut, ...]:
    W, I, E, V = Context.WINDOW, Context.IMAGES, Context.EDIT, Context.VIEWER  # noqa: E741
    return (
        Shortcut("file.open_dataset", ("Ctrl+O",), "Open dataset…", W),
        Shortcut("file.open_folder", ("Ctrl+Shift+O",), "Open dataset folder…", W),
        Shortcut("file.open_masks", ("Ctrl+M",), "Open mask folder…", W),
        Shortcut("file.quit", ("Ctrl+Q",), "Quit", W),
        Shortcut("view.next", ("PgDown", "J", "Right"), "Next image", I),
        Shortcut("view.prev", ("PgUp", "K", "Left"), "Previous image", I),
        Shortcut("view.fit", ("F",), "Zoom to fit", I),
        Shortcut("view.zoom_100", ("1",), "Zoom 100%", I, yields_to_editing=True),
        Shortcut("view.zoom_in", ("Ctrl+=", "Ctrl++"), "Zoom in", I),
        Shortcut("view.zoom_out", ("Ctrl+-",), "Zoom out", I),
        Shortcut("view.overlay", ("O", "Space"), "Show overlay", I),
        Shortcut("view.opacity_up", ("]", "+", "="), "Opacity up", I, yields_to_editing=True),
        Shortcut("view.opacity_down", ("[", "-"), "Opacity down", I, yields_to_editing=True),
        Shortcut("view.side_by_side", ("S",), "Side by side (image | mask)", I),
        Shortcut("view.outlines", ("L",), "Instance outlines", I),
        Shortcut("workspace.masks", ("Ctrl+1",), "Images & masks workspace", W),
        Shortcut("workspace.train", ("Ctrl+2",), "Train workspace", W),
        Shortcut("workspace.predict", ("Ctrl+3",), "Predict workspace", W),
        Shortcut("workspace.evaluate", ("Ctrl+4",), "Evaluate workspace", W),
        # QKeySequence.Preferences is Cmd+, on macOS (Ctrl+, in Qt's terms) and unbound on most Linux desktops
        Shortcut("edit.preferences", ("Ctrl+,",), "Preferences…", W),
        Shortcut("help.shortcuts", ("F1", "?"), "Keyboard shortcuts", W),
        # the Images workspace's Edit mode (ADR 0016)
        Shortcut("edit.mode", ("E",), "Edit mode", I),
        Shortcut("edit.undo", ("Ctrl+Z",), "Undo", E),
        Shortcut("edit.redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", E),
        Shortcut("edit.save", ("Ctrl+S",), "Save mask", E),
        Shortcut("edit.smaller", ("[",), "Smaller brush", E),
        Shortcut("edit.bigger", ("]",), "Bigger brush", E),
        Shortcut("edit.cancel", ("Esc",), "Cancel stroke / assist", E),
        Shortcut("assist.accept", ("Return", "Enter"), "Accept the assist's proposal", Context.ASSIST),
        Shortcut("edit.close_polygon", ("Return", "Enter"), "Close polygon (fill)", Context.POLYGON),
        Shortcut(
            "edit.subtract_polygon",
            ("Ctrl+Return", "Ctrl+Enter"),
            "Close polygon (subtract the class)",
            Context.POLYGON,
        ),
        Shortcut("edit.remove_vertex", ("Backspace",), "Remove last vertex", Context.POLYGON),
        Shortcut("edit.find_class", ("/",), "Find class", E),
        *(Shortcut(f"edit.class_{i}", (str(i),), f"Class {i}", E) for i in range(10)),
        *(Shortcut(f"tool.{t.tool.value}", (t.key,), t.title, E) for t in TOOLS),
        Shortcut("segment.cycle", ("V",), "Next of the 3 masks (click to segment)", Context.ASSIST),
        Shortcut("segment.refine", ("Shift+A",), "Refine the class's region (click to segment)", E),
        Shortcut("proposals.propose", ("M",), "Propose (model)", E),
        Shortcut("proposals.accept_all", ("Shift+M",), "Accept all of the proposal", E),
        Shortcut("proposals.next", ("N",), "Next unreviewed proposal", E),
        # the image view's own keys (MaskViewer.keyPressEvent; modifiers ignored)
        Shortcut("viewer.fit", ("F", "0"), "Zoom to fit (image view)", V),
        Shortcut("viewer.zoom_100", ("1",), "Zoom 100% (image view)", V),
        Shortcut("viewer.zoom_in", ("+", "="), "Zoom in (image view)", V),
        Shortcut("viewer.zoom_out", ("-",), "Zoom out (image view)", V),
    )


SHORTCUTS: tuple[Shortcut, ...] = _rows()
BY_ID: dict[str, Shortcut] = {s.id: s for s in SHORTCUTS}

MOUSE_GESTURES: tuple[tuple[str, str], ...] = (  # Help > Keyboard shortcuts lists them after the keys
    ("Alt+click", "Pick the class under the cursor (Edit mode)"),
    ("Shift+click", "Straight line from the last stroke (Edit mode)"),
    ("Ctrl+wheel", "Brush / eraser size (Edit mode)"),
    ("Double-click", "Close polygon (fill), like Enter"),
    ("Right-click or Alt+click", "Background point (click to segment)"),
    ("Drag", "Box prompt (click to segment; GrabCut's box)"),
)
ID_PROPERTY = "shortcut_id"  # the table row an action was bound to (tests find every bound action by it)


def keys(shortcut_id: str) -> tuple[str, ...]:
    return BY_ID[shortcut_id].keys


def bind(action: QAction, shortcut_id: str) -> QAction:
    """Give ``action`` the keys of ``shortcut_id`` as window shortcuts (the only way gui/ sets a key)."""
    row = BY_ID[shortcut_id]
    action.setShortcuts([QKeySequence(k) for k in row.keys])
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setProperty(ID_PROPERTY, shortcut_id)
    return action


def yields_to_editing(action: QAction) -> bool:
    """True for an action whose key means something else in Edit mode (MainWindow disables it there)."""
    row = BY_ID.get(str(action.property(ID_PROPERTY) or ""))
    return row is not None and row.yields_to_editing


def _first_key(keys: str) -> Qt.Key:
    return QKeySequence(keys)[0].key()  # type: ignore[index]  # PySide6 stubs lack QKeySequence[i]


def key_event_id(event: QKeyEvent, context: Context) -> str | None:
    """The id of the ``context`` row whose key ``event`` is (modifiers ignored), None when none."""
    for row in SHORTCUTS:
        if row.context is context and any(_first_key(k) == event.key() for k in row.keys):
            return row.id
    return None


def native_text(keys_: tuple[str, ...]) -> str:
    return ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys_)


def help_rows() -> list[tuple[str, str]]:
    """(keys, action) for Help › Keyboard shortcuts: every row of the table, then the mouse gestures."""
    return [(native_text(s.keys), s.action) for s in SHORTCUTS] + list(MOUSE_GESTURES)
