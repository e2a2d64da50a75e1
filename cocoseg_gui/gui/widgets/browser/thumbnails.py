"""Thumbnails decoded off the GUI thread by a few jobs (services/workers.py), kept in a bounded LRU cache.

``ThumbnailLoader.get(key)`` returns a cached pixmap or ``None`` (and queues a decode). Pending
requests form a bounded stack served newest first, so while the user scrolls, the rows now on screen
are decoded before the ones that scrolled away (those are dropped when the stack overflows).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from cocoseg_gui.gui.services.workers import JobWorker, Throttle

THUMB_SIZE = 112  # width of the thumbnail box; its height is 3/4 of it


def thumb_box(size: int) -> tuple[int, int]:
    return size, size * 3 // 4


def decode_thumbnail(path: Path, size: int) -> QImage:
    """An RGB QImage fitting ``thumb_box(size)`` of the image at ``path`` (JPEG decoded at reduced scale)."""
    box = thumb_box(size)
    with Image.open(path) as im:
        im.draft("RGB", box)  # JPEG: DCT scaling, 4-8x less work
        rgb = im.convert("RGB")
    rgb.thumbnail(box, Image.Resampling.BILINEAR)
    w, h = rgb.size
    return QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def placeholder_pixmap(size: int, color: str = "#5a5a5a", cross: bool = False) -> QPixmap:
    pix = QPixmap(*thumb_box(size))
    pix.fill(QColor(color))
    if cross:  # unreadable image
        p = QPainter(pix)
        p.setPen(QPen(QColor("#d04040"), 3))
        p.drawLine(8, 8, pix.width() - 8, pix.height() - 8)
        p.drawLine(pix.width() - 8, 8, 8, pix.height() - 8)
        p.end()
    return pix


class ThumbnailLoader(QObject):
    """Decodes thumbnails for integer keys (image positions) given a key -> path function."""

    ready = Signal(int)  # key whose thumbnail is now cached

    def __init__(
        self,
        size: int = THUMB_SIZE,
        max_bytes: int = 96 * 1024 * 1024,
        threads: int = 2,
        max_pending: int = 256,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.max_bytes = max_bytes
        self.max_pending = max_pending
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._bytes = 0
        self._path_of: Callable[[int], Path] | None = None
        self._generation = 0
        self._lock = threading.Lock()  # pending requests are shared with the decoding jobs
        self._pending: OrderedDict[int, None] = OrderedDict()  # newest last
        self._active_jobs = 0
        self._threads = threads
        self._jobs: set[JobWorker] = set()
        self.unreadable = placeholder_pixmap(size, "#3a3a3a", cross=True)

    # -- GUI thread
    def set_source(self, path_of: Callable[[int], Path] | None) -> None:
        """Switch dataset: forget the cache and every pending request."""
        with self._lock:
            self._generation += 1
            self._pending.clear()
            self._path_of = path_of
        self._cache.clear()
        self._bytes = 0

    def get(self, key: int) -> QPixmap | None:
        pix = self._cache.get(key)
        if pix is not None:
            self._cache.move_to_end(key)
            return pix
        self.request(key)
        return None

    def request(self, key: int) -> None:
        start = False
        with self._lock:
            if self._path_of is None:
                return
            self._pending[key] = None
            self._pending.move_to_end(key)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
            if self._active_jobs < self._threads:
                self._active_jobs += 1
                start = True
        if start:
            self._start_job()

    def _start_job(self) -> None:
        """One of at most ``threads`` jobs; each decodes pending requests until none is left."""
        job = JobWorker(self._drain, policy=Throttle(0))  # every decoded thumbnail is delivered
        job.progress.connect(self._on_decoded)
        job.done.connect(lambda: self._jobs.discard(job))
        self._jobs.add(job)
        job.start()

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def cached_bytes(self) -> int:
        return self._bytes

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Block until the decoding jobs have ended (their thumbnails arrive with the next events)."""
        return all(job.wait(timeout_ms) for job in list(self._jobs))

    def shutdown(self) -> None:
        self.set_source(None)
        self.wait_idle(5000)

    def _on_decoded(self, decoded: tuple[int, int, QImage | None]) -> None:
        generation, key, image = decoded
        if generation != self._generation:
            return
        pix = self.unreadable if image is None else QPixmap.fromImage(image)
        old = self._cache.pop(key, None)
        if old is not None:
            self._bytes -= _cost(old)
        self._cache[key] = pix
        self._bytes += _cost(pix)
        while self._bytes > self.max_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._bytes -= _cost(dropped)
        self.ready.emit(key)

    # -- decoding jobs
    def _drain(self, *, progress: Callable[[tuple[int, int, QImage | None]], None], cancel: object) -> None:
        while True:
            with self._lock:
                if not self._pending or self._path_of is None:
                    self._active_jobs -= 1
                    return
                key, _ = self._pending.popitem(last=True)  # newest request first
                generation, path_of = self._generation, self._path_of
            try:
                image: QImage | None = decode_thumbnail(path_of(key), self.size)
            except Exception:  # missing or corrupt file: shown as a crossed placeholder
                image = None
            progress((generation, key, image))


def _cost(pix: QPixmap) -> int:
    return max(1, pix.width() * pix.height() * 4)
