"""MaskInventory: which images of one mask folder have a mask, and which were saved from the editor.

The one owner of that knowledge while a mask folder is open (DESIGN.md "One owner of what is on disk").
The viewer asks it which mask file to read, the browser's "has mask" / "Edited" marks and the mask count
come from it, and the editor reports every save to it (``record_save``), so no view keeps a copy that a
save leaves stale. Issue 18: the viewer's own copy of image_mask_map.json, read when the folder was
opened, showed a newly labelled image as unlabelled after a save, and the next save replaced the label.

Changes made by someone else (another window, a `cocoseg` job, a repaired interrupted save) arrive with
``reload()``, or ``read_snapshot()`` in a worker and ``apply()`` on the GUI thread. A snapshot read
before a ``record_save`` is stale and ``apply`` refuses it (the caller reads again). The mapping is
replaced, never changed in place, so a worker thread reading ``mask_name`` always sees a whole one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.files.safe_paths import SafeRoot
from cocoseg_gui.core.masks.dataset import read_edited, read_image_mask_map, resolve_mask_entry
from cocoseg_gui.core.masks.folder import MASKS_DIR
from cocoseg_gui.core.observers import Observers


@dataclass(frozen=True)
class InventorySnapshot:
    """What the folder's files say at one moment; ``generation``: the inventory's when it was read."""

    image_mask_map: dict[str, str]
    edited: frozenset[str]
    generation: int
    edited_problem: str = ""  # why edited.json could not be read ("" when it could)


@dataclass(frozen=True)
class InventoryChanged:
    """The images whose mask was saved, or whose map entry or edited mark changed."""

    names: frozenset[str]


def read_edited_names(root: Path) -> tuple[frozenset[str], str]:
    """The image names edited.json lists and "", or no names and why when it cannot be read."""
    try:
        return frozenset(read_edited(root)), ""
    except DatasetError as exc:
        return frozenset(), str(exc)


class MaskInventory:
    """The mask entries and edited marks of the mask folder ``root`` (None: no folder, nothing masked).

    Raises DatasetError naming image_mask_map.json when it exists but cannot be read (the caller then
    shows the images without the folder); an unreadable edited.json only loses the marks
    (``edited_problem`` says why).
    """

    def __init__(self, root: str | Path | None, follow_symlinks: bool = False) -> None:
        self.root = Path(root) if root is not None else None
        self.changed: Observers[InventoryChanged] = Observers()
        masks = self.root / MASKS_DIR if self.root is not None else None
        self._masks = SafeRoot(masks, follow_symlinks, "mask file name") if masks is not None else None
        self._generation = 0
        self._map: dict[str, str] = {}
        self._edited: frozenset[str] = frozenset()
        self._masked: frozenset[str] | None = frozenset()
        self.edited_problem = ""
        self._set(self.read_snapshot())

    # ------------------------------------------------------------------------------------------ read
    def mask_name(self, file_name: str) -> str | None:
        """The mask file name (relative to ``masks/``) of an image, None when it has no mask."""
        return self._map.get(file_name)

    def has_mask(self, file_name: str) -> bool:
        return file_name in self._map

    def mask_path(self, file_name: str) -> Path | None:
        """The image's mask file, None without an entry; UnsafePathError (naming the map and the
        entry) when the entry leads outside ``masks/`` (ADR 0003)."""
        mask_name = self._map.get(file_name)  # one read: the mapping may be replaced meanwhile
        if mask_name is None or self._masks is None or self.root is None:
            return None
        return resolve_mask_entry(self._masks, self.root, file_name, mask_name)

    @property
    def image_mask_map(self) -> dict[str, str]:
        """A copy of the image -> mask file name entries."""
        return dict(self._map)

    def masked_names(self) -> frozenset[str]:
        """The image file names that have a mask."""
        if self._masked is None:
            self._masked = frozenset(self._map)
        return self._masked

    def edited_names(self) -> frozenset[str]:
        """The image file names saved from the mask editor (edited.json)."""
        return self._edited

    def __len__(self) -> int:
        return len(self._map)

    # ---------------------------------------------------------------------------------------- update
    def record_save(self, file_name: str, mask_name: str) -> None:
        """The editor saved ``file_name``'s mask as ``mask_name``: it has a mask and is edited now.
        Observers are told at every save (the mask's pixels changed even when its entry did not)."""
        self._generation += 1  # snapshots read before this save are stale
        if self._map.get(file_name) != mask_name:
            self._map = {**self._map, file_name: mask_name}
            self._masked = None
        self._edited = self._edited | {file_name}
        self.changed.emit(InventoryChanged(frozenset({file_name})))

    def read_snapshot(self) -> InventorySnapshot:
        """Read the folder's files (safe in a worker thread). DatasetError when the map is unreadable."""
        generation = self._generation
        if self.root is None:
            return InventorySnapshot({}, frozenset(), generation)
        image_map = read_image_mask_map(self.root, required=False)
        edited, problem = read_edited_names(self.root)
        return InventorySnapshot(image_map, edited, generation, problem)

    def apply(self, snapshot: InventorySnapshot) -> bool:
        """Take ``snapshot`` (GUI thread); False when a save happened after it was read (read again)."""
        if snapshot.generation != self._generation:
            return False
        self._set(snapshot)
        return True

    def reload(self) -> None:
        """Read the folder again now (another process or a repair changed it)."""
        self.apply(self.read_snapshot())

    def _set(self, snapshot: InventorySnapshot) -> None:
        old_map, old_edited = self._map, self._edited
        self.edited_problem = snapshot.edited_problem
        if snapshot.image_mask_map == old_map and snapshot.edited == old_edited:
            return
        self._map = dict(snapshot.image_mask_map)
        self._masked = None
        self._edited = snapshot.edited
        keys = set(old_map) | set(self._map)
        names = {k for k in keys if old_map.get(k) != self._map.get(k)} | (old_edited ^ self._edited)
        self.changed.emit(InventoryChanged(frozenset(names)))
