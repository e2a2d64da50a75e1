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
    write_function: str = "write"  # the codec's writer (a codec may have several: masks, polygons)

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
            other = self.read_as()
            how = f": import its files with --format {other.name}" if other is not None else ""
            raise OptionsError(f"format {self.name!r} is written only{how}")
        return cast(FormatReader, self.codec().read)

    def read_as(self) -> LabelFormat | None:
        """The format that reads this one's files: itself, or the entry of the same codec that reads
        (``cvat`` for ``cvat_polygons``)."""
        return next((f for f in FORMATS if f.module == self.module and f.reads), None)

    def writer(self) -> FormatWriter:
        if not self.writes:
            raise OptionsError(f"format {self.name!r} cannot be exported")
        return cast(FormatWriter, getattr(self.codec(), self.write_function))


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
        "cvat", "CVAT for images 1.1 XML (masks)", f"{_PACKAGE}.cvat", True, True,
        "nothing: regions as CVAT masks (RLE), exact; crowd marks (CVAT has no crowd flag)",
        "file or folder", "folder", finds_images=False,
    ),
    LabelFormat(
        "cvat_polygons", "CVAT for images 1.1 XML (polygons)", f"{_PACKAGE}.cvat", False, True,
        "regions as polygons, holes bridged in (exact on the sample; a region no polygon redraws is written "
        "as a mask); crowd marks", "file or folder", "folder", write_function="write_polygons",
    ),
    LabelFormat(
        "yolo_seg", "YOLO segmentation (polygons, data.yaml)", f"{_PACKAGE}.yolo_seg", True, True,
        "ignore (255) pixels and crowd marks (no such class in YOLO); polygons with holes bridged in redraw "
        "the classes exactly on the sample", "folder", "folder",
    ),
    LabelFormat(
        "labelme", "labelme JSON (mask shapes)", f"{_PACKAGE}.labelme", True, True,
        "nothing with mask shapes", "folder", "folder",
    ),
    LabelFormat(
        "labelme_polygons", "labelme JSON (polygons)", f"{_PACKAGE}.labelme", False, True,
        "regions as polygons, holes bridged in (exact on the sample)", "folder", "folder",
        write_function="write_polygons",
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
