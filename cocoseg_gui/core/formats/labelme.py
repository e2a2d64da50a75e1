"""labelme JSON (one file per image) <-> class maps; written from the format's public description (no
labelme code: it is GPL).

A file is ``{version, flags, shapes: [{label, points, shape_type, group_id, description, flags, mask}],
imagePath, imageData, imageHeight, imageWidth}``; ``imagePath`` is relative to the JSON file. Shape types
with area: ``polygon``, ``rectangle`` (two corners), ``circle`` (centre, then a point on the circle) and
``mask`` (``points`` the top-left and bottom-right pixel of the box, inclusive; ``mask`` a base64 PNG of
the box crop, nonzero = set). Vertices are pixel corners as everywhere here (``region_shapes``); labelme
itself fills polygons through pixel centres and their outline, so its own rendering of a polygon can
differ by the boundary pixels.

Export (``write``): ``<dest>/<image name>.json`` with one ``mask`` shape per region (8-connected component
of one class): bit-exact. ``write_polygons``: one ``polygon`` per region (holes bridged in, exact with an
even-odd fill; a region no polygon redraws exactly is written as a mask, counted in the notes). Shapes
are in decreasing box area and read back in shape order (later on top). IGNORE regions are labelled
``__ignore__`` and the class order goes to ``<dest>/labels.txt`` (``__ignore__``, ``_background_``, the
classes: labelme's own convention for semantic labels); ``imageData`` is null and ``imagePath`` points at
the image in the images folder. Crowd marks are not written (labelme has none; a note counts them).

Import: every ``*.json`` under the folder (or one file); classes from ``labels.txt`` beside them when
there is one (then other labels are unknown and skipped), else the labels in first-use order.
``__ignore__`` reads as IGNORE, ``_background_`` as background. Files that do not parse (truncated),
missing images, two files for one image, shapes without area (points, lines) or wholly outside the
image are skipped with the file named; shapes partly outside are clipped.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.files.safe_paths import check_relative_name
from cocoseg_gui.core.formats import region_shapes as rs
from cocoseg_gui.core.formats.interchange import IGNORE, FormatRead, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.source_images import MISSING, ImageChecker

NAME = "labelme"
TITLE = "labelme JSON"
VERSION = "5.5.0"  # the labelme file version written (the fields above are those of labelme 5)
LABELS_TXT = "labels.txt"
BACKGROUND_LABEL = "_background_"
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


# ---- masks as labelme stores them ------------------------------------------------------------------


def encode_mask(crop: np.ndarray) -> str:
    """A bool crop -> base64 of a 1-bit PNG."""
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_mask(text: str) -> np.ndarray | None:
    """base64 PNG -> bool crop (nonzero = set); None when it is not one."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(text, validate=True))) as image:
            array = np.asarray(image)
    except (binascii.Error, ValueError, OSError):
        return None
    if array.ndim == 3:
        array = np.asarray(array.any(axis=2))
    return array.astype(bool) if array.ndim == 2 and array.size else None


# ---- write -----------------------------------------------------------------------------------------


def _shape(label: str, points: list[list[float]], shape_type: str, mask: str | None = None) -> dict[str, Any]:
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": shape_type,
        "flags": {},
        "mask": mask,
    }


def _image_path(file_name: str, json_path: Path, images_dir: Path | None) -> str:
    if images_dir is None:
        return PurePosixPath(file_name).name
    image = images_dir.resolve().joinpath(*PurePosixPath(file_name).parts)
    return Path(os.path.relpath(image, json_path.parent.resolve())).as_posix()


