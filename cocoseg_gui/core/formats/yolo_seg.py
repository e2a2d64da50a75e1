"""YOLO segmentation labels (``data.yaml`` + ``labels/<name>.txt``) <-> class maps; written from the
format's public description (no Ultralytics code).

A label file has one object per line, ``class x1 y1 x2 y2 ...``: the 0-based class index, then polygon
vertices normalised by the image's width and height (vertices here are pixel corners, 6 decimals). The
image of ``labels/a/b.txt`` is ``a/b.<image suffix>`` in the images folder; its size comes from its
header, so a label file without its image is skipped ("missing image").

Export: one line per region (8-connected component of one class, ``region_shapes``), its holes bridged
into the outline (YOLO polygons have none), lines in decreasing box area and read back in line order.
With pycocotools' even-odd fill the polygons redraw the class map exactly; the notes count any pixel that
would not (none on the bundled sample). What YOLO cannot carry and the notes say: IGNORE pixels (no such
class; they read back as background, or as the object around them) and crowd marks. ``data.yaml`` names
the classes and says where the images were; Ultralytics looks for ``labels/`` beside an ``images/``
folder, so the images are to be linked or copied to ``<dest>/images`` (nothing is written outside dest).

Import: ``data.yaml`` (or the folder's one ``*.yaml``, or ``classes.txt``) gives the names. With an
images folder, ``labels/<name>.txt`` (or ``<name>.txt`` when there is no labels folder) is the image
``<name>.<suffix>`` in it; without, Ultralytics' rule finds the image of ``.../labels/.../x.txt`` at
``.../images/.../x.<suffix>`` under the dataset folder (its layout and Roboflow's ``train/labels``).
A 4-number line is a YOLO detection box (cx, cy, w, h), painted as a rectangle. Lines with an unknown
class index, a bad vertex count or a polygon wholly outside the image are skipped with their file and
line; polygons partly outside are clipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.files.safe_paths import check_relative_name
from cocoseg_gui.core.formats import region_shapes as rs
from cocoseg_gui.core.formats.interchange import IGNORE, FormatRead, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.source_images import MISSING, ImageChecker

NAME = "yolo_seg"
TITLE = "YOLO segmentation"
DATA_YAML = "data.yaml"
LABELS = "labels"


# ---- data.yaml (the small subset of YAML that dataset files use; no YAML library is a dependency) ------


def _scalar(text: str) -> str:
    """A YAML scalar: double-quoted (JSON escapes), single-quoted, or plain with a trailing comment cut."""
    text = text.strip()
    if text.startswith('"'):
        end = text.rfind('"')
        return str(json.loads(text[: end + 1])) if end > 0 else text[1:]
    if text.startswith("'"):
        end = text.rfind("'")
        return text[1:end].replace("''", "'") if end > 0 else text[1:]
    return text.split(" #", 1)[0].strip()


def _flow_items(text: str) -> list[str]:
    """``[a, 'b', "c"]`` or ``{0: a, 1: b}`` -> the item texts (no nesting, commas inside quotes kept)."""
    items, current, quote = [], "", ""
    for char in text.strip()[1:-1]:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    return [i for i in [*items, current] if i.strip()]


def parse_data_yaml(path: Path) -> dict[str, object]:
    """Top-level ``key: value`` pairs of a dataset YAML; ``names`` as a list (block or flow, list or
    index map). DatasetError naming the file when it cannot be read or has no names."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot be read ({exc})") from None
    data: dict[str, object] = {}
    named: dict[int, str] = {}
    in_names = False
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] not in " \t-":
            in_names = False
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "names":
                in_names = not value
                if value.startswith(("[", "{")):
                    for n, item in enumerate(_flow_items(value)):
                        index, sep, name = item.partition(":") if value.startswith("{") else ("", "", item)
                        named[int(index) if sep and index.strip().isdigit() else n] = _scalar(name)
            else:
                data[key] = _scalar(value)
        elif in_names:
            entry = line.strip()
            if entry.startswith("- "):
                named[len(named)] = _scalar(entry[2:])
            else:
                index, _, name = entry.partition(":")
                if not index.strip().isdigit():
                    raise DatasetError(path, f"names: {entry!r} is not 'index: name' or '- name'")
                named[int(index)] = _scalar(name)
    if not named:
        raise DatasetError(path, "has no 'names' list of classes")
    data["names"] = [named.get(i, str(i)) for i in range(max(named) + 1)]
    return data


