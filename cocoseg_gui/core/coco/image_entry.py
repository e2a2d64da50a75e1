"""Checks of the "images" entries of a COCO file before masks are made for them.

One bad entry (a size of 0 or below, a NUL byte in its file name, a size above the pixel limit) is
refused with a reason that report.json lists: it must not stop a 118k-image job, nor give an invalid
0x0 PNG or a 23 GB allocation. Two entries naming the same file are an error: they would give two masks
for one image and a map that keeps only one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.safe_paths import EMPTY, NUL
from cocoseg_gui.core.types import ImageInfo

# Pillow's own decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS: above it Image.open raises), so
# every mask written can be read back by Pillow; about 13400 x 13400, far above any COCO image.
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
MAX_LISTED = 5  # duplicate file names named in the error


# reasons (report.json refused_images[*].reason) besides safe_paths.REFUSAL_REASONS
BAD_SIZE, TOO_LARGE = "bad_size", "too_many_pixels"


def image_entry_problem(
    info: ImageInfo, max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS
) -> tuple[str, str] | None:
    """Why no mask can be made for this entry: (reason, sentence), or None when it is fine."""
    if info.width <= 0 or info.height <= 0:
        return BAD_SIZE, f"size {info.width}x{info.height} (width x height) is not a valid image size"
    if max_pixels is not None and info.width * info.height > max_pixels:
        return TOO_LARGE, (
            f"size {info.width}x{info.height} = {info.width * info.height:,} pixels is above the limit of "
            f"{max_pixels:,} (raise it with --max-image-pixels if the image really is that large)"
        )
    if not info.file_name:
        return EMPTY, "file_name is empty"
    if "\0" in info.file_name:
        return NUL, "file_name contains a NUL byte"
    return None


def check_unique_file_names(path: Path, images: Sequence[ImageInfo]) -> None:
    """DatasetError naming the first few file names that several entries share (``a.jpg``, ``./a.jpg``
    and ``sub//a.jpg`` are one file)."""
    ids: dict[str, list[int]] = {}
    for info in images:
        key = str(PurePosixPath(info.file_name.replace("\\", "/")))
        ids.setdefault(key, []).append(info.id)
    shared = {name: got for name, got in ids.items() if len(got) > 1}
    if not shared:
        return
    listed = "; ".join(
        f"{name!r} (image ids {', '.join(map(str, got[:3]))}{', ...' if len(got) > 3 else ''}; "
        f"{len(got)} entries)"
        for name, got in list(shared.items())[:MAX_LISTED]
    )
    more = f" and {len(shared) - MAX_LISTED} more" if len(shared) > MAX_LISTED else ""
    raise DatasetError(
        path,
        f"{len(shared)} file name{'s are' if len(shared) > 1 else ' is'} used by more than one image "
        f"entry: {listed}{more}. "
        "Each image needs its own file_name: one file cannot have two sets of annotations",
    )
