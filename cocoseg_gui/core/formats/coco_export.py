"""`cocoseg export-coco`: a mask dataset folder, edited by hand or labelled from scratch -> a COCO JSON.

With the original annotations, an image counts as edited when its mask differs from what those
annotations draw under the folder's recorded options (manifest.json): the masks are compared, no log
is trusted. Unchanged images keep their original annotation objects as they are; an edited image's
drawn annotations are replaced by one annotation per 8-connected component per class (core.coco_components),
while what its mask cannot show (categories outside category_mapping.json, annotations the options
did not draw) is kept. Crowd regions drawn as ignore (255) are kept while no pixel of theirs became
background, else trimmed to their pixels still 255. Without the original annotations every image is
written from its mask. docs/formats.md says what is written, docs/adr/0015-export-to-coco.md why.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_bytes
from cocoseg_gui.core.files.image_header import image_size
from cocoseg_gui.core.files.output_guard import EXPORT_MARK, check_output_file
from cocoseg_gui.core.formats.coco_components import FORMATS
from cocoseg_gui.core.formats.coco_export_image import ImageExporter, Written
from cocoseg_gui.core.formats.coco_export_report import MAX_EXAMPLES, ExportReport
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, MaskSample, read_image_mask_map
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE, MANIFEST_FILE, REPORT_FILE
from cocoseg_gui.core.masks.job import options_hash
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.png import class_histogram
from cocoseg_gui.core.masks.rasterize import priority_groups
from cocoseg_gui.core.types import IGNORE_INDEX, Annotation

__all__ = ["FORMATS", "ExportReport", "export_coco"]


@dataclass
class _Original:
    """The annotations the masks were made from: the index they were drawn with, the file's own records."""

    path: Path
    index: CocoIndex
    doc: dict[str, Any]
    positions: dict[int, list[int]]  # image id -> positions of its records in doc["annotations"]

    @classmethod
    def load(cls, path: Path, cancel: CancelToken | None) -> _Original:
        index = CocoIndex.load(path, cancel=cancel)  # checks the file, names problems
        try:
            doc = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DatasetError(path, f"cannot read JSON ({exc})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("annotations", []), list):
            raise DatasetError(path, "not a COCO instances file (expected an object with 'annotations')")
        doc.setdefault("annotations", [])
        positions: dict[int, list[int]] = {}
        for pos, ann in enumerate(doc["annotations"]):
            image_id = ann.get("image_id") if isinstance(ann, dict) else None
            if isinstance(image_id, int) and not isinstance(image_id, bool):
                positions.setdefault(image_id, []).append(pos)
        return cls(path, index, doc, positions)

    def records(self, image_id: int, annotations: Sequence[Annotation]) -> list[int]:
        """Positions of the image's records, one per index annotation (same file order)."""
        found = self.positions.get(image_id, [])
        raw = self.doc["annotations"]
        same = len(found) == len(annotations) and all(
            raw[p].get("id") == a.id for p, a in zip(found, annotations)
        )
        if not same:
            raise DatasetError(
                self.path, f"the annotations of image id {image_id} do not match the file as indexed "
                "(did it change during the export?)",
            )  # fmt: skip
        return found

    def next_ids(self) -> tuple[int, int]:
        """The first free annotation id and image id."""
        ann_ids = [a.get("id") for a in self.doc["annotations"] if isinstance(a, dict)]
        img_ids = self.index.image_ids()
        return _after(ann_ids), (int(img_ids.max()) + 1 if len(img_ids) else 1)


def _after(ids: Sequence[Any]) -> int:
    ints = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return max(ints, default=0) + 1


# ------------------------------------------------------------------------------------------- checks
def _check_values(mask: np.ndarray, mapping: ClassMapping, sample: MaskSample) -> np.ndarray:
    """The mask's histogram; DatasetError naming the file when it holds values above K other than 255."""
    hist = class_histogram(mask)
    bad = [v for v in np.flatnonzero(hist).tolist() if mapping.num_classes <= v != IGNORE_INDEX]
    if bad:
        shown = ", ".join(map(str, bad[:8])) + (", ..." if len(bad) > 8 else "")
        classes = f"0..{mapping.num_classes - 1}, and 255 ignore"
        raise DatasetError(
            sample.mask_path, f"pixel values {shown} are not classes of {MAPPING_FILE} ({classes})"
        )
    return hist


def _size_from_image(sample: MaskSample, mask: np.ndarray) -> None:
    """DatasetError when the image file is there and its size is not the mask's."""
    path = sample.image_path
    if path is None or not path.is_file():
        return
    try:
        size = image_size(path)
    except (OSError, ValueError, SyntaxError):
        return
    if size != mask.shape:
        raise DatasetError(
            sample.mask_path,
            f"the mask is {mask.shape[1]}x{mask.shape[0]} pixels (width x height) but its image {path} "
            f"is {size[1]}x{size[0]}",
        )


def _same_file(a: Path, b: Path | None) -> bool:
    if b is None or not a.exists() or not b.exists():
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_out(
    out: Path,
    folder: MaskDatasetFolder,
    annotations: Path | None,
    overwrite: bool = False,
    option: str | None = None,
) -> None:
    """Refuse an output that would replace an input (the annotations, given or recorded in the
    manifest, a file of the mask folder, a source image), or an existing file unless ``overwrite``
    (core/files/output_guard.py)."""
    out = Path(out)
    if _same_file(out, annotations) or _same_file(out, folder.annotations):
        raise OptionsError(
            f"--out {out} is the input annotations file; write the export to a new file (the original "
            "stays as it is)"
        )
    for name in (MAPPING_FILE, MANIFEST_FILE, IMAGE_MAP_FILE, REPORT_FILE):
        if _same_file(out, folder.root / name):
            raise OptionsError(f"--out {out} is the mask folder's {name}; write the export to a new file")
    if out.resolve().is_relative_to(folder.masks_dir.resolve()):
        raise OptionsError(f"--out {out} is inside the mask folder's masks/; write the export elsewhere")
    reads = {"the mask folder": folder.root, "the input annotations file": annotations}
    check_output_file(out, reads=reads, image_dirs=[folder.images_dir], overwrite=overwrite, option=option)


# ----------------------------------------------------------------------------------------- the job
def _open_folder(masks: Path, follow_symlinks: bool) -> tuple[MaskDatasetFolder, ClassMapping]:
    masks = Path(masks)
    if not masks.is_dir():
        raise DatasetError(masks, "mask dataset folder not found")
    folder = MaskDatasetFolder(masks, follow_symlinks, browse=True)
    if folder.mapping is None:
        raise DatasetError(
            masks / MAPPING_FILE,
            "file not found: the export needs the folder's class map (class index -> COCO category id)",
        )
    read_image_mask_map(masks)  # DatasetError naming it when missing or unreadable
    return folder, folder.mapping


def _recorded_options(folder: MaskDatasetFolder, required: bool) -> MaskOptions:
    """The options the masks were made with (manifest.json); defaults for a folder made from scratch."""
    path = folder.root / MANIFEST_FILE
    data = folder.manifest.get("options")
    if not isinstance(data, dict):
        if required:
            raise DatasetError(
                path, "no recorded mask options (unreadable or missing): they are needed to tell edited "
                "masks from those the annotations draw",
            )  # fmt: skip
        return MaskOptions(workers=1)
    try:
        return MaskOptions.from_json(data)
    except (OptionsError, TypeError, ValueError) as exc:
        raise DatasetError(path, f"unreadable mask options ({exc})") from exc


def _check_mapping(mapping: ClassMapping, original: _Original, folder: MaskDatasetFolder) -> None:
    known = {c.id for c in original.index.categories}
    for cat in mapping.categories:
        if cat.id not in known:
            raise DatasetError(
                folder.root / MAPPING_FILE,
                f"category id {cat.id} ({cat.name!r}) is not among the categories of {original.path}",
            )


def _origin_warnings(
    folder: MaskDatasetFolder, mapping: ClassMapping, options: MaskOptions, path: Path
) -> list[str]:
    out = []
    digest = options_hash(options, mapping, priority_groups(options, mapping), path)
    if folder.manifest.get("options_hash") != digest:
        out.append(
            f"{path} is not the annotations file the masks were made from, or it changed since "
            f"(manifest.json: {folder.manifest.get('annotations')}): masks differing from what it draws "
            "count as edited"
        )
    if not folder.complete:
        out.append(f"{folder.root} is incomplete (manifest.json complete: false): images without a mask keep "
                   "their annotations")  # fmt: skip
    return out


def _marked(doc: dict[str, Any], folder: MaskDatasetFolder) -> dict[str, Any]:
    """``info`` first, with ``cocoseg_export`` saying this file is an export: the output guard then lets
    a later export replace it (with overwrite), while an original annotations file is never replaced."""
    info = doc.get("info")
    if isinstance(info, dict):
        info = {**info, "cocoseg_export": f"{EXPORT_MARK.decode()} from {folder.root.name}"}
    return {"info": info, **{k: v for k, v in doc.items() if k != "info"}} if "info" in doc else doc


def _scratch_doc(folder: MaskDatasetFolder, mapping: ClassMapping) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "info": {
            "description": f"exported by cocoseg export-coco from {folder.root.name}",
            "version": "1.0",
            "year": now.year,
            "date_created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "licenses": [],
        "images": [],
        "annotations": [],
        "categories": [
            {"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in mapping.categories
        ],
    }


def _dumps(doc: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(doc)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer above 64 bits in the original
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@dataclass
class _Output:
    """The document being built: new image entries and records, original records left out."""

    doc: dict[str, Any]
    next_image: int
    images: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    removed: set[int] = field(default_factory=set)

    def add(self, written: Written, file_name: str, rep: ExportReport) -> None:
        self.records += written.records
        self.removed.update(written.removed)
        rep.note_ignored(file_name, written.ignored)

    def finish(self) -> dict[str, Any]:
        doc = self.doc
        doc["images"] = [*doc.get("images", []), *self.images]
        kept = doc["annotations"]
        if self.removed:
            kept = [a for i, a in enumerate(kept) if i not in self.removed]
        doc["annotations"] = [*kept, *self.records]
        return doc


def _with_original(
    original: _Original,
    folder: MaskDatasetFolder,
    by_name: dict[str, MaskSample],
    work: ImageExporter,
    output: _Output,
    step: Callable[[], None],
) -> None:
    """Compare each listed image's mask with what its annotations draw; rebuild the edited ones.
    Samples handled are taken out of ``by_name`` (what is left are images the original does not list)."""
    rep = work.report
    for info in original.index.images():
        sample = by_name.pop(info.file_name, None)
        if sample is None:
            rep.without_mask += 1
            continue
        mask = folder.read_mask(info.file_name)
        hist = _check_values(mask, work.mapping, sample)
        if mask.shape != (info.height, info.width):
            raise DatasetError(
                sample.mask_path,
                f"the mask is {mask.shape[1]}x{mask.shape[0]} pixels (width x height) but image id "
                f"{info.id} ({info.file_name!r}) is {info.width}x{info.height} in {original.path}",
            )
        anns = original.index.annotations_for(info.id)
        drawn = work.draw(anns, info.height, info.width)
        if np.array_equal(drawn.label, mask):
            rep.unchanged += 1
        else:
            rep.edited += 1
            positions = original.records(info.id, anns)
            written = work.edited(info.id, mask, hist, anns, drawn.painted, positions)
            output.add(written, info.file_name, rep)
            work.check(info.file_name, mask, written.redraw)
        step()


def _from_masks(
    samples: list[MaskSample], folder: MaskDatasetFolder, work: ImageExporter, output: _Output,
    step: Callable[[], None],
) -> None:  # fmt: skip
    """Images written from their mask alone: new image entries numbered after the original's."""
    for sample in samples:
        mask = folder.read_mask(sample.file_name)
        hist = _check_values(mask, work.mapping, sample)
        _size_from_image(sample, mask)
        h, w = mask.shape
        image_id = output.next_image
        output.next_image += 1
        output.images.append({"id": image_id, "file_name": sample.file_name, "width": w, "height": h})
        written = work.whole(image_id, mask, hist)
        output.add(written, sample.file_name, work.report)
        work.check(sample.file_name, mask, written.redraw)
        step()


def export_coco(
    masks: Path,
    out: Path,
    annotations: Path | None = None,
    fmt: str = "rle",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    follow_symlinks: bool = False,
    overwrite: bool = False,
    option: str | None = None,
) -> ExportReport:
    """Write the COCO JSON ``out`` from the mask folder ``masks`` (see the module docstring).

    Raises DatasetError naming the file (missing class map, values above K, a mask whose size is not
    its image's), OptionsError for an ``out`` that is an input (OutputExists for an existing file
    without ``overwrite``; ``option`` names the CLI flag in messages), Cancelled when ``cancel`` is
    set (then nothing is written).
    """
    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise OptionsError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    folder, mapping = _open_folder(masks, follow_symlinks)
    out = Path(out)
    check_out(out, folder, annotations, overwrite, option)
    rep = ExportReport(out, fmt, from_scratch=annotations is None)
    options = _recorded_options(folder, required=annotations is not None)
    samples = folder.samples()
    rep.warnings += [f"no mask for {name!r}: {why}" for name, why in folder.refused[:MAX_EXAMPLES]]
    original = None
    if annotations is not None:
        report(progress, Progress(0, 0, "reading annotations"))
        original = _Original.load(Path(annotations), cancel)
        _check_mapping(mapping, original, folder)
        rep.warnings += _origin_warnings(folder, mapping, options, original.path)
        next_ann, next_image = original.next_ids()
        work = ImageExporter(mapping, options, fmt, rep, next_ann, {c.id for c in original.index.categories})
        output = _Output(dict(original.doc), next_image)
    else:
        work = ImageExporter(mapping, options, fmt, rep, 1, None)
        output = _Output(_scratch_doc(folder, mapping), 1)

    meter = RateMeter(len(samples))
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if cancel is not None:
            cancel.raise_if_cancelled()
        if meter.due(done):
            report(progress, meter.progress(done, "images"))

    by_name = {s.file_name: s for s in samples}
    if original is not None:
        _with_original(original, folder, by_name, work, output, step)
        rep.new_images = len(by_name)
    _from_masks(list(by_name.values()), folder, work, output, step)
    doc = _marked(output.finish(), folder)
    rep.images, rep.annotations = len(doc["images"]), len(doc["annotations"])
    _final_warnings(rep, options)
    atomic_write_bytes(out, _dumps(doc))
    rep.ignore_images = rep.ignore_images[:MAX_EXAMPLES]
    rep.elapsed_s = time.perf_counter() - t0
    return rep


def _final_warnings(rep: ExportReport, options: MaskOptions) -> None:
    if rep.ignore_pixels_dropped:
        n = len(rep.ignore_images)
        rep.warnings.append(
            f"{rep.ignore_pixels_dropped} ignore (255) pixels in {n} image{'s' * (n != 1)} lie in no "
            "original crowd region: COCO has no annotation without a category for them, so they are not "
            f"exported (they become background when masks are made again), e.g. {rep.ignore_images[0]!r}"
        )
    if rep.below_min_area:
        rep.warnings.append(
            f"{rep.below_min_area} components have fewer pixels than the folder's --min-area "
            f"{options.min_area:g}: `cocoseg masks` with the same options skips them"
        )
