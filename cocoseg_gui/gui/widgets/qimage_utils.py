"""numpy <-> QImage conversions and the class-mask overlay (a 256-entry colour lookup, no per-pixel loop)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtGui import QImage

from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.core.types import BACKGROUND

_ARGB_SHIFT = np.array([16, 8, 0], dtype=np.uint32)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage copy of an HxWx3 uint8 RGB array (HxW grey and HxWx4 RGBA are accepted too)."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif arr.ndim == 3 and arr.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    elif arr.ndim == 3 and arr.shape[2] == 4:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    else:
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, w * channels, fmt).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """An HxWx3 uint8 RGB copy of any QImage (alpha is dropped)."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """An HxWx4 uint8 RGBA (straight alpha) copy of any QImage."""
    img = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 4].reshape(h, w, 4).copy()


def overlay_lut(
    colors: np.ndarray | None = None,
    alpha: float = 1.0,
    hidden: Iterable[int] = (),
    show_background: bool = False,
) -> np.ndarray:
    """256 ARGB32 values (uint32 0xAARRGGBB): class colour at ``alpha``; hidden classes (and background
    unless ``show_background``) fully transparent. The ignore index 255 keeps its palette colour."""
    pal = np.asarray(display_palette() if colors is None else colors, dtype=np.uint8)
    if pal.shape != (256, 3):
        raise ValueError(f"colors must be a 256x3 uint8 table, got shape {pal.shape}")
    a = np.uint32(round(min(max(float(alpha), 0.0), 1.0) * 255))
    lut = (pal.astype(np.uint32) << _ARGB_SHIFT).sum(axis=1, dtype=np.uint32) | (a << np.uint32(24))
    transparent = [i for i in hidden if 0 <= i < 256]
    if not show_background:
        transparent.append(BACKGROUND)
    lut[transparent] = 0
    return lut


def nearest_sources(source: int, target: int) -> np.ndarray:
    """For each of ``target`` pixels along an axis, the ``source`` pixel sampled (its centre, as PIL's
    NEAREST does); non-decreasing."""
    return np.minimum(((np.arange(target) + 0.5) * (source / target)).astype(np.intp), source - 1)


def resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of an HxW array (pixel centres sampled, as PIL's NEAREST does)."""
    mh, mw = mask.shape[:2]
    if (mh, mw) == (height, width):
        return mask
    return mask[nearest_sources(mh, height)[:, None], nearest_sources(mw, width)[None, :]]


def scaled_span(start: int, stop: int, source: int, target: int) -> tuple[slice, np.ndarray]:
    """The target pixels whose ``resize_nearest`` source lies in ``start:stop``, and those sources: how a
    changed box of a mask maps onto its display copy at another size."""
    sources = nearest_sources(source, target)
    first, last = np.searchsorted(sources, [start, stop], side="left")
    return slice(int(first), int(last)), sources[first:last]


def mask_to_argb(mask: np.ndarray, lut: np.ndarray) -> QImage:
    """An owned ARGB32 QImage of an HxW uint8 class mask through a 256-entry ARGB lookup table."""
    return mask_to_argb_view(mask, lut)[0].copy()


def mask_to_argb_view(mask: np.ndarray, lut: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Like ``mask_to_argb`` without the copy: the QImage borrows the returned array (keep it alive)."""
    m = np.asarray(mask)
    if m.ndim != 2 or m.dtype != np.uint8:
        raise ValueError(f"expected an HxW uint8 class mask, got shape {m.shape} dtype {m.dtype}")
    argb = np.ascontiguousarray(lut[m])  # HxW uint32, native-endian == QImage ARGB32 layout
    h, w = m.shape
    return QImage(argb.data, w, h, w * 4, QImage.Format.Format_ARGB32), argb


def mask_to_indexed8(mask: np.ndarray, lut: np.ndarray) -> QImage:
    """An owned Indexed8 QImage of a class mask whose colour table is ``lut`` (cheap to recolour)."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = m.shape
    img = QImage(m.data, w, h, w, QImage.Format.Format_Indexed8).copy()
    img.setColorTable([int(v) for v in lut])
    return img


def blend(image: np.ndarray, mask: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Reference numpy blend of an RGB image and a class mask through an ARGB lookup (for exports/tests)."""
    argb = lut[mask]
    a = ((argb >> np.uint32(24)) & np.uint32(0xFF)).astype(np.float32)[..., None] / 255.0
    rgb = ((argb[..., None] >> _ARGB_SHIFT) & np.uint32(0xFF)).astype(np.float32)
    out = image.astype(np.float32) * (1.0 - a) + rgb * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
