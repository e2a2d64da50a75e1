"""Undo/redo as bounding-box patches: one step per stroke, fill or polygon, bounded in steps and bytes.

A step keeps the changed box and ONE patch: the pixels before the edit while it waits on the undo
stack, the pixels after it once undone (the other version is in the label map itself). Undo and redo
swap the patch with the map's box, so both are exact byte for byte and cost the box, never the frame.

A stroke is many segments. While it is open, the first touch of each 64x64 tile copies that tile's
old pixels (work per mouse event: the tiles the brush newly enters); ``commit`` assembles the union
box's old pixels, trims it to the pixels that really changed and pushes one step (none if nothing
changed, e.g. painting a class over itself).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cocoseg_gui.core.editing.box import Box

TILE = 64
MIN_STEPS = 100
DEFAULT_MAX_STEPS = 200
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(eq=False)
class Step:
    """One undoable edit: ``patch`` holds the box's other version (before on undo, after on redo)."""

    description: str
    box: Box
    patch: np.ndarray
    serial: int = 0  # unique in its History: the map state right after this step (see History.position)
    age: int = 0  # when it was pushed, across every image's history (HistoryBook drops the oldest)

    @property
    def nbytes(self) -> int:
        return int(self.patch.nbytes)

    def swap(self, label: np.ndarray) -> Box:
        """Exchange the map's box with the patch; return the box (what views repaint)."""
        view = label[self.box.slices]
        current = view.copy()
        view[...] = self.patch
        self.patch = current
        return self.box


@dataclass(eq=False)
class _OpenStep:
    description: str
    union: Box = field(default_factory=Box.empty_box)
    tiles: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


