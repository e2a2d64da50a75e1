"""Recently used run folders, kept in QSettings (newest first) for the Predict and Evaluate panels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

RECENT_KEY = "runs/recent"
MAX_RECENT = 10


def _stored(settings: QSettings) -> list[str]:
    raw = settings.value(RECENT_KEY) or []
    return [raw] if isinstance(raw, str) else [str(p) for p in raw]


def recent_runs(settings: QSettings) -> list[Path]:
    """Run folders used recently that still exist, newest first."""
    return [Path(p) for p in _stored(settings) if p and Path(p).is_dir()]


def add_recent_run(settings: QSettings, run_dir: str | Path) -> None:
    path = str(Path(run_dir).resolve())
    items = [path, *[p for p in _stored(settings) if p != path]][:MAX_RECENT]
    settings.setValue(RECENT_KEY, items)
