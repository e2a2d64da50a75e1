"""Read a training run folder (config.json, metrics.jsonl, checkpoints) into typed events; no Qt.

Used by the Train panel to replay or resume a run; old run folders load too (see ``parse_event``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError
from cocoseg_gui.core.training.event_types import Event, parse_event
from cocoseg_gui.core.training.run_folder import LOG as METRICS_FILE

CONFIG_FILE = "config.json"


STEP_PREFIX = '{"type":"step"'  # how EventLog starts a step line (compact JSON, "type" first)


def read_events(run_dir: str | Path, *, steps: bool = True) -> list[Event]:
    """The events of ``run_dir/metrics.jsonl`` in order (``steps=False``: without the step events, most
    of a long run's lines, skipped before parsing: what the GUI thread reads to score a checkpoint).

    A truncated last line (a run still writing, or killed mid-line) is skipped; any other
    malformed line is an error naming the file and the line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise DatasetError(
            path, "no metrics.jsonl here: is this a training run folder (cocoseg train --out)?"
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot be read ({exc})") from exc
    events: list[Event] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (not steps and line.startswith(STEP_PREFIX)):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # partial last line of a run being written
            raise DatasetError(path, f"line {number} is not JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or "type" not in data:
            raise DatasetError(path, f"line {number} is not an event (an object with a 'type')")
        events.append(parse_event(data))
    return events


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` (empty dict when absent)."""
    path = Path(run_dir) / CONFIG_FILE
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


END_TAIL_BYTES = 64 * 1024  # the end event is the last line; a run's log may be megabytes of step events


def last_end_status(run_dir: str | Path) -> str | None:
    """The status of the run's last end event ("finished", "cancelled", ...), None while none is written.

    Reads only the tail of metrics.jsonl: listing recent runs must not parse whole logs.
    """
    path = Path(run_dir) / METRICS_FILE
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - END_TAIL_BYTES))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if '"end"' not in line:
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("type") == "end":
            return str(data.get("status"))
    return None


def run_checkpoints(run_dir: str | Path) -> list[Path]:
    """The checkpoints a run offers: best.pt, and last.pt too when the run did not finish (stopped, out of
    time, failed: its last.pt holds the latest weights and the training state to resume) or has no best."""
    run = Path(run_dir)
    best, last = run / "best.pt", run / "last.pt"
    found = [best] if best.is_file() else []
    if last.is_file() and (not found or last_end_status(run) != "finished"):
        found.append(last)
    return found
