"""CVAT for images 1.1 (``annotations.xml``) <-> class maps; written from CVAT's public XML format page.

Export (``write``): one ``<mask>`` per region (an 8-connected component of one class), CVAT's own RLE of
the region's bounding-box crop (row-major run lengths, background first, ``left``/``top``/``width``/
``height`` the crop): bit-exact. ``write_polygons``: one ``<polygon>`` per region (vertices on pixel
corners, holes bridged in: ``region_shapes``), also bit-exact when read back with pycocotools' fill; a
region that no polygon redraws exactly is written as a mask and counted in the notes. ``z_order`` is
the paint order (decreasing box area, see ``region_shapes``). The class map's IGNORE pixels become
regions of a label ``__ignore__`` (declared only when used); crowd marks are not written (CVAT has no
crowd flag: the pixels keep their class map value, usually IGNORE) and a note says how many images had
them.

Import (``read``): ``annotations.xml``, the folder holding it (a CVAT export's layout, ``images/``
beside it) or CVAT's zip download (its images are not unpacked: give the images folder, or none).
Labels come from ``<meta>`` (task, job or project) and are matched by name; ``<polygon>``, ``<box>``
and ``<mask>`` are painted by ``z_order`` then file order, a label ``__ignore__`` as IGNORE. Polylines,
points, tracks and other shapes without area are skipped with a reason, as are unknown labels, shapes
wholly outside the image, bad RLE, duplicate or unsafe image names, and (when the images folder is
known) missing images or images of another size than the XML says. An image without shapes is all
background. Shapes partly outside the image are clipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.files.safe_paths import check_relative_name
from cocoseg_gui.core.formats import region_shapes as rs
from cocoseg_gui.core.formats.interchange import IGNORE, FormatRead, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.source_images import ImageChecker
from cocoseg_gui.core.masks.palette import class_color

NAME = "cvat"
TITLE = "CVAT for images 1.1"
FILE_NAME = "annotations.xml"
AREA_SHAPES = ("polygon", "box", "mask")


# ---- CVAT's mask RLE -------------------------------------------------------------------------------


def encode_rle(crop: np.ndarray) -> list[int]:
    """Row-major run lengths of a bool crop, the first run background (0 when the first pixel is set)."""
    flat = crop.reshape(-1).view(np.uint8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], edges, [flat.size]))
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def decode_rle(counts: Sequence[int], height: int, width: int) -> np.ndarray | None:
    """The (height, width) bool crop of CVAT run lengths; None when they do not cover it exactly."""
    runs = np.asarray(counts, dtype=np.int64)
    if runs.size == 0 or (runs < 0).any() or int(runs.sum()) != height * width:
        return None
    values = np.arange(runs.size) % 2 == 1
    return np.repeat(values, runs).reshape(height, width)


# ---- write -----------------------------------------------------------------------------------------


def _hex(index: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*class_color(index))


def _header(classes: Sequence[str], count: int, with_ignore: bool) -> str:
    names = [*classes, *([rs.IGNORE_LABEL] if with_ignore else [])]
    labels = "".join(
        f"        <label>\n          <name>{escape(name)}</name>\n"
        f"          <color>{_hex(i + 1 if name != rs.IGNORE_LABEL else IGNORE)}</color>\n"
        "          <type>any</type>\n          <attributes></attributes>\n        </label>\n"
        for i, name in enumerate(names)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n'
        f"    <task>\n      <name>cocoseg export</name>\n      <size>{count}</size>\n"
        f"      <mode>annotation</mode>\n      <labels>\n{labels}      </labels>\n    </task>\n  </meta>\n"
    )


def _points_text(points: np.ndarray) -> str:
    return ";".join(f"{x:.2f},{y:.2f}" for x, y in points.tolist())


class _Writer:
    def __init__(self, classes: Sequence[str], polygons: bool) -> None:
        self.classes = list(classes)
        self.polygons = polygons
        self.body: list[str] = []
        self.names: set[str] = set()
        self.with_ignore = False
        self.crowd_images = 0
        self.as_masks = 0  # regions that no polygon redraws exactly, written as masks in polygon mode
        self.skipped: list[Skipped] = []

    def image(self, image: LabelledImage) -> None:
        label = image.label
        if label.ndim != 2 or label.dtype != np.uint8:
            self.skipped.append(Skipped(image.file_name, "not a 2-D uint8 class map"))
            return
        unnamed = rs.unnamed_pixels(label, len(self.classes))
        if unnamed is not None:
            self.skipped.append(Skipped(image.file_name, unnamed))
        if image.crowd is not None and image.crowd.any():
            self.crowd_images += 1
        names = [*self.classes, rs.IGNORE_LABEL]
        shapes = []
        for z, region in enumerate(rs.regions(label, len(self.classes), with_ignore=True)):
            name = names[region.value - 1] if region.value != IGNORE else rs.IGNORE_LABEL
            self.with_ignore |= region.value == IGNORE
            common = f'label={quoteattr(name)} source="manual" occluded="0" z_order="{z}"'
            points, exact = rs.region_polygon(region.pixels) if self.polygons else (None, False)
            if points is not None and exact:
                points = points + np.array([region.x, region.y])
                shapes.append(f'    <polygon {common} points="{_points_text(points)}">\n    </polygon>\n')
            else:
                self.as_masks += self.polygons
                h, w = region.pixels.shape
                rle = ", ".join(map(str, encode_rle(region.pixels)))
                shapes.append(
                    f'    <mask {common} rle="{rle}" left="{region.x}" top="{region.y}" '
                    f'width="{w}" height="{h}">\n    </mask>\n'
                )
        self.body.append(
            f"  <image id={quoteattr(str(len(self.body)))} name={quoteattr(image.file_name)} "
            f'width="{image.width}" height="{image.height}">\n{"".join(shapes)}  </image>\n'
        )

    def finish(self, dest: Path) -> FormatWritten:
        path = dest / FILE_NAME
        head = _header(self.classes, len(self.body), self.with_ignore)
        atomic_write_bytes(path, (head + "".join(self.body) + "</annotations>\n").encode("utf-8"))
        notes = []
        if self.as_masks:
            notes.append(f"{self.as_masks} regions written as masks: no polygon redraws them exactly")
        if self.crowd_images:
            notes.append(
                f"CVAT has no crowd flag: crowd regions of {self.crowd_images} images are written as their "
                "class map values"
            )
        return FormatWritten([path], len(self.body), self.skipped, notes)


def _write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, polygons: bool
) -> FormatWritten:
    writer = _Writer(classes, polygons)
    for image in images:
        problem = check_relative_name(image.file_name)
        if problem is not None:
            writer.skipped.append(Skipped(repr(image.file_name), f"unsafe file name ({problem})"))
        elif image.file_name in writer.names:
            writer.skipped.append(Skipped(image.file_name, "duplicate file name"))
        else:
            writer.names.add(image.file_name)
            writer.image(image)
    return writer.finish(dest)


def write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> ``dest/annotations.xml`` with one bit-exact ``<mask>`` per region."""
    return _write(classes, images, dest, polygons=False)


