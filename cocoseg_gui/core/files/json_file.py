"""Reading a small JSON file with the error a user can act on (DatasetError naming the file).

The one reader of the JSON files cocoseg writes and reads back (a mask folder's mapping, map, report,
manifest and edited.json, a run's split, label_issues.json, proposals.json): below every domain package,
so none of them imports another's reader for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cocoseg_gui.core.errors import DatasetError


def read_json(path: str | Path, required: bool = True) -> Any:
    """Parse a JSON file; None when it is missing and not ``required``, else DatasetError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if not required:
            return None
        raise DatasetError(path, "file not found (is this a folder written by `cocoseg masks`?)") from exc
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"cannot read JSON ({exc})") from exc
