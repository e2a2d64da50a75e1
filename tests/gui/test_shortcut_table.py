"""The one shortcut table (gui/services/shortcuts.py, ADR 0033): no key twice where both can be live, no key
set anywhere else in gui/, every key of a real window (menus, workspace, edit toolbar, assists, proposals)
bound from it, and Help › Keyboard shortcuts reading it."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

import cocoseg_gui.gui as gui_package
from cocoseg_gui.core.editing.tools import TOOLS, Tool, ToolKind, ToolSpec
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.services.shortcuts import BY_ID, OVERLAPS, SHORTCUTS, Context, Shortcut
from tests.gui import test_mask_editor as editor_tests
from tests.gui.test_mask_editor import edit_at_centre
from tests.gui.window_helpers import no_blocking_dialogs  # noqa: F401

generated_masks = editor_tests.generated_masks  # a window on a copy of a generated mask folder
window = editor_tests.window

# what sets a key in Qt; only the table's module may use them
KEY_SETTERS = re.compile(r"QKeySequence|setShortcuts?\(|QShortcut|Qt\.Key\.Key_|Qt\.Key_")
EDITING = (Context.EDIT, Context.POLYGON, Context.ASSIST)


def _normal(key: str) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)


def collisions(rows: tuple[Shortcut, ...]) -> list[tuple[str, str, str]]:
    """(key, id, id) for two rows with one key whose contexts can be live at once."""
    found = []
    for a, b in combinations(rows, 2):
        if b.context not in OVERLAPS[a.context]:
            continue
        yields = (a.yields_to_editing and b.context in EDITING) or (
            b.yields_to_editing and a.context in EDITING
        )
        if yields:
            continue
        for key in {_normal(k) for k in a.keys} & {_normal(k) for k in b.keys}:
            found.append((key, a.id, b.id))
    return found


def test_no_key_is_taken_twice_in_overlapping_contexts() -> None:
    assert len(BY_ID) == len(SHORTCUTS)  # ids are unique
    assert all(_normal(k) for s in SHORTCUTS for k in s.keys)  # every key string parses
    assert collisions(SHORTCUTS) == []
    for context, others in OVERLAPS.items():  # overlapping is symmetric
        assert all(context in OVERLAPS[o] for o in others)


def test_the_collision_check_catches_a_new_tool_on_a_taken_key() -> None:
    """A tool on S (side by side) or M (proposals) is refused; the polygon's and the assist's Enter,
    never open together, and Zoom 100%'s 1, disabled in Edit mode, are not collisions."""
    sam = ToolSpec(Tool.WAND, "Click to segment", "S", ToolKind.ASSIST, "m:f")
    rows = (*SHORTCUTS, Shortcut("tool.sam", (sam.key,), sam.title, Context.EDIT))
    assert collisions(rows) == [("S", "view.side_by_side", "tool.sam")]
    rows = (*SHORTCUTS, Shortcut("tool.sam", ("m",), "Click to segment", Context.EDIT))
    assert collisions(rows) == [("M", "proposals.propose", "tool.sam")]
    rows = (*SHORTCUTS, Shortcut("viewer.other", ("F",), "another fit", Context.VIEWER))
    assert collisions(rows) == [("F", "viewer.fit", "viewer.other")]


def scan_for_keys(root: Path) -> list[str]:
    """``file:line`` of every key set in gui/ outside the table's module."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        if path == Path(shortcuts.__file__):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if KEY_SETTERS.search(line.split("#")[0]):
                hits.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    return hits


def test_no_key_is_set_outside_the_table(tmp_path: Path) -> None:
    assert scan_for_keys(Path(gui_package.__file__).parent) == []
    rogue = tmp_path / "widget.py"  # the scan finds what a widget setting its own key would write
    rogue.write_text('action.setShortcut(QKeySequence("Ctrl+K"))\nif event.key() == Qt.Key.Key_K:\n')
    assert len(scan_for_keys(tmp_path)) == 2


def _keyed_actions(win: MainWindow) -> list[QAction]:
    found = {*win.findChildren(QAction), *win.actions(), *win.images.actions()}  # added, maybe unparented
    return [a for a in found if a.shortcuts()]


def test_every_key_of_the_window_comes_from_the_table_and_edit_mode_has_no_ambiguous_key(
    qtbot, window: MainWindow
) -> None:
    bound: set[str] = set()
    for action in _keyed_actions(window):
        row = BY_ID.get(str(action.property(shortcuts.ID_PROPERTY) or ""))
        assert row is not None, f"{action.text()!r} has keys that the table does not list"
        assert [k.toString() for k in action.shortcuts()] == [QKeySequence(k).toString() for k in row.keys]
        assert action.shortcutContext() == Qt.ShortcutContext.WindowShortcut
        bound.add(row.id)
    assert bound == {s.id for s in SHORTCUTS if s.context is not Context.VIEWER}  # no row left unused
    assert window.shortcut_table()[: len(SHORTCUTS)] == [  # Help lists the table, keys as Qt writes them
        (shortcuts.native_text(s.keys), s.action) for s in SHORTCUTS
    ]

    edit_at_centre(qtbot, window)  # Edit mode: at most one enabled action per key
    live: dict[str, str] = {}
    for action in _keyed_actions(window):
        if action.isEnabled():
            for key in action.shortcuts():
                assert key.toString() not in live, (key.toString(), live.get(key.toString()), action.text())
                live[key.toString()] = action.text()
    assert live["1"] == "Class 1" and live["["] == "Smaller brush"  # the view's 1 and [ stepped aside
    assert window.act_100.isEnabled() is False
    toolbar = window.images.edit_toolbar  # the tool buttons: the registry's order, titles and keys
    assert [(a.text(), a.shortcut().toString()) for a in toolbar.tool_actions.values()] == [
        (t.title, t.key) for t in TOOLS
    ]
    window.images.discard_all()
