"""ruff, mypy and the import-linter contracts (core and cli never import Qt; the gui and core layers) run
as part of the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def test_ruff_is_clean() -> None:
    cmd = [_tool("ruff"), "check", "cocoseg_gui", "tests", "benchmarks"]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    cmd = [_tool("ruff"), "format", "--check", "cocoseg_gui", "tests", "benchmarks"]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, "run `ruff format .`\n" + result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    """mypy with pyproject.toml's [tool.mypy]: strict for core/, the baseline for gui/ and cli/ (ADR 0034)."""
    result = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, "mypy (run `mypy` in the repo root)\n" + result.stdout + result.stderr


def test_core_never_imports_qt() -> None:
    result = subprocess.run([_tool("lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout
