"""The project in the window: File › New project… / Open project…, the dataset switcher, recent projects, the
title, and reopening what was open last (ADR 0011).

App layer: it drives the Qt-free ``core.project.workbench.Workbench`` behind ``AppState`` and, through what
the window hands it (``WindowHooks``, opening a dataset, the workspaces for their ``restore``, the title),
the window; it never imports the window (ADR 0031). Opening a COCO folder makes a project with every split
found (train + val); opening one JSON makes an implicit project, saved at the first Generate or Start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMenu, QMessageBox, QToolBar

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, locate
from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
from cocoseg_gui.core.project.project import PROJECT_FILE, DatasetEntry, Project, coco_folder_datasets
from cocoseg_gui.core.project.workbench import implicit_project
from cocoseg_gui.gui.services.app_state import AppState
from cocoseg_gui.gui.widgets.datasets_dialog import DatasetsDialog
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.widgets.project_dialog import NewProjectDialog
from cocoseg_gui.gui.window_hooks import WindowHooks
from cocoseg_gui.gui.workspaces.protocol import Workspace

OpenDataset = Callable[[Path, Path | None, Path | None], None]  # annotations, images (None: found), masks

LAST_KEY = "session/last"  # {"project": file | None, "dataset": name, "annotations": ..., "images": ...}
RECENT_KEY = "recent/projects"  # saved project files, newest first
MAX_RECENT = 10


class ProjectActions(QObject):
    """Menus, toolbar switcher and start-up reopening for the window's project."""

    def __init__(
        self,
        state: AppState,
        hooks: WindowHooks,
        open_dataset: OpenDataset,
        workspaces: Callable[[], list[Workspace]],
        set_title: Callable[[str], None],
    ) -> None:
        super().__init__(hooks.parent)
        window = hooks.parent
        self.hooks = hooks
        self.state = state
        self.workbench = state.workbench
        self._open_dataset = open_dataset  # loads in a worker; the window shows it when loaded
        self._workspaces = workspaces
        self._set_title = set_title
        self.act_new = QAction("&New project…", window)
        self.act_new.triggered.connect(lambda _c=False: self.new_project_dialog())
        self.act_open = QAction("Open &project…", window)
        self.act_open.triggered.connect(lambda _c=False: self.open_project_dialog())
        self.act_manage = QAction("Project data&sets…", window)
        self.act_manage.setToolTip("Rename datasets, change their roles, add a mask folder, remove one")
        self.act_manage.triggered.connect(lambda _c=False: self.datasets_dialog())
        self.act_save_as = QAction("Save project &as…", window)
        self.act_save_as.triggered.connect(lambda _c=False: self.save_project_as_dialog())
        self.datasets_menu = QMenu("&Datasets of this project", window)
        self.datasets_menu.aboutToShow.connect(self._fill_datasets_menu)
        self.combo = QComboBox()
        self.combo.setObjectName("dataset_switcher")
        self.combo.setToolTip("The project's datasets: switch to another (its masks come with it)")
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.activated.connect(self._on_combo)
        self.combo_label = QLabel(" Dataset ")
        self.state.project_changed.connect(self._on_project_changed)
        self.state.dataset_entry_changed.connect(self._on_entry_changed)
        self.state.masks_dir_changed.connect(self._on_masks_attached)
        self.state.dataset_loaded.connect(self._on_masks_attached)  # a dataset comes with its masks

    # --- menus -----------------------------------------------------------------------------------------
    def install(self, file_menu: QMenu, before: QAction, toolbar: QToolBar) -> None:
        file_menu.insertAction(before, self.act_new)
        file_menu.insertAction(before, self.act_open)
        file_menu.insertAction(before, self.act_save_as)
        file_menu.insertSeparator(before)
        file_menu.insertMenu(before, self.datasets_menu)
        file_menu.insertAction(before, self.act_manage)
        file_menu.insertSeparator(before)
        toolbar.insertWidget(toolbar.actions()[0], self.combo_label)
        toolbar.insertWidget(toolbar.actions()[1], self.combo)
        toolbar.insertSeparator(toolbar.actions()[2])

    def _fill_datasets_menu(self) -> None:
        self.datasets_menu.clear()
        project = self.workbench.project
        if project is None or not project.datasets:
            self.datasets_menu.addAction("(no project open)").setEnabled(False)
            return
        for entry in project.datasets:
            act = self.datasets_menu.addAction(entry.label)
            act.setCheckable(True)
            act.setChecked(self.workbench.dataset is not None and entry.name == self.workbench.dataset.name)
            act.triggered.connect(lambda _c=False, name=entry.name: self.switch_dataset(name))

    def fill_recent_projects(self, menu: QMenu) -> bool:
        """The recent projects at the top of File › Open recent; False when there are none."""
        files = [f for f in self.recent_projects() if f.is_file()]
        for file in files:
            try:
                name = Project.load(file).name
            except DatasetError:
                continue
            act = menu.addAction(f"{name} — {file.parent}")
            act.triggered.connect(lambda _c=False, f=file: self.open_project_file(f))
        if files:
            menu.addSeparator()
        return bool(files)

    def recent_projects(self) -> list[Path]:
        try:
            items = json.loads(str(self.state.settings.value(RECENT_KEY, "[]")))
        except ValueError:
            return []
        return [Path(i) for i in items if isinstance(i, str)]

    def _add_recent_project(self, file: Path) -> None:
        items = [f for f in self.recent_projects() if f != file]
        self.state.settings.setValue(RECENT_KEY, json.dumps([str(f) for f in [file, *items][:MAX_RECENT]]))

    # --- dialogs -----------------------------------------------------------------------------------
    def new_project_dialog(self) -> NewProjectDialog:
        """File › New project…: shown (non-blocking); the project opens when Create project is pressed."""
        start = self.workbench.projects_root if self.workbench.projects_root.is_dir() else Path.home()
        dialog = NewProjectDialog(start, self.hooks.parent)
        dialog.accepted.connect(lambda: self.create_project(dialog.result_project))
        dialog.open()
        return dialog

    def datasets_dialog(self) -> DatasetsDialog | None:
        """File › Project datasets…: shown (non-blocking); each change is saved as it is made."""
        if self.workbench.project is None:
            show_error(
                self.hooks.parent,
                "Project datasets",
                "No project is open: open a dataset or a project first.",
            )
            return None
        dialog = DatasetsDialog(self.workbench, self.hooks.parent)
        dialog.removed.connect(self._on_dataset_removed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_dataset_removed(self, _name: str, was_open: bool) -> None:
        if was_open and self.workbench.dataset is not None:
            self.switch_dataset(self.workbench.dataset.name)  # the open one was removed: the first left

    def save_project_as_dialog(self) -> Path | None:
        """File › Save project as…: the project file in another folder (the masks and runs stay where
        they are, recorded); that file becomes the open project."""
        project = self.workbench.project
        if project is None:
            show_error(
                self.hooks.parent, "Save project as", "No project is open: open a dataset or a project first."
            )
            return None
        path, _ = QFileDialog.getSaveFileName(
            self.hooks.parent, "Save project as", str(project.folder.parent / f"{project.folder.name}-copy"),
            f"cocoseg projects ({PROJECT_FILE});;All files (*)",
        )  # fmt: skip
        return self.save_project_as(Path(path)) if path else None

    def save_project_as(self, file: Path) -> Path | None:
        target = file if file.suffix.lower() == ".json" else file / PROJECT_FILE
        project = self.workbench.project
        if target.exists() and (project is None or target.resolve() != project.file.resolve()):
            answer = QMessageBox.question(
                self.hooks.parent, "Save project as", f"{target} exists. Replace that project file?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        try:
            saved = self.workbench.save_project_as(target)
        except (CocoSegError, OSError) as exc:
            show_error(self.hooks.parent, "Save project as", exc)
            return None
        self.hooks.show_status(f"project saved as {saved}", 10000)
        return saved

    def create_project(self, project: Project) -> None:
        try:
            project.save()
        except OSError as exc:
            show_error(self.hooks.parent, "New project", exc)
            return
        self.open_project(project)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.hooks.parent, "Open project", str(self.workbench.projects_root),
            f"cocoseg projects ({PROJECT_FILE});;All files (*)",
        )  # fmt: skip
        if path:
            self.open_project_file(Path(path))

    # --- opening ---------------------------------------------------------------------------------------
    def open_path(self, path: Path) -> bool:
        """A project file or folder, or a COCO folder with its splits; False: let the window open it."""
        path = Path(path).expanduser()
        if path.name == PROJECT_FILE or (path.is_dir() and (path / PROJECT_FILE).is_file()):
            self.open_project_file(path)
            return True
        if path.is_dir() and coco_folder_datasets(path):
            self.open_coco_folder(path)
            return True
        return False

    def open_project_file(self, file: Path, dataset: str | None = None) -> bool:
        try:
            project = Project.load(file)
        except DatasetError as exc:
            self.hooks.fail(exc)
            return False
        self.open_project(project, dataset)
        return True

    def open_coco_folder(self, root: Path) -> None:
        """Every split of ``root`` in one project (train, val…); the split the window would open shows."""
        found = coco_folder_datasets(root)
        try:
            first = locate(root)
        except CocoSegError:
            annotations, images = found[0].annotations, found[0].images
            assert annotations is not None and images is not None  # a COCO folder's datasets have both
            first = DatasetPaths(annotations, images)
        project, implicit = implicit_project(self.workbench.projects_root, first)
        known = len(project.datasets)
        for entry in found:
            project.add_dataset(entry)
        if not implicit and len(project.datasets) > known:
            project.save()
        self.workbench.open_project(project, None, implicit=implicit)
        shown = self.workbench.dataset_for(
            DatasetPaths(first.annotations.resolve(), first.images_dir.resolve())
        )
        self.switch_dataset(shown.name if shown is not None else None)

    def open_project(self, project: Project, dataset: str | None = None) -> None:
        self.workbench.open_project(project, dataset)
        self.switch_dataset(self.workbench.dataset.name if self.workbench.dataset else None)

    def switch_dataset(self, name: str | None) -> None:
        """Open the project's dataset ``name`` in the window, with its recorded mask folder."""
        project = self.workbench.project
        if project is None or name is None:
            return
        entry = project.dataset(name)
        if entry.annotations is None or entry.images is None:
            self.hooks.fail(
                DatasetError(entry.images or project.file, f"{entry.label} has no annotations file to browse")
            )
            return
        if self.workbench.dataset is None or self.workbench.dataset.name != name:
            self.workbench.set_dataset(entry)
        masks = entry.masks if entry.masks is not None and (entry.masks / IMAGE_MAP_FILE).is_file() else None
        self._open_dataset(entry.annotations, entry.images, masks)

    def attach(self, paths: DatasetPaths) -> DatasetEntry:
        """A dataset finished loading: the project's entry for it (an implicit project if none)."""
        return self.workbench.attach(paths)

    def _on_combo(self, row: int) -> None:
        name = self.combo.itemData(row)
        if name and (self.workbench.dataset is None or name != self.workbench.dataset.name):
            self.switch_dataset(str(name))

    # --- reacting to the workbench -------------------------------------------------------------------
    def _on_project_changed(self, reopened: bool) -> None:
        project = self.workbench.project
        self._fill_combo()
        if project is not None and not self.workbench.implicit:
            self._add_recent_project(project.file)
        for workspace in self._workspaces():  # the Images workspace too (its proposals folder)
            workspace.restore(project)
        self._remember()
        self.update_title()

    def _on_entry_changed(self) -> None:
        entry = self.workbench.dataset
        row = self.combo.findData(entry.name) if entry is not None else -1
        self.combo.setCurrentIndex(row)
        self._remember()
        self.update_title()

    def _on_masks_attached(self) -> None:
        if self.state.masks_dir is not None and self.workbench.project is not None:
            self.workbench.record_masks(self.state.masks_dir)

    def _fill_combo(self) -> None:
        self.combo.clear()
        project = self.workbench.project
        for entry in project.datasets if project is not None else []:
            self.combo.addItem(entry.label, entry.name)
        current = self.workbench.dataset
        self.combo.setCurrentIndex(self.combo.findData(current.name) if current is not None else -1)
        self.combo.setEnabled(self.combo.count() > 1)

    def update_title(self) -> None:
        title = self.workbench.title
        self._set_title(f"{title} — cocoseg" if title else "cocoseg")

    # --- start-up ----------------------------------------------------------------------------------
    def _remember(self) -> None:
        project, entry = self.workbench.project, self.workbench.dataset
        if project is None or entry is None:
            return
        last = {
            "project": None if self.workbench.implicit else str(project.file),
            "dataset": entry.name,
            "annotations": str(entry.annotations) if entry.annotations else None,
            "images": str(entry.images) if entry.images else None,
        }
        self.state.settings.setValue(LAST_KEY, json.dumps(last))

    def reopen_last(self) -> bool:
        """Reopen the project and dataset open when the window last closed; False when there was none."""
        try:
            last = json.loads(str(self.state.settings.value(LAST_KEY, "{}")))
        except ValueError:
            return False
        if not isinstance(last, dict):
            return False
        file, dataset = last.get("project"), last.get("dataset")
        if isinstance(file, str) and Path(file).is_file():
            return self.open_project_file(Path(file), dataset if isinstance(dataset, str) else None)
        annotations, images = last.get("annotations"), last.get("images")
        if isinstance(annotations, str) and Path(annotations).is_file():
            self._open_dataset(Path(annotations), Path(images) if isinstance(images, str) else None, None)
            return True
        return False
