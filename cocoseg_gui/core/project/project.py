"""A project: the datasets a user works with, their roles, their mask folders and the runs.

One small JSON file (``cocoseg-project.json``, format in docs/formats.md) ties them together so every panel
and command can take its defaults from the roles (train on *train* masks, validate and evaluate on *val*
masks) instead of from whatever was opened last. Qt-free: the CLI (``--project``) and the GUI share it.
Paths are stored relative to the project folder when they are inside it, else absolute, so a project
folder can be moved together with its masks and runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from cocoseg_gui.core.coco.dataset_locator import DatasetPaths, images_dir_for, split_of
from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.masks.folder import IMAGES_FILE

PROJECT_FILE = "cocoseg-project.json"
FORMAT = "cocoseg-project"
VERSION = 1


_NAME_MAX = 100
_NAME_FORBIDDEN = re.compile(r"[/\\:*?\"<>|\x00-\x1f\x7f]")


def dataset_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a dataset, or None. A name is a folder name (``masks/<name>`` in the
    project): one path part, no ``.``/``..``, no separator or character a file system refuses."""
    if not isinstance(name, str) or not name.strip():
        return "is empty" if isinstance(name, str) else "is not text"
    bad = _NAME_FORBIDDEN.search(name)
    if bad:
        return f"may not contain {bad.group()!r} (it names a folder: letters, digits, - _ . and spaces)"
    if name.startswith("."):
        return "may not start with a dot (it would lead outside or hide the mask folder)"
    if name != name.strip():
        return "may not start or end with a space"
    if len(name) > _NAME_MAX:
        return f"is longer than {_NAME_MAX} characters"
    return None


def check_dataset_name(name: object, where: str = "dataset name") -> str:
    """``name`` when it can name a dataset, else OptionsError saying why (``where``: the field or option)."""
    problem = dataset_name_problem(name)
    if problem is not None:
        raise OptionsError(f"{where} {name!r} {problem}")
    return str(name)


class Role(str, Enum):
    """What a dataset is for. Training reads ``train``; validation and evaluation read ``val``."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"
    UNLABELLED = "unlabelled"

    @classmethod
    def guess(cls, split: str | None) -> Role:
        """The role a COCO split name suggests (``train2017`` -> train, ``val2017`` -> val, ...)."""
        name = (split or "").lower()
        for role, prefixes in (
            (cls.TRAIN, ("train",)),
            (cls.VAL, ("val",)),
            (cls.TEST, ("test",)),
            (cls.UNLABELLED, ("unlabeled", "unlabelled")),
        ):
            if name.startswith(prefixes):
                return role
        return cls.TRAIN


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of a project: annotations and/or an image folder, and where its masks are."""

    name: str
    role: Role
    annotations: Path | None = None
    images: Path | None = None
    masks: Path | None = None  # a mask dataset folder (cocoseg masks --out); None: not generated yet

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role.value})"

    def holds_image(self, image: Path) -> bool:
        """True when ``image`` lies under this dataset's image folder."""
        if self.images is None:
            return False
        try:
            Path(image).resolve().relative_to(self.images.resolve())
        except ValueError:
            return False
        return True


