"""The editing tools' registry: one ``ToolSpec`` per tool of Edit mode (ADR 0033), no Qt.

Everything the app needs to know about a tool is one entry of ``TOOLS``: its id, title, key, kind (how
the mouse drives it), the core function that computes what it changes, and the background work it
needs (per image, per click). The toolbar, the shortcut table, the editor's undo step names and the
Images workspace's mouse routing read it, so a new tool is its core module plus one entry here (plus a
GUI interaction in ``gui/widgets/assist_tools.py`` when it is an assist that needs a new one).

Core functions are named "module:function" and imported only when used (``resolve``): SLIC's
scikit-image costs half a second to import and the editor starts without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    PICKER = "picker"
    POLYGON = "polygon"
    IGNORE = "ignore"
    WAND = "wand"  # the assists (core/assists): previewed, accepted as one step
    SUPERPIXEL = "superpixel"
    GRABCUT = "grabcut"
    SAM = "sam"  # click to segment (core/segment, ADR 0038): an assist with a model


class ToolKind(str, Enum):
    """How the mouse drives a tool; the GUI routes events by kind (assists by tool, see AssistTools)."""

    STROKE = "stroke"  # paints the brush footprint along a drag: ImageEditor.press / move / release
    CLICK = "click"  # one click acts: ImageEditor.press
    POLYGON = "polygon"  # vertices until Enter / double-click closes it: ImageEditor + the polygon keys
    ASSIST = "assist"  # a previewed Area accepted as one undo step: ImageEditor.accept_area


@dataclass(frozen=True)
class ToolSpec:
    """One editing tool. ``image_job`` / ``click_job``: the work that runs in a background job per image
    (before the tool can act: SLIC; a click-to-segment model's image embedding) and per click or box
    (GrabCut; the model's mask decoder), named like ``operation``."""

    tool: Tool
    title: str
    key: str  # the shortcut (gui/services/shortcuts.py lists it with every other key)
    kind: ToolKind
    operation: str  # "module:function": what the tool changes, computed by the core
    button: str = ""  # the toolbar button's text when the title is too long for a 1024 px window
    tip: str = ""  # the button's tooltip; default "title (key)"
    step: str | None = None  # the undo step's name; None for a tool that changes no pixels
    sized: bool = False  # the size and tip controls apply (shown while it is the tool)
    cursor: bool = False  # the brush footprint follows the pointer
    image_job: str | None = None
    click_job: str | None = None

    @property
    def button_text(self) -> str:
        return self.button or self.title

    @property
    def tooltip(self) -> str:
        return self.tip or f"{self.title} ({self.key})"


_EDITING, _ASSISTS = "cocoseg_gui.core.editing", "cocoseg_gui.core.assists"
_SEGMENT = "cocoseg_gui.core.segment"

TOOLS: tuple[ToolSpec, ...] = (  # toolbar order
    ToolSpec(
        Tool.BRUSH,
        "Brush",
        "B",
        ToolKind.STROKE,
        f"{_EDITING}.stroke:segment_area",
        step="Brush stroke",
        sized=True,
        cursor=True,
    ),
    ToolSpec(
        Tool.ERASER,
        "Eraser",
        "X",
        ToolKind.STROKE,
        f"{_EDITING}.stroke:segment_area",
        step="Eraser stroke",
        sized=True,
        cursor=True,
    ),
    ToolSpec(Tool.FILL, "Fill", "G", ToolKind.CLICK, f"{_EDITING}.fill:fill_area", step="Fill"),
    ToolSpec(Tool.PICKER, "Picker", "I", ToolKind.CLICK, f"{_EDITING}.rules:pick"),
    ToolSpec(
        Tool.POLYGON,
        "Polygon",
        "P",
        ToolKind.POLYGON,
        f"{_EDITING}.polygon:polygon_area",
        tip="Polygon / lasso (P): click vertices or drag freehand; Enter or a double-click fills, "
        "Ctrl+Enter subtracts the class, Backspace removes the last vertex, Esc cancels",
        step="Polygon",
    ),
    ToolSpec(
        Tool.IGNORE,
        "Ignore brush",
        "U",
        ToolKind.STROKE,
        f"{_EDITING}.stroke:segment_area",
        button="Ignore",
        tip="Ignore brush (U): paints ignore (255) with the brush's size and tip",
        step="Ignore stroke",
        sized=True,
        cursor=True,
    ),
    ToolSpec(
        Tool.WAND,
        "Magic wand",
        "W",
        ToolKind.ASSIST,
        f"{_ASSISTS}.wand:wand_area",
        button="Wand",
        tip="Magic wand (W): click a region of similar colour (drag left/right: tolerance); "
        "Enter or the drag's release accepts, Esc cancels",
        step="Magic wand",
    ),
    ToolSpec(
        Tool.SUPERPIXEL,
        "Superpixels",
        "R",  # S is side by side
        ToolKind.ASSIST,
        f"{_ASSISTS}.superpixels:Superpixels.area_of",
        tip="Superpixel brush (R): paint over superpixels with the brush's radius; release accepts",
        step="Superpixels",
        sized=True,
        cursor=True,
        image_job=f"{_ASSISTS}.superpixels:superpixel_job",
    ),
    ToolSpec(
        Tool.GRABCUT,
        "GrabCut",
        "C",
        ToolKind.ASSIST,
        f"{_ASSISTS}.grabcut:grabcut",
        tip="GrabCut (C): drag a box; left-drag marks foreground, right-drag background; "
        "Enter accepts, Esc rejects",
        step="GrabCut",
        sized=True,
        click_job=f"{_ASSISTS}.grabcut:grabcut_job",
    ),
    ToolSpec(
        Tool.SAM,
        "Click to segment",
        "A",
        ToolKind.ASSIST,
        f"{_SEGMENT}.click_session:ClickSegmentSession.area",
        button="SAM",
        tip="Click to segment (A), SAM / MobileSAM weights: click the object, right- or Alt+click "
        "background, drag a box; V cycles the 3 masks, Shift+A refines the class's region, "
        "Enter accepts, Esc clears",
        step="Click to segment",
        image_job=f"{_SEGMENT}.segmenter:Segmenter.embed",
        click_job=f"{_SEGMENT}.click_session:ClickSegmentSession.add_point",
    ),
)

_BY_TOOL = {spec.tool: spec for spec in TOOLS}
BRUSH_TOOLS = tuple(s.tool for s in TOOLS if s.kind is ToolKind.STROKE)  # paint with the brush footprint
ASSIST_TOOLS = tuple(s.tool for s in TOOLS if s.kind is ToolKind.ASSIST)  # driven by gui AssistTools
STEP_NAMES = {s.tool: s.step for s in TOOLS if s.step is not None}


def tool_spec(tool: Tool | str) -> ToolSpec:
    """The registry entry of ``tool`` (a Tool or its value)."""
    return _BY_TOOL[Tool(tool)]


def resolve(reference: str) -> Callable[..., object]:
    """A "module:attr.attr" reference -> the object (imported now, not when the registry loads)."""
    module_name, _, path = reference.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{reference} is not callable")
    return obj
