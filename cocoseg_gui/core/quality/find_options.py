"""The choices of Tools › Find likely label errors… as a typed, Qt-free value, checked here.

The dialog (gui/widgets/find_issues_dialog.py) copies its widgets into ``find_options`` and shows the
OptionsError's message; the cross-fitting epochs default to those of the checkpoint's run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cocoseg_gui.core.errors import OptionsError


@dataclass(frozen=True)
class FindIssuesOptions:
    """A checkpoint file, the score that orders the images, and cross-fitting (0: the checkpoint scores)."""

    checkpoint: Path
    score: str
    cross_fit: int  # folds; 0: scored by the checkpoint itself
    fold_epochs: int | None  # epochs per fold model; None without cross-fitting


def find_options(
    checkpoint_text: str, score: str, cross_fit: bool, folds: int, fold_epochs: int
) -> FindIssuesOptions:
    """The options from the dialog's fields; OptionsError (the line the dialog shows) when the checkpoint
    is not a file."""
    text = checkpoint_text.strip()
    path = Path(text).expanduser() if text else None
    if path is None:
        raise OptionsError("Choose a checkpoint file (.pt).")
    if not path.is_file():
        raise OptionsError(f"{path} is not a file.")
    return FindIssuesOptions(
        checkpoint=path,
        score=score,
        cross_fit=folds if cross_fit else 0,
        fold_epochs=fold_epochs if cross_fit else None,
    )


def run_epochs(checkpoint: Path) -> int | None:
    """The epochs of the run that wrote ``checkpoint`` (its folder's config.json), None if unknown."""
    try:
        epochs = json.loads((checkpoint.parent / "config.json").read_text(encoding="utf-8")).get("epochs")
    except (OSError, ValueError, AttributeError):
        return None
    return epochs if isinstance(epochs, int) and epochs > 0 else None
