"""ClassMapping: the selected COCO categories -> class indices 1..K, and category_mapping.json I/O.

Index 0 is the background, 1..K the selected categories in ascending COCO category id, 255 the
ignore index (see docs/formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError, OptionsError
from cocoseg_gui.core.files.atomic import atomic_write_json
from cocoseg_gui.core.masks.palette import class_color
from cocoseg_gui.core.types import BACKGROUND, IGNORE_INDEX, Category

MAPPING_FILE = "category_mapping.json"
MAX_CLASSES = 254  # indices 1..254; 255 is the ignore index


def resolve_categories(
    tokens: Iterable[str | int], categories: Sequence[Category], what: str = "class"
) -> list[int]:
    """Turn names or ids (``"person"``, ``"1"``, ``1``) into category ids, in the order given.

    Raises OptionsError naming the unknown token and listing the valid names, or, for a name that
    several categories share (names are matched ignoring case), naming their ids: picking one of them
    silently would train on the wrong class.
    """
    by_name: dict[str, list[int]] = {}
    for c in categories:
        by_name.setdefault(c.name.lower(), []).append(c.id)
    ids = {c.id for c in categories}
    out: list[int] = []
    for token in tokens:
        text = str(token).strip()
        if not text:
            continue
        if text.lower() in by_name:
            shared = by_name[text.lower()]
            if len(shared) > 1:
                listed = ", ".join(map(str, shared))
                raise OptionsError(
                    f"{what} name {text!r} is ambiguous: categories {listed} share it in the annotations "
                    f"file; name the one you mean by its id (e.g. {shared[0]} instead of {text!r})"
                )
            cid = shared[0]
        elif text.lstrip("-").isdigit() and int(text) in ids:
            cid = int(text)
        else:
            valid = ", ".join(c.name for c in categories)
            raise OptionsError(f"unknown {what} {text!r}; valid names (or their ids): {valid}")
        if cid not in out:
            out.append(cid)
    return out


def parse_class_list(text: str | None) -> list[str] | None:
    """``"person, car"`` -> ``["person", "car"]``; None or blank -> None."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


@dataclass(frozen=True)
class ClassMapping:
    """Selected categories in ascending id order; class index = position + 1."""

    categories: tuple[Category, ...]
    _index: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cats = tuple(sorted(self.categories, key=lambda c: c.id))
        if len(cats) > MAX_CLASSES:
            raise OptionsError(f"{len(cats)} classes selected; at most {MAX_CLASSES} fit in a uint8 mask")
        object.__setattr__(self, "categories", cats)
        object.__setattr__(self, "_index", {c.id: i + 1 for i, c in enumerate(cats)})

    @classmethod
    def from_categories(
        cls, categories: Sequence[Category], selected: Iterable[str | int] | None = None
    ) -> ClassMapping:
        """All categories, or only ``selected`` (names or ids; unknown ones raise OptionsError)."""
        if selected is None:
            return cls(tuple(categories))
        ids = set(resolve_categories(selected, categories))
        if not ids:
            raise OptionsError("no class selected")
        return cls(tuple(c for c in categories if c.id in ids))

    @property
    def num_classes(self) -> int:
        """K + 1: the model's output count, background included."""
        return len(self.categories) + 1

    @property
    def category_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.categories)

    def index_of(self, category_id: int) -> int | None:
        """Class index of a category, or None when it is not selected."""
        return self._index.get(category_id)

    def name_of(self, index: int) -> str:
        if index == BACKGROUND:
            return "background"
        if index == IGNORE_INDEX:
            return "ignore"
        return self.categories[index - 1].name

    def class_names(self) -> list[str]:
        """Names in index order, background first."""
        return ["background", *(c.name for c in self.categories)]

    def to_json(self) -> dict[str, Any]:
        classes = [{"index": 0, "name": "background", "category_id": None, "color": list(class_color(0))}]
        classes += [
            {"index": i, "name": c.name, "category_id": c.id, "color": list(class_color(i))}
            for i, c in enumerate(self.categories, start=1)
        ]
        return {
            "version": 1,
            "num_classes": self.num_classes,
            "ignore_index": IGNORE_INDEX,
            "classes": classes,
            "category_id_to_index": {str(c.id): i for i, c in enumerate(self.categories, start=1)},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | None = None) -> ClassMapping:
        try:
            cats = [
                Category(int(c["category_id"]), str(c["name"]), str(c.get("supercategory", "")))
                for c in data["classes"]
                if c.get("category_id") is not None
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(path, f"not a category mapping ({exc!r})") from exc
        mapping = cls(tuple(cats))
        expected = {str(k): int(v) for k, v in data.get("category_id_to_index", {}).items()}
        actual = {str(c.id): i for i, c in enumerate(mapping.categories, start=1)}
        if expected and expected != actual:
            raise DatasetError(
                path, "category_id_to_index disagrees with the ascending-id order of 'classes'"
            )
        return mapping

    def write(self, path: Path) -> None:
        atomic_write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> ClassMapping:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DatasetError(path, "file not found") from exc
        except (OSError, ValueError) as exc:
            raise DatasetError(path, f"cannot read JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise DatasetError(path, "not a category mapping (expected a JSON object)")
        return cls.from_json(data, path)


def fitting_categories(categories: Sequence[Category]) -> tuple[tuple[Category, ...], str]:
    """All categories when they fit a uint8 mask, else the first MAX_CLASSES by id and a note saying so.

    For defaults (the viewer's on-the-fly masks, the Masks panel's initial selection): a dataset with
    more categories than class indices must still open; an explicit selection of too many still raises.
    """
    cats = tuple(sorted(categories, key=lambda c: c.id))
    if len(cats) <= MAX_CLASSES:
        return cats, ""
    kept = cats[:MAX_CLASSES]
    note = (
        f"{len(cats)} categories, but a uint8 mask holds at most {MAX_CLASSES} classes (255 is 'ignore'): "
        f"using the first {MAX_CLASSES} by id (up to {kept[-1].name!r}, id {kept[-1].id}); "
        "select the classes you need (Masks panel, `cocoseg masks --classes`)"
    )
    return kept, note
