"""Atomic writes: the final file appears whole or not at all, with the mode a plain open() gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cocoseg_gui.core.files.atomic import atomic_write_json, atomic_write_with, remove_stale_temporaries


def test_written_file_has_umask_mode_like_open(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = tmp_path / "atomic.json"
    atomic_write_json(atomic, {"a": 1})
    assert stat.S_IMODE(os.stat(atomic).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_failed_writer_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def broken(fh) -> None:
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_with(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_remove_stale_temporaries_only_removes_ours(tmp_path: Path) -> None:
    (tmp_path / ".x.png.abc.tmp").write_bytes(b"")
    (tmp_path / "keep.png").write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_a_failed_write_names_the_target(tmp_path: Path) -> None:
    """A system error raised by write/close (ENOSPC) carries no file name; the writer adds the target's."""
    import errno

    def full(fh) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "last.pt"
    with pytest.raises(OSError) as info:
        atomic_write_with(target, full)
    assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
    assert "No space left on device" in str(info.value)
