"""`cocoseg-gui`: the desktop workbench entry point (also `python -m cocoseg_gui`).

``--screenshot PATH`` opens the dataset (or the demo), waits for the first image with its overlay
(signals, no sleeps), lets the chosen workspace reach a state worth a picture (``screenshots.prepare``
makes the demo data, the workspace's ``prepare_screenshot`` uses it), renders the whole window to PATH
and exits; it works with ``QT_QPA_PLATFORM=offscreen``. A first image
that cannot be shown (missing, unreadable) or a dataset without images does not stop it: the window shows the
problem in its status bar, the picture is taken, each problem is printed to stderr as
``cocoseg-gui: warning: ...`` and the exit status is 0. Exit 2: the dataset cannot be opened; 1: PATH
cannot be written; 3: nothing to show after SCREENSHOT_TIMEOUT_MS; 4: the panel could not prepare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cocoseg_gui import __version__

if TYPE_CHECKING:  # imported when needed: the library check runs before Qt loads
    from PySide6.QtCore import QCoreApplication

    from cocoseg_gui.gui.main_window import MainWindow

SCREENSHOT_TIMEOUT_MS = 300_000
SCREENSHOT_SIZE = (1440, 900)


def _window_size(text: str) -> tuple[int, int]:
    """``1024x700`` -> (1024, 700); at least 640x480, so the layout has room to be judged."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1024x700, got {text!r}") from None
    if w < 640 or h < 480:
        raise argparse.ArgumentTypeError(f"the window must be at least 640x480, got {text!r}")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cocoseg-gui",
        description="Workbench for COCO semantic segmentation. Without arguments it reopens the last "
        "project (the first time: the bundled demo).",
    )
    parser.add_argument("--version", action="version", version=f"cocoseg-gui {__version__}")
    parser.add_argument(
        "--annotations",
        type=Path,
        help="COCO instances JSON, a dataset or COCO folder (train + val), or a cocoseg-project.json",
    )
    parser.add_argument("--images", type=Path, help="image folder (default: found from the annotations)")
    parser.add_argument("--masks", type=Path, help="a mask folder written by `cocoseg masks` to show")
    parser.add_argument(
        "--panel", choices=("masks", "train", "predict", "evaluate"), help="panel tab to show"
    )
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="render the window to PATH (PNG) and exit"
    )
    parser.add_argument(
        "--size", type=_window_size, metavar="WxH",
        help=f"window size for --screenshot (default: {SCREENSHOT_SIZE[0]}x{SCREENSHOT_SIZE[1]})",
    )  # fmt: skip
    parser.add_argument(
        "--settings",
        type=Path,
        metavar="INI",
        help="keep settings in this INI file instead of the user's (screenshots use a temporary one)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, qt_args = build_parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.images is not None and args.annotations is None:
        print("cocoseg-gui: error: --images needs --annotations", file=sys.stderr)
        return 2
    from cocoseg_gui.gui.system_libs import check_before_qt

    missing = check_before_qt(qt_args)  # Qt's own message for this names no library
    if missing:
        print(missing, file=sys.stderr)
        return 1

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from cocoseg_gui.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName("cocoseg")
    app.setApplicationName("cocoseg")
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.settings is not None:
        settings = QSettings(str(args.settings), QSettings.Format.IniFormat)
    elif args.screenshot is not None:  # reproducible: never the user's window layout or options
        from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY

        tmp = tempfile.TemporaryDirectory(prefix="cocoseg-gui-")
        settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue(PROJECTS_ROOT_KEY, str(Path(tmp.name) / "projects"))  # demo projects: removed too
        from cocoseg_gui.gui import screenshots

        screenshots.temp_root = Path(tmp.name)  # demo masks and runs made for the picture are removed at exit
    else:
        settings = QSettings("cocoseg", "cocoseg")

    def build(window: MainWindow) -> None:
        from cocoseg_gui.gui.services.app_state import AppState

        window.build(AppState(settings))
        if args.panel:
            window.show_panel(args.panel)

    shot: Screenshot | None = None
    if args.screenshot is not None:  # unattended: built at once, the dataset's signals caught from the start
        window = MainWindow()
        window.show_dialogs = False
        build(window)
        window.resize(*(args.size or SCREENSHOT_SIZE))  # after build(), which restores the geometry
        shot = Screenshot(app, window, args.screenshot, args.panel)
        window.show()
        open_first_data(window, args)
    else:  # on screen at once; the workspaces and the data follow its first paint (ADR 0041)

        def build_and_open(w: MainWindow) -> None:
            build(w)
            open_first_data(w, args)

        window = MainWindow()
        window.show_starting(settings, build_and_open)

    try:
        if shot is not None:
            return shot.run()
        return int(app.exec())
    finally:
        if tmp is not None:
            from cocoseg_gui.gui import screenshots

            screenshots.temp_root = None
            tmp.cleanup()


def open_first_data(window: MainWindow, args: argparse.Namespace) -> None:
    """What the command line names, else the last project, else the bundled demo."""
    from cocoseg_gui.core.coco.dataset_locator import demo_dataset

    if args.annotations is not None and args.images is None and args.masks is None:
        window.open_path(args.annotations)  # a project file or COCO folder opens as a project (all splits)
    elif args.annotations is not None:
        window.open_dataset(args.annotations, args.images, args.masks)
    elif args.screenshot is None and args.masks is None and window.projects.reopen_last():
        pass  # the project and dataset open when the window last closed
    else:
        demo = demo_dataset()
        if demo.annotations.is_file() and args.screenshot is None and args.masks is None:
            window.open_path(demo.root)  # a project with the demo's train and val (val shown)
        elif demo.annotations.is_file():
            window.open_dataset(demo.annotations, demo.images_dir, args.masks)
        else:
            window.statusBar().showMessage("Open a COCO dataset with File > Open dataset… (or drop it here)")


class Screenshot:
    """Waits for the first image, lets the panel prepare, grabs the window, exits with a status."""

    def __init__(self, app: QCoreApplication, window: MainWindow, path: Path, panel: str | None) -> None:
        self.app, self.window, self.path, self.panel = app, window, Path(path), panel
        self.code = 1
        self.done = False
        self.warnings: list[str] = []
        self._waiting = True  # for the first image
        self.workspace: object = None  # the panel shown, once prepared
        # connected before the dataset is opened: an error found at once is caught too
        window.dataset_failed.connect(lambda message: self.finish(2, f"cannot open the dataset: {message}"))
        window.dataset_loaded.connect(self._on_dataset_loaded)

    def run(self) -> int:
        from PySide6.QtCore import QTimer

        from cocoseg_gui.gui.main_window import first_image_shown

        if not self.done:
            first_image_shown(self.window, self._prepare_panel, failed=self.warnings.append)
            QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, self._time_out)
            self.app.exec()
        self.window.shutdown()
        from cocoseg_gui.gui import screenshots

        screenshots.shutdown()
        return self.code

    def _time_out(self) -> None:
        waiting_for = "the first image" if self._waiting else f"the {self.panel} panel to prepare"
        self.finish(3, f"timed out waiting for {waiting_for}")

    def _on_dataset_loaded(self) -> None:
        """No image will come when the dataset (or its filtered list) has none: take the picture."""
        if self._waiting and self.window.images.current_image_id() is None:
            self.warnings.append("the dataset has no images to show")
            self._prepare_panel()

    def _prepare_panel(self) -> None:
        if not self._waiting:
            return
        self._waiting = False
        current = self.window.images.current
        for problem in (self.window.notice_label.toolTip(), current.note if current else ""):
            if problem:
                self.warnings.append(problem)
        if not self.panel:
            self.grab()
            return
        workspace = self.window.show_panel(self.panel)
        self.workspace = workspace
        from cocoseg_gui.gui import screenshots

        try:
            screenshots.prepare(self.panel, workspace, self.window.state, self.grab)
        except Exception as exc:
            self.finish(4, f"the {self.panel} panel could not prepare: {exc}")

    def grab(self) -> None:
        if self.done:
            return
        problem = getattr(self.workspace, "last_error", None)  # e.g. a checkpoint it could not load
        if problem:
            text = problem.text() if callable(getattr(problem, "text", None)) else str(problem)
            self.warnings.append(f"the {self.panel} panel: {text}")
        from PySide6.QtCore import QTimer

        # let thumbnails already requested arrive, then paint once more before grabbing
        self.window.images.wait_thumbnails(15000)
        self.app.processEvents()
        self.window.images.flush_thumbnails()
        QTimer.singleShot(0, self._save)

    def _save(self) -> None:
        self.app.processEvents()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        image = self.window.grab()
        if image.isNull() or not image.save(str(self.path), "PNG"):
            self.finish(1, f"could not write {self.path}")
        else:
            self.finish(0, f"saved {self.path} ({image.width()}×{image.height()})")

    def finish(self, code: int, message: str) -> None:
        if self.done:
            return
        self.done = True
        self.code = code
        for warning in self.warnings:
            print(f"cocoseg-gui: warning: {warning}", file=sys.stderr)
        print(f"cocoseg-gui: {'error: ' if code else ''}{message}", file=sys.stderr if code else sys.stdout)
        self.app.exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
