"""Image embeddings on disk, keyed by the weights file and the image's pixels, so going back costs nothing.

An embedding is 4 MiB (256x64x64 float32), kept as an uncompressed ``.npz`` written atomically; a file
that does not read back (damaged, another version) is simply recomputed. The folder is bounded: the
least recently used files go past ``max_bytes``. Lives in the app's cache folder, beside the COCO index
cache ($COCOSEG_CACHE_DIR, else $XDG_CACHE_HOME/cocoseg, else ~/.cache/cocoseg).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from cocoseg_gui.core.files.atomic import atomic_write_with
from cocoseg_gui.core.segment.prompt import ImageEmbedding

CACHE_VERSION = 1
DEFAULT_MAX_BYTES = 2 << 30  # 2 GiB: about 500 images


def default_embedding_dir() -> Path:
    """$COCOSEG_CACHE_DIR/segment, else $XDG_CACHE_HOME/cocoseg/segment, else ~/.cache/cocoseg/segment."""
    env = os.environ.get("COCOSEG_CACHE_DIR")
    if env:
        return Path(env) / "segment"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cocoseg" / "segment"


def image_digest(image: np.ndarray) -> str:
    """The decoded pixels' fingerprint (a re-saved or renamed file with the same pixels matches)."""
    digest = hashlib.sha256(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


class EmbeddingCache:
    def __init__(self, folder: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = folder if folder is not None else default_embedding_dir()
        self.max_bytes = max_bytes

    def key(self, weights_identity: str, kind_name: str, image: np.ndarray) -> str:
        text = f"v{CACHE_VERSION}:{kind_name}:{weights_identity}:{image_digest(image)}"
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str) -> ImageEmbedding | None:
        """The embedding stored under ``key``, or None (absent, or a file that does not read back)."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                features = np.asarray(data["features"], dtype=np.float32)
                original = tuple(int(v) for v in data["original_size"])
                resized = tuple(int(v) for v in data["input_size"])
            os.utime(path)  # recently used: pruned last
        except (OSError, ValueError, KeyError, EOFError):
            return None
        if features.ndim != 4 or len(original) != 2 or len(resized) != 2:
            return None
        return ImageEmbedding(features, (original[0], original[1]), (resized[0], resized[1]))

    def store(self, key: str, embedding: ImageEmbedding) -> None:
        """Write atomically; a cache that cannot be written (read-only, full disk) is skipped."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_with(
                self.path(key),
                lambda fh: np.savez(
                    fh,
                    features=embedding.features,
                    original_size=np.asarray(embedding.original_size),
                    input_size=np.asarray(embedding.input_size),
                ),
                fsync=False,
            )
            self.prune()
        except OSError:
            pass

    def prune(self) -> None:
        """Remove the least recently used embeddings until the folder holds at most ``max_bytes``."""
        entries = []
        for path in self.folder.glob("*.npz"):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((st.st_mtime_ns, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
