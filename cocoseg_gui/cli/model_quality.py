"""The warning line the ranking and proposal commands print before they run a weak or unscored model."""

from __future__ import annotations

import sys
from pathlib import Path

from cocoseg_gui.core.training.model_score import ModelScore, describe_weak_classes, weakness


def checkpoint_score(checkpoint: Path) -> ModelScore:
    """The checkpoint's score: its run folder's, else the metrics saved in the file (read here, once)."""
    from cocoseg_gui.core.errors import CocoSegError
    from cocoseg_gui.core.training.model_score import score_of_checkpoint, score_of_run_checkpoint

    found = score_of_run_checkpoint(checkpoint)
    if found.scored:
        return found
    try:
        from cocoseg_gui.core.training.checkpoint import load_checkpoint

        return score_of_checkpoint(checkpoint, load_checkpoint(checkpoint))
    except CocoSegError:
        return found  # the job itself says what is wrong with the file


def warn_if_weak(command: str, score: ModelScore) -> bool:
    """Print ``cocoseg COMMAND: warning: ...`` (stderr) when the model is weak or unscored; True if so."""
    problem = weakness(score)
    if problem is None:
        return False
    low = describe_weak_classes(score)
    extra = f"; {low}" if low else ""
    print(
        f"cocoseg {command}: warning: {problem}{extra}; the score is recorded in the output",
        file=sys.stderr,
    )
    return True
