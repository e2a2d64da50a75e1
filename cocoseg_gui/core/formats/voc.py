"""Pascal VOC segmentation: ``SegmentationClass/<id>.png`` palette PNGs of class indices (255 the border /
ignore), ``ImageSets/Segmentation/*.txt`` lists of ids, images in ``JPEGImages/``, and the class list in
``labelmap.txt`` (``name:r,g,b::``, the layout CVAT and Datumaro use for VOC with other classes).

A mask folder's PNGs are already VOC PNGs (the VOC palette, index = class), so the round trip is bit-exact.
Reading also takes RGB class masks (what Datumaro writes) through the labelmap's colours, and a dataset
without ``labelmap.txt`` as the 20 VOC classes. ``SegmentationObject`` (instances) is neither read nor
written: the mask folder holds classes only.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.formats.interchange import FormatRead, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.label_pngs import image_id, labelled_images
from cocoseg_gui.core.masks.palette import class_color
from cocoseg_gui.core.masks.png import encode_mask_png, write_file_atomic

NAME = "voc"
TITLE = "Pascal VOC (SegmentationClass PNGs)"

CLASS_DIR = "SegmentationClass"
IMAGES_DIR = "JPEGImages"
LISTS_DIR = "ImageSets/Segmentation"
LABELMAP = "labelmap.txt"
ALL_LIST = "trainval.txt"
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
    "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def _root(src: Path) -> Path:
    """The folder holding SegmentationClass/: ``src``, its parent (a file inside it was given), or its one
    sub-folder that has it (``VOCdevkit/VOC2012``)."""
    src = Path(src)
    if src.is_file():
        src = src.parent
    if (src / CLASS_DIR).is_dir():
        return src
    below = [p.parent for p in sorted(src.glob(f"*/{CLASS_DIR}")) + sorted(src.glob(f"*/*/{CLASS_DIR}"))]
    if len(below) == 1:
        return below[0]
    if not src.is_dir():
        raise DatasetError(src, "folder not found")
    raise DatasetError(src, f"no {CLASS_DIR}/ folder: not a Pascal VOC segmentation dataset")


def _labelmap(root: Path) -> tuple[list[str], dict[tuple[int, int, int], int]]:
    """Class names 1..K and colour -> index from labelmap.txt; the VOC classes when there is none."""
    path = root / LABELMAP
    if not path.is_file():
        names = list(VOC_CLASSES)
        colours = {class_color(i): i for i in range(len(names) + 1)}
        colours[class_color(255)] = 255
        return names, colours
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read the class list ({exc})") from exc
    names, colours = [], {class_color(255): 255}
    index = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition(":")
        colour_text = rest.split(":", 1)[0].strip()
        if index == 0 and name.strip().casefold() in ("background", "_background_"):
            colours[_colour(colour_text, path, number) or (0, 0, 0)] = 0
            index = 1
            continue
        if index == 0:
            colours[(0, 0, 0)] = 0
            index = 1
        names.append(name.strip())
        colours[_colour(colour_text, path, number) or class_color(index)] = index
        index += 1
    return names, colours


def _colour(text: str, path: Path, number: int) -> tuple[int, int, int] | None:
    if not text:
        return None
    try:
        r, g, b = (int(v) for v in text.split(","))
    except ValueError:
        raise DatasetError(path, f"line {number}: colour {text!r} is not r,g,b") from None
    return r, g, b


def _ids(root: Path) -> list[str]:
    """Ids of every ImageSets/Segmentation list in file-name order (each once), else every label PNG."""
    lists = sorted((root / LISTS_DIR).glob("*.txt")) if (root / LISTS_DIR).is_dir() else []
    seen: dict[str, None] = {}
    for path in lists:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"cannot read the image list ({exc})") from exc
        for line in text.splitlines():
            if line.strip():
                seen.setdefault(line.split()[0], None)
    if lists:
        return list(seen)
    pngs = sorted((root / CLASS_DIR).rglob("*.png"))
    return [p.relative_to(root / CLASS_DIR).with_suffix("").as_posix() for p in pngs]


def read(src: Path, images_dir: Path | None) -> FormatRead:
    """A VOC folder -> class names and class maps (lazily; ``skipped`` fills as the images are read)."""
    root = _root(src)
    classes, colours = _labelmap(root)
    if images_dir is None and (root / IMAGES_DIR).is_dir():
        images_dir = root / IMAGES_DIR
    ids = _ids(root)
    skipped: list[Skipped] = []

    pngs = [(ident, root / CLASS_DIR / f"{ident}.png") for ident in ids]
    return FormatRead(
        classes, labelled_images(pngs, colours, images_dir, ".jpg", skipped), skipped, images_dir
    )


def write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> a VOC folder under ``dest``: label PNGs, one list of every id (trainval.txt),
    labelmap.txt, and a copy of each image in JPEGImages/ when ``images_dir`` has it."""
    dest = Path(dest)
    written = FormatWritten()
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    lines += [f"{name}:{','.join(map(str, class_color(i)))}::" for i, name in enumerate(classes, start=1)]
    dest.mkdir(parents=True, exist_ok=True)
    labelmap = dest / LABELMAP
    labelmap.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.files.append(labelmap)
    ids: dict[str, str] = {}  # casefolded id -> image file name
    missing = 0
    for image in images:
        ident = image_id(image.file_name)
        taken = ids.get(ident.casefold())
        if taken is not None:
            written.skipped.append(Skipped(image.file_name, f"duplicate file name: {taken} has the same id"))
            continue
        ids[ident.casefold()] = image.file_name
        png = dest / CLASS_DIR / f"{ident}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(png, encode_mask_png(image.label))
        written.files.append(png)
        written.images += 1
        source = images_dir / image.file_name if images_dir is not None else None
        if source is not None and source.is_file():
            copy = dest / IMAGES_DIR / image.file_name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            written.files.append(copy)
        else:
            missing += 1
    lists = dest / LISTS_DIR / ALL_LIST
    lists.parent.mkdir(parents=True, exist_ok=True)
    lists.write_text("".join(f"{image_id(n)}\n" for n in ids.values()), encoding="utf-8")
    written.files.append(lists)
    if missing:
        written.notes.append(f"{missing} images not found in the image folder: {IMAGES_DIR}/ lacks them")
    return written
