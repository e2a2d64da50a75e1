"""`cocoseg import --format F SRC --out MASK_FOLDER`: another tool's labels -> an ordinary mask folder.

The format's reader (core.formats.registry) gives class names and class maps; this job alone decides what
goes into the folder, so the rules are the same for every format: classes matched by name (against an
existing category_mapping.json when given), one palette PNG per image, ``images.json`` listing the images
(so the folder opens and joins a project like one made by File › New dataset), ``report.json`` with
what was skipped and why (an unknown class, a missing image, a duplicate file name, labels whose size is
not their image's, values that are no class), never a traceback for one bad record. COCO goes to the mask
job (``cocoseg masks``) unchanged. Nothing is written outside ``out``; ``out`` is new, empty, or a mask
folder replaced with ``overwrite`` (the output guard first, ADR 0024).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from cocoseg_gui import __version__
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.image_header import image_size
from cocoseg_gui.core.files.output_guard import check_output_folder, is_mask_folder
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.formats.interchange import IGNORE, FormatRead, LabelledImage, Skipped
from cocoseg_gui.core.formats.registry import COCO, LabelFormat, label_format
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.dataset import read_image_mask_map
from cocoseg_gui.core.masks.folder import (
    IMAGE_MAP_FILE,
    MANIFEST_FILE,
    MASKS_DIR,
    REPORT_FILE,
    MasksExistError,
    check_out_apart_from_images,
    relative_path,
)
from cocoseg_gui.core.masks.job import options_hash
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.png import class_histogram, write_mask_png
from cocoseg_gui.core.types import Category

CREATED_BY = "import"  # manifest.json "created_by": labels imported from another format (no original)
IMAGES_FILE = "images.json"  # as core.masks.new_dataset: the COCO file listing the images, no annotations
MAX_LISTED = 200  # skipped records kept by name in report.json (all are counted)
_STAGING = ".cocoseg-import-staging"
# class names tools use for "no class": not classes of the folder, but its background (0) and ignore (255)
BACKGROUND_NAMES = frozenset({"background", "_background_", "__background__", "bg"})
IGNORE_NAMES = frozenset(
    {"ignore", "_ignore_", "__ignore__", "void"}
)  # where a replacing import writes until it is done


@dataclass
class ImportReport:
    """What an import did: images written, classes, what was skipped and why (by name, counted)."""

    format: str
    source: Path
    out: Path
    classes: list[str] = field(default_factory=list)
    images: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images_dir: Path | None = None
    elapsed_s: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(reason_kind(s.reason) for s in self.skipped)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": str(self.source),
            "images": self.images,
            "classes": self.classes,
            "skipped_counts": dict(self.counts()),
            "skipped": [{"subject": s.subject, "reason": s.reason} for s in self.skipped[:MAX_LISTED]],
            "notes": self.notes,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def summary(self) -> list[str]:
        """The lines the CLI prints (the dialog words its own)."""
        lines = [
            f"imported {self.images} images, {len(self.classes)} classes, from {self.source} "
            f"({self.format}) into {self.out} ({self.elapsed_s:.1f}s)"
        ]
        counts = self.counts()
        if counts:
            parts = [f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()]
            lines.append("skipped: " + ", ".join(parts))
            lines += [f"  {s.subject}: {s.reason}" for s in self.skipped[:10]]
            if len(self.skipped) > 10:
                lines.append(f"  ... and {len(self.skipped) - 10} more (report.json lists them)")
        lines += self.notes
        return lines


def reason_kind(reason: str) -> str:
    """``"unknown class 'dog'"`` -> ``unknown_class``: the words before a quote, colon or bracket."""
    head = reason
    for stop in (":", "(", "[", "'", '"', ";", ","):
        head = head.split(stop, 1)[0]
    words = [w for w in head.strip().lower().split() if not w.isdigit()][:4]
    return "_".join(words) or "other"


# ------------------------------------------------------------------------------------ the output folder
def check_import_out(out: Path, src: Path, images_dir: Path | None, overwrite: bool) -> bool:
    """Refuse an ``out`` that is the source or an image folder (or inside one), a non-empty folder that is
    no mask folder, or a mask folder without ``overwrite``; True when an old mask folder is to be replaced."""
    reads = {"the source labels": src}
    check_output_folder(out, reads=reads, image_dirs=[images_dir], may_be_mask_folder=True)
    if images_dir is not None:
        check_out_apart_from_images(out, images_dir)
    if not out.is_dir() or not any(out.iterdir()):
        return False
    if not is_mask_folder(out):
        raise OptionsError(f"{out} is not empty and is not a mask folder: choose a new or empty folder")
    if not overwrite:
        raise MasksExistError(out, "a mask folder")
    return True


def _clear_mask_folder(out: Path) -> None:
    """Remove the files of the mask folder ``out`` that this job writes (masks its map lists): the rest of
    ``masks/`` is not ours to delete."""
    masks = SafeRoot(out / MASKS_DIR, what="mask file name")
    try:
        listed = read_image_mask_map(out, required=False)
    except DatasetError:
        listed = {}
    for name in listed.values():
        if masks.refusal(name) is None:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                (out / MASKS_DIR / name).unlink()
    for name in (MANIFEST_FILE, REPORT_FILE, IMAGE_MAP_FILE, MAPPING_FILE, IMAGES_FILE, "edited.json"):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


# ------------------------------------------------------------------------------------------ classes
@dataclass
class _Classes:
    """The folder's classes and the lookup table from the reader's indices to the folder's."""

    mapping: ClassMapping
    lut: np.ndarray  # reader index -> folder index (256 entries; 255 stays 255)
    read_classes: int  # K of the reader: values 1..K are its classes


