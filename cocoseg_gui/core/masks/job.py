"""The `cocoseg masks` job: a COCO instances file -> a mask dataset folder (docs/formats.md).

Images are processed in chunks, in this process or in a ``spawn`` process pool (safe to start from a
Qt thread); a worker opens the index from CocoIndex's on-disk cache (memory-mapped, written when the
main process loaded the file) and gets only image ids, so nothing big is pickled. Each process writes
its PNGs from a small thread pool, overlapping file-system latency with drawing. Masks are written
atomically; ``manifest.json`` says ``complete: false`` until the end. A rerun with the same
``options_hash`` keeps the masks already on disk (it only re-reads them for the report) and writes
the rest; a rerun with other options refuses unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import struct
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.coco.image_entry import check_unique_file_names, image_entry_problem
from cocoseg_gui.core.coco.index import CocoIndex
from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.files.atomic import atomic_write_json, remove_stale_temporaries
from cocoseg_gui.core.files.folder_lock import JOB_LOCK_WAIT_S, LOCK_FILES, locked
from cocoseg_gui.core.files.image_header import image_size
from cocoseg_gui.core.files.safe_paths import SafeRoot, UnsafePathError
from cocoseg_gui.core.jobs import Cancelled, CancelToken, Progress, ProgressCallback, RateMeter, report
from cocoseg_gui.core.masks.class_map import MAPPING_FILE, ClassMapping
from cocoseg_gui.core.masks.folder import (
    IMAGE_MAP_FILE,
    MANIFEST_FILE,
    MASKS_DIR,
    REPORT_FILE,
    check_out_apart_from_images,
    manifest_json,
    mask_names,
    prepare_out,
)
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.core.masks.png import class_histogram, encode_mask_png, read_mask_png, write_file_atomic
from cocoseg_gui.core.masks.rasterize import (
    RasterResult,
    priority_groups,
    rasterize_annotations,
    rasterize_many,
)
from cocoseg_gui.core.masks.report import ImageOutcome, ImageTask, ReportBuilder
from cocoseg_gui.core.types import Annotation

__all__ = ["MaskOptions", "MaskReport", "generate_masks", "mask_names", "options_hash"]

CHUNK_IMAGES = 16  # images per task sent to a worker process
RASTER_BATCH = 8  # images whose RLEs are decoded together
WRITER_THREADS = 2
MIN_IMAGES_FOR_POOL = 64  # below this, starting worker processes costs more than it saves


@dataclass
class MaskReport:
    """What a `cocoseg masks` run did; ``report`` is the content of report.json."""

    out: Path
    num_images: int
    written: int
    reused: int
    complete: bool
    options_hash: str
    elapsed_s: float
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Config:
    annotations: Path
    images_dir: Path
    images: SafeRoot  # refuses file names that leave images_dir (docs/adr/0003-paths-outside-the-dataset.md)
    masks_dir: Path
    mapping: ClassMapping
    options: MaskOptions
    known_categories: frozenset[int]
    groups: dict[int, int]


def options_hash(
    options: MaskOptions, mapping: ClassMapping, groups: dict[int, int], annotations: Path
) -> str:
    """sha256 of the canonical options (classes and priority resolved to ids) + the file's size and mtime."""
    st = os.stat(annotations)
    canonical = {
        "classes": list(mapping.category_ids) if options.classes is not None else None,
        "overlap": options.overlap,
        "priority": sorted(groups, key=lambda c: -groups[c]),
        "crowd": options.crowd,
        "min_area": float(options.min_area),
        "max_images": options.max_images,
        "annotations_size": st.st_size,
        "annotations_mtime_ns": st.st_mtime_ns,
    }
    if options.follow_symlinks:  # only when set: hashes of earlier folders stay valid
        canonical["follow_symlinks"] = True
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------- per image work
def _image_size(path: Path) -> tuple[tuple[int, int] | None, str | None]:
    """(h, w) from the image header (no decoding), or an error text."""
    try:
        return image_size(path), None
    except FileNotFoundError:
        return None, "file not found"
    except (OSError, SyntaxError, ValueError, struct.error, CocoSegError) as exc:
        return None, str(exc) or type(exc).__name__


