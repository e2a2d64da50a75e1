"""Workbench responsiveness: launch to first image, image switching with the overlay, scrolling stalls.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py                # demo + 118287 images
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py --images 20000 # quicker

Measured, each with a baseline taken in the same run:
- launch -> first image shown with its overlay (fresh process, demo data) vs launching a bare empty
  QMainWindow in a fresh process (the floor any PySide6 app pays);
- switching to the next image (decode, mask, overlay, legend, outlines; p50/p95) on the demo and on a
  train2017-sized index vs decoding the same images with PIL alone;
- the longest GUI-thread stall while the thumbnail list scrolls a page every 16 ms (a 2 ms QTimer
  heartbeat measures the gaps) vs a 100 ms budget; and filtering the 118k list vs the same budget.
The big index repeats the sample (``bench_index.build_dataset``); its images are symlinks to the sample's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE = REPO / "resources" / "sample_coco"
BUDGET_MS = 100.0

_LAUNCH = r"""
import sys, time
t0 = time.perf_counter()
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if sys.argv[1] == "bare":
    w = QMainWindow(); w.resize(1440, 900); w.show(); app.processEvents()
else:
    from cocoseg_gui.gui.services.app_state import AppState
    from cocoseg_gui.core.coco.dataset_locator import demo_dataset
    from cocoseg_gui.gui.main_window import MainWindow
    w = MainWindow(AppState(QSettings(sys.argv[2], QSettings.Format.IniFormat)))
    w.resize(1440, 900); w.show()
    loop = QEventLoop(); w.image_shown.connect(loop.quit)
    d = demo_dataset(); w.open_dataset(d.annotations, d.images_dir)
    loop.exec()
    w.shutdown()