def _match_classes(read: FormatRead, classes_from: Path | None, skipped: list[Skipped]) -> _Classes:
    """Reader index -> folder index by name (ignoring case); a class named like background or ignore
    (labelme's ``__ignore__``, VOC's ``void``) is 0 or 255, not a class."""
    lut = np.arange(256, dtype=np.uint8)
    special = {}
    for i, name in enumerate(read.classes, start=1):
        key = name.strip().casefold()
        if key in BACKGROUND_NAMES or key in IGNORE_NAMES:
            special[i] = 0 if key in BACKGROUND_NAMES else IGNORE
    lut[list(special)] = list(special.values())
    if classes_from is not None:
        path = classes_from / MAPPING_FILE if classes_from.is_dir() else classes_from
        mapping = ClassMapping.read(path)
        by_name = {c.name.casefold(): i for i, c in enumerate(mapping.categories, start=1)}
        for i, name in enumerate(read.classes, start=1):
            if i in special:
                continue
            found = by_name.get(name.casefold())
            if found is None:
                lut[i] = IGNORE
                why = f"unknown class {name!r}: not in {path}, its pixels became ignore (255)"
                skipped.append(Skipped(f"class {name!r}", why))
            else:
                lut[i] = found
        return _Classes(mapping, lut, len(read.classes))
    categories: list[Category] = []
    first: dict[str, int] = {}
    for i, name in enumerate(read.classes, start=1):
        key = name.strip().casefold()
        if i in special:
            continue
        if key in first:  # one class named twice: one class in the folder
            lut[i] = first[key]
            continue
        categories.append(Category(len(categories) + 1, name.strip()))
        first[key] = lut[i] = len(categories)
    return _Classes(ClassMapping(tuple(categories)), lut, len(read.classes))


