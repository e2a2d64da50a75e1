"""Edit mode in the viewer at 4096x4096: mouse move -> label map -> overlay patch -> viewport repainted.

Run: QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python -m benchmarks.bench_editor_gui [--size 4096]
Per event this times ``ImageEditor.move`` (session paint, ``LabelMap.apply``, the viewer's
``update_mask_box``) plus a synchronous repaint of the viewport. The named baseline, measured in
the same run, is a full-frame recolour: ``MaskViewer.set_mask`` of the whole map plus the same repaint
(what an editor without region updates does per event). Issue 10's target: p95 <= 16 ms up to r=200.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from cocoseg_gui.core.editing.editor import ImageEditor
from cocoseg_gui.core.masks.label_map import LabelMap
from cocoseg_gui.core.project.image_view_state import ImageViewState, ShownImage
from cocoseg_gui.gui.widgets.mask_viewer import MaskViewer

RADII = (5, 50, 200)


def p95(times: list[float]) -> float:
    return float(np.percentile(np.asarray(times) * 1000, 95))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    n = args.size
    rgb = np.full((n, n, 3), 90, np.uint8)
    labels = LabelMap(np.zeros((n, n), np.uint8), {0: "background", 1: "a", 2: "b"})
    state = ImageViewState()
    viewer = MaskViewer()
    viewer.resize(1200, 900)
    viewer.show()
    viewer.observe(state)
    state.show(ShownImage(1, "big.png", rgb, labels))
    app.processEvents()
    editor = ImageEditor()
    editor.attach(1, "big.png", labels, (n, n))

    base: list[float] = []
    for _ in range(max(5, args.events // 4)):
        t = time.perf_counter()
        viewer.set_mask(labels.array, labels.colors)
        viewer.viewport().repaint()
        base.append(time.perf_counter() - t)
    print(f"baseline full-frame recolour + repaint at {n}^2: p95 {p95(base):.1f} ms")
    for radius in RADII:
        editor.update(brush_radius=radius)
        y = n / 2 + radius
        editor.press((n / 4, y))
        times = []
        for i in range(args.events):
            t = time.perf_counter()
            editor.move((n / 4 + 8 * (i + 1), y + 3 * (i % 5)))
            viewer.viewport().repaint()
            times.append(time.perf_counter() - t)
        editor.release()
        t = time.perf_counter()
        editor.undo()
        viewer.viewport().repaint()
        undo = time.perf_counter() - t
        print(
            f"r={radius:3d}: move->repaint p95 {p95(times):6.1f} ms "
            f"(baseline/ours {p95(base) / p95(times):5.1f}x), "
            f"undo of the stroke {undo * 1000:.1f} ms"
        )
    viewer.close()


if __name__ == "__main__":
    main()
