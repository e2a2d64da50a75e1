"""Find the annotations JSON and the image folder from what the user pointed at (standard COCO layout).

Qt-free so the CLI could use it too. Accepts ``annotations/instances_val2017.json`` (finds ``../val2017/``),
a dataset root (finds ``annotations/instances_*.json`` and the matching image folder) or an image folder
beside an ``annotations`` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.types import IMAGE_SUFFIXES

_SPLIT = re.compile(r"^(?:instances|annotations?)_(.+)\.json$", re.IGNORECASE)


@dataclass(frozen=True)
class DatasetPaths:
    annotations: Path
    images_dir: Path

    @property
    def split(self) -> str:
        return self.images_dir.name

    @property
    def display_name(self) -> str:
        """What tells COCO sets apart, whose JSONs are all ``instances_<split>.json``: ``val2017 (coco)``."""
        return f"{self.split} ({self.root.name})" if self.root.name else self.split

    @property
    def root(self) -> Path:
        """The dataset root: the folder holding ``annotations/``, else the annotations' folder."""
        parent = self.annotations.parent
        return parent.parent if parent.name == "annotations" else parent


def demo_dataset() -> DatasetPaths:
    """The bundled demo (resources/sample_coco, val2017), located relative to the package checkout."""
    root = Path(__file__).resolve().parents[3] / "resources" / "sample_coco"
    return DatasetPaths(root / "annotations" / "instances_val2017.json", root / "val2017")


def split_of(annotations: Path) -> str | None:
    match = _SPLIT.match(annotations.name)
    return match.group(1) if match else None


def images_dir_for(annotations: Path) -> Path:
    """The image folder of ``annotations`` in the usual layouts; DatasetError naming the file if none."""
    annotations = Path(annotations)
    split = split_of(annotations)
    parent = annotations.parent
    candidates: list[Path] = []
    if split:
        candidates += [
            parent.parent / split,
            parent / split,
            parent.parent / "images" / split,
            parent / "images" / split,
        ]
    candidates += [parent.parent / "images", parent / "images"]
    for folder in candidates:
        if folder.is_dir() and _has_images(folder):
            return folder
    expected = f"../{split}/" if split else "an images/ folder"
    raise DatasetError(
        annotations, f"cannot find its image folder (looked for {expected}); choose the folder"
    )


def locate(path: str | Path) -> DatasetPaths:
    """Annotations + images for a JSON file, a dataset root or an image folder."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(path, "does not exist")
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise DatasetError(
                path, "is not a COCO annotations JSON file (expected a .json file or a folder)"
            )
        return DatasetPaths(path, images_dir_for(path))
    for found in _annotation_files(path):
        try:
            return DatasetPaths(found, images_dir_for(found))
        except DatasetError:
            continue
    # an image folder beside an annotations/ folder: instances_<folder name>.json
    sibling = path.parent / "annotations" / f"instances_{path.name}.json"
    if sibling.is_file():
        return DatasetPaths(sibling, path)
    raise DatasetError(path, "no COCO annotations found (expected annotations/instances_<split>.json)")


def _annotation_files(folder: Path) -> list[Path]:
    """instances_*.json under ``folder/annotations`` or ``folder``, val splits first (smaller, the demo)."""
    found: list[Path] = []
    for sub in (folder / "annotations", folder):
        if sub.is_dir():
            found += sorted(p for p in sub.glob("*.json") if split_of(p) is not None)
    return sorted(found, key=lambda p: (0 if "val" in p.name else 1, p.name))


def _has_images(folder: Path) -> bool:
    for i, entry in enumerate(folder.iterdir()):
        if entry.suffix.lower() in IMAGE_SUFFIXES:
            return True
        if i > 200:
            break
    return False


def default_masks_dir(paths: DatasetPaths) -> Path:
    """Where generated masks go by default: ``<dataset root>/masks_<split>``."""
    return paths.root / f"masks_{paths.split}"
