"""MaskOptions: the options of `cocoseg masks` (and of drawing a class map on the fly in the GUI)."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cocoseg_gui.core.coco.image_entry import DEFAULT_MAX_IMAGE_PIXELS
from cocoseg_gui.core.errors import OptionsError

OVERLAP_POLICIES = ("smaller-on-top", "later", "priority")
CROWD_POLICIES = ("ignore", "class", "skip")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class MaskOptions:
    """How annotations become class maps.

    - ``classes``: names or ids to keep (None: all categories).
    - ``overlap``: ``smaller-on-top`` (draw by decreasing pixel area; ties: later in the file on top),
      ``later`` (file order, the later annotation wins), ``priority`` (``priority`` classes on top,
      first listed topmost; other classes below them, smaller-on-top among themselves and within a class).
    - ``crowd``: ``ignore`` (crowd pixels become 255 where no non-crowd object of a selected class
      covers them), ``class`` (crowd drawn as its class like any object), ``skip`` (crowd dropped).
    - ``min_area``: skip annotations whose rasterised pixel count (not the COCO area field) is below it.
    - ``max_images``: only the first N images of the file; ``workers``: processes (not part of the hash).
    - ``follow_symlinks``: read images through symbolic links that leave the image folder (refused by
      default, docs/adr/0003-paths-outside-the-dataset.md).
    - ``max_image_pixels``: image entries whose width x height is above it are refused (reported, no
      mask), as Pillow refuses decompression bombs (not part of the hash: it never changes a mask).
    """

    classes: tuple[str, ...] | None = None
    overlap: str = "smaller-on-top"
    priority: tuple[str, ...] = ()
    crowd: str = "ignore"
    min_area: float = 0
    max_images: int | None = None
    workers: int = field(default_factory=default_workers)
    follow_symlinks: bool = False
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    def __post_init__(self) -> None:
        if self.overlap not in OVERLAP_POLICIES:
            raise OptionsError(
                f"unknown overlap policy {self.overlap!r}; choose one of {', '.join(OVERLAP_POLICIES)}"
            )
        if self.crowd not in CROWD_POLICIES:
            raise OptionsError(
                f"unknown crowd policy {self.crowd!r}; choose one of {', '.join(CROWD_POLICIES)}"
            )
        if self.overlap == "priority" and not self.priority:
            raise OptionsError("--overlap priority needs --priority with a class order (e.g. person,car)")
        if not math.isfinite(self.min_area) or self.min_area < 0:  # NaN passes `< 0` (issue 18 item 13)
            raise OptionsError(f"--min-area must be a finite number >= 0, got {self.min_area}")
        if self.max_images is not None and self.max_images < 1:
            raise OptionsError(f"--max-images must be >= 1, got {self.max_images}")
        if self.workers < 1:
            raise OptionsError(f"--workers must be >= 1, got {self.workers}")
        if self.max_image_pixels < 1:
            raise OptionsError(f"--max-image-pixels must be >= 1, got {self.max_image_pixels}")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        object.__setattr__(self, "priority", tuple(str(c) for c in self.priority))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MaskOptions:
        """The options ``to_json`` wrote (manifest.json); unknown keys are ignored, missing ones take
        their defaults. OptionsError (or TypeError/ValueError for values of the wrong type) when invalid."""
        known = {f.name for f in fields(cls)} - {"workers"}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("classes") is not None:
            values["classes"] = tuple(values["classes"])
        values["priority"] = tuple(values.get("priority") or ())
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The options as written to manifest.json (workers excluded: they do not change the output)."""
        data = asdict(self)
        data.pop("workers")
        if not self.follow_symlinks:  # the default is left out: manifests of earlier versions stay equal
            data.pop("follow_symlinks")
        data["classes"] = list(self.classes) if self.classes is not None else None
        data["priority"] = list(self.priority)
        return data