@dataclass
class Project:
    """The project file's content; ``file`` is where it is (or will be) saved."""

    file: Path
    name: str
    datasets: list[DatasetEntry] = field(default_factory=list)
    runs: list[Path] = field(default_factory=list)
    checkpoint: Path | None = None

    @property
    def folder(self) -> Path:
        return self.file.parent

    # --- roles -----------------------------------------------------------------------------------
    def with_role(self, role: Role) -> list[DatasetEntry]:
        return [d for d in self.datasets if d.role is role]

    def first(self, role: Role) -> DatasetEntry | None:
        found = self.with_role(role)
        return found[0] if found else None

    def dataset(self, name: str) -> DatasetEntry:
        for entry in self.datasets:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def default_masks_dir(self, entry: DatasetEntry) -> Path:
        """Where a dataset's masks go unless the user chooses: the project's folder, never the dataset's."""
        return self.folder / "masks" / check_dataset_name(entry.name)

    def masks_dir(self, entry: DatasetEntry) -> Path:
        return entry.masks if entry.masks is not None else self.default_masks_dir(entry)

    def training_masks(self) -> Path | None:
        """The mask folder Train uses by default: the first train dataset's."""
        entry = self.first(Role.TRAIN)
        return entry.masks if entry is not None else None

    def validation_masks(self) -> Path | None:
        """The mask folder Train validates on and Evaluate uses by default: the first val dataset's."""
        entry = self.first(Role.VAL)
        return entry.masks if entry is not None else None

    def role_of_masks(self, masks: Path | None) -> DatasetEntry | None:
        """The dataset whose mask folder is ``masks`` (None for a folder outside the project)."""
        if masks is None:
            return None
        target = _resolved(masks)
        for entry in self.datasets:
            if entry.masks is not None and _resolved(entry.masks) == target:
                return entry
        return None

    def training_warnings(self, train_masks: Path | None, val_masks: Path | None) -> list[str]:
        """What is wrong with the roles of a training setup, said before Start (empty: nothing)."""
        warnings: list[str] = []
        train = self.role_of_masks(train_masks)
        val = self.role_of_masks(val_masks)
        if (
            train_masks is not None
            and val_masks is not None
            and _resolved(train_masks) == _resolved(val_masks)
        ):
            warnings.append(
                "the training and validation masks are the same folder: validation scores will "
                "measure memorisation, not generalisation"
            )
        if train is not None and train.role is not Role.TRAIN:
            warnings.append(f"training on {train.label}, which is not a training dataset")
        if val is not None and val.role is Role.TRAIN:
            warnings.append(f"validating on {val.label}, which is a training dataset")
        return warnings

    def evaluation_warnings(self, masks: Path | None) -> list[str]:
        """Evaluating on training images flatters the model: say so before Start."""
        entry = self.role_of_masks(masks)
        if entry is not None and entry.role is Role.TRAIN:
            return [f"evaluating on {entry.label}: the model has seen these images"]
        return []

    def ground_truth_for(self, image: Path) -> tuple[DatasetEntry, Path] | None:
        """The dataset holding ``image`` and its mask file, when the dataset's masks have it."""
        from cocoseg_gui.core.masks.dataset import MaskDatasetFolder  # reads JSON: only when asked

        for entry in self.datasets:
            if entry.masks is None or not entry.holds_image(image) or not entry.masks.is_dir():
                continue
            try:
                folder = MaskDatasetFolder(entry.masks)
                key = folder.file_name_of(image, entry.images)
                mask = folder.mask_path(key) if key is not None else None
            except DatasetError:
                continue
            if mask is not None and mask.is_file():
                return entry, mask
        return None

    # --- changes (each returns nothing; the caller saves) ---------------------------------------
    def add_dataset(self, entry: DatasetEntry) -> DatasetEntry:
        """Add ``entry`` (renamed ``name-2``... if the name is taken) or return the same data's entry."""
        for existing in self.datasets:
            if _same_data(existing, entry):
                return existing
        check_dataset_name(entry.name)
        taken = {d.name for d in self.datasets}
        name, n = entry.name, 2
        while name in taken:
            name, n = f"{entry.name}-{n}", n + 1
        entry = replace(entry, name=name)
        self.datasets.append(entry)
        return entry

    def update_dataset(self, name: str, **changes: Any) -> DatasetEntry:
        if "name" in changes:
            check_dataset_name(changes["name"])
        for i, entry in enumerate(self.datasets):
            if entry.name == name:
                self.datasets[i] = replace(entry, **changes)
                return self.datasets[i]
        raise KeyError(name)

    def rename_dataset(self, name: str, new_name: str) -> DatasetEntry:
        """Give dataset ``name`` another name (unique, not empty); its masks stay where they are."""
        new_name = new_name.strip()
        entry = self.dataset(name)
        if new_name == name:
            return entry
        if not new_name or "\x00" in new_name:
            raise DatasetError(self.file, "a dataset needs a name")
        if any(d.name == new_name for d in self.datasets):
            raise DatasetError(self.file, f"a dataset named {new_name!r} exists already; choose another name")
        masks = (
            self.masks_dir(entry) if entry.masks is None and self.masks_dir(entry).exists() else entry.masks
        )
        i = self.datasets.index(entry)
        self.datasets[i] = replace(entry, name=new_name, masks=masks)  # made masks keep their folder
        return self.datasets[i]

    def role_problem(self, entry: DatasetEntry, role: Role) -> str | None:
        """Why ``entry`` cannot take ``role`` (None: it can). Training and validation read masks, so a
        dataset made from an image folder takes those roles once it has a saved mask; one with COCO
        annotations any time (its masks can be generated)."""
        if role not in (Role.TRAIN, Role.VAL):
            return None
        masks = self.masks_dir(entry)
        if _has_saved_mask(masks):
            return None
        if entry.annotations is not None and not _inside(entry.annotations, masks):
            return None
        return (
            f"{entry.name} has no saved mask yet: label some of its images in Edit mode (or add an existing "
            f"mask folder), then give it the {role.value} role"
        )

    def set_role(self, name: str, role: Role) -> DatasetEntry:
        """Dataset ``name`` takes ``role``; DatasetError saying why it cannot (role_problem)."""
        entry = self.dataset(name)
        problem = self.role_problem(entry, role)
        if problem is not None:
            raise DatasetError(self.masks_dir(entry), problem)
        return self.update_dataset(name, role=role)

    def set_masks(self, name: str, masks: Path) -> DatasetEntry:
        """Dataset ``name`` reads its masks from ``masks``, an existing mask dataset folder."""
        from cocoseg_gui.core.masks.class_map import MAPPING_FILE

        masks = Path(masks)
        if not (masks / MAPPING_FILE).is_file():
            raise DatasetError(
                masks, f"not a mask dataset folder (no {MAPPING_FILE}): choose a folder made by cocoseg"
            )
        for other in self.datasets:
            if other.name != name and other.masks is not None and _resolved(other.masks) == _resolved(masks):
                raise DatasetError(masks, f"this mask folder belongs to {other.label} already")
        return self.update_dataset(name, masks=masks)

    def add_mask_folder(self, masks: Path) -> DatasetEntry:
        """An existing mask dataset folder as a dataset of the project (its manifest names its images and
        annotations): role train when it holds a saved mask, else unlabelled; named after the folder."""
        from cocoseg_gui.core.masks.class_map import MAPPING_FILE
        from cocoseg_gui.core.masks.dataset import MaskDatasetFolder

        masks = Path(masks)
        if not (masks / MAPPING_FILE).is_file():
            raise DatasetError(
                masks, f"not a mask dataset folder (no {MAPPING_FILE}): choose a folder made by cocoseg"
            )
        known = self.role_of_masks(masks)
        if known is not None:
            raise DatasetError(masks, f"this mask folder belongs to {known.label} already")
        folder = MaskDatasetFolder(masks, browse=True)
        images, annotations = folder.images_dir, folder.annotations
        if images is None or not images.is_dir():
            where = (
                f"its image folder {images} is not there"
                if images is not None
                else "it names no image folder"
            )
            raise DatasetError(masks / "manifest.json", f"{where}: the images of these masks cannot be found")
        role = Role.TRAIN if _has_saved_mask(masks) else Role.UNLABELLED
        return self.add_dataset(DatasetEntry(slug(masks.name), role, annotations, images, masks))

    def remove_dataset(self, name: str) -> DatasetEntry:
        """Take dataset ``name`` out of the project; its images, annotations and masks stay on disk."""
        entry = self.dataset(name)
        self.datasets = [d for d in self.datasets if d.name != name]
        return entry

    def move_to(self, file: Path) -> None:
        """Save as ``file`` (a folder means ``folder/cocoseg-project.json``): masks made in the default
        folder of the old project folder keep that folder (recorded), so nothing made is lost."""
        from cocoseg_gui.core.files.output_guard import check_output_file

        file = Path(file)
        if file.suffix.lower() != ".json":
            file = file / PROJECT_FILE
        if file.exists():
            raise OptionsError(f"{file}: a project file exists there already; choose another folder")
        check_output_file(file)  # the output guard: not in a mask folder, not over an image or COCO file
        self.datasets = [
            replace(d, masks=self.default_masks_dir(d))
            if d.masks is None and self.default_masks_dir(d).exists()
            else d
            for d in self.datasets
        ]
        self.file = file

    def add_run(self, run_dir: Path) -> None:
        run_dir = Path(run_dir)
        self.runs = [run_dir, *[r for r in self.runs if _resolved(r) != _resolved(run_dir)]]

    # --- file --------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "datasets": [
                {
                    "name": d.name,
                    "role": d.role.value,
                    "annotations": self._store(d.annotations),
                    "images": self._store(d.images),
                    "masks": self._store(d.masks),
                }
                for d in self.datasets
            ],
            "runs": [self._store(r) for r in self.runs],
            "checkpoint": self._store(self.checkpoint),
        }

    def save(self) -> None:
        """Write the project file; a dataset name that could lead outside the project is never written."""
        for d in self.datasets:
            check_dataset_name(d.name)
        atomic_write_json(self.file, self.to_json())

    def _store(self, path: Path | None) -> str | None:
        if path is None:
            return None
        path = Path(path)
        try:
            return path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(path.resolve())

    @classmethod
    def load(cls, file: str | Path) -> Project:
        """Read a project file; DatasetError naming the file and the problem when it cannot be used."""
        file = Path(file)
        if file.is_dir():
            file = file / PROJECT_FILE
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DatasetError(file, "project file not found") from exc
        except UnicodeDecodeError as exc:
            raise DatasetError(file, f"not UTF-8 text at byte {exc.start}") from exc
        except ValueError as exc:
            raise DatasetError(file, f"not a valid JSON file ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DatasetError(file, f'not a cocoseg project (expected "format": "{FORMAT}")')
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            quoted = " (a string: write the number without quotes)" if isinstance(version, str) else ""
            raise DatasetError(
                file, f'"version" must be a whole number from 1 to {VERSION}, got {version!r}{quoted}'
            )
        if version > VERSION:
            raise DatasetError(
                file,
                f"project format version {version!r} is newer than this cocoseg reads "
                f"({VERSION}): update cocoseg",
            )
        folder = file.parent
        try:
            datasets = [_entry_from_json(item, folder) for item in data.get("datasets") or []]
            runs = [_path(folder, r) for r in data.get("runs") or []]
            checkpoint = _path(folder, data.get("checkpoint"))
        except (TypeError, ValueError, KeyError) as exc:
            raise DatasetError(file, f"malformed project ({exc})") from exc
        names = [d.name for d in datasets]
        if len(set(names)) != len(names):
            raise DatasetError(file, "two datasets share a name; rename one")
        return cls(
            file,
            str(data.get("name") or folder.name),
            datasets,
            [r for r in runs if r is not None],
            checkpoint,
        )


def _path(folder: Path, value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ValueError(f"bad path {value!r}")
    path = Path(value)
    return path if path.is_absolute() else folder / path


def _entry_from_json(item: object, folder: Path) -> DatasetEntry:
    if not isinstance(item, dict):
        raise ValueError("a dataset must be a JSON object")
    name = item["name"]
    problem = dataset_name_problem(name)
    if problem is not None:
        raise ValueError(f"dataset name {name!r} {problem}")
    try:
        role = Role(item["role"])
    except ValueError:
        raise ValueError(
            f"dataset {name!r}: unknown role {item['role']!r} (one of {', '.join(r.value for r in Role)})"
        ) from None
    entry = DatasetEntry(
        name,
        role,
        _path(folder, item.get("annotations")),
        _path(folder, item.get("images")),
        _path(folder, item.get("masks")),
    )
    if entry.annotations is None and entry.images is None:
        raise ValueError(f"dataset {name!r} has neither annotations nor images")
    return entry


def _resolved(path: Path) -> Path:
    return Path(path).expanduser().resolve()


def _has_saved_mask(masks: Path) -> bool:
    """A mask file in ``masks/masks/`` (stops at the first: cheap on a folder of 118k masks)."""
    folder = Path(masks) / "masks"
    try:
        return folder.is_dir() and any(p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        _resolved(path).relative_to(_resolved(folder))
    except ValueError:
        return False
    return True


def _same_data(a: DatasetEntry, b: DatasetEntry) -> bool:
    def key(e: DatasetEntry) -> tuple[Path | None, Path | None]:
        return (e.annotations and _resolved(e.annotations), e.images and _resolved(e.images))

    return key(a) == key(b)


def slug(text: str) -> str:
    """A file-name-safe name: runs of other characters become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "dataset"


def planned_entry(project: Project, images_dir: str | Path, name: str | None = None) -> DatasetEntry:
    """The project's ``unlabelled`` dataset for ``images_dir`` before it is made: a name no dataset has
    (``photos``, ``photos-2``...) and its mask folder ``<project>/masks/<name>``, new or empty."""
    images_dir = Path(images_dir).absolute()
    base = slug(name or images_dir.name)
    taken = {d.name for d in project.datasets}
    n = 1
    while True:
        candidate = base if n == 1 else f"{base}-{n}"
        masks = project.folder / "masks" / candidate  # default_masks_dir's folder
        if candidate not in taken and not (masks.exists() and (not masks.is_dir() or any(masks.iterdir()))):
            return DatasetEntry(candidate, Role.UNLABELLED, masks / IMAGES_FILE, images_dir, masks)
        n += 1


def entry_for(paths: DatasetPaths, role: Role | None = None, masks: Path | None = None) -> DatasetEntry:
    """A project dataset for a located COCO set; named after its split (``val2017``), role guessed."""
    split = split_of(paths.annotations) or paths.images_dir.name
    return DatasetEntry(slug(split), role or Role.guess(split), paths.annotations, paths.images_dir, masks)


def coco_folder_datasets(root: Path) -> list[DatasetEntry]:
    """Every split of a COCO folder (``annotations/instances_<split>.json`` + ``<split>/``), train first."""
    found: list[DatasetEntry] = []
    for sub in (root / "annotations", root):
        if not sub.is_dir():
            continue
        for json_file in sorted(sub.glob("*.json")):
            if split_of(json_file) is None:
                continue
            try:
                found.append(entry_for(DatasetPaths(json_file, images_dir_for(json_file))))
            except DatasetError:
                continue  # annotations without their images: not a dataset we can open
    order = list(Role)
    return sorted(found, key=lambda e: (order.index(e.role), e.name))


def new_project(file: Path, datasets: Iterable[DatasetEntry] = (), name: str | None = None) -> Project:
    """A project to be saved at ``file`` (a folder means ``folder/cocoseg-project.json``)."""
    file = Path(file)
    if file.suffix.lower() != ".json":
        file = file / PROJECT_FILE
    project = Project(file, name or file.parent.name)
    for entry in datasets:
        project.add_dataset(entry)
    return project
