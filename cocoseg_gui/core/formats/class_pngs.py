"""A folder of class PNGs and a class list: ``<id>.png`` (8-bit palette or grey, pixel value = class index,
0 background, 255 ignore) for each image ``<id>.<ext>``, and ``classes.txt``, one class name per line from
index 0 (the first line is the background's name; a list whose first line is not a background name starts
at index 1). The simplest layout trainers (mmsegmentation, segmentation_models) read; bit-exact both ways.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.formats.interchange import FormatRead, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.label_pngs import image_id, labelled_images
from cocoseg_gui.core.masks.png import encode_mask_png, write_file_atomic

NAME = "class_pngs"
TITLE = "Class PNGs + class list"

CLASS_LIST = "classes.txt"
BACKGROUND_NAMES = ("background", "_background_", "__background__", "bg")


def _where(src: Path) -> tuple[Path, Path]:
    """(the PNG folder, the class list): ``src`` is the folder (classes.txt in it) or the list itself."""
    src = Path(src)
    if src.is_file():
        return src.parent, src
    if not src.is_dir():
        raise DatasetError(src, "folder not found")
    listed = src / CLASS_LIST
    if not listed.is_file():
        raise DatasetError(listed, "class list not found: one class name per line, background first")
    return src, listed


def _classes(path: Path) -> list[str]:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read the class list ({exc})") from exc
    names = [line for line in lines if line and not line.startswith("#")]
    if names and names[0].casefold() in BACKGROUND_NAMES:
        names = names[1:]
    if not names:
        raise DatasetError(path, "no class name in the class list")
    return names


def read(src: Path, images_dir: Path | None) -> FormatRead:
    """Every ``*.png`` under the folder (sub-folders too) -> its image's class map, lazily."""
    root, listed = _where(src)
    classes = _classes(listed)
    pngs = sorted(p for p in root.rglob("*.png") if not any(part.startswith(".") for part in p.parts))
    if images_dir is not None and images_dir.resolve().is_relative_to(root.resolve()):
        pngs = [p for p in pngs if not p.resolve().is_relative_to(images_dir.resolve())]
    skipped: list[Skipped] = []

    ids = [(png.relative_to(root).with_suffix("").as_posix(), png) for png in pngs]
    suffix = ".png" if images_dir is None else ".jpg"
    return FormatRead(classes, labelled_images(ids, None, images_dir, suffix, skipped), skipped, images_dir)


def write(
    classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
) -> FormatWritten:
    """Class maps -> ``dest/<id>.png`` (palette PNGs, the mask folder's own encoding) and ``classes.txt``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = FormatWritten()
    listed = dest / CLASS_LIST
    listed.write_text("".join(f"{n}\n" for n in ("background", *classes)), encoding="utf-8")
    written.files.append(listed)
    ids: dict[str, str] = {}
    for image in images:
        ident = image_id(image.file_name)
        taken = ids.get(ident.casefold())
        if taken is not None:
            written.skipped.append(Skipped(image.file_name, f"duplicate file name: {taken} has the same id"))
            continue
        ids[ident.casefold()] = image.file_name
        png = dest / f"{ident}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(png, encode_mask_png(image.label))
        written.files.append(png)
        written.images += 1
    return written