def _write(
    classes: Sequence[str],
    images: Iterable[LabelledImage],
    dest: Path,
    images_dir: Path | None,
    polygons: bool,
) -> FormatWritten:
    written = FormatWritten()
    names = [*classes]
    targets: set[str] = set()
    as_masks = crowd_images = 0
    for image in images:
        problem = check_relative_name(image.file_name)
        if problem is not None:
            written.skipped.append(Skipped(repr(image.file_name), f"unsafe file name ({problem})"))
            continue
        target = str(PurePosixPath(image.file_name).with_suffix(".json"))
        if target in targets or target == LABELS_TXT:
            written.skipped.append(Skipped(image.file_name, f"duplicate file name ({target} is taken)"))
            continue
        label = image.label
        if label.ndim != 2 or label.dtype != np.uint8:
            written.skipped.append(Skipped(image.file_name, "not a 2-D uint8 class map"))
            continue
        targets.add(target)
        unnamed = rs.unnamed_pixels(label, len(classes))
        if unnamed is not None:
            written.skipped.append(Skipped(image.file_name, unnamed))
        crowd_images += image.crowd is not None and bool(image.crowd.any())
        shapes = []
        for region in rs.regions(label, len(classes), with_ignore=True):
            name = rs.IGNORE_LABEL if region.value == IGNORE else names[region.value - 1]
            points, exact = rs.region_polygon(region.pixels) if polygons else (None, False)
            if points is not None and exact:
                shapes.append(_shape(name, np.add(points, [region.x, region.y]).tolist(), "polygon"))
                continue
            as_masks += polygons
            h, w = region.pixels.shape
            corners = [[region.x, region.y], [region.x + w - 1, region.y + h - 1]]
            shapes.append(_shape(name, corners, "mask", encode_mask(region.pixels)))
        path = dest.joinpath(*PurePosixPath(target).parts)
        document: dict[str, Any] = {
            "version": VERSION,
            "flags": {},
            "shapes": shapes,
            "imagePath": _image_path(image.file_name, path, images_dir),
            "imageData": None,
            "imageHeight": image.height,
            "imageWidth": image.width,
        }
        atomic_write_bytes(path, json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"))
        written.files.append(path)
        written.images += 1
    labels_path = dest / LABELS_TXT
    lines = "".join(f"{n}\n" for n in [rs.IGNORE_LABEL, BACKGROUND_LABEL, *names])
    atomic_write_bytes(labels_path, lines.encode("utf-8"))
    written.files.append(labels_path)
    if as_masks:
        written.notes.append(f"{as_masks} regions written as masks: no polygon redraws them exactly")
    if crowd_images:
        written.notes.append(f"labelme has no crowd flag: crowd marks of {crowd_images} images not written")
    return written


def write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> one labelme JSON per image with bit-exact ``mask`` shapes, and ``labels.txt``."""
    return _write(classes, images, dest, images_dir, polygons=False)


def write_polygons(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> one labelme JSON per image with ``polygon`` shapes, and ``labels.txt``."""
    return _write(classes, images, dest, images_dir, polygons=True)


# ---- read ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    value: int  # 0 for _background_
    x: int
    y: int
    pixels: np.ndarray  # bool crop inside the image


@dataclass(frozen=True)
class _File:
    path: Path
    subject: str  # the JSON's name relative to the folder read
    image: Path
    height: int
    width: int
    document: dict[str, Any] | None = None


def _circle(points: np.ndarray, height: int, width: int) -> tuple[int, int, np.ndarray] | None:
    (cx, cy), (px, py) = points[:2].tolist()
    r = float(np.hypot(px - cx, py - cy))
    x0, y0 = max(0, int(np.floor(cx - r))), max(0, int(np.floor(cy - r)))
    x1, y1 = min(width, int(np.ceil(cx + r)) + 1), min(height, int(np.ceil(cy + r)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5  # pixel centres inside the circle
    crop = (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
    return (x0, y0, crop) if crop.any() else None


def _pixels(shape: dict[str, Any], height: int, width: int) -> tuple[int, int, np.ndarray] | str:
    """The clipped pixels of one shape, or why it has none."""
    kind = shape.get("shape_type") or "polygon"
    if kind not in AREA_SHAPES:
        return f"a {kind} has no area"
    raw = shape.get("points")
    points = rs.parse_points(raw) if isinstance(raw, list) else None
    needed = {"polygon": 3, "rectangle": 2, "circle": 2, "mask": 1}[kind]
    if points is None or len(points) < needed:
        return f"{kind} without {needed} valid points"
    if kind == "mask":
        crop = decode_mask(shape["mask"]) if isinstance(shape.get("mask"), str) else None
        if crop is None:
            return "mask that is not a base64 PNG"
        x, y = int(np.floor(points[:, 0].min())), int(np.floor(points[:, 1].min()))
        filled = rs.place(crop, x, y, height, width)
    elif kind == "circle":
        filled = _circle(points, height, width)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        filled = rs.fill_polygon(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), height, width)
    else:
        filled = rs.fill_polygon(points, height, width)
    return filled if filled is not None else f"{kind} outside the image"


def _load(path: Path) -> dict[str, Any] | str:
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not valid JSON (truncated?): {exc}"
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        return "not a labelme file: no 'shapes' list"
    if not isinstance(document.get("imagePath"), str) or not document["imagePath"]:
        return "not a labelme file: no 'imagePath'"
    height, width = document.get("imageHeight"), document.get("imageWidth")
    if not isinstance(height, int) or not isinstance(width, int) or height <= 0 or width <= 0:
        return "no valid imageHeight and imageWidth"
    return document


def _declared(folder: Path) -> list[str] | None:
    path = folder / LABELS_TXT
    if not path.is_file():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot be read ({exc})") from None
    special = {rs.IGNORE_LABEL, BACKGROUND_LABEL}
    return list(dict.fromkeys(n.strip() for n in lines if n.strip() and n.strip() not in special))


def _hidden(rel: Path) -> bool:
    """A dot file or folder (an export's record, macOS's ``._x.json``): never a labelme file."""
    return any(part.startswith(".") for part in rel.parts)


def read(src: Path, images_dir: Path | None) -> FormatRead:
    """A folder of labelme JSON files (or one) -> classes and class maps; every problem is in
    ``skipped`` when this returns."""
    folder = src if src.is_dir() else src.parent
    paths = (
        sorted(p for p in src.rglob("*.json") if p.is_file() and not _hidden(p.relative_to(src)))
        if src.is_dir()
        else [src]
    )
    if not paths:
        raise DatasetError(src, "no labelme .json files")
    declared = _declared(folder)
    skipped: list[Skipped] = []
    files: list[_File] = []
    for path in paths:
        subject = path.relative_to(folder).as_posix()
        document = _load(path)
        if isinstance(document, str):
            skipped.append(Skipped(subject, document))
            continue
        image = Path(os.path.normpath(path.parent / document["imagePath"].replace("\\", "/")))
        files.append(_File(path, subject, image, document["imageHeight"], document["imageWidth"], document))
    if images_dir is None:  # the deepest folder holding every image
        parents = [os.path.abspath(f.image.parent) for f in files] or [os.path.abspath(folder)]
        images_dir = Path(os.path.commonpath(parents))
    root = os.path.abspath(images_dir)
    checker = ImageChecker(images_dir)
    classes = list(declared) if declared is not None else []
    records: list[tuple[str, _File, list[tuple[int, dict[str, Any]]]]] = []
    seen: dict[str, str] = {}
    for file in files:
        name = Path(os.path.relpath(os.path.abspath(file.image), root)).as_posix()
        if name.startswith("../") or check_relative_name(name) is not None:
            skipped.append(
                Skipped(file.subject, f"its image {file.image} is outside the images folder {root}")
            )
            continue
        if name in seen:
            also = f"duplicate file name: {name} is also labelled by {seen[name]}"
            skipped.append(Skipped(file.subject, also))
            continue
        seen[name] = file.subject
        problem = checker.problem(name, file.height, file.width)
        if problem is not None:
            skipped.append(Skipped(file.subject, problem if problem != MISSING else f"{MISSING} {name}"))
            continue
        assert file.document is not None
        shapes: list[tuple[int, dict[str, Any]]] = []
        for k, shape in enumerate(file.document["shapes"]):
            where = f"{file.subject}: shape {k + 1}"
            label = shape.get("label") if isinstance(shape, dict) else None
            if not isinstance(label, str):
                skipped.append(Skipped(where, "no label"))
                continue
            if label not in (rs.IGNORE_LABEL, BACKGROUND_LABEL) and label not in classes:
                if declared is not None:
                    skipped.append(Skipped(where, f"unknown class {label!r} (not in {LABELS_TXT})"))
                    continue
                classes.append(label)
            pixels = _pixels(shape, file.height, file.width)
            if isinstance(pixels, str):
                skipped.append(Skipped(where, pixels))
                continue
            special = {rs.IGNORE_LABEL: IGNORE, BACKGROUND_LABEL: 0}
            shapes.append((special[label] if label in special else classes.index(label) + 1, shape))
        records.append((name, file, shapes))
    return FormatRead(classes, _labelled(records), skipped, images_dir)


def _labelled(records: list[tuple[str, _File, list[tuple[int, dict[str, Any]]]]]) -> Iterator[LabelledImage]:
    """The class maps, painted when asked (shape order: later on top); shapes were checked by ``read``."""
    for name, file, shapes in records:
        label = np.zeros((file.height, file.width), dtype=np.uint8)
        for value, shape in shapes:
            pixels = _pixels(shape, file.height, file.width)
            assert not isinstance(pixels, str)
            rs.paint(label, *pixels, value)
        yield LabelledImage(name, label)
