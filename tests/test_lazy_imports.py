"""Start-up never imports the heavy libraries (ADR 0035): they load where first used.

Each check runs in a fresh interpreter (this process has imported everything already) and lists the
heavy modules in ``sys.modules`` afterwards, with the chain of our modules that imported each one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

# torch ~1.5 s, scikit-image + SciPy ~0.4 s, pyqtgraph ~0.2 s (the Train and Evaluate plots, built when
# first shown), OpenCV ~20 ms: benchmarks/bench_gui.py prints each
HEAVY = ("torch", "torchvision", "scipy", "skimage", "cv2", "pyqtgraph")

_PROBE = r"""
import json, sys, traceback

HEAVY = set(sys.argv[1].split(","))
found = {}


class Witness:  # records who imports a heavy module first; finds nothing itself
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in found:
            ours = [f"{f.filename.rsplit('cocoseg_gui', 1)[-1]}:{f.lineno}"
                    for f in traceback.extract_stack() if "cocoseg_gui" in f.filename]
            found[name] = " <- ".join(reversed(ours)) or "(not our code)"
        return None


sys.meta_path.insert(0, Witness())
exec(sys.argv[2])
print(json.dumps({m: found.get(m, "?") for m in sorted(HEAVY) if m in sys.modules}))
"""

_WINDOW_SHOWN = """
import sys, tempfile
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.app_state import AppState

app = QApplication([])
with tempfile.TemporaryDirectory() as folder:
    window = MainWindow(AppState(QSettings(folder + "/settings.ini", QSettings.Format.IniFormat)))
    window.resize(1024, 700)
    window.show()
    app.processEvents()
    window.shutdown()
"""

_STARTING = """
import tempfile, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from cocoseg_gui.gui.main_window import MainWindow

app = QApplication([])
painted = []
with tempfile.TemporaryDirectory() as folder:
    window = MainWindow()
    window.show_starting(QSettings(folder + "/settings.ini", QSettings.Format.IniFormat), painted.append)
    deadline = time.monotonic() + 30
    while not painted and time.monotonic() < deadline:
        app.processEvents()
    assert painted == [window], "then() never ran"
"""

START_UP = {
    "gui main window": "import cocoseg_gui.gui.main_window",
    "gui window shown": _WINDOW_SHOWN,
    "gui entry parse": "from cocoseg_gui.gui.app import build_parser; build_parser().parse_args([])",
    "launcher": "import cocoseg_gui.launcher",
    "cli entry parse": (
        "from cocoseg_gui.cli import build_parser\n"
        "try:\n    build_parser().parse_args(['masks', '--help'])\nexcept SystemExit:\n    pass"
    ),
}


def heavy_imported(code: str, heavy: tuple[str, ...] = HEAVY) -> dict[str, str]:
    """The ``heavy`` modules a fresh interpreter holds after running ``code``, each with its importer."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(heavy), code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("code", START_UP.values(), ids=START_UP.keys())
def test_start_up_imports_no_heavy_library(code: str) -> None:
    assert heavy_imported(code) == {}, "import it inside the function that uses it (ADR 0035)"


def test_the_probe_sees_a_heavy_import_and_who_made_it() -> None:
    found = heavy_imported(
        "from cocoseg_gui.core.assists.superpixels import compute_superpixels\n"
        "import numpy as np\n"
        "compute_superpixels(np.zeros((32, 32, 3), np.uint8), n_segments=20)"
    )
    assert {"cv2", "scipy", "skimage"} <= found.keys()
    assert "core/assists/superpixels.py" in found["skimage"]


def test_the_starting_window_paints_before_numpy_superqt_and_the_workspaces_load() -> None:
    """``show_starting`` puts the window on screen with Qt alone; the rest loads in ``build`` (ADR 0041):
    numpy, superqt (qtpy's star imports) and our workspaces cost ~0.5 s before the window showed."""
    late = ("numpy", "superqt", "pycocotools", "cocoseg_gui.gui.workspaces", "cocoseg_gui.core.coco")
    found = heavy_imported(_STARTING, heavy=late)
    assert found == {}, "import it in MainWindow.build or where first used (ADR 0041)"
