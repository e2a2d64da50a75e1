"""The project in the window: File › New project… / Open project…, the dataset switcher, recent projects, the
title, and reopening what was open last (ADR 0011).

App layer: it drives ``MainWindow`` (opening a dataset, the workspaces' ``restore``) and the Qt-free
``core.project.session.Session`` behind ``AppState``. Opening a COCO folder makes a project with every split
found (train + val); opening one JSON makes an implicit project, saved at the first Generate or Start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMenu, QMessageBox, QToolBar

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, locate
from cocoseg_gui.core.errors import CocoSegError, DatasetError
from cocoseg_gui.core.masks.folder import IMAGE_MAP_FILE
from cocoseg_gui.core.project.project import PROJECT_FILE, DatasetEntry, Project, coco_folder_datasets
from cocoseg_gui.core.project.session import implicit_project
from cocoseg_gui.gui.widgets.datasets_dialog import DatasetsDialog
from cocoseg_gui.gui.widgets.dialogs import show_error
from cocoseg_gui.gui.widgets.project_dialog import NewProjectDialog

if TYPE_CHECKING:
    from cocoseg_gui.gui.main_window import MainWindow

LAST_KEY = "session/last"  # {"project": file | None, "dataset": name, "annotations": ..., "images": ...}
RECENT_KEY = "recent/projects"  # saved project files, newest first
MAX_RECENT = 10


class ProjectActions(QObject):
    """Menus, toolbar switcher and start-up reopening for the window's project."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.session = window.state.session
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
        project = self.session.project
        if project is None or not project.datasets:
            self.datasets_menu.addAction("(no project open)").setEnabled(False)
            return
        for entry in project.datasets:
            act = self.datasets_menu.addAction(entry.label)
            act.setCheckable(True)
            act.setChecked(self.session.dataset is not None and entry.name == self.session.dataset.name)
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
        start = self.session.projects_root if self.session.projects_root.is_dir() else Path.home()
        dialog = NewProjectDialog(start, self.window)
        dialog.accepted.connect(lambda: self.create_project(dialog.result_project))
        dialog.open()
        return dialog

    def datasets_dialog(self) -> DatasetsDialog | None:
        """File › Project datasets…: shown (non-blocking); each change is saved as it is made."""
        if self.session.project is None:
            show_error(
                self.window, "Project datasets", "No project is open: open a dataset or a project first."
            )
            return None
        dialog = DatasetsDialog(self.session, self.window)
        dialog.removed.connect(self._on_dataset_removed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_dataset_removed(self, _name: str, was_open: bool) -> None:
        if was_open and self.session.dataset is not None:
            self.switch_dataset(self.session.dataset.name)  # the open one was removed: the first left

    def save_project_as_dialog(self) -> Path | None:
        """File › Save project as…: the project file in another folder (the masks and runs stay where
        they are, recorded); that file becomes the open project."""
        project = self.session.project
        if project is None:
            show_error(
                self.window, "Save project as", "No project is open: open a dataset or a project first."
            )
            return None
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save project as", str(project.folder.parent / f"{project.folder.name}-copy"),
            f"cocoseg projects ({PROJECT_FILE});;All files (*)",
        )  # fmt: skip
        return self.save_project_as(Path(path)) if path else None

    def save_project_as(self, file: Path) -> Path | None:
        target = file if file.suffix.lower() == ".json" else file / PROJECT_FILE
        project = self.session.project
        if target.exists() and (project is None or target.resolve() != project.file.resolve()):
            answer = QMessageBox.question(
                self.window, "Save project as", f"{target} exists. Replace that project file?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        try:
            saved = self.session.save_project_as(target)
        except (CocoSegError, OSError) as exc:
            show_error(self.window, "Save project as", exc)
            return None
        self.window.statusBar().showMessage(f"project saved as {saved}", 10000)
        return saved

    def create_project(self, project: Project) -> None:
        try:
            project.save()
        except OSError as exc:
            show_error(self.window, "New project", exc)
            return
        self.open_project(project)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open project", str(self.session.projects_root),
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
            self.window._fail(exc)
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
        project, implicit = implicit_project(self.session.projects_root, first)
        known = len(project.datasets)
        for entry in found:
            project.add_dataset(entry)
        if not implicit and len(project.datasets) > known:
            project.save()
        self.session.open_project(project, None, implicit=implicit)
        shown = self.session.dataset_for(
            DatasetPaths(first.annotations.resolve(), first.images_dir.resolve())
        )
        self.switch_dataset(shown.name if shown is not None else None)

    def open_project(self, project: Project, dataset: str | None = None) -> None:
        self.session.open_project(project, dataset)
        self.switch_dataset(self.session.dataset.name if self.session.dataset else None)

    def switch_dataset(self, name: str | None) -> None:
        """Open the project's dataset ``name`` in the window, with its recorded mask folder."""
        project = self.session.project
        if project is None or name is None:
            return
        entry = project.dataset(name)
        if entry.annotations is None or entry.images is None:
            self.window._fail(
                DatasetError(entry.images or project.file, f"{entry.label} has no annotations file to browse")
            )
            return
        if self.session.dataset is None or self.session.dataset.name != name:
            self.session.set_dataset(entry)
        masks = entry.masks if entry.masks is not None and (entry.masks / IMAGE_MAP_FILE).is_file() else None
        self.window.open_dataset(entry.annotations, entry.images, masks)

    def attach(self, paths: DatasetPaths) -> DatasetEntry:
        """A dataset finished loading: the project's entry for it (an implicit project if none)."""
        return self.session.attach(paths)

    def _on_combo(self, row: int) -> None:
        name = self.combo.itemData(row)
        if name and (self.session.dataset is None or name != self.session.dataset.name):
            self.switch_dataset(str(name))

    # --- reacting to the session ---------------------------------------------------------------------
    def _on_project_changed(self, reopened: bool) -> None:
        project = self.session.project
        self._fill_combo()
        if project is not None and not self.session.implicit:
            self._add_recent_project(project.file)
        for workspace in self.window.workspaces():  # the Images workspace too (its proposals folder)
            workspace.restore(project)
        self._remember()
        self.update_title()

    def _on_entry_changed(self) -> None:
        entry = self.session.dataset
        row = self.combo.findData(entry.name) if entry is not None else -1
        self.combo.setCurrentIndex(row)
        self._remember()
        self.update_title()

    def _on_masks_attached(self) -> None:
        if self.state.masks_dir is not None and self.session.project is not None:
            self.session.record_masks(self.state.masks_dir)

    def _fill_combo(self) -> None:
        self.combo.clear()
        project = self.session.project
        for entry in project.datasets if project is not None else []:
            self.combo.addItem(entry.label, entry.name)
        current = self.session.dataset
        self.combo.setCurrentIndex(self.combo.findData(current.name) if current is not None else -1)
        self.combo.setEnabled(self.combo.count() > 1)

    def update_title(self) -> None:
        title = self.session.title
        self.window.setWindowTitle(f"{title} — cocoseg" if title else "cocoseg")

    # --- start-up ----------------------------------------------------------------------------------
    def _remember(self) -> None:
        project, entry = self.session.project, self.session.dataset
        if project is None or entry is None:
            return
        last = {
            "project": None if self.session.implicit else str(project.file),
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
            self.window.open_dataset(Path(annotations), Path(images) if isinstance(images, str) else None)
            return True
        return False