def _process(
    task: ImageTask,
    index: int,
    cfg: _Config,
    annotations: list[Annotation],
    raster: RasterResult,
    writer: ThreadPoolExecutor,
) -> tuple[ImageOutcome, Future[None] | None]:
    """Finish one mask (drawn, or re-read when resuming); the file write goes to ``writer``.

    A file name that leaves the image folder gets no mask (and no image_mask_map.json entry).
    """
    try:
        size, error = _image_size(cfg.images.resolve(task.file_name))
    except UnsafePathError as exc:
        refused = ImageOutcome(
            task_index=index, hist={}, skipped=Counter(), examples=[], clipped=0, dropped_parts=0,
            drawn=0, crowd_ignored=0, reused=False, refused=(exc.reason, str(exc)),
        )  # fmt: skip
        return refused, None
    mask_path = cfg.masks_dir / task.mask_name
    reused = False
    label = raster.label
    if task.reuse:
        with contextlib.suppress(DatasetError):
            label = read_mask_png(mask_path)
            reused = label.shape == (task.height, task.width)
        if not reused:  # unreadable or wrong size: draw it again
            label = rasterize_annotations(
                annotations, task.height, task.width, cfg.mapping, cfg.options,
                cfg.known_categories, cfg.groups,
            ).label  # fmt: skip
    assert label is not None
    # encode here; the thread only does the system calls (it would otherwise contend for the GIL)
    written = None if reused else writer.submit(write_file_atomic, mask_path, encode_mask_png(label))
    hist = class_histogram(label)
    nonzero = np.flatnonzero(hist)
    outcome = ImageOutcome(
        task_index=index,
        hist=dict(zip(nonzero.tolist(), hist[nonzero].tolist())),
        skipped=raster.skipped,
        examples=raster.examples,
        clipped=raster.clipped,
        dropped_parts=raster.dropped_parts,
        drawn=raster.drawn,
        crowd_ignored=raster.crowd_ignored,
        reused=reused,
        size_mismatch=size if size is not None and size != (task.height, task.width) else None,
        unreadable=error,
    )
    return outcome, written


def _process_all(
    items: list[tuple[int, ImageTask]], cfg: _Config, index: CocoIndex, cancel: CancelToken | None = None
) -> Iterator[ImageOutcome]:
    """Process images in order (rasterised in batches), yielding each outcome once its mask is on disk."""
    with ThreadPoolExecutor(WRITER_THREADS) as writer:
        queue: list[tuple[ImageOutcome, Future[None] | None]] = []
        for first in range(0, len(items), RASTER_BATCH):
            if cancel is not None and cancel.cancelled:
                break
            batch = items[first : first + RASTER_BATCH]
            anns = [index.annotations_for(task.image_id) for _, task in batch]
            if any(len(a) != task.num_annotations for a, (_, task) in zip(anns, batch)):
                raise DatasetError(cfg.annotations, "the file changed while masks were being generated")
            rasters = rasterize_many(
                [(a, task.height, task.width, not task.reuse) for a, (_, task) in zip(anns, batch)],
                cfg.mapping, cfg.options, cfg.known_categories, cfg.groups,
            )  # fmt: skip
            for (i, task), a, raster in zip(batch, anns, rasters):
                queue.append(_process(task, i, cfg, a, raster, writer))
            while queue and (queue[0][1] is None or queue[0][1].done() or len(queue) > 2 * WRITER_THREADS):
                outcome, written = queue.pop(0)
                if written is not None:
                    written.result()
                yield outcome
        for outcome, written in queue:
            if written is not None:
                written.result()
            yield outcome


_WORKER: tuple[_Config, CocoIndex] | None = None


def _init_worker(cfg: _Config, index_path: Path) -> None:
    global _WORKER
    _WORKER = (cfg, CocoIndex.load(index_path))  # from the cache the parent wrote
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into a clean cancel


def _process_chunk(chunk: list[tuple[int, ImageTask]]) -> list[ImageOutcome]:
    assert _WORKER is not None
    return list(_process_all(chunk, *_WORKER))


def _run_in_process(
    tasks: list[tuple[int, ImageTask]], cfg: _Config, index: CocoIndex, cancel: CancelToken | None
) -> Iterator[list[ImageOutcome]]:
    for outcome in _process_all(tasks, cfg, index, cancel):
        yield [outcome]
    if cancel is not None:
        cancel.raise_if_cancelled()


def _run_in_pool(
    tasks: list[tuple[int, ImageTask]],
    cfg: _Config,
    index_path: Path,
    workers: int,
    cancel: CancelToken | None,
) -> Iterator[list[ImageOutcome]]:
    chunks = [tasks[i : i + CHUNK_IMAGES] for i in range(0, len(tasks), CHUNK_IMAGES)]
    ctx = get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(cfg, index_path))
    pending: set[Future[list[ImageOutcome]]] = set()
    next_chunk = 0
    try:
        while next_chunk < len(chunks) or pending:
            while next_chunk < len(chunks) and len(pending) < 3 * workers:
                pending.add(pool.submit(_process_chunk, chunks[next_chunk]))
                next_chunk += 1
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
            if cancel is not None:
                cancel.raise_if_cancelled()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------- the job
