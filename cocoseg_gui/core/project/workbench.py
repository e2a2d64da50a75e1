"""What the user has open, without Qt: the project, its open dataset (and its loaded index), the mask
folder, run and checkpoint: the window's one state (ADR 0031).

The window's panels used to keep their own idea of "the data" and follow the last action (attaching the
val masks moved Train onto them). One ``Workbench`` owns that state, changed only through its methods;
views subscribe to ``changed`` and receive one typed event per change (ADR 0011). A project may be
*implicit*: made for a dataset opened on its own and written to disk only when the user first generates
masks or trains (``ensure_saved``), so opening a file never writes one. Changed only from the GUI thread;
callbacks run synchronously, in subscription order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths
from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.observers import Observers
from cocoseg_gui.core.project.project import PROJECT_FILE, DatasetEntry, Project, Role, entry_for, new_project
from cocoseg_gui.core.training.run_reader import latest_checkpoint

if TYPE_CHECKING:
    from cocoseg_gui.core.coco.index import CocoIndex


@dataclass(frozen=True)
class ProjectChanged:
    """Another project was opened, or the open one changed (a dataset, masks or a run recorded)."""

    project: Project | None
    reopened: bool  # True: a different project (views take their role defaults afresh)


@dataclass(frozen=True)
class DatasetChanged:
    """Another of the project's datasets is the open one (its index loads next: ``DatasetLoaded``)."""

    entry: DatasetEntry | None


@dataclass(frozen=True)
class LoadedDataset:
    """The open dataset as read: its COCO index and the files it came from."""

    index: CocoIndex
    annotations: Path
    images_dir: Path


@dataclass(frozen=True)
class DatasetLoaded:
    """A dataset's index finished loading and is shown with ``masks_dir`` (one change: both at once)."""

    loaded: LoadedDataset
    masks_dir: Path | None


@dataclass(frozen=True)
class MasksDirChanged:
    masks_dir: Path | None


@dataclass(frozen=True)
class RunDirChanged:
    run_dir: Path | None


@dataclass(frozen=True)
class CheckpointChanged:
    checkpoint: Path | None


WorkbenchEvent = (
    ProjectChanged | DatasetChanged | DatasetLoaded | MasksDirChanged | RunDirChanged | CheckpointChanged
)


def project_checkpoint(project: Project) -> Path | None:
    """The project's checkpoint if its file is there, else the newest run's best.pt (or last.pt) that is:
    a run folder deleted by hand must not leave the project without a model while older runs exist."""
    if project.checkpoint is not None and Path(project.checkpoint).is_file():
        return Path(project.checkpoint)
    return next((c for run in project.runs if (c := latest_checkpoint(run)) is not None), None)


