"""Atomic file writes: write a temporary file beside the target, fsync, rename into place.

A crash, a kill or a full disk never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


def _current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", fsync: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success rename it over ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the result the mode a plain open() would (0666 minus umask).
        with contextlib.suppress(OSError):
            os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        name_the_file(exc, path)
        raise


def name_the_file(exc: BaseException, path: str | Path) -> None:
    """Give a system error from write/fsync/close (a full disk names no file by itself) ``path``."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
        exc.filename = str(path)


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> None:
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2, fsync: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", fsync=fsync)


def atomic_write_with(path: str | Path, writer: Callable[[IO[bytes]], None], fsync: bool = True) -> None:
    """Atomically write whatever ``writer(fh)`` writes (e.g. ``img.save(fh, 'PNG')``, ``torch.save``)."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        writer(fh)


# our temporaries: "." + the target's name + "." + a token + ".tmp"; the token is mkstemp's 8 random
# characters (atomic_open) or the writer's process id (mask_png.write_file_atomic)
_OUR_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]+\.tmp")


def remove_stale_temporaries(folder: str | Path, older_than: float | None = None) -> int:
    """Delete temporaries a killed writer left in ``folder``; return how many.

    Only ours by name (``.name.XXXXXXXX.tmp``) and, given ``older_than`` (a time.time() value: when
    the folder's lock was taken), only those last written before it: a live writer holds the lock."""
    count = 0
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.glob(".*.tmp"):
            if not _OUR_TEMPORARY.fullmatch(p.name):
                continue
            with contextlib.suppress(OSError):
                if older_than is not None and p.lstat().st_mtime >= older_than:
                    continue
                p.unlink()
                count += 1
    return count
