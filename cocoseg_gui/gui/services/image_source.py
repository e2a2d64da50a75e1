"""What the viewer shows for one image: pixels, class mask (mask file or on-the-fly), outlines, class names.

``ImageSource.load(image_id)`` is plain Python (no Qt) so it runs in a job (gui/services/workers.py);
``ImageLoader`` runs one request at a time and drops results the user has already moved past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal

from cocoseg_gui.core.coco.image_entry import image_entry_problem
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.masks.class_map import ClassMapping, fitting_categories
from cocoseg_gui.core.masks.dataset import MaskDatasetFolder
from cocoseg_gui.core.masks.inventory import MaskInventory
from cocoseg_gui.core.masks.palette import display_palette
from cocoseg_gui.core.masks.png import read_mask_png
from cocoseg_gui.gui.services.error_hints import gui_wording
from cocoseg_gui.gui.services.workers import JobWorker

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.masks.options import MaskOptions


@dataclass
class LoadedImage:
    image_id: int
    file_name: str
    rgb: np.ndarray  # HxWx3 uint8
    mask: np.ndarray | None  # HxW uint8 class map
    mask_source: str  # "mask file", "annotations" or "" (no mask)
    outlines: list[tuple[int, np.ndarray]] = field(default_factory=list)
    error: str = ""  # why no mask / a problem worth a status message


class ImageSource:
    """Reads images and their masks for one open dataset (and optionally a mask folder).

    Names leading outside the image folder or the mask folder's ``masks/`` (symbolic links too) are
    refused, as everywhere (core.safe_paths, docs/adr/0003-paths-outside-the-dataset.md).
    """

    def __init__(
        self,
        index: CocoIndex,
        images_dir: Path,
        masks_dir: Path | None = None,
        follow_symlinks: bool = False,
        inventory: MaskInventory | None = None,
    ) -> None:
        self.index = index
        self.images_dir = Path(images_dir)
        self.masks_dir = Path(masks_dir) if masks_dir is not None else None
        self._images = SafeRoot(self.images_dir, follow_symlinks, "image file name")
        # the mask folder as the viewer tolerates it: no manifest needed (core.mask_dataset, browse)
        self.masks = (
            MaskDatasetFolder(self.masks_dir, follow_symlinks, browse=True)
            if self.masks_dir is not None
            else None
        )
        # which images have a mask: asked of the folder's one inventory at every load, never copied
        # (a save in the editor updates it; issue 18)
        if inventory is None:
            inventory = MaskInventory(self.masks_dir, follow_symlinks)
        self.inventory = inventory
        categories, self.note = fitting_categories(index.categories)  # note: why some are not drawn
        self.mapping = ClassMapping(categories)
        if self.masks is not None and self.masks.mapping is not None:
            self.mapping, self.note = self.masks.mapping, ""
        self._options: MaskOptions | None = None  # made at the first rasterize (a lazy import)

    @property
    def colors(self) -> np.ndarray:
        return display_palette()

    def class_names(self) -> dict[int, str]:
        names = {i: n for i, n in enumerate(self.mapping.class_names())}
        names[255] = "ignore (crowd)"
        return names

    @property
    def mask_map(self) -> dict[str, str]:
        """A copy of the open mask folder's image -> mask entries (the inventory's)."""
        return self.inventory.image_mask_map

    def masked_file_names(self) -> frozenset[str]:
        return self.inventory.masked_names()

    def image_path(self, file_name: str) -> Path:
        """The image's path; UnsafePathError (a DatasetError) if the name leaves the image folder."""
        return self._images.resolve(file_name)

    def load(self, image_id: int) -> LoadedImage:
        info = self.index.image(image_id)
        path = self.image_path(info.file_name)
        try:
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DatasetError(path, f"cannot read the image ({exc})") from exc
        mask, source, error = None, "", ""
        if self.masks is not None:
            try:
                mask_path = self.inventory.mask_path(info.file_name)
                if mask_path is not None:
                    mask, source = read_mask_png(mask_path), "mask file"
            except DatasetError as exc:  # a refused entry, a missing or unreadable mask: said, not fatal
                error = f"{exc}; drawn from the annotations"
        if mask is None:
            problem = image_entry_problem(info)  # the entries `cocoseg masks` refuses: 0x0, a pixel bomb
            if problem is None:
                mask, source = self.rasterize(image_id), "annotations"
            else:
                error = "; ".join(filter(None, [error, f"{problem[1]}: no mask drawn"]))
        error = gui_wording(error)  # shown in the status bar: no CLI flags
        return LoadedImage(image_id, info.file_name, rgb, mask, source, self.outlines(image_id), error)

    def rasterize(self, image_id: int) -> np.ndarray:
        from cocoseg_gui.core.masks.options import MaskOptions
        from cocoseg_gui.core.masks.rasterize import rasterize_image

        if self._options is None:
            self._options = MaskOptions(workers=1)
        return np.asarray(rasterize_image(self.index, image_id, self.mapping, self._options), dtype=np.uint8)

    def outlines(self, image_id: int) -> list[tuple[int, np.ndarray]]:
        """(class index, Nx2 polygon) for every polygon of the image's annotations of a mapped class."""
        out: list[tuple[int, np.ndarray]] = []
        for ann in self.index.annotations_for(image_id):
            cls = self.mapping.index_of(ann.category_id)
            seg = ann.segmentation
            if cls is None or not isinstance(seg, list | tuple):
                continue
            for poly in seg:
                try:
                    arr = np.asarray(poly, dtype=np.float64)
                except (TypeError, ValueError):
                    continue
                if arr.ndim == 1 and arr.size >= 6 and arr.size % 2 == 0:
                    out.append((cls, arr.reshape(-1, 2)))
        return out


class ImageLoader(QObject):
    """Loads one image at a time in a job; only the latest request is delivered."""

    loaded = Signal(object)  # LoadedImage
    failed = Signal(int, object)  # image id, exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: JobWorker | None = None
        self._queued: tuple[ImageSource, int] | None = None

    def request(self, source: ImageSource, image_id: int) -> None:
        """Load ``image_id``; a request still waiting is replaced (rapid PgDown skips images)."""
        self._queued = (source, image_id)
        if self._job is None:
            self._start_next()

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        return self._job is None or self._job.wait(timeout_ms)

    def _start_next(self) -> None:
        if self._queued is None:
            self._job = None
            return
        source, image_id = self._queued
        self._queued = None
        job = JobWorker(_load, source, image_id)
        job.succeeded.connect(self._on_loaded)
        job.failed.connect(lambda exc: self._on_failed(image_id, exc))
        self._job = job
        job.start()

    def _on_loaded(self, result: LoadedImage) -> None:
        stale = self._queued is not None
        self._start_next()
        if not stale:
            self.loaded.emit(result)

    def _on_failed(self, image_id: int, exc: Exception) -> None:
        stale = self._queued is not None
        self._start_next()
        if not stale:
            self.failed.emit(image_id, exc)


def _load(source: ImageSource, image_id: int, *, progress: object, cancel: object) -> LoadedImage:
    return source.load(image_id)
