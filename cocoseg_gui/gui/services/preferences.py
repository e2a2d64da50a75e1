"""Edit › Preferences…'s settings: their QSettings keys, read into one typed record and written back.

The keys live here (not in the widgets that use them) so that the Preferences dialog, the window and
each widget that follows a setting read the same key; QSettings stays the one store (an INI gives
strings back, so every value is parsed here, once).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from cocoseg_gui.gui.services.app_state import PROJECTS_ROOT_KEY, default_projects_root

SAM_WEIGHTS_KEY = "segment/weights"  # click to segment's weights file (its toolbar's Weights… too)
OPACITY_KEY = "view/opacity"  # the mask overlay's opacity, 0..1
AUTOSAVE_KEY = "edit/autosave"  # Edit › Save edits when switching images
OUTLINES_KEY = "label_issues/outlines"  # Tools › Outline likely label errors
DEFAULT_OPACITY = 0.5


@dataclass(frozen=True)
class Preferences:
    sam_weights: Path | None
    opacity: float  # 0..1
    autosave: bool
    outline_issues: bool
    projects_root: Path  # where a dataset opened on its own gets its project


def _flag(value: object, default: bool) -> bool:
    return default if value is None else str(value).lower() not in ("false", "0")


def read_preferences(settings: QSettings) -> Preferences:
    weights = settings.value(SAM_WEIGHTS_KEY)
    try:
        opacity = min(1.0, max(0.0, float(str(settings.value(OPACITY_KEY, DEFAULT_OPACITY)))))
    except ValueError:
        opacity = DEFAULT_OPACITY
    return Preferences(
        sam_weights=Path(str(weights)) if weights else None,
        opacity=opacity,
        autosave=_flag(settings.value(AUTOSAVE_KEY), True),
        outline_issues=_flag(settings.value(OUTLINES_KEY), True),
        projects_root=default_projects_root(settings),
    )


def write_preferences(settings: QSettings, new: Preferences, old: Preferences) -> list[str]:
    """Write the fields of ``new`` that differ from ``old`` (the rest stay as they are: an unchanged
    projects folder that came from the environment is not pinned); the changed field names."""
    changed = [f.name for f in fields(Preferences) if getattr(new, f.name) != getattr(old, f.name)]
    for name in changed:
        if name == "sam_weights":
            if new.sam_weights is None:
                settings.remove(SAM_WEIGHTS_KEY)
            else:
                settings.setValue(SAM_WEIGHTS_KEY, str(new.sam_weights))
        elif name == "opacity":
            settings.setValue(OPACITY_KEY, new.opacity)
        elif name == "autosave":
            settings.setValue(AUTOSAVE_KEY, new.autosave)
        elif name == "outline_issues":
            settings.setValue(OUTLINES_KEY, "true" if new.outline_issues else "false")
        elif name == "projects_root":
            settings.setValue(PROJECTS_ROOT_KEY, str(new.projects_root))
    return changed