print(time.perf_counter() - t0)
"""


def launch_time(kind: str, tmp: Path) -> float:
    """Wall time of a fresh process until ready (interpreter start included)."""
    env = dict(os.environ, COCOSEG_CACHE_DIR=str(tmp / "cache"))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _LAUNCH, kind, str(tmp / "s.ini")],
        check=True,
        env=env,
        capture_output=True,
        cwd=REPO,
    )
    return time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def link_images(n_images: int, folder: Path) -> None:
    """``{id:012d}.jpg`` -> the sample image the builder copied that record from (train then val)."""
    import orjson

    sources = []
    for split in ("train", "val"):
        data = orjson.loads((SAMPLE / "annotations" / f"instances_{split}2017.json").read_bytes())
        sources += [SAMPLE / f"{split}2017" / img["file_name"] for img in data["images"]]
    copies = folder / "_src"  # links must stay inside the image folder (ADR 0003)
    copies.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(sources):
        shutil.copyfile(src, copies / f"{i}{src.suffix}")
    for i in range(n_images):
        k = i % len(sources)
        os.symlink(copies / f"{k}{sources[k].suffix}", folder / f"{i + 1:012d}.jpg")


class Session:
    """One window in this process, driven with QEventLoops (no sleeps)."""

    def __init__(self, tmp: Path) -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from cocoseg_gui.gui.main_window import MainWindow
        from cocoseg_gui.gui.services.app_state import AppState

        self.app = QApplication.instance() or QApplication([])
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow(AppState(settings), index_cache_dir=tmp / "cache")
        self.window.resize(1440, 900)
        self.window.show()

    def wait(self, *signals) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QEventLoop

        loop = QEventLoop()
        for s in signals:
            s.connect(loop.quit)
        loop.exec()
        for s in signals:
            s.disconnect(loop.quit)

    def open(self, annotations: Path, images: Path) -> float:
        t0 = time.perf_counter()
        self.window.open_dataset(annotations, images)
        self.wait(self.window.image_shown)
        return time.perf_counter() - t0

    def switch_times(self, steps: int) -> tuple[list[float], list[float]]:
        """Seconds per next-image (until shown), and PIL-alone decode seconds of the same images."""
        import numpy as np
        from PIL import Image

        w = self.window
        switch, decode = [], []
        for _ in range(steps):
            t0 = time.perf_counter()
            w.images.browser.step(1)
            self.wait(w.image_shown)
            switch.append(time.perf_counter() - t0)
            path = w.images.source.image_path(w.images.current.file_name)
            t0 = time.perf_counter()
            with Image.open(path) as im:
                np.asarray(im.convert("RGB"))
            decode.append(time.perf_counter() - t0)
        return switch, decode

    def scroll_stalls(self, pages: int) -> tuple[float, float, int]:
        """Longest and p99 heartbeat gap (ms) while scrolling ``pages`` pages, one every 16 ms."""
        from PySide6.QtCore import QEventLoop, QTimer

        view = self.window.images.browser.view
        bar = view.verticalScrollBar()
        bar.setValue(0)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setInterval(2)
        heartbeat.timeout.connect(beat)
        loop = QEventLoop()
        step = QTimer()
        step.setInterval(16)
        done = [0]

        def scroll() -> None:
            bar.setValue(bar.value() + bar.pageStep())
            done[0] += 1
            if done[0] >= pages or bar.value() >= bar.maximum():
                step.stop()
                loop.quit()

        step.timeout.connect(scroll)
        last[0] = time.perf_counter()
        heartbeat.start()
        step.start()
        loop.exec()
        heartbeat.stop()
        rows = view.indexAt(view.viewport().rect().center()).row()
        return max(gaps), pct(gaps, 0.99), rows

    def filter_time(self) -> float:
        """Seconds to filter the list by one category and by a file-name substring, then clear."""
        b = self.window.images.browser
        index = self.window.state.index
        person = next(c.id for c in index.categories if c.name == "person")
        t0 = time.perf_counter()
        b.categories.set_checked([person])
        b.name_filter.setText("7")
        b.refresh()
        b.clear_filters()
        return (time.perf_counter() - t0) / 3

    def close(self) -> None:
        self.window.shutdown()
        self.window.close()


def report_switch(label: str, switch: list[float], decode: list[float]) -> None:
    p50, p95, d50 = pct(switch, 0.5) * 1000, pct(switch, 0.95) * 1000, statistics.median(decode) * 1000
    print(
        f"  {label}: switch p50 {p50:.1f} ms, p95 {p95:.1f} ms; PIL decode alone p50 {d50:.1f} ms "
        f"-> ratio {p50 / d50:.2f}x (p95 {'within' if p95 <= BUDGET_MS else 'OVER'} {BUDGET_MS:.0f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=118_287, help="size of the big index (0: skip it)")
    parser.add_argument("--steps", type=int, default=40, help="image switches per dataset")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as name:
        tmp = Path(name)
        print("launch -> first image shown (fresh process, demo data):")
        launch_time("window", tmp)  # warm the index cache and the OS file cache
        bare = statistics.median(launch_time("bare", tmp) for _ in range(3))
        full = statistics.median(launch_time("window", tmp) for _ in range(3))
        print(
            f"  workbench {full:.2f} s vs bare QMainWindow {bare:.2f} s -> ratio {full / bare:.2f}x "
            f"(the extra {full - bare:.2f} s is our imports, window, index and first image)"
        )

        session = Session(tmp)
        print("image switching with the overlay:")
        session.open(SAMPLE / "annotations" / "instances_val2017.json", SAMPLE / "val2017")
        report_switch("demo (50 images)", *session.switch_times(min(args.steps, 45)))
        stall, p99, _ = session.scroll_stalls(200)
        print(
            f"  demo scroll: longest GUI stall {stall:.1f} ms, p99 {p99:.1f} ms vs budget {BUDGET_MS:.0f} ms "
            f"-> ratio {stall / BUDGET_MS:.2f}"
        )

        if args.images:
            sys.path.insert(0, str(REPO / "benchmarks"))
            from bench_index import build_dataset

            big = tmp / "annotations" / "instances_big2017.json"
            big.parent.mkdir()
            t0 = time.perf_counter()
            n_images, n_anns = build_dataset(big, args.images)
            link_images(n_images, tmp / "big2017")
            print(f"big: {n_images} images, {n_anns} annotations ({time.perf_counter() - t0:.0f} s to build)")
            first = session.open(big, tmp / "big2017")
            session.open(SAMPLE / "annotations" / "instances_val2017.json", SAMPLE / "val2017")
            cached = session.open(big, tmp / "big2017")
            print(f"  open -> first image shown: first {first:.2f} s, cached re-open {cached:.2f} s")
            report_switch(f"{n_images} images", *session.switch_times(args.steps))
            stall, p99, row = session.scroll_stalls(600)
            print(
                f"  scroll 600 pages (to row {row}): longest GUI stall {stall:.1f} ms, p99 {p99:.1f} ms "
                f"vs budget {BUDGET_MS:.0f} ms -> ratio {stall / BUDGET_MS:.2f}"
            )
            f = session.filter_time() * 1000
            print(
                f"  filter {n_images} rows (category / name / clear): {f:.1f} ms each vs budget "
                f"{BUDGET_MS:.0f} ms -> ratio {f / BUDGET_MS:.2f}"
            )
        session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