def write_polygons(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> ``dest/annotations.xml`` with one outer-contour ``<polygon>`` per region."""
    return _write(classes, images, dest, polygons=True)


# ---- read ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    value: int
    z_order: int
    element: ET.Element
    where: str  # "image.jpg: polygon 3", for a shape found to paint nothing


@dataclass(frozen=True)
class _Image:
    file_name: str
    height: int
    width: int
    shapes: list[_Shape]


def _int(element: ET.Element, key: str) -> int | None:
    try:
        return int(float(element.get(key, "")))
    except ValueError:
        return None


def _polygon_points(element: ET.Element) -> np.ndarray | None:
    pairs = [p.split(",") for p in element.get("points", "").split(";") if p.strip()]
    if not all(len(p) == 2 for p in pairs):
        return None
    points = rs.parse_points([v for pair in pairs for v in pair])
    return points if points is not None and len(points) >= 3 else None


def _box_points(element: ET.Element) -> np.ndarray | None:
    corners = rs.parse_points([element.get(k, "") for k in ("xtl", "ytl", "xbr", "ybr")])
    if corners is None:
        return None
    (x0, y0), (x1, y1) = corners.tolist()
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _mask_crop(element: ET.Element) -> tuple[int, int, np.ndarray] | str:
    left, top, w, h = (_int(element, k) for k in ("left", "top", "width", "height"))
    if left is None or top is None or not w or not h or w < 0 or h < 0:
        return "mask without a valid left, top, width and height"
    try:
        counts = [int(v) for v in element.get("rle", "").split(",")]
    except ValueError:
        return "mask rle is not a list of numbers"
    crop = decode_rle(counts, h, w)
    return (left, top, crop) if crop is not None else f"mask rle does not cover its {w}x{h} box"


def _shape_problem(element: ET.Element, height: int, width: int) -> str | None:
    """Why a shape cannot be painted, from its numbers (cheap: nothing is rasterised here)."""
    if element.tag == "mask":
        crop = _mask_crop(element)
        if isinstance(crop, str):
            return crop
        left, top, pixels = crop
        return None if rs.place(pixels, left, top, height, width) is not None else "mask outside the image"
    points = _polygon_points(element) if element.tag == "polygon" else _box_points(element)
    if points is None:
        return f"{element.tag} without valid points" + (" (3 or more)" if element.tag == "polygon" else "")
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return None if x1 > 0 and y1 > 0 and x0 < width and y0 < height else f"{element.tag} outside the image"


def _shape_pixels(element: ET.Element, height: int, width: int) -> tuple[int, int, np.ndarray] | None:
    """The clipped pixels of a shape that ``_shape_problem`` passed; None when it paints no pixel."""
    if element.tag == "mask":
        crop = _mask_crop(element)
        assert not isinstance(crop, str)
        return rs.place(crop[2], crop[0], crop[1], height, width)
    points = _polygon_points(element) if element.tag == "polygon" else _box_points(element)
    assert points is not None
    return rs.fill_polygon(points, height, width)


def _parse(path: Path) -> ET.Element:
    try:
        if path.suffix.lower() == ".zip":  # CVAT's download: annotations.xml (+ images/) zipped
            with zipfile.ZipFile(path) as archive:
                data = archive.read(FILE_NAME)
        else:
            data = path.read_bytes()
    except KeyError:
        raise DatasetError(path, f"has no {FILE_NAME}") from None
    except zipfile.BadZipFile as exc:
        raise DatasetError(path, f"not a readable zip file ({exc})") from None
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None
    root_at = data.find(b"<annotations")
    prolog = data[:root_at] if root_at >= 0 else data
    if b"<!ENTITY" in prolog or b"<!DOCTYPE" in prolog:
        raise DatasetError(path, "has a DOCTYPE or entity declarations, which CVAT files never have; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise DatasetError(path, f"not valid XML (truncated?): line {line}, column {column}") from None
    if root.tag != "annotations":
        raise DatasetError(path, f"not a CVAT for images file: the root element is <{root.tag}>")
    return root


def _declared_labels(root: ET.Element) -> list[str]:
    meta = root.find("meta")
    if meta is None:
        return []
    names = [(label.findtext("name") or "").strip() for label in meta.iterfind(".//labels/label")]
    return list(dict.fromkeys(n for n in names if n))


def read(src: Path, images_dir: Path | None) -> FormatRead:
    """``annotations.xml`` (or its folder) -> classes (the declared labels but ``__ignore__``) and maps.

    Everything that can be judged from the file is in ``skipped`` when this returns; a shape whose
    numbers are valid but that covers no pixel centre is added to it while ``images`` is consumed.
    """
    path = src / FILE_NAME if src.is_dir() else src
    root = _parse(path)
    declared = _declared_labels(root)
    if not declared:  # a file without <meta> labels: its shapes' labels, in first-use order
        declared = list(dict.fromkeys(e.get("label", "") for e in root.iter() if e.tag in AREA_SHAPES))
    classes = [n for n in declared if n != rs.IGNORE_LABEL]
    value_of = {name: i + 1 for i, name in enumerate(classes)} | {rs.IGNORE_LABEL: IGNORE}
    if images_dir is None and (path.parent / "images").is_dir():
        images_dir = path.parent / "images"
    checker = ImageChecker(images_dir)
    skipped: list[Skipped] = []
    records: list[_Image] = []
    seen: set[str] = set()
    for number, element in enumerate(root.iterfind("image")):
        name = element.get("name", "")
        height, width = _int(element, "height"), _int(element, "width")
        problem = check_relative_name(name)
        if problem is not None:
            subject = name or f"{path.name}: image {number + 1}"
            skipped.append(Skipped(subject, f"unsafe file name ({problem})"))
            continue
        if name in seen:
            skipped.append(Skipped(name, "duplicate file name"))
            continue
        seen.add(name)
        if not height or not width or height < 0 or width < 0:
            skipped.append(Skipped(name, "no valid width and height"))
            continue
        image_problem = checker.problem(name, height, width)
        if image_problem is not None:
            skipped.append(Skipped(name, image_problem))
            continue
        shapes = []
        for k, shape in enumerate(element):
            where = f"{name}: {shape.tag} {k + 1}"
            if shape.tag not in AREA_SHAPES:
                if shape.tag != "tag":
                    skipped.append(Skipped(where, f"a {shape.tag} has no area"))
                continue
            label = shape.get("label", "")
            if label not in value_of:
                skipped.append(Skipped(where, f"unknown class {label!r}"))
                continue
            shape_problem = _shape_problem(shape, height, width)
            if shape_problem is not None:
                skipped.append(Skipped(where, shape_problem))
                continue
            shapes.append(_Shape(value_of[label], _int(shape, "z_order") or 0, shape, where))
        records.append(_Image(name, height, width, shapes))
    tracks = len(root.findall("track"))
    if tracks:
        skipped.append(
            Skipped(path.name, f"{tracks} tracks not read (CVAT for video): export CVAT for images")
        )
    return FormatRead(classes, _labelled(records, skipped), skipped, images_dir)


def _labelled(records: list[_Image], skipped: list[Skipped]) -> Iterator[LabelledImage]:
    for record in records:
        label = np.zeros((record.height, record.width), dtype=np.uint8)
        for shape in sorted(record.shapes, key=lambda s: s.z_order):  # stable: file order within a z_order
            pixels = _shape_pixels(shape.element, record.height, record.width)
            if pixels is None:
                skipped.append(Skipped(shape.where, f"{shape.element.tag} covers no pixel of the image"))
            else:
                rs.paint(label, *pixels, shape.value)
        yield LabelledImage(record.file_name, label)