def generate_masks(
    annotations: Path,
    images_dir: Path,
    out: Path,
    options: MaskOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    index: CocoIndex | None = None,
    overwrite: bool = False,
) -> MaskReport:
    """Write the mask dataset folder ``out`` for ``annotations`` (see docs/formats.md).

    Raises DatasetError/OptionsError for bad input, Cancelled when ``cancel`` is set (the folder then
    holds only complete masks and a manifest with ``complete: false``; a rerun resumes). The whole
    job holds ``out``'s lock (core/files/folder_lock.py): FolderBusyError naming who else writes it.
    """
    out = Path(out)
    check_out_apart_from_images(out, Path(images_dir))  # before the lock file lands in OUT
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with locked(out, JOB_LOCK_WAIT_S):
            return _generate_masks(annotations, images_dir, out, options, progress, cancel, index, overwrite)
    except BaseException:
        if created:  # bad input before anything was written: leave no folder behind
            for name in LOCK_FILES:
                with contextlib.suppress(OSError):
                    (out / name).unlink()
            with contextlib.suppress(OSError):
                out.rmdir()
        raise


def _generate_masks(
    annotations: Path,
    images_dir: Path,
    out: Path,
    options: MaskOptions,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    index: CocoIndex | None,
    overwrite: bool,
) -> MaskReport:
    t0 = time.perf_counter()
    annotations, images_dir, out = Path(annotations), Path(images_dir), Path(out)
    if not images_dir.is_dir():
        raise DatasetError(images_dir, "image folder not found")
    if index is None:
        report(progress, Progress(0, 0, "reading annotations"))
        index = CocoIndex.load(annotations, cancel=cancel)
    mapping = ClassMapping.from_categories(index.categories, options.classes)
    groups = priority_groups(options, mapping)
    digest = options_hash(options, mapping, groups, annotations)

    images = index.images()[: options.max_images]
    check_unique_file_names(annotations, images)
    refused = [(img, why) for img in images if (why := image_entry_problem(img, options.max_image_pixels))]
    if refused:
        bad = {img.id for img, _ in refused}
        images = [img for img in images if img.id not in bad]
    names = mask_names([img.file_name for img in images])
    current = manifest_json(annotations, images_dir, out, options, digest, len(images), False)
    resume = prepare_out(out, images_dir, digest, overwrite, names, current, annotations)
    masks_dir = out / MASKS_DIR
    masks_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(masks_dir)
    existing = {p.name for p in masks_dir.iterdir()} if resume else set()
    mapping.write(out / MAPPING_FILE)
    atomic_write_json(out / MANIFEST_FILE, current)

    tasks = [
        ImageTask(
            img.id,
            img.file_name,
            name,
            img.height,
            img.width,
            index.annotation_count(img.id),
            name in existing,
        )
        for img, name in zip(images, names)
    ]
    cfg = _Config(
        annotations,
        images_dir,
        SafeRoot(images_dir, options.follow_symlinks, "image file name"),
        masks_dir,
        mapping,
        options,
        frozenset(c.id for c in index.categories),
        groups,
    )
    numbered = list(enumerate(tasks))
    workers = min(options.workers, max(1, len(tasks) // CHUNK_IMAGES))
    use_pool = workers > 1 and len(tasks) >= MIN_IMAGES_FOR_POOL
    batches = (
        _run_in_pool(numbered, cfg, index.path, workers, cancel)
        if use_pool
        else _run_in_process(numbered, cfg, index, cancel)
    )
    agg = ReportBuilder(tasks, mapping)
    for img, why in refused:
        agg.refuse(img.id, img.file_name, *why, index.annotation_count(img.id))
    meter = RateMeter(len(tasks))
    report(progress, meter.progress(0, "masks"))
    try:
        for batch in batches:
            for outcome in batch:
                agg.add(outcome)
            done = agg.done
            if meter.due(done):
                report(progress, meter.progress(done, "masks"))
        if cancel is not None:
            cancel.raise_if_cancelled()
    except Cancelled:
        # The map lists the masks complete on disk, so the browser shows them and a rerun resumes.
        finished = {
            t.file_name: t.mask_name
            for i, t in enumerate(tasks)
            if i in agg.per_image
            or (t.reuse and i not in agg.refused_tasks and cfg.images.refusal(t.file_name) is None)
        }
        atomic_write_json(out / IMAGE_MAP_FILE, finished)
        raise

    report_json = agg.report(index.orphan_annotations())
    atomic_write_json(out / REPORT_FILE, report_json, indent=1)
    atomic_write_json(
        out / IMAGE_MAP_FILE,
        {t.file_name: t.mask_name for i, t in enumerate(tasks) if i not in agg.refused_tasks},
    )
    atomic_write_json(
        out / MANIFEST_FILE, manifest_json(annotations, images_dir, out, options, digest, len(images), True)
    )
    return MaskReport(
        out=out,
        num_images=len(tasks),
        written=agg.written,
        reused=agg.reused,
        complete=True,
        options_hash=digest,
        elapsed_s=time.perf_counter() - t0,
        report=report_json,
    )
