"""What every label format reads into and writes from: class names and one class map per image.

A format module converts between its files and these records only; the import job turns them into an
ordinary mask folder and the export job makes them from one, so safety rules, progress, cancel and the
report are written once (core.formats.registry), not once per format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

IGNORE = 255  # the mask folder's "not labelled / ignore" value (docs/formats.md)


@dataclass(frozen=True)
class LabelledImage:
    """One image's labels as a class map: 0 background, 1..K the classes of ``FormatRead.classes``."""

    file_name: str  # relative to the images folder, "/"-separated (the mask folder's key)
    label: np.ndarray  # (H, W) uint8
    crowd: np.ndarray | None = None  # (H, W) bool where a region was marked crowd/iscrowd, if the format says

    @property
    def height(self) -> int:
        return int(self.label.shape[0])

    @property
    def width(self) -> int:
        return int(self.label.shape[1])


@dataclass(frozen=True)
class Skipped:
    """Something a reader or writer could not take, said in the report: which file or image, and why."""

    subject: str  # a file name, an image name, "image.jpg: polygon 3"
    reason: str  # "unknown class 'dog'", "polygon outside the image", "missing image", "duplicate file name"


@dataclass
class FormatRead:
    """What a reader found: the class names (index 1..K), the images, and what it skipped."""

    classes: list[str]
    images: Iterator[LabelledImage] | list[LabelledImage]
    skipped: list[Skipped] = field(default_factory=list)
    images_dir: Path | None = None  # where the images are, when the format says (VOC JPEGImages, ...)


@dataclass
class FormatWritten:
    """What a writer wrote: counts and what it had to leave out or approximate, for the report."""

    files: list[Path] = field(default_factory=list)
    images: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # what was approximated, e.g. "YOLO has no holes: 312 hole pixels filled in 4 images"
    notes: list[str] = field(default_factory=list)


class FormatReader(Protocol):
    """``read(src, images_dir)``: a format's file or folder -> classes and class maps.

    Never raises for one bad record (it goes to ``skipped``); raises a ``core.errors`` error naming the file
    when ``src`` itself is unreadable.
    """

    def __call__(self, src: Path, images_dir: Path | None) -> FormatRead: ...


class FormatWriter(Protocol):
    """``write(classes, images, dest, images_dir)``: class maps -> the format's files under ``dest`` only.

    ``images`` is consumed once, lazily (the export job counts progress and cancels through it);
    ``classes[i]`` names class index i + 1; ``images_dir`` is where the images are, for formats that
    reference them.
    """

    def __call__(
        self, classes: Sequence[str], images: Iterable[LabelledImage], dest: Path, images_dir: Path | None
    ) -> FormatWritten: ...