# ------------------------------------------------------------------------------------------- images
class _MaskNames:
    """Mask file names given one at a time: ``<stem>.png``, or the path-based name when a stem repeats."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def next(self, file_name: str) -> str:
        path = PurePosixPath(file_name)
        for base in (path.stem, "__".join(path.with_suffix("").parts) or "image"):
            if base.casefold() not in self.used:
                self.used.add(base.casefold())
                return base + ".png"
        k = 1
        while f"{base}_{k}".casefold() in self.used:
            k += 1
        self.used.add(f"{base}_{k}".casefold())
        return f"{base}_{k}.png"


def _image_problem(image: LabelledImage, images: SafeRoot | None, root: Path | None) -> str | None:
    """Why an image cannot join the folder: not in the image folder, or of another size than its labels."""
    if images is None:
        return None
    refusal = images.refusal(image.file_name)
    if refusal is not None:
        return refusal
    path = images.resolve(image.file_name)
    if not path.is_file():
        return f"missing image: not found in {root}"
    try:
        size = image_size(path)
    except Exception:  # an unreadable header: the viewer says so later; the labels still count
        return None
    if size != image.label.shape:
        return (
            f"the labels are {image.width}x{image.height} pixels but the image is {size[1]}x{size[0]} "
            "(width x height)"
        )
    return None


@dataclass
class _Written:
    image_map: dict[str, str] = field(default_factory=dict)
    per_image: dict[str, dict[str, int]] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))
    with_class: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))


def _write_images(
    written: _Written,
    images: Iterator[LabelledImage] | list[LabelledImage],
    classes: _Classes,
    out: Path,
    images_dir: Path | None,
    skipped: list[Skipped],
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> None:
    """Each image's checks, then its mask PNG; ``written`` collects the folder's entries as they go."""
    safe = SafeRoot(images_dir) if images_dir is not None else None
    names, seen = _MaskNames(), set[str]()
    total = len(images) if isinstance(images, list) else 0
    meter, done = RateMeter(total), 0
    (out / MASKS_DIR).mkdir(parents=True, exist_ok=True)
    for image in images:
        if cancel is not None:
            cancel.raise_if_cancelled()
        done += 1
        if meter.due(done) if total else done % 20 == 0:
            report(progress, meter.progress(done, "images"))
        if image.file_name in seen:
            skipped.append(Skipped(image.file_name, "duplicate file name: its first labels were kept"))
            continue
        seen.add(image.file_name)
        label = np.asarray(image.label)
        if label.ndim != 2 or label.dtype != np.uint8:
            why = f"labels are {label.dtype} {label.shape}, not (H, W) uint8"
            skipped.append(Skipped(image.file_name, why))
            continue
        values = np.flatnonzero(class_histogram(label)).tolist()
        bad = [v for v in values if classes.read_classes < v != IGNORE]
        if bad:
            skipped.append(Skipped(image.file_name, f"pixel values {bad[:8]} are no class of the labels"))
            continue
        problem = _image_problem(image, safe, images_dir)
        if problem is not None:
            skipped.append(Skipped(image.file_name, problem))
            continue
        label = classes.lut[label]
        if image.crowd is not None:
            label = np.where(image.crowd, np.uint8(IGNORE), label)
        mask_name = names.next(image.file_name)
        write_mask_png(out / MASKS_DIR / mask_name, label)
        hist = class_histogram(label)
        present = np.flatnonzero(hist)
        written.pixels += hist
        written.with_class[present] += 1
        written.image_map[image.file_name] = mask_name
        written.per_image[mask_name] = {str(v): int(hist[v]) for v in present.tolist()}
        written.entries.append(
            {"id": len(written.entries) + 1, "file_name": image.file_name, "width": image.width,
             "height": image.height}
        )  # fmt: skip
    report(progress, Progress(done, done, "images"))


# ------------------------------------------------------------------------------------- the folder files
def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_folder_files(
    work: Path,
    out: Path,
    mapping: ClassMapping,
    written: _Written,
    rep: ImportReport,
    images_dir: Path | None,
) -> None:
    """images.json, category_mapping.json, image_mask_map.json, report.json, then manifest.json (last:
    the folder is a mask folder once it exists), into ``work`` (``out`` or its staging folder); paths
    recorded relative to ``out``."""
    final, out, annotations = out, work, work / IMAGES_FILE
    categories = [{"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in mapping.categories]
    info = {"description": f"imported by cocoseg import --format {rep.format} from {rep.source.name}",
            "date_created": _now()}  # fmt: skip
    coco = {"info": info, "licenses": [], "images": written.entries, "annotations": []}
    coco["categories"] = categories
    atomic_write_json(annotations, coco)
    mapping.write(out / MAPPING_FILE)
    atomic_write_json(out / IMAGE_MAP_FILE, written.image_map)
    indices = [0, *range(1, mapping.num_classes), IGNORE]
    classes = [
        {"index": i, "name": mapping.name_of(i), "pixels": int(written.pixels[i]),
         "images": int(written.with_class[i])}
        for i in indices
    ]  # fmt: skip
    folder_report = {
        "version": 1,
        "skipped": dict(rep.counts()),
        "classes": classes,
        "per_image": written.per_image,
        "import": rep.to_json(),
    }
    atomic_write_json(out / REPORT_FILE, folder_report)
    options = MaskOptions(workers=1)
    manifest: dict[str, Any] = {
        "version": 1,
        "tool": f"cocoseg {__version__}",
        "created_by": CREATED_BY,
        "import": {"format": rep.format, "source": str(rep.source.resolve())},
        "annotations": relative_path(annotations, out),
        "options": options.to_json(),
        "options_hash": options_hash(options, mapping, {}, annotations),
        "num_images": len(written.entries),
        "complete": True,
        "created": _now(),
    }
    if images_dir is not None:
        manifest["images_dir"] = relative_path(images_dir, final)
    atomic_write_json(out / MANIFEST_FILE, manifest)


# ------------------------------------------------------------------------------------------ the job
def import_labels(
    fmt: str | LabelFormat,
    src: Path,
    out: Path,
    images_dir: Path | None = None,
    classes_from: Path | None = None,
    overwrite: bool = False,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Make the mask folder ``out`` from ``src`` in format ``fmt`` (see the module docstring).

    ``images_dir``: where the images are (default: where the format says, e.g. VOC's JPEGImages/);
    ``classes_from``: a mask folder or category_mapping.json whose classes the labels are matched to by
    name (default: the format's classes, in its order). Raises OptionsError / DatasetError naming the
    file for an unusable source or ``out``; Cancelled (``out`` left as it was found) when ``cancel`` is set.
    """
    t0 = time.perf_counter()
    lf = fmt if isinstance(fmt, LabelFormat) else label_format(fmt)
    src, out = Path(src).absolute(), Path(out).absolute()
    images_dir = Path(images_dir).absolute() if images_dir is not None else None
    if not src.exists():
        raise DatasetError(src, "not found")
    if lf.name == COCO:
        return _import_coco(lf, src, out, images_dir, classes_from, overwrite, workers, progress, cancel, t0)
    reader = lf.reader()
    replacing = check_import_out(out, src, images_dir, overwrite)
    read = reader(src, images_dir)
    if images_dir is None and read.images_dir is not None:
        images_dir = Path(read.images_dir).absolute()
        check_import_out(out, src, images_dir, overwrite)
    rep = ImportReport(lf.name, src, out, images_dir=images_dir)
    skipped: list[Skipped] = []
    classes = _match_classes(read, Path(classes_from) if classes_from is not None else None, skipped)
    rep.classes = [c.name for c in classes.mapping.categories]
    created = not out.exists()
    work = out / _STAGING if replacing else out  # the old folder stays whole until the new one is done
    shutil.rmtree(out / _STAGING, ignore_errors=True)  # a killed import's: ours by name
    written = _Written()
    try:
        _write_images(written, read.images, classes, work, images_dir, skipped, progress, cancel)
        rep.skipped = [*read.skipped, *skipped]  # the reader's fill as its images are read
        rep.images = len(written.entries)
        if images_dir is None:
            rep.notes.append("no image folder given (--images) nor found beside the labels: the folder names "
                             "no images, so it cannot be trained on or browsed until one is set")  # fmt: skip
        rep.elapsed_s = time.perf_counter() - t0
        _write_folder_files(work, out, classes.mapping, written, rep, images_dir)
        if replacing:
            _clear_mask_folder(out)
            _move_in(work, out, written)
    except BaseException:
        if replacing:
            shutil.rmtree(work, ignore_errors=True)
        else:
            _undo(out, created, written)
        raise
    return rep


