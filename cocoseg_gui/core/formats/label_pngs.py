"""What the PNG-based formats (Pascal VOC, class PNGs) share: label PNGs named after their image, read back
as class maps, and the image file an image id (a name without its suffix) stands for."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from cocoseg_gui.core.formats.interchange import LabelledImage, Skipped
from cocoseg_gui.core.types import IMAGE_SUFFIXES

_PREFERRED = (".jpg", ".jpeg", ".png")  # which image an id means when several files share its stem


def image_id(file_name: str) -> str:
    """``"sub/x.jpg"`` -> ``"sub/x"``: the name a label PNG and a list entry take from their image."""
    return PurePosixPath(file_name.replace("\\", "/")).with_suffix("").as_posix()


class ImageNames:
    """The image files of a folder by id (relative path without suffix), listed once.

    Two images with one id (``x.jpg`` and ``x.png``) make the id ambiguous: ``name`` takes the preferred
    suffix and ``shared`` names the others, for the report.
    """

    def __init__(self, images_dir: Path | None) -> None:
        self.images_dir = images_dir
        self._by_id: dict[str, list[str]] = {}
        if images_dir is None or not images_dir.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(images_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            base = Path(dirpath).relative_to(images_dir)
            for f in sorted(filenames):
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES:
                    name = (base / f).as_posix()
                    self._by_id.setdefault(image_id(name), []).append(name)

    def name(self, ident: str, default_suffix: str) -> str:
        """The image file name of ``ident``; ``ident + default_suffix`` when the folder has none."""
        found = self._by_id.get(ident)
        if not found:
            return ident + default_suffix
        return min(found, key=lambda n: _rank(n))

    def shared(self, ident: str) -> list[str]:
        """Other images of the same id, which no label file can tell apart."""
        found = self._by_id.get(ident, [])
        chosen = self.name(ident, "")
        return [n for n in found if n != chosen]


def _rank(name: str) -> tuple[int, str]:
    suffix = PurePosixPath(name).suffix.lower()
    return (_PREFERRED.index(suffix) if suffix in _PREFERRED else len(_PREFERRED), name)


def labelled_images(
    pngs: Iterable[tuple[str, Path]],
    colours: dict[tuple[int, int, int], int] | None,
    images_dir: Path | None,
    default_suffix: str,
    skipped: list[Skipped],
) -> Iterator[LabelledImage]:
    """Each (image id, label PNG) -> its image's class map, lazily (the images folder is listed at the first
    one); a file name two ids share, or a PNG that cannot be read, is appended to ``skipped``."""
    names = ImageNames(images_dir)
    for ident, png in pngs:
        file_name = names.name(ident, default_suffix)
        for other in names.shared(ident):
            skipped.append(Skipped(other, f"duplicate file name: {file_name} has the same id {ident!r}"))
        label, problem = read_label_png(png, colours, file_name)
        if problem is not None:
            skipped.append(problem)
        if label is not None:
            yield LabelledImage(file_name, label)


def read_label_png(
    path: Path, colours: dict[tuple[int, int, int], int] | None, subject: str
) -> tuple[np.ndarray | None, Skipped | None]:
    """A label PNG as an (H, W) uint8 class map: palette or grey PNGs by index; RGB ones through
    ``colours`` (colour -> class index; unknown colours become 255 and are counted). Never raises for
    one bad file: (None, why) instead."""
    try:
        with Image.open(path) as img:
            mode = img.mode
            if mode in ("P", "L"):
                return np.asarray(img, dtype=np.uint8), None
            if mode in ("RGB", "RGBA") and colours is not None:
                rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
            else:
                why = f"a {mode} PNG: class masks are palette or grey PNGs of indices"
                return None, Skipped(subject, why)
    except FileNotFoundError:
        return None, Skipped(subject, f"label file {path.name} is missing")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return None, Skipped(subject, f"unreadable label file ({exc})")
    return _from_colours(rgb, colours, subject)


def _from_colours(
    rgb: np.ndarray, colours: dict[tuple[int, int, int], int], subject: str
) -> tuple[np.ndarray, Skipped | None]:
    key = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    values, inverse = np.unique(key, return_inverse=True)
    lut = np.full(len(values), 255, dtype=np.uint8)
    unknown = 0
    for i, v in enumerate(values.tolist()):
        colour = (v >> 16, (v >> 8) & 255, v & 255)
        if colour in colours:
            lut[i] = colours[colour]
        else:
            unknown += 1
    label = lut[inverse.reshape(key.shape)]
    if unknown:
        return label, Skipped(subject, f"{unknown} colours of no class in the labels became ignore (255)")
    return label, None
