"""The on-disk cache of a CocoIndex: one file of raw arrays, memory-mapped on load.

Layout: ``MAGIC`` (8 bytes), header length (8 bytes, little endian), a JSON header (the key of the
source file, metadata and where each array lies), then the arrays, each 64-byte aligned. The cache is
keyed by (absolute path, size, mtime_ns) of the JSON file; a stale, corrupt or foreign cache is
ignored (``read_cache`` returns None) and rebuilt by the caller, never an error.
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

from .atomic import atomic_open
from .coco_index_build import IndexData

MAGIC = b"COCOIDX\x00"
FORMAT_VERSION = 1
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
    start = -(-(16 + len(header)) // _ALIGN) * _ALIGN
    with contextlib.suppress(OSError), atomic_open(target, "wb", fsync=False) as fh:
        fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
        fh.write(b"\0" * (start - 16 - len(header)))
        for arr in data.arrays.values():
            arr = np.ascontiguousarray(arr)
            fh.write(memoryview(arr.reshape(-1)).cast("B") if arr.size else b"")
            fh.write(b"\0" * (-arr.nbytes % _ALIGN))


def read_cache(target: Path, key: dict[str, Any]) -> IndexData | None:
    """The cached index if ``target`` is a complete cache of exactly ``key``, else None."""
    try:
        with open(target, "rb") as fh:
            head = fh.read(16)
            if len(head) != 16 or head[:8] != MAGIC:
                return None
            n = int.from_bytes(head[8:], "little")
            header = orjson.loads(fh.read(n))
            if header.get("version") != FORMAT_VERSION or header.get("key") != key:
                return None
            start = -(-(16 + n) // _ALIGN) * _ALIGN
            size = os.fstat(fh.fileno()).st_size
            if size != start + header["data_bytes"]:
                return None
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
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
