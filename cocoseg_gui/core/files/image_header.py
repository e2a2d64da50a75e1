"""An image's size from its header, without decoding: PNG and JPEG parsed directly, PIL for the rest."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from PIL import Image

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}


def _jpeg_size(fh: BinaryIO) -> tuple[int, int] | None:
    """(h, w) from the first SOF marker; None if the markers do not lead to one."""
    while True:
        byte = fh.read(1)
        if byte != b"\xff":
            return None
        marker = 0xFF
        while marker == 0xFF:  # fill bytes
            b = fh.read(1)
            if not b:
                return None
            marker = b[0]
        if marker in _NO_LENGTH:
            continue
        head = fh.read(2)
        if len(head) < 2 or marker in (0xD9, 0xDA):
            return None
        (length,) = struct.unpack(">H", head)
        if marker in _SOF:
            data = fh.read(5)
            if len(data) < 5:
                return None
            _, h, w = struct.unpack(">BHH", data)
            return (h, w) if h and w else None
        fh.seek(length - 2, 1)


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file; raises OSError (or PIL's errors) when it cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return h, w
        if head[:2] == b"\xff\xd8":
            fh.seek(2)
            size = _jpeg_size(fh)
            if size is not None:
                return size
    with Image.open(path) as img:
        w, h = img.size
    return h, w
