"""Stream a COCO JSON's top-level sections without ever holding the whole parsed tree.

The file is read in blocks. The top-level object is walked by hand (keys, small values); the big
arrays ("images", "annotations") are cut into runs of whole elements and each run is parsed by
orjson on its own. A cut is placed after a ``}`` followed by ``,{`` or ``]`` (whitespace allowed)
and is *verified*: a run parses only if the cut really falls between two elements (the run starts
at an element and is tokenised exactly as the whole file would be), so a brace inside a string or a
nested object can never split an element. Anything unexpected (a syntax error, an array of
non-objects, a duplicate key) raises ``StreamFallback`` and the caller parses the whole file,
which also gives exact error positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

BLOCK = 4 << 20  # bytes read at a time; one run of elements is about this big (peak memory ~ 10x)
MAX_SMALL_VALUE = 64 << 20  # a top-level value other than the big arrays larger than this: fall back
MAX_RUN = 256 << 20  # no element boundary within this many bytes: fall back

_WS = re.compile(rb"[ \t\n\r]*")
_CUT = re.compile(rb"\}[ \t\n\r]*(?:,[ \t\n\r]*\{|\])")
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null")
_STREAMED = ("images", "annotations")


class StreamFallback(Exception):
    """The streaming reader cannot go on; parse the whole file instead."""


class NotAnObject(Exception):
    """The top level of the file is not a JSON object."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Buffer:
    """A window on the file: ``data[pos:]`` is what is not consumed yet."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.data = b""
        self.pos = 0
        self.consumed = 0  # file offset of data[0]
        self.eof = False

    def fill(self, want: int) -> bool:
        """Make ``data[pos:]`` hold at least ``want`` bytes if the file has them; False at EOF."""
        while len(self.data) - self.pos < want:
            if self.eof:
                return False
            rest = self.data[self.pos :]
            self.consumed += self.pos
            chunk = self.fh.read(max(BLOCK, want - len(rest)))
            self.eof = not chunk
            self.data, self.pos = rest + chunk, 0
        return True

    def more(self) -> bool:
        """Read another block; False if the file had nothing more."""
        return self.fill(len(self.data) - self.pos + 1)

    def skip_ws(self) -> None:
        while True:
            blank = _WS.match(self.data, self.pos)
            assert blank is not None  # a `*` pattern matches the empty string
            self.pos = blank.end()
            if self.pos < len(self.data) or not self.fill(1):
                return

    def peek(self) -> int:
        self.skip_ws()
        if self.pos >= len(self.data):
            raise StreamFallback("unexpected end of file")
        return self.data[self.pos]

    def expect(self, char: bytes) -> None:
        if self.peek() != char[0]:
            raise StreamFallback(f"expected {char!r}")
        self.pos += 1

    @property
    def offset(self) -> int:
        return self.consumed + self.pos


def iter_sections(fh: IO[bytes]) -> Iterator[tuple[str, Any, int]]:
    """Yield (key, value or chunk of elements, bytes read) for each top-level key of a JSON object.

    "images" and "annotations" arrays come as several chunks (lists of elements), at least one each.
    """
    buf = _Buffer(fh)
    first = buf.peek()
    if first != ord("{"):
        raise NotAnObject("list") if first == ord("[") else StreamFallback("not an object")
    buf.pos += 1
    seen: set[str] = set()
    if buf.peek() == ord("}"):
        return
    while True:
        key = _read_value(buf, string_only=True)
        if not isinstance(key, str) or key in seen:
            raise StreamFallback("duplicate key")
        seen.add(key)
        buf.expect(b":")
        if key in _STREAMED and buf.peek() == ord("["):
            buf.pos += 1
            yield from ((key, chunk, buf.offset) for chunk in _iter_array(buf))
        else:
            yield key, _read_value(buf), buf.offset
        if buf.peek() == ord("}"):
            buf.pos += 1
            buf.skip_ws()
            if buf.pos < len(buf.data):
                raise StreamFallback("data after the top-level object")
            return
        buf.expect(b",")


def _read_value(buf: _Buffer, string_only: bool = False) -> Any:
    """Parse one (small) JSON value at the buffer position."""
    start_char = buf.peek()
    if string_only and start_char != ord('"'):
        raise StreamFallback("expected a key")
    while True:
        data, pos = buf.data, buf.pos
        end = None
        if start_char in b"{[" and not string_only:
            depth = 0
            for m in _TOKEN.finditer(data, pos):
                c = data[m.start()]
                if c in b"{[":
                    depth += 1
                elif c in b"}]":
                    depth -= 1
                    if depth == 0:
                        end = m.end()
                        break
        else:
            scalar = (_STRING if start_char == ord('"') or string_only else _SCALAR).match(data, pos)
            if scalar is not None and (scalar.end() < len(data) or buf.eof):
                end = scalar.end()
        if end is not None:
            try:
                value = orjson.loads(data[pos:end])
            except orjson.JSONDecodeError:
                pass  # e.g. a brace inside a string cut by the end of the buffer: read more
            else:
                buf.pos = end
                return value
        if len(data) - pos > MAX_SMALL_VALUE or not buf.more():
            raise StreamFallback("value too large or truncated")


def _iter_array(buf: _Buffer) -> Iterator[list[Any]]:
    """Yield runs of whole elements of the array whose ``[`` was just consumed."""
    if buf.peek() == ord("]"):
        buf.pos += 1
        yield []
        return
    while True:
        buf.fill(BLOCK)
        elements, cut = _parse_run(buf.data, buf.pos)
        if elements is None:
            if len(buf.data) - buf.pos > MAX_RUN or not buf.more():
                raise StreamFallback("no element boundary found")
            continue
        buf.pos = cut
        yield elements
        del elements
        if buf.peek() == ord("]"):
            buf.pos += 1
            return
        buf.expect(b",")


def _parse_run(data: bytes, pos: int, tries: int = 6) -> tuple[list[Any] | None, int]:
    """Parse the longest run of whole elements from ``pos`` that a candidate cut allows.

    A failed try moves the search before the cut and before the place where orjson stopped (a run
    running past the array's ``]`` fails just after it), so few tries are needed.
    """
    hi = len(data)
    for _ in range(tries):
        cut = _last_cut(data, pos, hi)
        if cut is None:
            break
        try:
            return orjson.loads(b"[" + data[pos:cut] + b"]"), cut
        except orjson.JSONDecodeError as exc:
            hi = min(cut, pos + exc.pos)  # exc.pos - 1 in data, +1 for the match's last byte
    return None, pos


def _last_cut(data: bytes, pos: int, hi: int) -> int | None:
    """The end of the last ``}`` before ``,{`` or ``]`` in ``data[pos:hi]`` (just after the brace)."""
    window = 1 << 16
    while hi > pos:
        lo = max(pos, hi - window)
        last = None
        for last in _CUT.finditer(data, lo, hi):  # noqa: B007
            pass
        if last is not None:
            return last.start() + 1
        hi, window = lo + 64, window * 4  # overlap: a match may straddle lo
        if lo == pos:
            return None
    return None