class Workbench:
    """The open project and dataset, the attached mask folder, the run folder and the checkpoint."""

    def __init__(self, projects_root: Path) -> None:
        self.projects_root = Path(projects_root)  # where implicit projects are saved
        self.project: Project | None = None
        self.implicit = False  # True until an implicit project is saved
        self.dataset: DatasetEntry | None = None
        self.loaded: LoadedDataset | None = None  # the open dataset's index, once loaded
        self.masks_dir: Path | None = None
        self.run_dir: Path | None = None
        self.checkpoint: Path | None = None
        self.changed: Observers[WorkbenchEvent] = Observers()

    # --- project and dataset --------------------------------------------------------------------
    def open_project(
        self, project: Project | None, dataset: str | None = None, implicit: bool = False
    ) -> None:
        """Make ``project`` the open one, with its dataset ``dataset`` (default: the first) open."""
        self.project, self.implicit = project, implicit and project is not None
        self.changed.emit(ProjectChanged(project, reopened=True))
        latest = project_checkpoint(project) if project is not None else None
        if latest is not None:
            # the project's latest model (a CLI run records it too): Predict, fine-tune and proposals
            # start from it; a project without one keeps whatever checkpoint the user loaded
            self.set_checkpoint(latest)
        entry = None
        if project is not None and project.datasets:
            entry = project.datasets[0]
            if dataset is not None:
                entry = next((d for d in project.datasets if d.name == dataset), entry)
        self.set_dataset(entry)

    def set_dataset(self, entry: DatasetEntry | None) -> None:
        self.dataset = entry
        self.changed.emit(DatasetChanged(entry))

    def dataset_for(self, paths: DatasetPaths) -> DatasetEntry | None:
        """The open project's dataset reading these annotations and images, if any."""
        if self.project is None:
            return None
        wanted = (_resolved(paths.annotations), _resolved(paths.images_dir))
        for entry in self.project.datasets:
            if entry.annotations is None or entry.images is None:
                continue
            if (_resolved(entry.annotations), _resolved(entry.images)) == wanted:
                return entry
        return None

    def attach(self, paths: DatasetPaths) -> DatasetEntry:
        """Open the dataset at ``paths``: the open project's when it holds it, else an implicit project."""
        entry = self.dataset_for(paths)
        if entry is None and self.project is not None and _same_root(self.project, paths):
            entry = self.project.add_dataset(entry_for(paths))  # the train split of the open val's data
            self._save_if_saved()
            self.changed.emit(ProjectChanged(self.project, reopened=False))
            self.set_dataset(entry)
        elif entry is None:
            project, implicit = implicit_project(self.projects_root, paths)
            known = len(project.datasets)
            entry = project.add_dataset(entry_for(paths))
            if not implicit and len(project.datasets) > known:
                project.save()  # a saved project of the same data gained this dataset
            self.open_project(project, entry.name, implicit=implicit)
        elif entry != self.dataset:
            self.set_dataset(entry)
        return entry

    def project_for_new_dataset(self, name: str) -> Project:
        """The project a dataset made in the window joins: the open one, else a new one (not yet saved)
        in a free folder of the projects root, named after the dataset."""
        if self.project is not None:
            return self.project
        base, n = _slug(name), 1
        while True:
            folder = self.projects_root / (base if n == 1 else f"{base}-{n}")
            if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
                return new_project(folder / PROJECT_FILE, name=name)
            n += 1

    def add_dataset(self, project: Project, entry: DatasetEntry) -> DatasetEntry:
        """A dataset made in the window (File › New dataset) joins ``project``, which is saved (its files
        are already in the project folder) and opened with that dataset open."""
        entry = project.add_dataset(entry)
        project.save()
        if project is self.project:
            self.implicit = False
            self.changed.emit(ProjectChanged(project, reopened=False))
            self.set_dataset(entry)
        else:
            self.open_project(project, entry.name)
        return entry

    # --- editing the project's datasets (File › Project datasets…) -----------------------------------
    def rename_dataset(self, name: str, new_name: str) -> DatasetEntry:
        return self._edited(name, lambda p: p.rename_dataset(name, new_name))

    def set_role(self, name: str, role: Role) -> DatasetEntry:
        return self._edited(name, lambda p: p.set_role(name, role))

    def set_dataset_masks(self, name: str, masks: Path) -> DatasetEntry:
        return self._edited(name, lambda p: p.set_masks(name, masks))

    def add_mask_folder(self, masks: Path) -> DatasetEntry:
        """An existing mask folder joins the project as a dataset (Project.add_mask_folder); saved."""
        return self._edited(None, lambda p: p.add_mask_folder(masks))

    def remove_dataset(self, name: str) -> DatasetEntry:
        """Out of the project (its files stay); the open dataset removed: the first left opens."""
        project = self._require_project()
        entry = project.remove_dataset(name)
        project.save()
        self.implicit = False
        self.changed.emit(ProjectChanged(project, reopened=False))
        if self.dataset is not None and self.dataset.name == name:
            self.set_dataset(project.datasets[0] if project.datasets else None)
        return entry

    def save_project_as(self, file: Path) -> Path:
        """The open project saved as ``file`` (a folder: its cocoseg-project.json), which it becomes."""
        project = self._require_project()
        project.move_to(Path(file))
        project.save()
        self.implicit = False
        self.changed.emit(ProjectChanged(project, reopened=False))
        return project.file

    def _edited(self, name: str | None, change: Callable[[Project], DatasetEntry]) -> DatasetEntry:
        """Apply ``change`` (DatasetError: nothing changed), save the project, tell the views; the open
        dataset follows when it is ``name`` (None: a new dataset, never the open one)."""
        project = self._require_project()
        entry = change(project)
        project.save()  # a deliberate change: an implicit project is saved too
        self.implicit = False
        if name is not None and self.dataset is not None and self.dataset.name == name:
            self.dataset = entry
        self.changed.emit(ProjectChanged(project, reopened=False))
        if self.dataset is entry:
            self.changed.emit(DatasetChanged(entry))
        return entry

    def _require_project(self) -> Project:
        if self.project is None:
            raise DatasetError(self.projects_root, "no project is open")
        return self.project

    @property
    def title(self) -> str:
        """``project — dataset (role)`` for the window title; empty when nothing is open."""
        if self.project is None:
            return ""
        if self.dataset is None:
            return self.project.name
        return f"{self.project.name} — {self.dataset.label}"

    def set_loaded(self, loaded: LoadedDataset, masks_dir: Path | None) -> None:
        """The open dataset's index is loaded and shown with ``masks_dir`` (None: masks drawn from the
        annotations): one ``DatasetLoaded``, no ``MasksDirChanged`` besides it."""
        self.loaded = loaded
        self.masks_dir = Path(masks_dir) if masks_dir is not None else None
        self.changed.emit(DatasetLoaded(loaded, self.masks_dir))

    # --- folders ---------------------------------------------------------------------------------
    def set_masks_dir(self, path: Path | None) -> None:
        self.masks_dir = Path(path) if path is not None else None
        self.changed.emit(MasksDirChanged(self.masks_dir))

    def set_run_dir(self, path: Path | None) -> None:
        self.run_dir = Path(path) if path is not None else None
        self.changed.emit(RunDirChanged(self.run_dir))

    def set_checkpoint(self, path: Path | None) -> None:
        self.checkpoint = Path(path) if path is not None else None
        self.changed.emit(CheckpointChanged(self.checkpoint))

    # --- recording what was made -------------------------------------------------------------------
    def default_masks_dir(self) -> Path | None:
        """Where the open dataset's masks go: its recorded folder, else one in the project folder."""
        if self.project is None or self.dataset is None:
            return None
        return self.project.masks_dir(self.dataset)

    def record_masks(self, masks_dir: Path) -> DatasetEntry | None:
        """A mask folder was generated or attached: remember it for the dataset it was made from.

        The folder's manifest names its annotations; that dataset of the project gets it (attaching the
        train masks while val is open records them for train). A folder of no project dataset: the open
        dataset's, when the manifest does not say. Saved unless the project is still implicit.
        """
        if self.project is None:
            return None
        entry = self._dataset_of_masks(Path(masks_dir))
        if entry is None:
            return None
        if entry.masks is not None and _resolved(entry.masks) == _resolved(masks_dir):
            return entry
        updated = self.project.update_dataset(entry.name, masks=Path(masks_dir))
        if self.dataset is not None and self.dataset.name == entry.name:
            self.dataset = updated
        self._save_if_saved()
        self.changed.emit(ProjectChanged(self.project, reopened=False))
        return updated

    def record_run(self, run_dir: Path, checkpoint: Path | None) -> None:
        """A training run ended: first in the project's runs; its checkpoint becomes the project's."""
        if self.project is None:
            return
        self.project.add_run(Path(run_dir))
        if checkpoint is not None:
            self.project.checkpoint = Path(checkpoint)
        self._save_if_saved()
        self.changed.emit(ProjectChanged(self.project, reopened=False))

    def ensure_saved(self) -> Path | None:
        """Write an implicit project to its folder (first Generate or Start); the file, None if no project."""
        if self.project is None:
            return None
        if self.implicit:
            self.project.save()
            self.implicit = False
            self.changed.emit(ProjectChanged(self.project, reopened=False))
        return self.project.file

    def _save_if_saved(self) -> None:
        if self.project is not None and not self.implicit:
            self.project.save()

    def _dataset_of_masks(self, masks_dir: Path) -> DatasetEntry | None:
        assert self.project is not None
        annotations = masks_annotations(masks_dir)
        if annotations is not None:
            for entry in self.project.datasets:
                if entry.annotations is not None and _resolved(entry.annotations) == _resolved(annotations):
                    return entry
            return None  # masks of a dataset outside the project: attached for viewing only
        return self.dataset