def _move_in(work: Path, out: Path, written: _Written) -> None:
    """The finished folder out of staging: masks, then the JSON files, manifest.json last."""
    (out / MASKS_DIR).mkdir(exist_ok=True)
    for name in written.image_map.values():
        os.replace(work / MASKS_DIR / name, out / MASKS_DIR / name)
    for name in (IMAGES_FILE, MAPPING_FILE, IMAGE_MAP_FILE, REPORT_FILE, MANIFEST_FILE):
        os.replace(work / name, out / name)
    shutil.rmtree(work, ignore_errors=True)


def _undo(out: Path, created: bool, written: _Written) -> None:
    """A failed or cancelled import leaves no half folder: the files it wrote go, nothing else."""
    masks = out / MASKS_DIR
    for name in written.image_map.values():
        with contextlib.suppress(OSError):
            (masks / name).unlink()
    for name in (MANIFEST_FILE, REPORT_FILE, IMAGE_MAP_FILE, MAPPING_FILE, IMAGES_FILE):
        with contextlib.suppress(OSError):
            (out / name).unlink()
    with contextlib.suppress(OSError):
        masks.rmdir()
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()


def _import_coco(
    lf: LabelFormat, src: Path, out: Path, images_dir: Path | None, classes_from: Path | None,
    overwrite: bool, workers: int, progress: ProgressCallback | None, cancel: CancelToken | None, t0: float,
) -> ImportReport:  # fmt: skip
    """COCO is the mask job's (``cocoseg masks``): the same folder, report and options."""
    from cocoseg_gui.core.coco.dataset_locator import images_dir_for, locate
    from cocoseg_gui.core.masks.job import generate_masks

    if classes_from is not None:
        raise OptionsError("matching classes to another folder is for the other formats: for COCO, choose "
                           "the classes to draw (cocoseg masks --classes)")  # fmt: skip
    if src.is_dir():
        paths = locate(src)
        src, images_dir = paths.annotations, images_dir or paths.images_dir
    images_dir = images_dir or images_dir_for(src)
    reads = {"the source labels": src}
    check_output_folder(out, reads=reads, image_dirs=[images_dir], may_be_mask_folder=True)
    result = generate_masks(
        src, images_dir, out, MaskOptions(workers=max(1, workers)), progress, cancel, overwrite=overwrite
    )
    rep = ImportReport(lf.name, src, out, images_dir=images_dir)
    rep.images = result.written + result.reused
    rep.classes = [c["name"] for c in result.report.get("classes", []) if c.get("index") not in (0, IGNORE)]
    rep.notes.append(f"{sum(result.report.get('skipped', {}).values())} annotations skipped by the mask job "
                     "(report.json says which and why)")  # fmt: skip
    rep.elapsed_s = time.perf_counter() - t0
    return rep
