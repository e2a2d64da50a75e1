"""Parse a COCO instances JSON into ``IndexData``: read, parse (orjson), index (columnar arrays).

The JSON is turned into a stream of sections (key, chunk of records); each chunk is made columnar
and dropped before the next one is built, so no per-annotation dict outlives its chunk.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from cocoseg_gui.core.coco.index_build import AnnotationBuilder, ImageBuilder, IndexData, build_categories
from cocoseg_gui.core.coco.index_stream import NotAnObject, StreamFallback, iter_sections
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.jobs import CancelToken, Progress, ProgressCallback, report

REQUIRED = ("images", "annotations", "categories")
CHUNK = 20_000  # records made columnar at a time

Event = tuple[str, Any, int]  # (top-level key, chunk of records or a whole value, bytes parsed so far)


def json_error(
    path: Path, exc: orjson.JSONDecodeError, offset: int = 0, raw: bytes | None = None
) -> DatasetError:
    """A DatasetError giving the line and column of a JSON syntax error."""
    if raw is not None and offset:
        pos = offset + exc.pos
        line = raw.count(b"\n", 0, pos) + 1
        col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    else:
        line, col = exc.lineno, exc.colno
    return DatasetError(path, f"not valid JSON: {exc.msg} (line {line}, column {col})")


def utf8_error(path: Path, raw: bytes) -> DatasetError | None:
    """A DatasetError saying where ``raw`` stops being UTF-8, or None if it is UTF-8.

    orjson reports invalid UTF-8 as "surrogates not allowed" at line 1, column 1 whatever the place.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = exc.start
        line = raw.count(b"\n", 0, pos) + 1
        col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
        return DatasetError(
            path,
            f"not UTF-8 text at byte {pos} (line {line}, column {col}: {raw[pos : pos + 4]!r}); a JSON "
            "file must be UTF-8: re-save it as UTF-8",
        )
    return None


def _events_whole(path: Path, raw: bytes) -> Iterator[Event]:
    """Parse the whole file at once and hand out its sections in chunks, freeing each as it goes."""
    try:
        root = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise (utf8_error(path, raw) or json_error(path, exc)) from None
    size = len(raw)
    del raw
    if not isinstance(root, dict):
        raise _not_an_object(path, type(root).__name__)
    for key in list(root):
        value = root.pop(key)
        if key in ("images", "annotations") and isinstance(value, list):
            if not value:
                yield key, value, size
            while value:
                chunk = value[:CHUNK]
                del value[:CHUNK]
                yield key, chunk, size
                del chunk
        else:
            yield key, value, size
        del value


def _not_an_object(path: Path, kind: str) -> DatasetError:
    return DatasetError(path, f"not a COCO instances file: the top level is a JSON {kind}, not an object")


def _events_stream(path: Path, size: int) -> Iterator[Event]:
    """Sections read block by block (see coco_index_stream); StreamFallback if that is not possible."""
    try:
        with open(path, "rb") as fh:
            try:
                yield from iter_sections(fh)
            except NotAnObject as exc:
                raise _not_an_object(path, exc.kind) from None
    except OSError as exc:
        raise DatasetError(path, f"cannot read the file: {exc.strerror or exc}") from None


def parse_coco(
    path: Path,
    size: int,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    stream: bool = True,
) -> IndexData:
    """Read and index ``path`` (``size`` bytes); DatasetError if it is not a usable COCO instances file."""
    report(progress, Progress(0, max(size, 1), "reading"))
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of fresh containers: the cyclic GC would rescan them all for nothing
    try:
        if stream:
            try:
                return _index(path, _events_stream(path, size), size, progress, cancel)
            except StreamFallback:
                pass  # odd layout or a syntax error: the whole-file parser handles it and says where
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DatasetError(path, f"cannot read the file: {exc.strerror or exc}") from None
        if cancel:
            cancel.raise_if_cancelled()
        report(progress, Progress(0, max(size, 1), "parsing"))
        return _index(path, _events_whole(path, raw), size, progress, cancel)
    finally:
        if gc_was_enabled:
            gc.enable()


def _index(
    path: Path,
    events: Iterator[Event],
    size: int,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> IndexData:
    images, anns = ImageBuilder(path), AnnotationBuilder(path, size)
    categories: list[dict[str, Any]] | None = None
    seen: set[str] = set()
    for key, value, done in events:
        if key in REQUIRED:
            if key not in seen and key != "categories" and not isinstance(value, list):
                raise DatasetError(path, f"{key!r} must be a list, got a JSON {type(value).__name__}")
            seen.add(key)
        if key == "images":
            images.add(value)
        elif key == "annotations":
            anns.add(value)
        elif key == "categories":
            if not isinstance(value, list):
                raise DatasetError(path, f"'categories' must be a list, got a JSON {type(value).__name__}")
            categories = build_categories(path, value)
        if cancel:
            cancel.raise_if_cancelled()
        report(progress, Progress(done, max(size, 1), f"parsing {key}"))
    missing = [k for k in REQUIRED if k not in seen]
    if missing:
        raise DatasetError(
            path,
            f"not a COCO instances file: missing key(s) {', '.join(map(repr, missing))} at the top level",
        )
    assert categories is not None
    report(progress, Progress(size, max(size, 1), "indexing"))
    img_arrays = images.finish()
    ann_arrays, problems, extras = anns.finish(img_arrays["img_ids"], categories)
    if cancel:
        cancel.raise_if_cancelled()
    return IndexData(
        arrays={**img_arrays, **ann_arrays}, categories=categories, problems=problems, extras=extras
    )
