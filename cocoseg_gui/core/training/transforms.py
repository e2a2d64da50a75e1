"""Image loading and the joint image + mask transforms (torchvision.transforms.v2).

Train: random scale (shorter side in [0.5, 2.0] x img_size) -> random crop img_size, padded where the
scaled image is smaller (image 0, mask 255) -> horizontal flip -> brightness/contrast/saturation jitter
(image only) -> ImageNet normalisation.
Val: letterbox (keep aspect, longer side = img_size, pad right/bottom: image 0, mask 255), plain resize
to img_size x img_size, or none. Masks are always resized NEAREST, so no interpolated label appears.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.training.names import IMAGENET_MEAN, IMAGENET_STD
from cocoseg_gui.core.types import IGNORE_INDEX

RESIZE_MODES: tuple[str, ...] = ("letterbox", "resize", "none")
SCALE_RANGE: tuple[float, float] = (0.5, 2.0)


def to_rgb(img: Image.Image, exif_transpose: bool = True) -> Image.Image:
    """An RGB copy of ``img``: EXIF orientation applied, grayscale/RGBA/CMYK/palette/16-bit converted."""
    if exif_transpose:
        # a broken EXIF block: keep the stored orientation
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError, ZeroDivisionError):
            img = ImageOps.exif_transpose(img)
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = float(arr.max()) if arr.size else 0.0
        if top > 255.0:
            arr = arr * (255.0 / (65535.0 if img.mode.startswith("I;16") else top))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    elif img.mode in ("P", "PA") and "transparency" in img.info:
        img = img.convert("RGBA")
    return img.convert("RGB")


def open_image(path: Path | str) -> Image.Image:
    """Open and decode an image file as stored (no conversion); raises DatasetError naming the file."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            return img
    except FileNotFoundError:
        raise DatasetError(path, "image file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(path, f"cannot read image ({exc})") from None


def load_rgb(path: Path | str, exif_transpose: bool = True) -> Image.Image:
    """Open an image file as RGB (see ``to_rgb``); a missing or unreadable file raises DatasetError."""
    return to_rgb(open_image(path), exif_transpose)


def letterbox_size(height: int, width: int, img_size: int) -> tuple[int, int]:
    """(new_h, new_w) of the letterboxed content: longer side = img_size, aspect kept.

    The content sits at the top-left of the img_size x img_size canvas, so a prediction is
    undone by cropping ``[:new_h, :new_w]`` and resizing to (height, width).
    """
    scale = img_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _plain(x: torch.Tensor) -> torch.Tensor:
    return x.as_subclass(torch.Tensor)


class SegTransform:
    """Joint transform of a PIL image and its PIL palette mask -> (float32 [3,H,W], int64 [H,W])."""

    def __init__(
        self,
        img_size: int,
        train: bool,
        resize: str = "letterbox",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        scale_range: tuple[float, float] = SCALE_RANGE,
        hflip: bool = True,
        color_jitter: float = 0.3,
    ) -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {resize!r}; choose from {RESIZE_MODES}")
        self.img_size, self.train, self.resize = int(img_size), bool(train), resize
        self.mean, self.std = list(mean), list(std)
        self.normalize = v2.Normalize(self.mean, self.std)
        self.scale_range, self.hflip, self.color_jitter = scale_range, hflip, float(color_jitter)

    def __repr__(self) -> str:
        return f"SegTransform(img_size={self.img_size}, train={self.train}, resize={self.resize!r})"

    def __call__(
        self, image: Image.Image, mask: Image.Image | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        img = tv_tensors.Image(torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1))
        msk = None
        if mask is not None:
            msk = tv_tensors.Mask(torch.from_numpy(np.array(mask, dtype=np.uint8, copy=True)))
        if self.train:
            img, msk = self._scale_crop_flip(img, msk)
        elif self.resize != "none":
            img, msk = self._resize(img, msk)
        out = F.to_dtype(_plain(img), torch.float32, scale=True)
        if self.train and self.color_jitter > 0:
            out = self._jitter(out)
        out = self.normalize(out)
        return out, (_plain(msk).long() if msk is not None else None)

    def _scale_crop_flip(
        self, img: torch.Tensor, msk: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Random scale (shorter side in scale_range x img_size), random img_size crop, pad, flip.

        Equivalent to resize-then-crop, but only the source window of the crop is resized.
        """
        h, w = img.shape[-2:]
        s = self.img_size
        lo, hi = self.scale_range
        short = int(torch.randint(max(1, int(lo * s)), int(hi * s) + 1, ()))
        f = short / min(h, w)
        sh, sw = max(1, round(h * f)), max(1, round(w * f))
        ch, cw = min(s, sh), min(s, sw)
        top, left = int(torch.randint(0, sh - ch + 1, ())), int(torch.randint(0, sw - cw + 1, ()))
        y0, x0 = min(h - 1, int(top / f)), min(w - 1, int(left / f))
        y1, x1 = min(h, max(y0 + 1, round((top + ch) / f))), min(w, max(x0 + 1, round((left + cw) / f)))
        img = F.resized_crop(img, y0, x0, y1 - y0, x1 - x0, [ch, cw], antialias=True)
        if msk is not None:
            msk = F.resized_crop(
                msk, y0, x0, y1 - y0, x1 - x0, [ch, cw], interpolation=InterpolationMode.NEAREST
            )
        if ch < s or cw < s:
            pt, pl = int(torch.randint(0, s - ch + 1, ())), int(torch.randint(0, s - cw + 1, ()))
            pad = [pl, pt, s - cw - pl, s - ch - pt]
            img = F.pad(img, pad, fill=0)
            if msk is not None:
                msk = F.pad(msk, pad, fill=IGNORE_INDEX)
        if self.hflip and bool(torch.rand(()) < 0.5):
            img = F.horizontal_flip(img)
            msk = F.horizontal_flip(msk) if msk is not None else None
        return img, msk

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, contrast and saturation jitter of a float [0, 1] image (one pass each, in place)."""
        j = self.color_jitter
        b, c, sat = (1.0 + (torch.rand(3) * 2 - 1) * j).clamp_min(0).tolist()
        x.mul_(b).clamp_(0, 1)
        luma = torch.tensor([[0.299, 0.587, 0.114]])
        mean = float((luma @ x.reshape(3, -1)).mean())
        x.sub_(mean).mul_(c).add_(mean).clamp_(0, 1)
        gray = (luma @ x.reshape(3, -1)).view(1, *x.shape[-2:])
        return x.sub_(gray).mul_(sat).add_(gray).clamp_(0, 1)

    def _resize(
        self, img: torch.Tensor, msk: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, w = img.shape[-2:]
        s = self.img_size
        size = [s, s] if self.resize == "resize" else list(letterbox_size(h, w, s))
        if size != [h, w]:
            img = F.resize(img, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
            if msk is not None:
                msk = F.resize(msk, size, interpolation=InterpolationMode.NEAREST)
        pad = [0, 0, s - size[1], s - size[0]]  # left, top, right, bottom
        if pad[2] or pad[3]:
            img = F.pad(img, pad, fill=0)
            if msk is not None:
                msk = F.pad(msk, pad, fill=IGNORE_INDEX)
        return img, msk


def build_transforms(img_size: int, train: bool, resize: str = "letterbox") -> SegTransform:
    """The train (augmenting) or val (letterbox / resize / none) transform of image + mask."""
    return SegTransform(img_size, train, resize)
