"""Read a training run folder's ``metrics.jsonl`` (docs/formats.md) so its curves can be replayed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError

METRICS_FILE = "metrics.jsonl"


def read_events(run_dir: str | Path) -> list[dict[str, Any]]:
    """Return the events of ``run_dir/metrics.jsonl`` in order.

    A truncated last line (a run still writing, or killed mid-line) is skipped; any other
    malformed line is an error naming the file and the line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise DatasetError(
            path, "no metrics.jsonl here: is this a training run folder (cocoseg train --out)?"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # partial last line of a run being written
            raise DatasetError(path, f"line {number} is not JSON ({exc.msg})") from exc
        if not isinstance(event, dict) or "type" not in event:
            raise DatasetError(path, f"line {number} is not an event (an object with a 'type')")
        events.append(event)
    return events


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` (empty dict when absent)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"not valid JSON ({exc.msg})") from exc
    return data if isinstance(data, dict) else {}


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """``best.pt`` if present, else ``last.pt``, else None."""
    for name in ("best.pt", "last.pt"):
        p = Path(run_dir) / name
        if p.is_file():
            return p
    return None
