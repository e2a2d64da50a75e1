"""ImageViewState: the image being looked at, its label map, and display options that outlive the image.

One Qt-free owner instead of parts kept by the window, the viewer, the side-by-side view and the legend:
views observe it and the legend's gestures change it, so hiding or soloing a class holds on the next
image, and a label edit (next: the mask editor) reaches every view as a region to repaint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg_gui.core.masks.label_map import LabelMap, LabelsChanged
from cocoseg_gui.core.observers import Observers

ALL_CLASSES = frozenset(range(256))
Outline = tuple[int, np.ndarray]  # class index, Nx2 xy polygon in image pixels


@dataclass(frozen=True)
class ClassVisibility:
    """Hidden classes and the soloed one. Solo leaves ``hidden`` alone, so unsolo brings it back."""

    hidden: frozenset[int] = frozenset()
    solo: int | None = None

    def hidden_classes(self) -> frozenset[int]:
        """What a view must not draw: every class but the soloed one, else the hidden set."""
        return ALL_CLASSES - {self.solo} if self.solo is not None else self.hidden

    def toggled(self, index: int, present: Iterable[int] = ()) -> ClassVisibility:
        """Hide or show ``index``; while soloed, what is on screen (only the solo among ``present``) is
        the starting point, so the click changes just that class."""
        base = self.hidden
        if self.solo is not None:
            base = (frozenset(present) | self.hidden) - {self.solo}
        return ClassVisibility(base ^ {int(index)})

    def soloed(self, index: int) -> ClassVisibility:
        """Show only ``index``; soloing the soloed class again ends the solo."""
        return ClassVisibility(self.hidden, None if self.solo == index else int(index))


@dataclass(frozen=True)
class DisplayOptions:
    """How the current image is drawn; kept when the image changes."""

    visibility: ClassVisibility = ClassVisibility()
    opacity: float = 0.5
    overlay: bool = True
    outlines: bool = True
    side_by_side: bool = False


@dataclass(frozen=True, eq=False)
class ShownImage:
    """An image as loaded for viewing: its pixels and, when it has one, its label map."""

    image_id: int
    file_name: str
    rgb: np.ndarray  # HxWx3 uint8 (a reference, not copied)
    labels: LabelMap | None
    path: Path | None = None
    mask_source: str = ""  # "mask file", "annotations" or "" (no mask)
    outlines: tuple[Outline, ...] = ()
    note: str = ""  # a problem worth a status message (why no mask)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the image; the label map keeps its own (mask) resolution."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def mask(self) -> np.ndarray | None:
        """The label map as a read-only array, or None."""
        return None if self.labels is None else self.labels.array

    @property
    def mask_scale(self) -> tuple[float, float]:
        """Image pixels per mask pixel (x, y): a mask may be stored smaller than its image; (1, 1)
        without one. What every Edit-mode overlay scales mask coordinates by."""
        if self.labels is None:
            return 1.0, 1.0
        (mh, mw), (w, h) = self.labels.shape, self.size
        return w / mw, h / mh


@dataclass(frozen=True)
class LoadError:
    image_id: int
    file_name: str
    message: str


@dataclass(frozen=True, eq=False)
class ImageChanged:
    image: ShownImage | None
    error: LoadError | None = None


@dataclass(frozen=True)
class DisplayChanged:
    old: DisplayOptions
    new: DisplayOptions


@dataclass(eq=False)
class ImageViewState:
    """The current image (or why there is none) and the display options; changed on the GUI thread."""

    display: DisplayOptions = field(default_factory=DisplayOptions)
    image: ShownImage | None = None
    error: LoadError | None = None
    image_changed: Observers[ImageChanged] = field(default_factory=Observers)
    labels_changed: Observers[LabelsChanged] = field(default_factory=Observers)
    display_changed: Observers[DisplayChanged] = field(default_factory=Observers)
    _unsubscribe: Callable[[], None] | None = field(default=None, init=False, repr=False)

    # ---------------------------------------------------------------------------------------- image
    @property
    def labels(self) -> LabelMap | None:
        return None if self.image is None else self.image.labels

    def show(self, image: ShownImage) -> None:
        """Make ``image`` current; its label map's changes are forwarded as ``labels_changed``."""
        self._set(image, None)

    def fail(self, image_id: int, file_name: str, message: str) -> None:
        """The image asked for cannot be shown: no image, and why."""
        self._set(None, LoadError(image_id, file_name, message))

    def clear(self) -> None:
        self._set(None, None)

    def _set(self, image: ShownImage | None, error: LoadError | None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.image, self.error = image, error
        if image is not None and image.labels is not None:
            self._unsubscribe = image.labels.changed.subscribe(self.labels_changed.emit)
        self.image_changed.emit(ImageChanged(image, error))

    # -------------------------------------------------------------------------------------- display
    def set_display(self, options: DisplayOptions) -> None:
        old = self.display
        if options != old:
            self.display = options
            self.display_changed.emit(DisplayChanged(old, options))

    def update_display(self, **changes: Any) -> None:
        """Change some options, e.g. ``update_display(opacity=0.6)``."""
        self.set_display(replace(self.display, **changes))

    def set_visibility(self, visibility: ClassVisibility) -> None:
        self.update_display(visibility=visibility)

    def set_opacity(self, value: float) -> None:
        self.update_display(opacity=round(min(1.0, max(0.0, float(value))), 2))

    def present_classes(self) -> set[int]:
        return set() if self.labels is None else self.labels.present()

    def toggle_class(self, index: int) -> None:
        self.set_visibility(self.display.visibility.toggled(index, self.present_classes()))

    def solo_class(self, index: int) -> None:
        self.set_visibility(self.display.visibility.soloed(index))

    def set_hidden(self, hidden: Iterable[int]) -> None:
        self.set_visibility(ClassVisibility(frozenset(int(i) for i in hidden)))

    def show_all_classes(self) -> None:
        self.set_visibility(ClassVisibility())