class History:
    """The undo and redo stacks of one image's label map.

    Bounds: at most ``max_steps`` steps (at least MIN_STEPS) and ``max_bytes`` of patches; the oldest
    steps go first. The newest step is always kept, even alone above ``max_bytes``, so the last edit
    can be undone. A new edit clears the redo stack.
    """

    def __init__(self, max_steps: int = DEFAULT_MAX_STEPS, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_steps < MIN_STEPS:
            raise ValueError(f"keep at least {MIN_STEPS} undo steps, got {max_steps}")
        self.max_steps, self.max_bytes = max_steps, max_bytes
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._open: _OpenStep | None = None
        self.dropped = 0  # steps dropped by the bounds, for a status message
        self._serial = 0  # the last serial handed to a step
        self._base = 0  # the position with an empty undo stack (moves when the oldest step is dropped)
        self.on_push: Callable[[History], None] | None = None  # HistoryBook's bound across images
        self.clock: Callable[[], int] = lambda: 0  # the step's age (HistoryBook shares one counter)

    # ------------------------------------------------------------------------------------ recording
    @property
    def recording(self) -> bool:
        return self._open is not None

    def begin(self, description: str) -> None:
        """Start a step ("Brush stroke (person)"); the GUI calls it on mouse press."""
        if self._open is not None:
            raise RuntimeError(f"step {self._open.description!r} is still open: commit or cancel it")
        self._open = _OpenStep(description)

    def touch(self, label: np.ndarray, box: Box) -> None:
        """Save the old pixels of the tiles of ``box`` not saved yet; call it BEFORE writing there."""
        step = self._require_open()
        box = box.clipped(label.shape)
        if box.empty:
            return
        step.union = step.union.union(box)
        h, w = label.shape
        for ty in range(box.top // TILE, (box.bottom - 1) // TILE + 1):
            for tx in range(box.left // TILE, (box.right - 1) // TILE + 1):
                if (ty, tx) not in step.tiles:
                    tile = label[ty * TILE : min(h, (ty + 1) * TILE), tx * TILE : min(w, (tx + 1) * TILE)]
                    step.tiles[ty, tx] = tile.copy()

    def commit(self, label: np.ndarray) -> Step | None:
        """Close the open step; push it when it changed a pixel. Returns the step or None."""
        step = self._require_open()
        self._open = None
        if step.union.empty:
            return None
        before = self._before(step, label)
        changed = Box.of_mask(before != label[step.union.slices], step.union)
        if changed.empty:
            return None
        self._serial += 1
        patch = before[changed.relative_to(step.union)].copy()
        done = Step(step.description, changed, patch, self._serial, self.clock())
        self._push(done)
        return done

    def cancel(self, label: np.ndarray) -> Box:
        """Abandon the open step, putting back the pixels it changed (Esc during a stroke)."""
        step = self._require_open()
        self._open = None
        if step.union.empty:
            return step.union
        label[step.union.slices] = self._before(step, label)
        return step.union

    def record(self, label: np.ndarray, box: Box, description: str) -> None:
        """Begin a one-shot step (fill, polygon) and save ``box``; the caller writes, then commits."""
        self.begin(description)
        self.touch(label, box)

    def _before(self, step: _OpenStep, label: np.ndarray) -> np.ndarray:
        union = step.union
        before = label[union.slices].copy()
        for (ty, tx), tile in step.tiles.items():
            tile_box = Box(ty * TILE, tx * TILE, ty * TILE + tile.shape[0], tx * TILE + tile.shape[1])
            part = tile_box.intersection(union)
            if not part.empty:
                before[part.relative_to(union)] = tile[part.relative_to(tile_box)]
        return before

    def _require_open(self) -> _OpenStep:
        if self._open is None:
            raise RuntimeError("no open step: call begin() first")
        return self._open

    def _push(self, step: Step) -> None:
        self._undo.append(step)
        self._redo.clear()
        while len(self._undo) > 1 and (
            len(self._undo) > self.max_steps or self.memory_bytes > self.max_bytes
        ):
            self.drop_oldest()
        if self.on_push is not None:
            self.on_push(self)

    def drop_oldest(self) -> int:
        """Forget the oldest step (undo stack first, else the farthest redo); its bytes, 0 if none.

        The state before a dropped undo step can no longer be reached, so the empty-stack position
        becomes the state after it (a saved position there stays reachable and correct)."""
        if self._undo:
            step = self._undo.popleft()
            self._base = step.serial
        elif self._redo:
            step = self._redo.pop(0)
        else:
            return 0
        self.dropped += 1
        return step.nbytes

    @property
    def oldest_age(self) -> int | None:
        """The age of the step ``drop_oldest`` would drop; None when there is none."""
        if self._undo:
            return self._undo[0].age
        return self._redo[0].age if self._redo else None

    @property
    def position(self) -> int:
        """Which map state the stacks are at: the serial of the step last done (or the base). Equal
        positions mean equal maps, so undo back to the saved position is "no unsaved changes"."""
        return self._undo[-1].serial if self._undo else self._base

    # ----------------------------------------------------------------------------------- undo/redo
    def undo(self, label: np.ndarray) -> Box | None:
        """Undo the last step; its box, or None when there is nothing to undo."""
        if self._open is not None or not self._undo:
            return None
        step = self._undo.pop()
        box = step.swap(label)
        self._redo.append(step)
        return box

    def redo(self, label: np.ndarray) -> Box | None:
        if self._open is not None or not self._redo:
            return None
        step = self._redo.pop()
        box = step.swap(label)
        self._undo.append(step)
        return box

    @property
    def undo_description(self) -> str | None:
        """What Ctrl+Z will undo ("Brush stroke (person)"), for the Edit menu; None when nothing."""
        return self._undo[-1].description if self._undo else None

    @property
    def redo_description(self) -> str | None:
        return self._redo[-1].description if self._redo else None

    @property
    def undo_count(self) -> int:
        return len(self._undo)

    @property
    def redo_count(self) -> int:
        return len(self._redo)

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the patches of both stacks (the open step's tiles not counted)."""
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._open = None
        self._serial += 1
        self._base = self._serial  # a state none of the steps recorded before leads to


class HistoryBook:
    """One History per image, kept for the session (keyed by image id), so undo survives browsing.

    ``max_bytes`` bounds the TOTAL of every image's patches: after a step is pushed and the total is
    above it, the oldest steps of the OTHER images go first (oldest pushed first), then the pushing
    image's own oldest, never its newest step. Each History is also bounded alone (steps and bytes).
    """

    def __init__(self, max_steps: int = DEFAULT_MAX_STEPS, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_steps, self.max_bytes = max_steps, max_bytes
        self._by_image: dict[int, History] = {}
        self._age = 0

    def __getitem__(self, image_id: int) -> History:
        """The image's history, created empty on first use."""
        history = self._by_image.get(image_id)
        if history is None:
            history = self._by_image[image_id] = History(self.max_steps, self.max_bytes)
            history.on_push = self._bound_total
            history.clock = self._tick
        return history

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._by_image

    def forget(self, image_id: int) -> None:
        """Drop an image's history (its mask was reloaded from disk, replacing the map)."""
        self._by_image.pop(image_id, None)

    @property
    def memory_bytes(self) -> int:
        """Bytes held by every image's undo and redo patches (the editor reports it)."""
        return sum(h.memory_bytes for h in self._by_image.values())

    def memory_by_image(self) -> dict[int, int]:
        return {i: h.memory_bytes for i, h in self._by_image.items() if h.memory_bytes}

    def _tick(self) -> int:
        self._age += 1
        return self._age

    def _bound_total(self, pushed: History) -> None:
        total = self.memory_bytes
        while total > self.max_bytes:
            others = [h for h in self._by_image.values() if h is not pushed and h.oldest_age is not None]
            if others:
                victim = min(others, key=lambda h: h.oldest_age or 0)
            elif pushed.undo_count > 1:
                victim = pushed
            else:
                return  # only the newest step is left: it is kept so the last edit can be undone
            total -= victim.drop_oldest()


def step_description(action: str, class_name: str) -> str:
    """The Edit menu's name of a step: ``step_description("Brush stroke", "person")`` ->
    ``"Brush stroke (person)"``."""
    return f"{action} ({class_name})"
