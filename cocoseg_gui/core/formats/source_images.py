"""The images a label file names: present, inside the images folder, of the size the labels say.

Shared by the CVAT, YOLO and labelme readers; an image that fails is a ``Skipped`` (never an error), and
without an images folder nothing can be checked (the file's own sizes are trusted).
"""

from __future__ import annotations

from pathlib import Path

from cocoseg_gui.core.files.image_header import image_size
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.types import IMAGE_SUFFIXES

MISSING = "missing image"


class ImageChecker:
    """Checks image names against ``images_dir`` (None: no check)."""

    def __init__(self, images_dir: Path | None) -> None:
        self.images_dir = images_dir
        self._root = SafeRoot(images_dir, what="image name") if images_dir is not None else None

    def path(self, name: str) -> Path | None:
        """The image's path, or None when it is not there (or its name leaves the folder)."""
        if self._root is None or self._root.refusal(name) is not None:
            return None
        path = self._root.resolve(name)
        return path if path.is_file() else None

    def size(self, name: str) -> tuple[int, int] | str:
        """(height, width) from the image header, or why it cannot be had."""
        path = self.path(name)
        if path is None:
            return MISSING
        try:
            return image_size(path)
        except Exception as exc:  # PIL raises several types for a file that is not an image
            return f"unreadable image ({exc})"

    def problem(self, name: str, height: int, width: int) -> str | None:
        """Why the image ``name`` cannot carry a ``height`` x ``width`` class map; None when it can (or
        when there is no images folder to look in)."""
        if self._root is None:
            return None
        size = self.size(name)
        if isinstance(size, str):
            return size
        if size != (height, width):
            return f"the image is {size[1]}x{size[0]}, the labels say {width}x{height}"
        return None

    def find_stem(self, stem: str) -> list[str]:
        """Names ``stem + suffix`` (any image suffix, any case) that exist under the images folder."""
        if self.images_dir is None:
            return []
        folder = self.images_dir / stem
        parent, base = folder.parent, folder.name
        if not parent.is_dir():
            return []
        prefix = stem.rsplit("/", 1)[0] + "/" if "/" in stem else ""
        return sorted(
            prefix + p.name
            for p in parent.iterdir()
            if p.stem == base and p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
