"""The xcb plugin's system libraries: ldd output parsing, package names, when the check runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cocoseg_gui.gui import system_libs
from cocoseg_gui.gui.system_libs import (
    PACKAGES,
    check_before_qt,
    missing_xcb_libraries,
    packages_for,
    parse_ldd_not_found,
    would_use_xcb,
    xcb_plugin_files,
)

# what `ldd libqxcb.so` printed on a fresh Debian 12 desktop (trimmed)
FRESH_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd3a5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f2b3c000000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f2b3bff0000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2b3b800000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f2b3c2a0000)
"""

REPO = Path(__file__).resolve().parents[2]

needs_ldd = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("ldd") is None, reason="needs Linux ldd"
)


def test_not_found_lines_are_collected_once_each_in_order() -> None:
    assert parse_ldd_not_found(FRESH_DEBIAN_LDD) == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]
    assert parse_ldd_not_found("") == []


def test_the_three_libraries_of_a_fresh_debian_map_to_apt_and_dnf_packages() -> None:
    missing = packages_for(parse_ldd_not_found(FRESH_DEBIAN_LDD))
    assert missing.apt == ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1")
    assert missing.dnf == ("xcb-util-cursor", "xcb-util-wm", "xcb-util-keysyms")
    text = missing.message()
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in text
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in text
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in text


def test_packages_are_named_once_and_unknown_libraries_are_named_too() -> None:
    missing = packages_for(["libxcb-shm.so.0", "libxcb-sync.so.1", "libfoo.so.3"])
    assert missing.apt == ("libxcb-shm0", "libxcb-sync1")
    assert missing.dnf == ("libxcb",)  # one Fedora package holds both
    assert missing.unknown == ("libfoo.so.3",)
    assert "libfoo.so.3" in missing.message() and "apt-file search" in missing.message()


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"DISPLAY": ":0"}, [], True),
        ({"QT_QPA_PLATFORM": "xcb"}, [], True),
        ({"QT_QPA_PLATFORM": "xcb;wayland"}, [], True),
        ({"QT_QPA_PLATFORM": "xcb:foo=1", "DISPLAY": ":0"}, [], True),
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, [], False),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, [], False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, [], False),
        ({"DISPLAY": ":0"}, ["-platform", "offscreen"], False),
        ({"QT_QPA_PLATFORM": "offscreen"}, ["-platform", "xcb"], True),
        ({}, [], False),  # no display at all: not ours to diagnose
    ],
)
def test_the_check_runs_only_when_qt_would_use_xcb(env, args, expected) -> None:
    assert would_use_xcb(env, args, platform="linux") is expected


def test_never_on_other_systems() -> None:
    assert would_use_xcb({"QT_QPA_PLATFORM": "xcb"}, platform="darwin") is False
    assert would_use_xcb({"QT_QPA_PLATFORM": "xcb"}, platform="win32") is False


def test_offscreen_and_the_switch_skip_ldd(monkeypatch) -> None:
    def fail(*_a, **_k):
        raise AssertionError("ldd should not run")

    monkeypatch.setattr(system_libs, "missing_xcb_libraries", fail)
    assert check_before_qt([], {"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}) == ""
    assert check_before_qt([], {"DISPLAY": ":0", "COCOSEG_SKIP_LIB_CHECK": "1"}) == ""


@needs_ldd
def test_real_ldd_on_a_library_that_resolves_reports_nothing() -> None:
    # QtCore: the offscreen platform these tests run on needs it, so its libraries are all there
    qt_lib = xcb_plugin_files()[0].parents[2] / "lib" / "libQt6Core.so.6"
    assert qt_lib.is_file()
    assert missing_xcb_libraries([qt_lib]) is None


@needs_ldd
def test_real_ldd_on_the_xcb_plugin_of_this_machine() -> None:
    files = xcb_plugin_files()
    assert files and files[0].name == "libqxcb.so"
    missing = missing_xcb_libraries(files)
    if missing is None:  # a desktop with every library installed
        return
    assert all(lib in PACKAGES for lib in missing.libraries), missing.unknown
    assert "sudo apt-get install" in missing.message()
    assert check_before_qt([], {"QT_QPA_PLATFORM": "xcb"}) == missing.message()


@needs_ldd
def test_a_missing_library_found_by_real_ldd(tmp_path) -> None:
    # a real ELF that needs a library this machine lacks: the xcb plugin copied away from its Qt
    plugin = xcb_plugin_files()[0]
    lonely = tmp_path / plugin.name
    shutil.copy(plugin, lonely)
    missing = missing_xcb_libraries([lonely])
    assert missing is not None and "libQt6XcbQpa.so.6" in missing.libraries


@needs_ldd
def test_cocoseg_gui_names_the_missing_libraries_instead_of_starting_qt(tmp_path) -> None:
    missing = missing_xcb_libraries()
    if missing is None:
        pytest.skip("this machine has every library of the xcb plugin")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":0", PYTHONPATH=str(REPO), COCOSEG_CACHE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "cocoseg_gui", "--settings", str(tmp_path / "s.ini")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "sudo apt-get install " + " ".join(missing.apt) in result.stderr
    assert "could not load the Qt platform plugin" not in result.stderr  # Qt never started
