"""`cocoseg export MASK_FOLDER --format F --out DEST`: a mask folder -> another tool's label format.

The folder's masks go to the format's writer (core.formats.registry) as ``LabelledImage`` records, lazily,
counted for progress and checked for cancel between images. The writer writes into ``DEST`` itself, so
paths it records (an image path relative to a label file, data.yaml's) are the final ones. A new or empty
``DEST`` is all the export's (a failure or cancel empties it again); a ``DEST`` holding files gets a first
run of the writer into a probe folder inside it, whose files are each checked by the output guard (an
existing file needs ``overwrite``; an input, a source image, an annotations file or a mask folder's file is
never replaced) before the real run replaces any. ``.cocoseg-export.json`` in ``DEST`` records what was
written, so a later export may replace its own files (images and PNGs included) with ``overwrite``. COCO
is ``core.formats.coco_export`` unchanged (its report, its checks).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.files.output_guard import check_output_file, check_output_folder
from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.formats.coco_export_report import ExportReport
from cocoseg_gui.core.formats.interchange import IGNORE, FormatWritten, LabelledImage, Skipped
from cocoseg_gui.core.formats.registry import COCO, LabelFormat, label_format
from cocoseg_gui.core.jobs import CancelToken, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder, read_image_mask_map
from cocoseg_gui.core.masks.png import class_histogram

RECORD_FILE = ".cocoseg-export.json"  # what an export wrote into DEST (its files, sizes, times)
_STAGING = ".cocoseg-export-probe"
SCRATCH_CREATORS = ("new-dataset", "import")  # manifest created_by of folders with no original annotations


@dataclass
class ExportResult:
    """What an export wrote: images, files, what the format left out or approximated; COCO's own report."""

    format: str
    masks: Path
    out: Path
    images: int = 0
    files: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    coco: ExportReport | None = None

    def summary(self) -> list[str]:
        if self.coco is not None:
            return self.coco.summary()
        what = f"{self.images} images, {self.files} files ({self.elapsed_s:.1f}s)"
        lines = [f"wrote {self.out} ({self.format}): {what}"]
        lines += [f"skipped {s.subject}: {s.reason}" for s in self.skipped[:10]]
        if len(self.skipped) > 10:
            lines.append(f"... and {len(self.skipped) - 10} more skipped")
        return lines + self.notes

    @property
    def warnings(self) -> list[str]:
        return self.coco.warnings if self.coco is not None else []

    def to_json(self) -> dict[str, Any]:
        if self.coco is not None:
            return self.coco.to_json()
        return {
            "version": 1,
            "format": self.format,
            "masks": str(self.masks),
            "out": str(self.out),
            "images": self.images,
            "files": self.files,
            "skipped": [{"subject": s.subject, "reason": s.reason} for s in self.skipped],
            "notes": self.notes,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def original_annotations(masks: Path) -> Path | None:
    """The COCO file a mask folder was drawn from (its manifest's), or None: a folder made by
    `new-dataset` or `import` has none (its images.json lists images only), nor one whose file is gone."""
    folder = MaskDatasetFolder(masks, browse=True)
    if folder.manifest.get("created_by") in SCRATCH_CREATORS:
        return None
    annotations = folder.annotations
    return annotations if annotations is not None and annotations.is_file() else None


# ---------------------------------------------------------------------------------- the export record
def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _owned_by_earlier_export(out: Path) -> set[str]:
    """Files of ``out`` an earlier export wrote and nobody changed since (same size and time)."""
    try:
        record = json.loads((out / RECORD_FILE).read_text(encoding="utf-8"))
        files = record["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    owned = set()
    for rel, stat in files.items() if isinstance(files, dict) else ():
        path = out / rel
        with contextlib.suppress(OSError):
            if path.is_file() and _stat(path) == list(stat):
                owned.add(str(rel))
    return owned


# ------------------------------------------------------------------------------------------ the job
def _open(masks: Path, follow_symlinks: bool) -> MaskDatasetFolder:
    masks = Path(masks)
    if not masks.is_dir():
        raise DatasetError(masks, "mask dataset folder not found")
    folder = MaskDatasetFolder(masks, follow_symlinks, browse=True)
    if folder.mapping is None:
        raise DatasetError(masks / MAPPING_FILE, "file not found: the export needs the folder's classes")
    read_image_mask_map(masks)  # DatasetError naming it when missing or unreadable
    return folder


def _labelled(
    folder: MaskDatasetFolder,
    result: ExportResult,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> Iterator[LabelledImage]:
    """The folder's masks, one at a time; a mask that cannot be read or holds no class is skipped, named."""
    samples = folder.samples()
    result.skipped += [Skipped(name, why) for name, why in folder.refused]
    k = folder.mapping.num_classes if folder.mapping is not None else 1
    meter = RateMeter(len(samples))
    for done, sample in enumerate(samples, start=1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            mask = folder.read_mask(sample.file_name)
        except DatasetError as exc:
            result.skipped.append(Skipped(sample.file_name, exc.problem))
            continue
        bad = [v for v in np.flatnonzero(class_histogram(mask)).tolist() if k <= v != IGNORE]
        if bad:
            why = f"pixel values {bad[:8]} are not classes of {MAPPING_FILE} (0..{k - 1}, 255)"
            result.skipped.append(Skipped(sample.file_name, why))
            continue
        yield LabelledImage(sample.file_name, mask)
        if meter.due(done):
            report(progress, meter.progress(done, "images"))


def _check_before_replacing(
    run: Callable[[Path, ExportResult], object], probe: Path, out: Path, reads: dict[str, Path | None],
    image_dirs: list[Path | None], overwrite: bool, option: str | None,
) -> None:  # fmt: skip
    """``out`` holds files already: a first run of the writer into ``probe`` names the files the export
    makes, and each is checked by the guard (OutputExists, OutputRefused) before any is replaced."""
    probe.mkdir(parents=True)
    run(probe, ExportResult("probe", out, probe))
    owned = _owned_by_earlier_export(out)

    def earlier(target: Path) -> bool:  # the guard asks about out / rel
        return target.relative_to(out).as_posix() in owned

    for path in sorted(p for p in probe.rglob("*") if p.is_file()):
        rel = path.relative_to(probe).as_posix()
        check_output_file(
            out / rel, reads=reads, image_dirs=image_dirs, overwrite=overwrite, owned=earlier, option=option,
        )  # fmt: skip
    shutil.rmtree(probe)


def _record(out: Path, fmt: str, masks: Path, files: list[Path]) -> set[str]:
    """.cocoseg-export.json: the files this export wrote, with their size and time (what a later export
    may replace as its own); returns their paths relative to ``out``."""
    listed = {}
    for path in files:
        with contextlib.suppress(ValueError, OSError):
            listed[Path(path).relative_to(out).as_posix()] = _stat(Path(path))
    atomic_write_json(out / RECORD_FILE, {"format": fmt, "masks": str(masks.resolve()), "files": listed})
    return set(listed)


def _clear_new(out: Path, created: bool) -> None:
    """What a failed export wrote into a folder that was new or empty: all of it is its own."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in out.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def export_labels(
    masks: Path,
    fmt: str | LabelFormat,
    out: Path,
    annotations: Path | None = None,
    segmentation: str = "rle",
    overwrite: bool = False,
    follow_symlinks: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    option: str | None = None,
) -> ExportResult:
    """Write the mask folder ``masks`` as format ``fmt`` to ``out`` (a folder; COCO: a file).

    ``annotations`` and ``segmentation`` (rle / polygon) are COCO's (``core.formats.coco_export``).
    Raises DatasetError naming the file (no class map, an unreadable image map), OptionsError for an
    ``out`` the guard refuses (OutputExists for an existing file without ``overwrite``), Cancelled when
    ``cancel`` is set (then ``out`` is as it was).
    """
    t0 = time.perf_counter()
    lf = fmt if isinstance(fmt, LabelFormat) else label_format(fmt)
    masks, out = Path(masks), Path(out)
    if lf.name == COCO:
        rep = export_coco(masks, out, annotations, segmentation, progress, cancel, follow_symlinks, overwrite,
                          option)  # fmt: skip
        return ExportResult(lf.name, masks, out, rep.images, 1, elapsed_s=rep.elapsed_s, coco=rep)
    if annotations is not None:
        raise OptionsError(f"original annotations are for the COCO export, not {lf.name}")
    writer = lf.writer()
    folder = _open(masks, follow_symlinks)
    reads: dict[str, Path | None] = {"the mask folder": folder.root, "the annotations": folder.annotations}
    image_dirs = [folder.images_dir]
    check_output_folder(out, reads=reads, image_dirs=image_dirs, option=option)
    result = ExportResult(lf.name, masks, out)
    created = not out.exists()
    occupied = not created and any(out.iterdir())
    classes = [c.name for c in folder.mapping.categories] if folder.mapping is not None else []

    def run(dest: Path, into: ExportResult) -> FormatWritten:
        return writer(classes, _labelled(folder, into, progress, cancel), dest, folder.images_dir)

    probe = out / _STAGING
    shutil.rmtree(probe, ignore_errors=True)  # a killed export's: ours by name
    try:
        earlier = _owned_by_earlier_export(out) if occupied else set()
        if occupied:
            _check_before_replacing(run, probe, out, reads, image_dirs, overwrite, option)
        out.mkdir(parents=True, exist_ok=True)
        written = run(out, result)  # into DEST itself: the paths a writer records are the final ones
        if cancel is not None:
            cancel.raise_if_cancelled()
        files = _record(out, lf.name, masks, written.files)
        for rel in earlier - files:  # the earlier export's files this one does not write again (replaced)
            with contextlib.suppress(OSError):
                (out / rel).unlink()
    except BaseException:
        shutil.rmtree(probe, ignore_errors=True)
        if not occupied:
            _clear_new(out, created)
        raise
    result.images, result.files = written.images, len(files)
    result.skipped += written.skipped
    result.notes += written.notes
    result.elapsed_s = time.perf_counter() - t0
    return result
