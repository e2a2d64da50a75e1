"""One executable for both programs (the frozen app): which words mean the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cocoseg_gui import __version__
from cocoseg_gui.launcher import wants_cli

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("program", "argv", "cli"),
    [
        ("/opt/cocoseg/cocoseg", ["masks", "--help"], True),
        ("cocoseg.exe", [], True),
        ("/opt/cocoseg/cocoseg-gui", ["cli", "masks"], True),
        ("/opt/cocoseg/cocoseg-gui", ["--screenshot", "x.png"], False),
        ("/opt/cocoseg/cocoseg-gui", [], False),
        ("/opt/cocoseg/cocoseg-gui", ["--annotations", "cli"], False),  # only the first word counts
        ("python -m cocoseg_gui", ["cli"], True),
    ],
)
def test_the_cli_is_chosen_by_program_name_or_first_word(program, argv, cli) -> None:
    assert wants_cli(program, argv) is cli


def test_python_m_cocoseg_gui_cli_runs_the_cli(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cocoseg_gui", "cli", "--version"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cocoseg {__version__}"