def masks_annotations(masks_dir: Path) -> Path | None:
    """The annotations file a mask folder was made from (its manifest), None when it does not say."""
    from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

    try:
        return MaskDatasetFolder(masks_dir, browse=True).annotations
    except (DatasetError, OSError, ValueError):
        return None


def implicit_project(projects_root: Path, paths: DatasetPaths) -> tuple[Project, bool]:
    """The project a dataset opened on its own belongs to: ``<projects root>/<dataset root name>``.

    When that folder already holds a project with datasets of the same dataset root (the train set opened
    after the val set), that project is reused (and stays saved); otherwise a new, unsaved one is made,
    in a free folder (``name-2``...). Never inside the dataset folder.
    """
    base = _slug(paths.root.name or paths.split)
    n = 1
    while True:
        folder = projects_root / (base if n == 1 else f"{base}-{n}")
        file = folder / PROJECT_FILE
        if not file.exists() and not (folder.exists() and any(folder.iterdir())):
            return new_project(file, name=paths.root.name or paths.split), True
        if file.is_file():
            try:
                project = Project.load(file)
            except DatasetError:
                project = None
            if project is not None and _same_root(project, paths):
                return project, False
        n += 1


def _same_root(project: Project, paths: DatasetPaths) -> bool:
    root = _resolved(paths.root)
    return any(
        _resolved(DatasetPaths(entry.annotations, entry.images or paths.images_dir).root) == root
        for entry in project.datasets
        if entry.annotations is not None
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "project"


def _resolved(path: Path) -> Path:
    return Path(path).expanduser().resolve()
