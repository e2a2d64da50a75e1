"""Training events: each goes to every callback and is appended to RUN/metrics.jsonl (one JSON a line).

The events are the typed objects of ``event_types``; the file gets their ``to_json()``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from cocoseg_gui.core.training.event_types import Event, WarningEvent, WarningKind

EventCallback = Callable[[Event], None]
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return obj.as_posix()
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class EventLog:
    """Fans events out to callbacks and a line-buffered metrics.jsonl.

    ``path`` None (ranks other than 0) disables the file and the callbacks. A callback that
    raises is reported once with a ``warning`` event and then skipped; training goes on.
    """

    def __init__(
        self, path: Path | None, callbacks: Sequence[EventCallback] = (), enabled: bool = True
    ) -> None:
        self.enabled = enabled
        self._callbacks = list(callbacks) if enabled else []
        self._broken: set[int] = set()
        self._fh: IO[bytes] | None = None
        if path is not None:
            self.open_file(path, fresh=False)

    def open_file(self, path: Path, fresh: bool) -> None:
        """Start writing events to ``path``: appended, or a fresh file when ``fresh`` (a new run).

        Opened only once the run has set up, so a start that fails leaves an existing log untouched.
        """
        if not self.enabled:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "wb" if fresh else "ab", buffering=0)  # noqa: SIM115 - kept open for the run

    def emit(self, event: Event) -> Event:
        """Write ``event`` to metrics.jsonl and hand it to every callback; return it."""
        if not self.enabled:
            return event
        if self._fh is not None:
            line = orjson.dumps(event.to_json(), default=_json_default, option=_OPTS)  # NaN -> null
            self._fh.write(line + b"\n")
        failures: list[str] = []
        for i, cb in enumerate(self._callbacks):
            if i in self._broken:
                continue
            try:
                cb(event)
            except Exception as exc:  # a broken front end must not kill training
                self._broken.add(i)
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                failures.append(
                    f"event callback {getattr(cb, '__name__', cb)!r} raised {detail}; "
                    "it is disabled for the rest of the run"
                )
        for message in failures:  # after every callback has seen this event
            self.warning(WarningKind.CALLBACK_FAILED, message)
        return event

    def add_callback(self, callback: EventCallback) -> None:
        if self.enabled:
            self._callbacks.append(callback)

    def warning(self, kind: str, message: str) -> Event:
        return self.emit(WarningEvent(kind=kind, message=message))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
