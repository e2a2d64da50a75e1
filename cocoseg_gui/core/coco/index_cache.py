"""The on-disk cache of a CocoIndex: one file of raw arrays, memory-mapped on load.

Layout: ``MAGIC`` (8 bytes), header length (8 bytes, little endian), the CRC-32 of everything after
these 24 bytes (8 bytes, little endian), a JSON header (the key of the source file, metadata and where
each array lies), then the arrays, each 64-byte aligned. The cache is keyed by (absolute path, size,
mtime_ns) of the JSON file; a stale, corrupt or foreign cache is ignored (``read_cache`` returns None)
and rebuilt by the caller, never an error. The checksum is what makes "corrupt" detectable: without it
a few changed bytes inside the arrays give wrong annotations or out-of-range offsets (a crash in
pycocotools). CRC-32 is ISA-L's (``isal``, several GB/s), so verifying a train2017-sized cache costs
a fraction of a second against pycocotools' ~20 s parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

try:
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - isal is a dependency; zlib's CRC-32 is the same, slower
    from zlib import crc32

from cocoseg_gui.core.coco.index_build import IndexData
from cocoseg_gui.core.files.atomic import atomic_open

MAGIC = b"COCOIDX\x02"
FORMAT_VERSION = 2
_PREFIX = 24  # MAGIC, header length, checksum
_ALIGN = 64


def default_cache_dir() -> Path:
    """$COCOSEG_CACHE_DIR, else $XDG_CACHE_HOME/cocoseg/index, else ~/.cache/cocoseg/index."""
    env = os.environ.get("COCOSEG_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cocoseg" / "index"


def source_key(path: Path, st: os.stat_result) -> dict[str, Any]:
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_file(cache_dir: Path, path: Path) -> Path:
    """Where the cache of the JSON file ``path`` (absolute) lives."""
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return cache_dir / f"{path.stem[:40]}-{digest}.cocoidx"


def write_cache(target: Path, key: dict[str, Any], data: IndexData) -> None:
    """Write ``data`` atomically to ``target``; failures (read-only folder, full disk) are ignored."""
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, arr in data.arrays.items():
        arr = np.ascontiguousarray(arr)
        layout[name] = [arr.dtype.str, list(arr.shape), offset]
        offset += -(-arr.nbytes // _ALIGN) * _ALIGN
    try:
        header = orjson.dumps(
            {
                "version": FORMAT_VERSION,
                "key": key,
                "categories": data.categories,
                "problems": data.problems,
                "extras": [[k, v] for k, v in data.extras.items()],
                "arrays": layout,
                "data_bytes": offset,
            }
        )
    except TypeError:  # a segmentation orjson cannot write back (e.g. a huge integer): no cache
        return
    start = -(-(_PREFIX + len(header)) // _ALIGN) * _ALIGN
    body: list[Any] = [header, b"\0" * (start - _PREFIX - len(header))]
    for arr in data.arrays.values():
        arr = np.ascontiguousarray(arr)
        body += [arr.reshape(-1).data.cast("B") if arr.size else b"", b"\0" * (-arr.nbytes % _ALIGN)]
    checksum = 0
    for piece in body:
        checksum = crc32(piece, checksum)
    prefix = MAGIC + len(header).to_bytes(8, "little") + checksum.to_bytes(8, "little")
    with contextlib.suppress(OSError), atomic_open(target, "wb", fsync=False) as fh:
        for piece in (prefix, *body):
            fh.write(piece)


def read_cache(target: Path, key: dict[str, Any]) -> IndexData | None:
    """The cached index if ``target`` is a complete, intact cache of exactly ``key``, else None."""
    try:
        with open(target, "rb") as fh:
            head = fh.read(_PREFIX)
            if len(head) != _PREFIX or head[:8] != MAGIC:
                return None
            n = int.from_bytes(head[8:16], "little")
            size = os.fstat(fh.fileno()).st_size
            if n > size:
                return None
            header = orjson.loads(fh.read(n))
            if header.get("version") != FORMAT_VERSION or header.get("key") != key:
                return None
            start = -(-(_PREFIX + n) // _ALIGN) * _ALIGN
            if size != start + header["data_bytes"]:
                return None
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        with memoryview(mm) as view:
            if crc32(view[_PREFIX:]) != int.from_bytes(head[16:], "little"):
                return None  # changed bytes: rebuilt by the caller
        arrays = {}
        for name, (dtype, shape, off) in header["arrays"].items():
            count = int(np.prod(shape)) if shape else 1
            if count == 0:
                arrays[name] = np.zeros(shape, dtype)
            else:
                arrays[name] = np.frombuffer(mm, dtype, count, start + off).reshape(shape)
        return IndexData(
            arrays=arrays,
            categories=header["categories"],
            problems=header["problems"],
            extras={int(k): v for k, v in header["extras"]},
        )
    except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None
