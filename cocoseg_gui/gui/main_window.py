"""The workbench window: dataset browser, image viewer with mask overlay and legend, job panels."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from PySide6.QtCore import QByteArray, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QResizeEvent,
    QScreen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QWidget,
)

if TYPE_CHECKING:  # the window's modules load in build(): the window shows before them (ADR 0041)
    from PySide6.QtCore import QSettings

    from cocoseg_gui.core.coco.dataset_locator import DatasetPaths
    from cocoseg_gui.core.coco.index import CocoIndex
    from cocoseg_gui.core.errors import CocoSegError
    from cocoseg_gui.core.jobs import Progress
    from cocoseg_gui.gui.services.app_state import AppState
    from cocoseg_gui.gui.services.preferences import Preferences
    from cocoseg_gui.gui.services.workers import JobWorker
    from cocoseg_gui.gui.widgets.preferences_dialog import PreferencesDialog
    from cocoseg_gui.gui.workspaces.evaluate_panel import EvaluatePanel
    from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel
    from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel
    from cocoseg_gui.gui.workspaces.protocol import ImagesApi, Workspace
    from cocoseg_gui.gui.workspaces.train_panel import TrainPanel

MAX_RECENT = 10
OPACITY_STEP = 0.1
# widgets with the Workspace protocol
WorkspaceTab: TypeAlias = "MasksPanel | TrainPanel | PredictPanel | EvaluatePanel"


def _masks(state: AppState) -> MasksPanel:
    from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel

    return MasksPanel(state)


# Train, Predict and Evaluate (and their modules) are built when first shown (ADR 0035): hidden at start
def _train(state: AppState) -> TrainPanel:
    from cocoseg_gui.gui.workspaces.train_panel import TrainPanel

    return TrainPanel(state)


def _predict(state: AppState) -> PredictPanel:
    from cocoseg_gui.gui.workspaces.predict_panel import PredictPanel

    return PredictPanel(state)


def _evaluate(state: AppState) -> EvaluatePanel:
    from cocoseg_gui.gui.workspaces.evaluate_panel import EvaluatePanel

    return EvaluatePanel(state)


WORKSPACES: dict[str, Callable[[AppState], WorkspaceTab]] = {
    "masks": _masks,  # a dock of the Images workspace: on screen at start
    "train": _train,
    "predict": _predict,
    "evaluate": _evaluate,
}
PANEL_NAMES = tuple(WORKSPACES)  # ("masks", "train", "predict", "evaluate"): tab order
LAYOUT_SETTLE_MS = 100  # restored docks reach their final widths over a few layout passes
PROBE_DELAY_MS = 3000  # after the first image; one ~0.3 s hitch (loading libtorch holds the GIL)


QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" (not exported by PySide6)


class _FitScrollArea(QScrollArea):
    """Scrolls only when the content's minimum size does not fit the viewport.

    QScrollArea sizes content with a word-wrapped label by its height-for-width, which Qt computes from
    the children's size *hints*: a workspace that fits at 1024x700 got a scroll bar and its bottom row (an
    axis label) below the fold. Capping the content at the viewport's height when its minimum fits keeps
    the scroll bar for windows that are really too small.
    """

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        content = self.widget()
        if content is not None:
            room = self.maximumViewportSize().height()  # the viewport without scroll bars
            fits = content.minimumSizeHint().height() <= room
            content.setMaximumHeight(room if fits else QWIDGETSIZE_MAX)


DEFAULT_WINDOW_SIZE = QSize(1440, 900)


def default_window_size(screen: QScreen | None) -> QSize:
    """The first window's size: 1440x900, but never larger than the screen's free area (on a 1024x700
    screen a larger window hangs off the edge, its status bar and Start buttons out of reach)."""
    if screen is None:
        return DEFAULT_WINDOW_SIZE
    return DEFAULT_WINDOW_SIZE.boundedTo(screen.availableGeometry().size())


def _scrollable(widget: QWidget | None) -> QScrollArea:
    """``widget`` in a frameless scroll area, so its minimum size never squeezes its neighbours (None:
    empty until the workspace is built)."""
    scroll = _FitScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    if widget is not None:
        scroll.setWidget(widget)
    return scroll


class WorkspaceTabs(Mapping[str, WorkspaceTab]):
    """The workspaces by name, each built on first use (``tabs["train"]`` builds Train).

    Building Train, Predict and Evaluate at start cost ~0.15 s of imports and widgets before the window
    showed, for tabs nobody sees yet. A workspace built later reads the current state (AppState, the
    workbench's project) when built, so the calls it missed need no replay. ``built()``: the ones that
    exist, for what must not build one (running jobs, shutdown, a project's restore).
    """

    def __init__(self, build: Callable[[str], WorkspaceTab]) -> None:
        self._build = build
        self._built: dict[str, WorkspaceTab] = {}

    def __getitem__(self, name: str) -> WorkspaceTab:
        if name not in self._built:
            if name not in WORKSPACES:
                raise KeyError(name)
            self._built[name] = self._build(name)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(WORKSPACES)

    def __len__(self) -> int:
        return len(WORKSPACES)

    def is_built(self, name: str) -> bool:
        return name in self._built

    def built(self) -> list[WorkspaceTab]:
        """The workspaces built so far, in tab order."""
        return [self._built[name] for name in WORKSPACES if name in self._built]


class MainWindow(QMainWindow):
    dataset_loaded = Signal()
    dataset_failed = Signal(str)  # the message shown
    image_shown = Signal(int)  # image id, once the viewer shows it with its mask (the Images workspace's)
    image_failed = Signal(int, str)  # image id, the message shown in the status bar

    def __init__(
        self,
        state: AppState | None = None,
        index_cache_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """The whole window for ``state``; None: an empty window that ``build`` fills (``show_starting``)."""
        super().__init__(parent)
        self.index_cache_dir = index_cache_dir
        self.show_dialogs = True  # False when unattended (--screenshot): errors go to dataset_failed only
        self._unsaved_edits = False  # the title's leading "* " (setWindowTitle adds it)
        self._built = False  # build() has run: the workspaces, menus and status bar exist
        self._closed_early = False  # closed while starting: build() no longer runs
        self._geometry_restored = False  # by starting(): build() leaves the window where it is
        self.setWindowTitle("cocoseg")
        self.setAcceptDrops(True)
        if state is not None:
            self.build(state)

    def show_starting(self, settings: QSettings, then: Callable[[MainWindow], None]) -> None:
        """Show this unbuilt window at once, at its remembered place, saying "Starting…"; once it has
        painted, ``then(window)`` runs (it calls ``build``). Importing the workspaces, the dataset code and
        numpy took ~0.5 s before anything was on screen (bench_gui's launch ratio; ADR 0041)."""
        assert not self._built, "a built window has started"
        self._restore_geometry(settings)
        label = QLabel("Starting cocoseg…")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(label)
        self.statusBar().showMessage("Starting…")
        _AfterFirstPaint(self, lambda: self._continue_start(then))
        self.show()

    def _continue_start(self, then: Callable[[MainWindow], None]) -> None:
        if not self._built and not self._closed_early:
            then(self)

    def build(self, state: AppState) -> None:
        """Workspaces, menus, status bar and settings for ``state`` (once)."""
        from cocoseg_gui.gui.dataset_actions import DatasetActions
        from cocoseg_gui.gui.format_actions import FormatActions
        from cocoseg_gui.gui.label_issue_actions import LabelIssueActions
        from cocoseg_gui.gui.project_actions import ProjectActions
        from cocoseg_gui.gui.services.preferences import read_preferences
        from cocoseg_gui.gui.weights_actions import WeightsActions
        from cocoseg_gui.gui.widgets.elided_label import ElidedLabel, ElidingStatusBar
        from cocoseg_gui.gui.window_hooks import WindowHooks
        from cocoseg_gui.gui.workspaces.images_workspace import ImagesWorkspace

        assert not self._built, "build() runs once"
        self.state = state
        self._load_worker: JobWorker | None = None
        self._pending_masks_dir: Path | None = None
        # a loaded dataset's images and masks are shown first: a mask folder that cannot be used is dropped
        # (MasksDirChanged) before the workspaces read the workbench's mask folder
        state.dataset_loaded.connect(self._on_dataset_loaded)
        # Workspaces (tabs filling the window): "Images & masks" (browser, viewer, legend, the Masks panel
        # as a dock); Train, Predict and Evaluate get the whole width for their plots and views.
        # The others are built when first shown (their tab page is empty until then).
        self._tab_pages: dict[str, QScrollArea] = {}  # Train, Predict, Evaluate: empty until built
        self.panels = WorkspaceTabs(self._build_workspace)
        # the window uses the Images workspace only through ImagesApi (tests/gui/test_workspace_protocol.py)
        images_tab = ImagesWorkspace(_scrollable(self.panels["masks"]))
        self.images: ImagesApi = images_tab
        self.images.set_opacity(read_preferences(state.settings).opacity)
        self.panel_tabs = QTabWidget()  # index i shows PANEL_NAMES[i] ("masks": the Images workspace)
        self.panel_tabs.setDocumentMode(True)
        self.panel_tabs.addTab(images_tab, "Images && masks")
        for name in PANEL_NAMES[1:]:
            self._tab_pages[name] = _scrollable(None)
            self.panel_tabs.addTab(self._tab_pages[name], name.capitalize())
        self.panel_tabs.currentChanged.connect(self._on_workspace_changed)
        self.setCentralWidget(self.panel_tabs)
        self._layout_pending = True  # default dock sizes, applied once shown unless a saved layout exists
        self._dock_check_pending = True  # a restored layout is checked once shown (_repair_dock_widths)
        self._probe_started = False

        # status bar
        # elided in the middle, full text in the tooltip: at 1024 px they share the bar without cutting
        self.setStatusBar(ElidingStatusBar())
        self.hover_label = ElidedLabel("")
        # caps: room for messages at 1024; at 1920 the summary had the room but was still elided at 440
        self.summary_label = ElidedLabel("No dataset", max_width=440, max_share=0.4)
        self.job_label = ElidedLabel("", max_width=160)
        self.notice_label = ElidedLabel("", max_width=140)  # a lasting problem of the open dataset
        self.notice_label.setVisible(False)
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(180)
        self.job_cancel = QToolButton()
        self.job_cancel.setText("Cancel")
        self.job_cancel.clicked.connect(self.cancel_loading)
        bar = self.statusBar()
        bar.addWidget(self.hover_label, 1)
        bar.addPermanentWidget(self.notice_label)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.job_cancel)
        bar.addPermanentWidget(self.summary_label)
        self._show_job(False)

        # the menus' controllers, each given what it may use of the window (ADR 0031)
        hooks = WindowHooks(self, self.statusBar().showMessage, self._fail, self._dialog_dir)
        # the project: New/Open project, dataset switcher, title
        self.projects = ProjectActions(state, hooks, self.open_dataset, self.workspaces, self.setWindowTitle)
        # File › New dataset from an image folder
        self.datasets = DatasetActions(state, hooks, self.projects.switch_dataset)
        # File › Import labels…, Export labels…
        self.formats = FormatActions(state, hooks, self.projects.switch_dataset)
        # Tools › likely label errors, uncertainty ranking
        images = self.images
        self.label_issues = LabelIssueActions(
            state, hooks, images.browser, images.viewer.scene(), lambda: images.current
        )
        images.image_shown.connect(lambda _id: self.label_issues.outline_current())
        # Tools › Download pretrained weights…
        self.weights = WeightsActions(self, lambda text: state.status_message.emit(text))
        self._build_actions()
        self._connect()
        self._restore_settings()
        self._built = True
        if self.isVisible():  # built after the first paint (show_starting): what showEvent does when shown
            self._on_first_show()

    # ------------------------------------------------------------------------------------------ setup
    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: str = "",
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        from cocoseg_gui.gui.services import shortcuts

        action = QAction(text, self)
        keys = shortcuts.keys(shortcut) if shortcut else ()
        if shortcut:
            shortcuts.bind(action, shortcut)
        action.setCheckable(checkable)
        action.setToolTip(f"{tip or text} ({', '.join(keys)})" if keys else tip or text)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if checkable:
            action.toggled.connect(lambda _checked: slot())
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        images = self.images
        self.act_open = a("&Open dataset…", self.open_dataset_dialog, "file.open_dataset")
        self.act_open_folder = a("Open dataset &folder…", self.open_folder_dialog, "file.open_folder")
        self.act_open_masks = a("Open &mask folder…", self.open_masks_dialog, "file.open_masks")
        self.act_quit = a("&Quit", self.close, "file.quit")
        self.act_next = a("Next image", lambda: images.step(1), "view.next")
        self.act_prev = a("Previous image", lambda: images.step(-1), "view.prev")
        self.act_fit = a("Zoom to &fit", images.zoom_fit, "view.fit")
        self.act_100 = a("Zoom &100%", images.zoom_100, "view.zoom_100")
        self.act_zoom_in = a("Zoom in", lambda: images.zoom_by(1.25), "view.zoom_in")
        self.act_zoom_out = a("Zoom out", lambda: images.zoom_by(0.8), "view.zoom_out")
        self.act_overlay = a(
            "Show &overlay",
            lambda: images.set_overlay(self.act_overlay.isChecked()),
            "view.overlay",
            checkable=True,
        )
        self.act_opacity_up = a(
            "Opacity up", lambda: self.set_opacity(self.opacity() + OPACITY_STEP), "view.opacity_up"
        )
        self.act_opacity_down = a(
            "Opacity down", lambda: self.set_opacity(self.opacity() - OPACITY_STEP), "view.opacity_down"
        )
        self.act_side = a(
            "&Side by side (image | mask)",
            lambda: images.set_side_by_side(self.act_side.isChecked()),
            "view.side_by_side",
            checkable=True,
        )
        self.act_outlines = a(
            "Instance out&lines",
            lambda: images.set_outlines(self.act_outlines.isChecked()),
            "view.outlines",
            checkable=True,
        )
        self.act_preferences = a("&Preferences…", self.show_preferences, "edit.preferences")
        self.act_preferences.setMenuRole(QAction.MenuRole.PreferencesRole)  # macOS: the app menu's
        self.act_shortcuts = a("&Keyboard shortcuts", self.show_shortcuts, "help.shortcuts")
        self.act_workspaces = [
            a(
                f"{'Images & masks' if name == 'masks' else name.capitalize()} workspace",
                partial(self.show_panel, name),
                f"workspace.{name}",
            )
            for name in PANEL_NAMES
        ]
        # keys that act on the image viewer only work in the Images workspace
        self._viewer_actions = [
            self.act_next,
            self.act_prev,
            self.act_fit,
            self.act_100,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_overlay,
            self.act_opacity_up,
            self.act_opacity_down,
            self.act_side,
            self.act_outlines,
        ]
        self.act_about = a("&About cocoseg", self._show_about)
        self.act_overlay.setChecked(True)
        self.act_outlines.setChecked(True)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_open_folder)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.act_open_masks)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self.datasets.install(file_menu, self.act_quit)
        self.formats.install(file_menu, self.act_quit)
        edit_menu = menus.addMenu("&Edit")  # the mask editor's (Images workspace)
        for act in (
            images.act_undo,
            images.act_redo,
            None,
            images.act_edit,
            images.act_save,
            images.act_autosave,
            None,
            self.act_preferences,
        ):
            edit_menu.addAction(act) if act is not None else edit_menu.addSeparator()
        view = menus.addMenu("&View")
        for act in (
            self.act_next,
            self.act_prev,
            None,
            self.act_fit,
            self.act_100,
            self.act_zoom_in,
            self.act_zoom_out,
            None,
            self.act_overlay,
            self.act_opacity_up,
            self.act_opacity_down,
            self.act_outlines,
            self.act_side,
            None,
            *self.act_workspaces,
            None,
        ):
            view.addAction(act) if act is not None else view.addSeparator()
        for dock in self.images.docks():
            view.addAction(dock.toggleViewAction())
        tools_menu = menus.addMenu("&Tools")
        self.label_issues.install(tools_menu)
        tools_menu.addSeparator()
        self.weights.install(tools_menu)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

        tools = self.addToolBar("Main")
        tools.setObjectName("toolbar_main")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (
            self.act_open,
            None,
            self.act_prev,
            self.act_next,
            None,
            self.act_fit,
            self.act_100,
            None,
            self.act_overlay,
            self.act_outlines,
            self.act_side,
        ):
            tools.addAction(act) if act is not None else tools.addSeparator()
        self.toolbar = tools
        self.projects.install(file_menu, self.act_open, tools)

    def _connect(self) -> None:
        s = self.state
        s.masks_dir_changed.connect(self._on_masks_dir_changed)
        s.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.open_image_requested.connect(self.images.select_image)
        s.checkpoint_changed.connect(lambda: self.images.set_checkpoint(s.checkpoint_path))
        s.compare_requested.connect(self._on_compare_requested)  # Evaluate -> compare view
        self.images.edits_changed.connect(self._on_edits_changed)
        self.images.masks_changed.connect(self._update_summary)  # "N masks" follows every save
        self.images.masks_changed.connect(self.masks_panel.refresh_report)  # and the Masks report
        self.images.edit_mode_changed.connect(
            lambda _on: self._on_workspace_changed(self.panel_tabs.currentIndex())
        )
        images = self.images
        images.rows_changed.connect(lambda _shown, _total: self._update_summary())
        images.image_shown.connect(self.image_shown)
        images.image_failed.connect(self.image_failed)
        images.status_message.connect(self.statusBar().showMessage)
        images.hover_text.connect(self.hover_label.setText)

    @property
    def masks_panel(self) -> MasksPanel:
        from cocoseg_gui.gui.workspaces.masks_panel import MasksPanel

        panel = self.panels["masks"]
        assert isinstance(panel, MasksPanel)
        return panel

    def _build_workspace(self, name: str) -> WorkspaceTab:
        """Build the workspace ``name`` into its tab page; it takes the open project's defaults as the
        ones built at start did when the project opened."""
        workspace = WORKSPACES[name](self.state)
        page = self._tab_pages.get(name)
        if page is not None:  # the Masks panel is placed by the Images workspace
            page.setWidget(workspace)
            workspace.restore(self.state.project)
        return workspace

    def _on_compare_requested(self, path: str) -> None:
        fresh = not self.panels.is_built("predict")
        self.show_panel("predict")
        if fresh:  # built just now: Qt skips the slots connected while a signal is being emitted
            self.state.compare_requested.emit(path)

    # ---------------------------------------------------------------------------------------- datasets
    def open_dataset(
        self, annotations: Path, images_dir: Path | None = None, masks_dir: Path | None = None
    ) -> None:
        """Load ``annotations`` in a worker (images auto-detected when not given); errors -> dialog."""
        from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, locate
        from cocoseg_gui.core.coco.index import CocoIndex
        from cocoseg_gui.core.errors import CocoSegError, DatasetError
        from cocoseg_gui.gui.services.workers import JobWorker

        try:
            paths = DatasetPaths(Path(annotations), Path(images_dir)) if images_dir else locate(annotations)
            if not paths.images_dir.is_dir():
                raise DatasetError(paths.images_dir, "image folder not found")
        except CocoSegError as exc:
            found = self._ask_images_dir(Path(annotations), exc)
            if found is None:
                return
            paths = found
        paths = DatasetPaths(paths.annotations.resolve(), paths.images_dir.resolve())
        self.cancel_loading()
        self._pending_masks_dir = Path(masks_dir).resolve() if masks_dir else None
        worker = JobWorker(CocoIndex.load, paths.annotations, cache_dir=self.index_cache_dir)
        worker.progress.connect(self._on_load_progress)
        worker.succeeded.connect(lambda index: self._on_loaded(worker, index, paths))
        worker.failed.connect(lambda exc: self._on_load_failed(worker, exc))
        worker.cancelled.connect(lambda: self._on_load_cancelled(worker))
        self._load_worker = worker
        self.job_label.setText(f"Loading {paths.annotations.name}…")
        self.job_progress.setRange(0, 0)
        self._show_job(True)
        worker.start()

    def _ask_images_dir(self, annotations: Path, problem: CocoSegError) -> DatasetPaths | None:
        """A COCO JSON whose image folder is not beside it (an exported one, a moved folder): the folder
        the user chose for it before, else asked for and remembered; None when not opened (said why)."""
        from cocoseg_gui.core.coco.dataset_locator import DatasetPaths

        if not (annotations.is_file() and annotations.suffix.lower() == ".json"):
            self._fail(problem)
            return None
        remembered = self.datasets.remembered_images_dir(annotations)
        if remembered is not None:
            return DatasetPaths(annotations, remembered)
        if not self.show_dialogs:
            self._fail(problem)
            return None
        folder = QFileDialog.getExistingDirectory(
            self, f"Choose the image folder of {annotations.name}", str(annotations.parent)
        )
        if not folder:
            self.statusBar().showMessage(f"{annotations.name} not opened: no image folder chosen", 10000)
            return None
        self.datasets.remember_images_dir(annotations, Path(folder))
        return DatasetPaths(annotations, Path(folder))

    def open_path(self, path: Path) -> None:
        """A project, a COCO folder (all its splits), a JSON file or an image folder (drop, recent list)."""
        if not self.projects.open_path(Path(path)):
            self.open_dataset(Path(path))

    def cancel_loading(self) -> None:
        if self._load_worker is not None:
            self._load_worker.cancel()
            self._load_worker = None
            self._show_job(False)

    def is_loading(self) -> bool:
        return self._load_worker is not None

    def _on_load_progress(self, event: Progress) -> None:
        if event.total:
            self.job_progress.setRange(0, 1000)
            self.job_progress.setValue(int(1000 * event.fraction))
        if event.message:
            self.job_label.setText(event.message)

    def _on_loaded(self, worker: JobWorker, index: CocoIndex, paths: DatasetPaths) -> None:
        from cocoseg_gui.core.coco.dataset_locator import default_masks_dir
        from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
        from cocoseg_gui.core.project.workbench import LoadedDataset

        if worker is not self._load_worker:
            return  # superseded by a later open
        self._load_worker = None
        self._show_job(False)
        masks_dir = self._pending_masks_dir
        entry = self.projects.attach(paths)  # the project's dataset (an implicit project if none)
        if masks_dir is None and entry.masks is not None and (entry.masks / IMAGE_MAP_FILE).is_file():
            masks_dir = entry.masks  # the masks the project recorded for this dataset
        if masks_dir is None and (default_masks_dir(paths) / IMAGE_MAP_FILE).is_file():
            masks_dir = default_masks_dir(paths)  # masks generated earlier for this dataset
        self.state.workbench.set_loaded(LoadedDataset(index, paths.annotations, paths.images_dir), masks_dir)
        self._add_recent(paths)
        if index.problems:
            self.statusBar().showMessage(
                f"{len(index.problems)} problems in {paths.annotations.name}: {index.problems[0]}", 15000
            )
        self.dataset_loaded.emit()

    def _on_load_failed(self, worker: JobWorker, exc: BaseException) -> None:
        if worker is self._load_worker:
            self._load_worker = None
            self._show_job(False)
            self._fail(exc)

    def _on_load_cancelled(self, worker: JobWorker) -> None:
        if worker is self._load_worker:
            self._load_worker = None
            self._show_job(False)
        self.statusBar().showMessage("Loading cancelled", 5000)

    def _fail(self, exc: BaseException | str) -> None:
        from cocoseg_gui.gui.widgets.dialogs import error_text, show_error

        message = error_text(exc)
        self.statusBar().showMessage(f"Could not open the dataset: {message}", 15000)
        if self.show_dialogs:
            show_error(self, "Could not open the dataset", message)
        self.dataset_failed.emit(message)

    def _report(self, title: str, exc: BaseException | str) -> None:
        """A problem the user did not ask about: status bar, and a dialog unless unattended."""
        from cocoseg_gui.gui.widgets.dialogs import error_text, show_error

        self.statusBar().showMessage(f"{title}: {error_text(exc)}", 15000)
        if self.show_dialogs:
            show_error(self, title, exc)

    def set_notice(self, text: str) -> None:
        """Show (or clear, with "") a lasting warning in the status bar, e.g. classes left out."""
        short = text.split(":", 1)[0] if len(text) > 80 else text
        self.notice_label.setText(f"⚠ {short}" if text else "")
        self.notice_label.setToolTip(text)
        self.notice_label.setVisible(bool(text))

    def _show_job(self, visible: bool) -> None:
        for w in (self.job_label, self.job_progress, self.job_cancel):
            w.setVisible(visible)

    def _on_dataset_loaded(self) -> None:
        s = self.state
        if s.index is None or s.images_dir is None:
            return
        self._after_source(self.images.set_dataset(s.index, s.images_dir, s.masks_dir))
        self.projects.update_title()
        self._update_summary()

    def _dataset_name(self) -> str:
        from cocoseg_gui.core.coco.dataset_locator import DatasetPaths

        s = self.state
        if s.annotations_path is None or s.images_dir is None:
            return ""
        return DatasetPaths(s.annotations_path, s.images_dir).display_name

    def _on_masks_dir_changed(self) -> None:
        if not self.images.has_dataset() or (
            self.images.masks_dir() is None and self.state.masks_dir is None
        ):
            return  # no dataset shown yet, or still none: nothing to reload
        self._after_source(self.images.set_masks_dir(self.state.masks_dir))
        self._update_summary()

    def _after_source(self, problem: CocoSegError | None) -> None:
        """Say why the mask folder could not be used (the images are then shown without it)."""
        if problem is not None:
            self._report("Could not open the mask folder", problem)
            self.state.workbench.set_masks_dir(None)  # shown without it: the workspaces follow
        self.set_notice(" ".join(self.images.notices()))

    def _update_summary(self) -> None:
        s = self.state
        if s.index is None:
            self.summary_label.setText("No dataset")
            return
        shown, total = self.images.shown_count(), len(s.index)
        text = (
            f"{self._dataset_name()} · {shown} of {total} images · "
            f"{s.index.num_annotations()} annotations · {len(s.index.categories)} categories"
        )
        masks = self.images.mask_count()
        if masks is not None:
            text += f" · {masks} masks"
        self.summary_label.setText(text)

    # ----------------------------------------------------------------------------------------- dialogs
    def open_dataset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open COCO annotations", self._dialog_dir(), "COCO annotations (*.json);;All files (*)"
        )
        if path:
            self.open_path(Path(path))

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a COCO dataset folder", self._dialog_dir())
        if path:
            self.open_path(Path(path))

    def open_masks_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Open a mask folder (made by Generate masks)", self._dialog_dir()
        )
        if path:
            self.open_masks(Path(path))

    def open_masks(self, path: Path) -> None:
        from cocoseg_gui.core.errors import DatasetError
        from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
        from cocoseg_gui.gui.widgets.dialogs import show_error

        if not (Path(path) / IMAGE_MAP_FILE).is_file():
            show_error(
                self, "Open mask folder", DatasetError(Path(path), f"no {IMAGE_MAP_FILE}: not a mask folder")
            )
            return
        self.state.set_masks_dir(Path(path))

    def _dialog_dir(self) -> str:
        return str(self.state.annotations_path.parent) if self.state.annotations_path else str(Path.home())

    def show_shortcuts(self) -> None:
        from cocoseg_gui.gui.widgets.dialogs import ShortcutsDialog

        ShortcutsDialog(self.shortcut_table(), self).exec()

    def show_preferences(self) -> PreferencesDialog:
        """Edit › Preferences…: OK writes what changed and the window follows at once."""
        from cocoseg_gui.gui.services.preferences import read_preferences
        from cocoseg_gui.gui.widgets.preferences_dialog import PreferencesDialog

        before = read_preferences(self.state.settings)
        dialog = PreferencesDialog(before, self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.preferences(), before))
        self.preferences_dialog = dialog
        dialog.open()
        return dialog

    def apply_preferences(self, new: Preferences, old: Preferences) -> None:
        from cocoseg_gui.gui.services.preferences import write_preferences

        changed = write_preferences(self.state.settings, new, old)
        if "opacity" in changed:
            self.set_opacity(new.opacity)
        if "outline_issues" in changed:
            self.label_issues.act_show_outlines.setChecked(new.outline_issues)
        if "projects_root" in changed:
            self.state.workbench.projects_root = new.projects_root  # the next implicit project goes there
        self.images.use_settings(self.state.settings)  # autosave and the click-to-segment weights
        self.statusBar().showMessage("Preferences saved" if changed else "Preferences unchanged", 4000)

    def shortcut_table(self) -> list[tuple[str, str]]:
        from cocoseg_gui.gui.services import shortcuts

        return shortcuts.help_rows()  # every key of the app, from the one table

    # -------------------------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and self._built:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and self._built:
            from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE

            event.acceptProposedAction()
            path = Path(urls[0].toLocalFile())
            if path.is_dir() and (path / IMAGE_MAP_FILE).is_file() and self.state.index is not None:
                self.open_masks(path)
            else:
                self.open_path(path)

    # ------------------------------------------------------------------------------------------ recent
    def recent_datasets(self) -> list[DatasetPaths]:
        from cocoseg_gui.core.coco.dataset_locator import DatasetPaths

        raw = self.state.settings.value("recent/datasets", "[]")
        try:
            items = json.loads(str(raw))
        except ValueError:
            return []
        return [
            DatasetPaths(Path(i["annotations"]), Path(i["images"]))
            for i in items
            if isinstance(i, dict) and "annotations" in i and "images" in i
        ]

    def _add_recent(self, paths: DatasetPaths) -> None:
        items = [p for p in self.recent_datasets() if p != paths]
        items = [paths, *items][:MAX_RECENT]
        self.state.settings.setValue(
            "recent/datasets",
            json.dumps([{"annotations": str(p.annotations), "images": str(p.images_dir)} for p in items]),
        )

    def _show_about(self) -> None:
        from cocoseg_gui.gui.widgets.dialogs import show_about

        show_about(self)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        projects = self.projects.fill_recent_projects(self.recent_menu)
        recent = self.recent_datasets()
        for paths in recent:
            act = self.recent_menu.addAction(f"{paths.display_name} — {paths.annotations}")
            act.triggered.connect(lambda _c=False, p=paths: self.open_dataset(p.annotations, p.images_dir))
        if not recent and not projects:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(
                "Clear list", lambda: self.state.settings.setValue("recent/datasets", "[]")
            )

    # -------------------------------------------------------------------------------------------- view
    def set_opacity(self, value: float) -> None:
        from cocoseg_gui.gui.services.preferences import OPACITY_KEY

        self.images.set_opacity(value)
        self.state.settings.setValue(OPACITY_KEY, self.opacity())
        self.statusBar().showMessage(f"Overlay opacity {self.opacity():.0%}", 2000)

    def opacity(self) -> float:
        return self.images.opacity()

    def show_panel(self, name: str) -> WorkspaceTab:
        """Switch to the workspace of ``name`` (the Masks panel lives in the Images workspace)."""
        panel = self.panels[name]
        self.panel_tabs.setCurrentIndex(PANEL_NAMES.index(name))
        if name == "masks":
            self.images.show_masks_dock()
        return panel

    def _on_workspace_changed(self, index: int) -> None:
        from cocoseg_gui.gui.services import shortcuts

        if index > 0:
            self.panels[PANEL_NAMES[index]]  # built on first show
        # in Edit mode 1 picks a class and [ ] size the brush: the view's keys step aside
        editing = self.images.editing
        for act in self._viewer_actions:
            act.setEnabled(index == 0 and not (editing and shortcuts.yields_to_editing(act)))
        if index == 0 and not self._layout_pending:
            QTimer.singleShot(LAYOUT_SETTLE_MS, self._repair_dock_widths)

    # ---------------------------------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        s = self.state.settings
        self.images.use_settings(s)  # the editor's autosave-on-switch setting
        if not self._geometry_restored:
            self._restore_geometry(s)
        window_state = s.value("window/state")
        if isinstance(window_state, QByteArray | bytes) and window_state:
            self.restoreState(window_state)
        self._layout_pending = not self.images.restore_layout(s.value("window/browse_state"))
        self.act_outlines.setChecked(str(s.value("view/outlines", "true")).lower() == "true")
        self.act_side.setChecked(str(s.value("view/side_by_side", "false")).lower() == "true")
        tab = str(s.value("view/panel", "masks"))
        if tab in PANEL_NAMES:
            self.panel_tabs.setCurrentIndex(PANEL_NAMES.index(tab))

    def _restore_geometry(self, settings: QSettings) -> None:
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(default_window_size(QGuiApplication.primaryScreen()))
        self._geometry_restored = True

    def save_settings(self) -> None:
        from cocoseg_gui.gui.services.preferences import OPACITY_KEY

        s = self.state.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/browse_state", self.images.save_layout())
        s.setValue(OPACITY_KEY, self.opacity())
        s.setValue("view/outlines", self.act_outlines.isChecked())
        s.setValue("view/side_by_side", self.act_side.isChecked())
        s.setValue("view/panel", PANEL_NAMES[max(0, self.panel_tabs.currentIndex())])
        self.masks_panel.save_settings()
        s.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._built:
            self._on_first_show()

    def _on_first_show(self) -> None:
        if not self._probe_started:  # torch loads in the background once the window is up
            self._probe_started = True
            QTimer.singleShot(PROBE_DELAY_MS, _start_device_probe)
        if self._layout_pending:
            self._layout_pending = False
            self.images.default_layout(self.width(), self.height())
        else:  # a restored layout: checked once laid out at this window's size
            QTimer.singleShot(LAYOUT_SETTLE_MS, self._repair_dock_widths)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._built:
            self.summary_label.updateGeometry()  # its cap follows the window's width (max_share)

    def _repair_dock_widths(self) -> None:
        """Default dock sizes when the restored ones leave a dock or the image view unusably narrow
        (checked once, when the Images workspace is first on screen)."""
        if not self._dock_check_pending or not self.images.isVisible():
            return
        self._dock_check_pending = False
        if not self.images.layout_usable():
            self.images.default_layout(self.width(), self.height())

    def workspaces(self) -> list[Workspace]:
        """The workspace tabs built so far, in tab order: the window talks to them only through the
        protocol (one not built yet has no job to stop and reads the project when built)."""
        return [self.images, *self.panels.built()]

    def running_jobs(self) -> list[str]:
        """Long jobs that quitting would stop ('mask generation', 'training'...), from each busy_job()."""
        busy = [ws.busy_job() for ws in self.workspaces()] + [
            self.label_issues.busy_job(),
            self.weights.busy_job(),
        ]
        return [job for job in busy if job]

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._built:  # closed while starting: nothing to save or stop
            self._closed_early = True
            super().closeEvent(event)
            return
        if not self._settle_unsaved_edits():
            event.ignore()
            return
        from cocoseg_gui.gui.widgets.dialogs import confirm_quit

        jobs = self.running_jobs()
        if jobs and self.show_dialogs and not confirm_quit(self, jobs):
            event.ignore()
            return
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)

    def setWindowTitle(self, title: str) -> None:
        """The title, with a leading "* " while mask edits are unsaved (whoever sets the title)."""
        self._base_title = title.removeprefix("* ")
        super().setWindowTitle(f"* {self._base_title}" if self._unsaved_edits else self._base_title)

    def _on_edits_changed(self) -> None:
        unsaved = self.images.has_unsaved_edits()
        if unsaved != self._unsaved_edits:
            self._unsaved_edits = unsaved
            self.setWindowTitle(self._base_title)

    def _settle_unsaved_edits(self) -> bool:
        """Quitting with unsaved mask edits asks Save / Discard / Cancel; False: stay open."""
        from cocoseg_gui.gui.widgets.dialogs import ask_unsaved_edits

        files = self.images.unsaved_files()
        if not files or not self.show_dialogs:
            return True
        answer = ask_unsaved_edits(self, files)
        if answer == QMessageBox.StandardButton.Save:
            return self.images.save_all()
        if answer == QMessageBox.StandardButton.Discard:
            self.images.discard_all()
            return True
        return False

    def shutdown(self) -> None:
        """Stop background work: loading, every workspace's jobs, thumbnail and image decoders."""
        from cocoseg_gui.gui.services.workers import stop_all_jobs

        if not self._built:
            return
        worker = self._load_worker
        self.cancel_loading()
        if worker is not None:
            worker.wait(10000)
        for workspace in self.workspaces():
            workspace.shutdown()
        stop_all_jobs()  # any job left (a prediction, the probe): no pool thread outlives the window