def _yaml_text(classes: Sequence[str], dest: Path, images_dir: Path | None) -> str:
    names = "".join(f"  {i}: {json.dumps(name)}\n" for i, name in enumerate(classes))
    where = f"{images_dir.resolve()}" if images_dir is not None else "the images folder"
    return (
        "# YOLO segmentation labels written by cocoseg: labels/<image name>.txt, one object a line,\n"
        "# 'class x1 y1 x2 y2 ...' normalised to [0, 1]. Ultralytics finds labels/ beside images/:\n"
        f"# link or copy the images of {json.dumps(where)} to {json.dumps(str(dest.resolve() / 'images'))}.\n"
        f"path: {json.dumps(str(dest.resolve()))}\ntrain: images\nval: images\nnc: {len(classes)}\n"
        f"names:\n{names}"
    )


# ---- write -----------------------------------------------------------------------------------------


def _line(index: int, points: np.ndarray, height: int, width: int) -> str:
    normalised = points / np.array([width, height], dtype=np.float64)
    return f"{index} " + " ".join(f"{v:.6f}" for v in normalised.reshape(-1).tolist())


def write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> ``dest/labels/<name>.txt`` and ``dest/data.yaml``."""
    written = FormatWritten()
    targets: set[str] = set()
    loss = rs.PolygonLoss()
    ignore_pixels = ignore_images = crowd_images = 0
    for image in images:
        problem = check_relative_name(image.file_name)
        target = str(PurePosixPath(image.file_name).with_suffix(".txt")) if problem is None else ""
        if problem is not None:
            written.skipped.append(Skipped(repr(image.file_name), f"unsafe file name ({problem})"))
            continue
        if target in targets:
            written.skipped.append(
                Skipped(image.file_name, f"duplicate file name (labels/{target} is taken)")
            )
            continue
        label = image.label
        if label.ndim != 2 or label.dtype != np.uint8:
            written.skipped.append(Skipped(image.file_name, "not a 2-D uint8 class map"))
            continue
        targets.add(target)
        unnamed = rs.unnamed_pixels(label, len(classes))
        if unnamed is not None:
            written.skipped.append(Skipped(image.file_name, unnamed))
        lines, drawn = [], []
        for region in rs.regions(label, len(classes), with_ignore=False):
            points, _ = rs.region_polygon(region.pixels)
            points = points + np.array([region.x, region.y])
            drawn.append((region.value, points))
            lines.append(_line(region.value - 1, points, image.height, image.width))
        ignored = int(np.count_nonzero(label == IGNORE))
        ignore_pixels += ignored
        ignore_images += ignored > 0
        crowd_images += image.crowd is not None and bool(image.crowd.any())
        expected = np.where((label == IGNORE) | (label > len(classes)), 0, label).astype(np.uint8)
        loss.add(expected, rs.redraw(label.shape, drawn))
        path = dest / LABELS / target
        atomic_write_bytes(path, "".join(f"{line}\n" for line in lines).encode("ascii"))
        written.files.append(path)
        written.images += 1
    yaml_path = dest / DATA_YAML
    atomic_write_bytes(yaml_path, _yaml_text(classes, dest, images_dir).encode("utf-8"))
    written.files.append(yaml_path)
    written.notes += loss.note("YOLO polygons")
    if ignore_pixels:
        written.notes.append(
            f"YOLO has no ignore class: {ignore_pixels} ignore pixels in {ignore_images} images not written "
            "(they read back as background or as the object around them)"
        )
    if crowd_images:
        written.notes.append(f"YOLO has no crowd flag: crowd marks of {crowd_images} images not written")
    return written


# ---- read ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Object:
    value: int
    points: np.ndarray  # (n, 2) image coordinates
    where: str


@dataclass(frozen=True)
class _Image:
    file_name: str
    height: int
    width: int
    objects: list[_Object]


def _names(root: Path) -> list[str]:
    yaml_path = root if root.is_file() else root / DATA_YAML
    others = sorted([*root.glob("*.yaml"), *root.glob("*.yml")]) if root.is_dir() else []
    if not yaml_path.is_file() and len(others) == 1:  # e.g. coco8-seg.yaml
        yaml_path = others[0]
    if yaml_path.is_file():
        names = parse_data_yaml(yaml_path)["names"]
        assert isinstance(names, list)
        return names
    classes_txt = root / "classes.txt"
    if root.is_dir() and classes_txt.is_file():
        try:
            text = classes_txt.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(classes_txt, f"cannot be read ({exc})") from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    raise DatasetError(root, f"no {DATA_YAML} (or classes.txt) naming the classes")


def _image_stem(label_file: PurePosixPath | Path) -> str | None:
    """``a/labels/b/x.txt`` -> ``a/images/b/x`` (the last ``labels`` folder); None without one."""
    parts = list(label_file.with_suffix("").parts)
    folders = [i for i, part in enumerate(parts[:-1]) if part == LABELS]
    if not folders:
        return None
    parts[folders[-1]] = "images"
    return "/".join(parts)


def _parse_line(line: str, classes: int, height: int, width: int) -> tuple[int, np.ndarray] | str:
    tokens = line.split()
    if not tokens[0].isdigit() or int(tokens[0]) >= classes:
        return f"unknown class {tokens[0]!r} ({classes} classes)"
    values = rs.parse_points(tokens[1:]) if len(tokens) > 1 else None
    if values is None or (len(values) != 2 and len(values) < 3):
        return f"{len(tokens) - 1} coordinates: neither a box (4) nor a polygon (6 or more, in pairs)"
    scale = np.array([width, height], dtype=np.float64)
    if len(values) == 2:  # a detection box: centre and size
        (cx, cy), (w, h) = values.tolist()
        x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        values = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    points = values * scale
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return "polygon outside the image"
    return int(tokens[0]), points


def read(src: Path, images_dir: Path | None) -> FormatRead:
    """A YOLO dataset folder (or its ``data.yaml``) -> classes and class maps.

    Everything that can be judged from the files is in ``skipped`` when this returns; an object whose
    numbers are valid but that covers no pixel centre is added to it while ``images`` is consumed.
    """
    classes = _names(src)
    root = src if src.is_dir() else src.parent
    label_files = sorted(p for p in root.rglob("*.txt") if p.is_file() and p.name != "classes.txt")
    if images_dir is not None:  # labels/<name>.txt (or <name>.txt) <-> images_dir/<name>.<suffix>
        if not images_dir.is_dir():
            raise DatasetError(images_dir, "is not a folder of images")
        labels_root = root / LABELS if (root / LABELS).is_dir() else root
        stems = {f: f.relative_to(labels_root).with_suffix("").as_posix() for f in label_files}
        stems = {f: stem for f, stem in stems.items() if not stem.startswith("..")}
    else:  # Ultralytics' rule: the image of .../labels/.../x.txt is .../images/.../x.<suffix>
        images_dir = root
        found = {f: _image_stem(f.relative_to(root)) for f in label_files}
        stems = {f: stem for f, stem in found.items() if stem is not None}
        if not stems:
            raise DatasetError(root, "no labels/ folder with .txt files (or give the images folder)")
    checker = ImageChecker(images_dir)
    skipped: list[Skipped] = []
    records: list[_Image] = []
    seen: set[str] = set()
    for label_file, stem in stems.items():
        subject = label_file.relative_to(root).as_posix()
        matches = checker.find_stem(stem)
        if len(matches) != 1:
            reason = MISSING if not matches else f"duplicate file name: {', '.join(matches)} all match"
            skipped.append(Skipped(subject, reason))
            continue
        name = matches[0]
        if name in seen:
            skipped.append(Skipped(subject, "duplicate file name"))
            continue
        seen.add(name)
        size = checker.size(name)
        if isinstance(size, str):
            skipped.append(Skipped(name, size))
            continue
        try:
            text = label_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            skipped.append(Skipped(subject, f"cannot be read ({exc})"))
            continue
        objects = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parsed = _parse_line(line, len(classes), *size)
            where = f"{subject}: line {number}"
            if isinstance(parsed, str):
                skipped.append(Skipped(where, parsed))
            else:
                objects.append(_Object(parsed[0] + 1, parsed[1], where))
        records.append(_Image(name, size[0], size[1], objects))
    return FormatRead(classes, _labelled(records, skipped), skipped, images_dir)


def _labelled(records: list[_Image], skipped: list[Skipped]) -> Iterator[LabelledImage]:
    for record in records:
        label = np.zeros((record.height, record.width), dtype=np.uint8)
        for obj in record.objects:  # file order: later lines on top
            filled = rs.fill_polygon(obj.points, record.height, record.width)
            if filled is None:
                skipped.append(Skipped(obj.where, "polygon covers no pixel of the image"))
            else:
                rs.paint(label, *filled, obj.value)
        yield LabelledImage(record.file_name, label)
