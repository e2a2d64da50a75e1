"""The one list of label formats: what each is called, where its codec lives, what it can do, what it loses.

The CLI (`cocoseg import/export --format F`), the window's File › Import…/Export… and the benchmark all read
this list, so a format is added in one line. Codec modules are imported by dotted path only when used: a
format whose module is not installed yet (another branch's codec) is still listed, ``available`` says so,
and using it raises OptionsError naming the missing module instead of a traceback.

COCO is special on purpose (docs/adr/0036-label-formats.md): its import is the mask job (``cocoseg masks``:
overlap, crowd and size policies) and its export is ``core.formats.coco_export`` (unchanged images keep their
original annotation objects); neither goes through the interchange records.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import cast

from cocoseg_gui.core.errors import OptionsError
from cocoseg_gui.core.formats.interchange import FormatReader, FormatWriter

_PACKAGE = "cocoseg_gui.core.formats"


@dataclass(frozen=True)
class LabelFormat:
    """One format: ``name`` on the command line, ``title`` in the window, its codec module, what it loses."""

    name: str
    title: str
    module: str  # dotted path of the codec (NAME, TITLE, read, write)
    reads: bool
    writes: bool
    loses: str  # what a round trip through it loses, in words ("nothing" for the exact ones)
    source: str  # what `import` takes: "file", "folder" or "file or folder"
    dest: str  # what `export` writes: "file" or "folder"
    finds_images: bool = True  # the labels say where their images are (else an image folder is needed)

    @property
    def available(self) -> bool:
        """True when the codec module is installed (False for a codec still to come)."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def codec(self) -> ModuleType:
        """The codec module, imported now; OptionsError when it is not there."""
        try:
            return importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and self.module.startswith(exc.name):
                raise OptionsError(
                    f"format {self.name!r} ({self.title}) is not available in this build: its module "
                    f"{self.module} is missing"
                ) from None
            raise

    def reader(self) -> FormatReader:
        if not self.reads:
            raise OptionsError(f"format {self.name!r} cannot be imported")
        return cast(FormatReader, self.codec().read)

    def writer(self) -> FormatWriter:
        if not self.writes:
            raise OptionsError(f"format {self.name!r} cannot be exported")
        return cast(FormatWriter, self.codec().write)


COCO = "coco"

FORMATS: tuple[LabelFormat, ...] = (
    LabelFormat(
        COCO, "COCO instances JSON", f"{_PACKAGE}.coco_export", True, True,
        "nothing: polygons or RLE redraw the masks exactly (ignore pixels outside crowd regions are dropped)",
        "file", "file",
    ),
    LabelFormat(
        "voc", "Pascal VOC (SegmentationClass PNGs)", f"{_PACKAGE}.voc", True, True,
        "nothing (class masks bit-exact, 255 border/ignore kept; no instances)", "folder", "folder",
    ),
    LabelFormat(
        "cvat", "CVAT for images 1.1 XML", f"{_PACKAGE}.cvat", True, True,
        "polygons redraw with IoU >= 0.99 per image and class; masks (CVAT RLE) exact",
        "file or folder", "folder", finds_images=False,
    ),
    LabelFormat(
        "yolo_seg", "YOLO segmentation (polygons, data.yaml)", f"{_PACKAGE}.yolo_seg", True, True,
        "holes are filled and ignore pixels dropped (no holes in the format); IoU >= 0.98",
        "folder", "folder",
    ),
    LabelFormat(
        "labelme", "labelme JSON", f"{_PACKAGE}.labelme", True, True,
        "nothing with mask shapes; polygons redraw with IoU >= 0.99", "folder", "folder",
    ),
    LabelFormat(
        "class_pngs", "Class PNGs + class list", f"{_PACKAGE}.class_pngs", True, True,
        "nothing (class masks bit-exact)", "folder", "folder", finds_images=False,
    ),
)  # fmt: skip

BY_NAME = {f.name: f for f in FORMATS}


def label_format(name: str) -> LabelFormat:
    """The format called ``name`` (case and ``-``/``_`` ignored); OptionsError listing the names."""
    key = name.strip().lower().replace("-", "_")
    found = BY_NAME.get(key)
    if found is None:
        raise OptionsError(f"unknown format {name!r}; choose one of {', '.join(BY_NAME)}")
    return found


def importable() -> list[LabelFormat]:
    return [f for f in FORMATS if f.reads]


def exportable() -> list[LabelFormat]:
    return [f for f in FORMATS if f.writes]
