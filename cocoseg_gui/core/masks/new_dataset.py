"""A new, empty mask folder for a folder of images nobody has labelled yet (File › New dataset).

The folder is an ordinary mask dataset folder (docs/formats.md) with no mask in it: its
``image_mask_map.json`` is ``{}`` and ``report.json`` counts nothing, so an image is labelled exactly when
the mask editor has saved its mask (core/editing/save.py adds it to the map and the report). The trainer
reads only the map's entries, so unlabelled images are never trained on as background.

Everything else reads the folder as usual because it also holds ``images.json``: a COCO instances file
listing every image (size from its header) and the classes as categories, with no annotation. The
Images workspace browses it like any dataset, and ``manifest.json`` names it as the folder's annotations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cocoseg_gui import __version__
from cocoseg_gui.core.coco.index_stream import NotAnObject, StreamFallback, iter_sections
from cocoseg_gui.core.errors import DatasetError, OptionsError, describe_os_error
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.image_header import image_size
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.files.output_guard import check_output_folder
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, MAX_CLASSES, ClassMapping, parse_class_list
from cocoseg_gui.core.masks.folder import (
    IMAGE_MAP_FILE,
    IMAGES_FILE,
    MANIFEST_FILE,
    MASKS_DIR,
    REPORT_FILE,
    check_out_apart_from_images,
    relative_path,
)
from cocoseg_gui.core.masks.job import options_hash
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.types import IMAGE_SUFFIXES, Category

CREATED_BY = "new-dataset"  # manifest.json "created_by": a folder labelled by hand from scratch

__all__ = [
    "IMAGES_FILE",
    "NewDataset",
    "categories_from_coco",
    "categories_from_mapping",
    "categories_from_names",
    "create_new_dataset",
    "list_images",
]


@dataclass(frozen=True)
class NewDataset:
    """What ``create_new_dataset`` made."""

    folder: Path  # the mask folder
    annotations: Path  # its images.json
    images_dir: Path
    num_images: int
    unreadable: tuple[tuple[str, str], ...]  # (file name, why) of image files whose size was unreadable
    refused: tuple[str, ...] = ()  # symbolic links leading outside the image folder, left out (ADR 0003)


# ------------------------------------------------------------------------------------------- classes
def categories_from_names(text: str | Sequence[str]) -> list[Category]:
    """Typed class names (``"cat, dog"`` or a list) -> categories with ids 1..K in the order given."""
    names = (
        parse_class_list(text) if isinstance(text, str) else [str(t).strip() for t in text if str(t).strip()]
    )
    if not names:
        raise OptionsError("no class given: type the class names separated by commas (e.g. cat, dog)")
    lowered = [n.casefold() for n in names]
    dup = next((n for n in names if lowered.count(n.casefold()) > 1), None)
    if dup is not None:
        raise OptionsError(f"class {dup!r} is given twice")
    bad = next((n for n in names if n.casefold() in ("background", "ignore")), None)
    if bad is not None:
        raise OptionsError(f"{bad!r} is not a class name: background (0) and ignore (255) are always there")
    if len(names) > MAX_CLASSES:
        raise OptionsError(f"{len(names)} classes; at most {MAX_CLASSES} fit in a uint8 mask")
    return [Category(i, n) for i, n in enumerate(names, start=1)]


def categories_from_coco(path: str | Path) -> list[Category]:
    """The ``categories`` of a COCO JSON (its images and annotations are streamed past, never kept)."""
    path = Path(path)
    raw: Any = None
    try:
        with open(path, "rb") as fh:
            for key, value, _ in iter_sections(fh):
                if key == "categories":
                    raw = value
    except (StreamFallback, NotAnObject):
        data = read_json(path)
        raw = data.get("categories") if isinstance(data, dict) else None
    except OSError as exc:
        raise DatasetError(path, f"cannot read it: {describe_os_error(exc)}") from exc
    if not isinstance(raw, list) or not raw:
        raise DatasetError(path, "no 'categories' list: pick a COCO instances JSON that names its classes")
    try:
        cats = [Category(int(c["id"]), str(c["name"]), str(c.get("supercategory") or "")) for c in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(path, f"a category without an integer 'id' and a 'name' ({exc!r})") from None
    return cats


def categories_from_mapping(path: str | Path) -> list[Category]:
    """The classes of another mask folder (its folder or its category_mapping.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / MAPPING_FILE
    return list(ClassMapping.read(path).categories)


# ------------------------------------------------------------------------------------------- images
def list_images(images_dir: str | Path, refused: list[str] | None = None) -> list[str]:
    """Image files under ``images_dir`` (sub-folders too), as sorted POSIX names relative to it.

    Hidden files and folders are left out. Symbolic links are not followed out of the folder (ADR 0003):
    linked folders are not descended, and a linked file whose real path lies outside is left out (its
    name appended to ``refused``): it is not the user's dataset, and opening it would read elsewhere.
    """
    root = Path(images_dir)
    if not root.is_dir():
        raise DatasetError(root, "image folder not found")
    safe = SafeRoot(root)
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath).relative_to(root)
        for f in filenames:
            if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES:
                name = (base / f).as_posix()
                if safe.refusal(name) is None:
                    names.append(name)
                elif refused is not None:
                    refused.append(name)
    names.sort()
    if refused is not None:
        refused.sort()
    return names


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _images_json(
    images_dir: Path,
    names: Sequence[str],
    categories: Sequence[Category],
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    images: list[dict[str, Any]] = []
    unreadable: list[tuple[str, str]] = []
    safe = SafeRoot(images_dir)
    for i, name in enumerate(names):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            h, w = image_size(safe.resolve(name))  # a link replaced since the listing is refused too
        except Exception as exc:
            unreadable.append((name, str(exc) or type(exc).__name__))
            continue
        images.append({"id": len(images) + 1, "file_name": name, "width": int(w), "height": int(h)})
        if progress is not None and (i % 50 == 0 or i + 1 == len(names)):
            progress(Progress(i + 1, len(names), "reading image sizes"))
    cats = [{"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in categories]
    info = {"description": f"images of {images_dir.name}, to be labelled", "date_created": _now()}
    return {"info": info, "licenses": [], "images": images, "annotations": [], "categories": cats}, unreadable


def _check_out(out: Path, images_dir: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OptionsError(f"{out} is a file, not a folder: choose a new folder for the masks")
    if out.is_dir() and any(out.iterdir()):
        raise OptionsError(f"{out} is not empty: choose a new or empty folder for the masks")
    check_out_apart_from_images(out, images_dir)
    check_output_folder(out, image_dirs=[images_dir])  # not inside another mask folder either


def create_new_dataset(
    images_dir: str | Path,
    categories: Sequence[Category],
    out: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> NewDataset:
    """Make ``out``: an empty mask folder for every image of ``images_dir``, classes ``categories``.

    ``out`` must be new or empty and apart from the image folder. Raises OptionsError / DatasetError
    naming the folder or file, Cancelled (nothing written) when ``cancel`` is set while sizes are read.
    """
    images_dir, out = Path(images_dir).absolute(), Path(out).absolute()
    mapping = ClassMapping(tuple(categories))
    if not mapping.categories:
        raise OptionsError("no class given: a dataset needs at least one class besides background")
    refused: list[str] = []
    names = list_images(images_dir, refused)
    if not names:
        links = f" ({len(refused)} symbolic links leading outside it left out)" if refused else ""
        raise DatasetError(images_dir, f"no image file ({', '.join(IMAGE_SUFFIXES)}) in this folder{links}")
    _check_out(out, images_dir)
    coco, unreadable = _images_json(images_dir, names, mapping.categories, progress, cancel)
    if not coco["images"]:
        raise DatasetError(
            images_dir, f"none of the {len(names)} image files could be read ({unreadable[0][1]})"
        )
    try:
        (out / MASKS_DIR).mkdir(parents=True, exist_ok=True)
        annotations = out / IMAGES_FILE
        atomic_write_json(annotations, coco)
        mapping.write(out / MAPPING_FILE)
        atomic_write_json(out / IMAGE_MAP_FILE, {})
        atomic_write_json(out / REPORT_FILE, {"version": 1, "classes": [], "per_image": {}})
        options = MaskOptions(workers=1)
        manifest = {
            "version": 1,
            "tool": f"cocoseg {__version__}",
            "created_by": CREATED_BY,
            "annotations": relative_path(annotations, out),
            "images_dir": relative_path(images_dir, out),
            "options": options.to_json(),
            "options_hash": options_hash(options, mapping, {}, annotations),
            "num_images": len(coco["images"]),
            "complete": True,
            "created": _now(),
        }
        atomic_write_json(out / MANIFEST_FILE, manifest)  # last: the folder is a mask folder once it exists
    except OSError as exc:
        raise DatasetError(Path(exc.filename or out), f"cannot write: {describe_os_error(exc)}") from exc
    return NewDataset(out, annotations, images_dir, len(coco["images"]), tuple(unreadable), tuple(refused))
