"""Before Qt starts: are the system libraries of Qt's xcb platform plugin installed?

PySide6's wheels bring Qt but not the X11 helper libraries its xcb plugin links against; on a fresh
desktop Qt then stops with "could not load the Qt platform plugin xcb", which names none of them.
``ldd`` on the plugin lists what is "not found"; we name the packages that provide those libraries and
print the install command. Standard library only: importable without starting (or even finding) Qt.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SKIP_ENV = "COCOSEG_SKIP_LIB_CHECK"  # set to 1 to start Qt without this check
LDD_TIMEOUT_S = 20

# library soname -> (Debian/Ubuntu package, Fedora package); the xcb plugin's usual dependencies
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found\s*$")


@dataclass(frozen=True)
class MissingLibraries:
    """Libraries ``ldd`` could not find, and the packages that provide them."""

    libraries: tuple[str, ...]
    apt: tuple[str, ...]  # Debian/Ubuntu packages
    dnf: tuple[str, ...]  # Fedora packages
    unknown: tuple[str, ...]  # libraries without a known package

    def message(self, program: str = "cocoseg-gui") -> str:
        lines = [
            f"{program}: error: Qt's xcb platform plugin needs system libraries that are not installed: "
            + ", ".join(self.libraries),
        ]
        if self.apt:
            lines.append(f"  Debian/Ubuntu: sudo apt-get install {' '.join(self.apt)}")
        if self.dnf:
            lines.append(f"  Fedora:        sudo dnf install {' '.join(self.dnf)}")
        if self.unknown:
            lines.append(
                f"  find the package of {', '.join(self.unknown)} with `apt-file search NAME` or "
                "`dnf provides '*/NAME'`"
            )
        lines.append(f"  (without a display: QT_QPA_PLATFORM=offscreen; {SKIP_ENV}=1 skips this check)")
        return "\n".join(lines)


def parse_ldd_not_found(output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", each once, in order of appearance."""
    names: list[str] = []
    for line in output.splitlines():
        match = _NOT_FOUND.match(line)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def packages_for(libraries: Sequence[str]) -> MissingLibraries:
    """Map sonames to Debian and Fedora packages (each package once, in the order first needed)."""
    apt: list[str] = []
    dnf: list[str] = []
    unknown: list[str] = []
    for lib in libraries:
        if lib not in PACKAGES:
            unknown.append(lib)
            continue
        deb, fedora = PACKAGES[lib]
        apt += [] if deb in apt else [deb]
        dnf += [] if fedora in dnf else [fedora]
    return MissingLibraries(tuple(libraries), tuple(apt), tuple(dnf), tuple(unknown))


def xcb_plugin_files() -> list[Path]:
    """PySide6's xcb platform plugin and the Qt library that holds its code (those that exist)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"]
    return [f for f in files if f.is_file()]


def would_use_xcb(
    environ: Mapping[str, str] | None = None, qt_args: Sequence[str] = (), platform: str | None = None
) -> bool:
    """Whether Qt would pick its xcb plugin: Linux, and ``-platform`` / QT_QPA_PLATFORM say xcb, or
    neither says anything and an X display (not a Wayland one) is there."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    args = list(qt_args)
    for flag in ("-platform", "--platform"):
        if flag in args and args.index(flag) + 1 < len(args):
            chosen = args[args.index(flag) + 1]
    if chosen.strip():
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def missing_xcb_libraries(files: Sequence[Path] | None = None) -> MissingLibraries | None:
    """Run ``ldd`` on the xcb plugin files; None when nothing is missing or ``ldd`` cannot tell."""
    ldd = shutil.which("ldd")
    files = xcb_plugin_files() if files is None else list(files)
    if ldd is None or not files:
        return None
    try:
        result = subprocess.run(
            [ldd, *map(str, files)], capture_output=True, text=True, timeout=LDD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    missing = parse_ldd_not_found(result.stdout)
    return packages_for(missing) if missing else None


def check_before_qt(qt_args: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """The error to print before creating the QApplication, or "" when Qt can start (or it is not ours
    to tell: another platform, the check switched off with COCOSEG_SKIP_LIB_CHECK=1)."""
    env = os.environ if environ is None else environ
    if env.get(SKIP_ENV, "") not in ("", "0") or not would_use_xcb(env, qt_args):
        return ""
    missing = missing_xcb_libraries()
    return missing.message() if missing else ""


if __name__ == "__main__":  # `python -m cocoseg_gui.gui.system_libs`: the check alone, for scripts
    found = missing_xcb_libraries()
    print(found.message() if found else "the xcb platform plugin finds all its libraries")
    raise SystemExit(1 if found else 0)
