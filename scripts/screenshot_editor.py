"""docs/screenshots/editor.png: the Images workspace in Edit mode with a brush stroke in progress.

Run offscreen: ``QT_QPA_PLATFORM=offscreen python scripts/screenshot_editor.py [OUT.png]``. The demo's
val masks are generated into a temporary folder (nothing in resources/ is written); the mouse button
is still held when the window is grabbed, so the picture shows the stroke and the brush outline.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions
from cocoseg_gui.gui.main_window import MainWindow
from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY, AppState

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "sample_coco"


def wait_for(signal, ms: int = 60000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        masks = Path(tmp) / "masks_val2017"
        annotations, images = SAMPLE / "annotations" / "instances_val2017.json", SAMPLE / "val2017"
        generate_masks(annotations, images, masks, MaskOptions(workers=1))
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        settings.setValue(PROJECTS_ROOT_KEY, str(Path(tmp) / "projects"))
        window = MainWindow(AppState(settings), index_cache_dir=Path(tmp) / "cache")
        window.show_dialogs = False
        window.resize(1280, 800)
        window.show()
        window.open_dataset(annotations, images)
        wait_for(window.image_shown)
        window.open_masks(masks)
        wait_for(window.image_shown)
        ws = window.images
        ws.act_edit.setChecked(True)
        ws.pick_class(1)
        ws.set_opacity(0.65)
        ws.editor.update(brush_radius=9)
        h, w = ws.view_state.labels.shape
        ws.viewer.set_view_state((1.6, QPointF(w * 0.5, h * 0.55)))
        app.processEvents()
        viewport = ws.viewer.viewport()
        points = [(w * 0.16 + 4 * i, h * 0.30 + 0.03 * i * i) for i in range(34)]
        pos = [ws.viewer.mapFromScene(QPointF(x, y)) for x, y in points]
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos[0])
        for p in pos[1:]:
            QTest.mouseMove(viewport, p)
        app.processEvents()
        window.grab().save(str(out))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos[-1])
        ws.discard_all()
        window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "editor.png")