def _start_device_probe() -> None:
    from cocoseg_gui.gui.services.device_probe import device_probe

    device_probe().start()


class _AfterFirstPaint(QObject):
    """Calls ``then`` (once) after ``window`` has first painted, or after ``FALLBACK_MS`` if it has not
    (a minimised start): work started earlier froze a blank window on some window managers."""

    FALLBACK_MS = 1000

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._then: Callable[[], None] | None = then
        window.installEventFilter(self)
        QTimer.singleShot(self.FALLBACK_MS, self, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._then is not None:
            QTimer.singleShot(0, self, self._fire)  # after this paint has reached the screen
        return False

    def _fire(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            parent = self.parent()
            if isinstance(parent, QWidget):
                parent.removeEventFilter(self)
            then()


def first_image_shown(
    window: MainWindow, callback: Callable[[], None], failed: Callable[[str], None] | None = None
) -> None:
    """Call ``callback`` once, when the window first shows an image (or at once if it already has).

    With ``failed``, an image that cannot be shown ends the wait too: ``failed(message)``, then
    ``callback()``, so an unattended run goes on with the problem in the status bar.
    """
    if window.images.current is not None:
        QTimer.singleShot(0, callback)
        return

    def disconnect() -> None:
        window.image_shown.disconnect(shown)
        if failed is not None:
            window.image_failed.disconnect(not_shown)

    def shown(_image_id: int) -> None:
        disconnect()
        callback()

    def not_shown(_image_id: int, message: str) -> None:
        disconnect()
        assert failed is not None
        failed(message)
        callback()

    window.image_shown.connect(shown)
    if failed is not None:
        window.image_failed.connect(not_shown)
