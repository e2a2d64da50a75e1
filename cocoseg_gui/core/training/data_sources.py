"""Several training mask folders as one: their classes checked against each other, their images keyed.

A project's train role may hold several datasets (train2017, the corrected images, a dataset labelled from
an image folder); ``cocoseg train --data A --data B`` trains on them together. They are only trained
together when their classes agree by index, name and COCO category id (a class without an id, such as
background, matches by name): a mask value means a class, so one folder's "3" must be the other's "3".
A mismatch is a DatasetError naming the folder and the class, raised before a run folder is touched.
No torch and no Qt: the Train form checks the folders before Start, the trainer again when it starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.json_file import read_json
from cocoseg_gui.core.masks.class_map import MAPPING_FILE

KEY_SEP = ":"


@dataclass(frozen=True)
class ClassEntry:
    """One class of a mask folder's category_mapping.json."""

    index: int
    name: str
    category_id: int | None


def read_classes(root: str | Path) -> list[ClassEntry]:
    """The classes of a mask folder, in index order; DatasetError naming the file when malformed."""
    path = Path(root) / MAPPING_FILE
    data = read_json(path)
    try:
        classes = [
            ClassEntry(
                int(c["index"]),
                str(c["name"]),
                None if c.get("category_id") is None else int(c["category_id"]),
            )
            for c in data["classes"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(path, f"malformed classes list ({exc!r})") from None
    return sorted(classes, key=lambda c: c.index)


def class_mismatch(reference: Sequence[ClassEntry], other: Sequence[ClassEntry]) -> str | None:
    """What differs between two folders' classes (the first difference, in words), or None."""
    ours = {c.index: c for c in reference}
    theirs = {c.index: c for c in other}
    for index in sorted(set(ours) | set(theirs)):
        a, b = ours.get(index), theirs.get(index)
        if a is None or b is None:
            have = a or theirs[index]
            where = "only this folder" if a is None else "only the first training folder"
            return f"class {index} ({have.name}) exists in {where} ({len(reference)} vs {len(other)} classes)"
        if a.name != b.name:
            return f"class {index} is {a.name!r} in the first training folder and {b.name!r} here"
        if a.category_id is not None and b.category_id is not None and a.category_id != b.category_id:
            return (
                f"class {index} ({a.name}) has COCO category id {a.category_id} in the first training "
                f"folder and {b.category_id} here"
            )
    return None


def check_same_classes(roots: Sequence[str | Path]) -> list[ClassEntry]:
    """The classes every folder of ``roots`` shares; DatasetError naming the first folder that differs."""
    if not roots:
        raise DatasetError(Path("."), "no training mask folder given")
    reference = read_classes(roots[0])
    for root in roots[1:]:
        problem = class_mismatch(reference, read_classes(root))
        if problem is not None:
            raise DatasetError(
                Path(root) / MAPPING_FILE,
                f"cannot train together with {roots[0]}: {problem}. Make that dataset with the classes of "
                "the first training mask folder (classes taken from a mask folder), or train on one of them",
            )
    return reference


def sample_key(part: int, root: str | Path, file: str) -> str:
    """The name of one training image across several folders: its file name in the first folder (so a
    split.json of a one-folder run still applies), ``<folder name>:<file>`` in the others."""
    return file if part == 0 else f"{Path(root).name}{KEY_SEP}{file}"
