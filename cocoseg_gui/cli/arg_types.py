"""argparse types shared by the sub-commands: bad values stop at parsing, with a message and exit 2."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], float]:
    """The one numeric argument type of every command: a finite number (``nan``, ``inf`` refused),
    an integer when ``integer``, within [low, high] (``low_open``/``high_open``: the bound itself
    excluded). Bad values stop at parsing with a message saying what is expected, and exit 2."""
    kind = "an integer" if integer else "a finite number"
    parts = []
    if low is not None:
        parts.append(f"{'above' if low_open else 'at least'} {_fmt(low)}")
    if high is not None:
        parts.append(f"{'below' if high_open else 'at most'} {_fmt(high)}")
    expected = " and ".join(parts)

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        bad = not math.isfinite(value)
        bad = bad or (low is not None and (value <= low if low_open else value < low))
        bad = bad or (high is not None and (value >= high if high_open else value > high))
        if bad:
            what = f"{kind} {expected}" if expected else kind
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = "integer" if integer else "number"  # argparse's "invalid <name> value" fallback
    return parse


_POSITIVE = number(1, integer=True)
_NON_NEGATIVE = number(0, integer=True)


def positive_int(text: str) -> int:
    """A count that must be at least 1 (batch size, epochs...)."""
    return int(_POSITIVE(text))


def non_negative_int(text: str) -> int:
    """A count where 0 means none (e.g. loader worker processes: 0 = load in the main process)."""
    return int(_NON_NEGATIVE(text))


def _existing_file_above(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder (nothing can be created below it)."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def out_dir(text: str) -> Path:
    """An output folder: it may not exist yet, but it must not be an existing file (or lie below one)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    blocker = _existing_file_above(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{blocker} is a file, not a folder, so {path} cannot be made")
    return path


def out_file(text: str) -> Path:
    """An output file: it may exist (it is replaced), but not as a folder, nor below an existing file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    blocker = _existing_file_above(path)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"{blocker} is a file, not a folder, so {path} cannot be made")
    return path
