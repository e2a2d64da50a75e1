"""Palette PNG masks: a fast writer (zlib level 1, run-length strategy) and a reader.

The writer emits a plain 8-bit palette PNG (colour type 3, filter 0 on every row, the VOC palette), which
any PNG reader opens as PIL mode ``P``. Deflate is ISA-L's (``isal``, about 7x zlib's level 1 here, files
~3.7 KiB for a COCO-sized mask); without it, zlib level 1 with the run-length strategy.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.atomic import name_the_file
from cocoseg_gui.core.masks.palette import palette_bytes

_isal: ModuleType | None
try:  # ISA-L deflate: same zlib stream format, several times faster
    from isal import isal_zlib as _isal
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _isal = None

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=1)
def _palette_chunk() -> bytes:
    return _chunk(b"PLTE", palette_bytes())


_ROW_BLOCK = 64


def _deflate(data: memoryview) -> bytes:
    if _isal is not None:
        return _isal.compress(data, 1)
    packer = zlib.compressobj(1, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    return packer.compress(data) + packer.flush()


def encode_mask_png(label: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) uint8 class map (any strides), mode P with the VOC palette."""
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f"a mask is an (H, W) uint8 array, got {label.dtype} {label.shape}")
    h, w = label.shape
    rows = np.empty((h, w + 1), dtype=np.uint8)  # filter byte 0 ("None") then the row
    rows[:, 0] = 0
    for y in range(0, h, _ROW_BLOCK):  # blocks of rows: a transposed view copies ~2x faster so
        rows[y : y + _ROW_BLOCK, 1:] = label[y : y + _ROW_BLOCK]
    idat = _deflate(rows.data)
    header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _palette_chunk(), _chunk(b"IDAT", idat), _chunk(b"IEND", b""))
    )


def write_mask_png(path: str | Path, label: np.ndarray) -> None:
    """Encode and write a mask atomically (see ``write_file_atomic``)."""
    write_file_atomic(path, encode_mask_png(label))


def write_file_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes through a temporary ``.<name>.<pid>.tmp`` beside ``path``, renamed into place.

    Lighter than ``atomic_write_bytes`` (no random name, no fsync): the rename still never exposes
    a partial file, and ``remove_stale_temporaries`` clears what a killed writer leaves. Only
    system calls, so a writer thread running it barely holds the GIL.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        name_the_file(exc, path)
        raise


def class_histogram(label: np.ndarray) -> np.ndarray:
    """Pixels per value 0..255 of a uint8 class map, counted over its runs of equal values.

    A class map has few value changes, so finding them (one vectorised comparison) and counting run
    lengths is faster than a per-pixel histogram. Memory order does not matter for counting.
    """
    flat = label.T.reshape(-1) if label.T.flags.c_contiguous else label.reshape(-1)
    if flat.size == 0:
        return np.zeros(256, dtype=np.int64)
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], starts))
    lengths = np.diff(np.append(starts, flat.size))
    return np.bincount(flat[starts], weights=lengths, minlength=256).astype(np.int64)


def read_mask_png(path: str | Path) -> np.ndarray:
    """The (H, W) uint8 class map of a mask PNG; DatasetError naming the file if it cannot be read."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L"):
                raise DatasetError(
                    path, f"a mask must be a palette (P) or grayscale (L) PNG, not mode {img.mode}"
                )
            return np.asarray(img, dtype=np.uint8)
    except FileNotFoundError as exc:
        raise DatasetError(path, "mask file not found") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(path, f"cannot read the mask ({exc})") from exc
