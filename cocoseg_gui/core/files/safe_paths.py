"""Dataset-relative names -> paths that stay inside their folder (docs/adr/0003-paths-outside-the-dataset.md).

A COCO ``file_name`` or an image_mask_map.json entry comes from a file anyone may have written. Every
place that opens an image or a mask by such a name goes through ``SafeRoot.resolve``, which refuses
empty names, NUL bytes, absolute paths (POSIX or Windows), ``..`` parts that climb above the folder
and, unless ``follow_symlinks``, a name whose real path (symbolic links resolved) leaves the folder.
Links that stay inside the folder, and the folder itself being a link, are fine.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from cocoseg_gui.core.errors import DatasetError

__all__ = [
    "REFUSAL_REASONS",
    "SafeRoot",
    "UnsafePathError",
    "check_relative_name",
    "is_within",
]

# short reasons, the keys of report.json's ``refused_images`` counts
EMPTY, NUL, ABSOLUTE, CLIMBS, SYMLINK = "empty", "nul_byte", "absolute", "parent_dir", "symlink_outside"
REFUSAL_REASONS = (EMPTY, NUL, ABSOLUTE, CLIMBS, SYMLINK)
_WORDS = {
    EMPTY: "is empty or not a string",
    NUL: "contains a NUL byte",
    ABSOLUTE: "is an absolute path, not one relative to {folder}",
    CLIMBS: "climbs out of {folder} with '..'",
    SYMLINK: "is a symbolic link leading outside {folder} (allowed only with --follow-symlinks)",
}


class UnsafePathError(DatasetError):
    """A name refused because it would read outside its folder; ``reason`` is one of REFUSAL_REASONS."""

    def __init__(self, where: str | Path, subject: str, reason: str, folder: str | Path) -> None:
        self.reason = reason
        super().__init__(where, f"{subject} {_WORDS[reason].format(folder=folder)}: refused")


def is_within(path: str | Path, folder: str | Path) -> bool:
    """True when ``path`` is ``folder`` or lies below it; both must be real paths (os.path.realpath)."""
    folder = os.fspath(folder)
    return os.path.commonpath([os.fspath(path), folder]) == folder


def check_relative_name(name: object) -> str | None:
    """The refusal reason of ``name`` from its text alone (no file-system access), or None if safe."""
    if not isinstance(name, str) or not name:
        return EMPTY
    if "\0" in name:
        return NUL
    posix, win = PurePosixPath(name.replace("\\", "/")), PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or win.root:
        return ABSOLUTE
    depth = 0
    for part in posix.parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            return CLIMBS
    return None


class SafeRoot:
    """A folder that names are resolved under; its real path is computed once."""

    def __init__(self, root: str | Path, follow_symlinks: bool = False, what: str = "file name") -> None:
        self.root = Path(root)
        self.follow_symlinks = follow_symlinks
        self.what = what
        self._real = os.path.realpath(self.root)

    def refusal(self, name: str) -> str | None:
        """The refusal reason of ``name`` (checked on the file system too), or None if it may be read."""
        reason = check_relative_name(name)
        if reason is None and not self.follow_symlinks:
            real = os.path.realpath(self._join(name))
            if not is_within(real, self._real):
                reason = SYMLINK
        return reason

    def resolve(self, name: str, where: str | Path | None = None, subject: str | None = None) -> Path:
        """``root / name``; if refused, UnsafePathError naming ``where`` (default the root) and
        ``subject`` (default ``<what> 'name'``, e.g. an image_mask_map.json entry)."""
        reason = self.refusal(name)
        if reason is not None:
            where = self.root if where is None else where
            raise UnsafePathError(where, subject or f"{self.what} {name!r}", reason, self.root)
        return self._join(name)

    def _join(self, name: str) -> Path:
        return self.root.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
