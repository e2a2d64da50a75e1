"""One entry for both programs, so a frozen (PyInstaller) build can ship a single executable.

``cocoseg-gui [GUI options]`` opens the workbench; ``cocoseg-gui cli COMMAND ...`` runs the ``cocoseg``
CLI, and so does the executable when it is called by the name ``cocoseg`` (the build links
``cocoseg -> cocoseg-gui`` in the app folder). ``multiprocessing.freeze_support()`` comes first: the
mask job's ``spawn`` workers re-run this executable, and must become workers, not a second app.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from pathlib import Path

CLI_WORD = "cli"
CLI_PROGRAM = "cocoseg"


def wants_cli(program: str, argv: Sequence[str]) -> bool:
    """True when the call means the CLI: the program is named ``cocoseg`` or the first word is ``cli``."""
    name = Path(program).name.removesuffix(".exe")
    return name == CLI_PROGRAM or (len(argv) > 0 and argv[0] == CLI_WORD)


def main(argv: Sequence[str] | None = None, program: str | None = None) -> int:
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    program = sys.argv[0] if program is None else program
    if wants_cli(program, args):
        from cocoseg_gui.cli import main as cli_main

        return cli_main(args[1:] if args[:1] == [CLI_WORD] else args)
    from cocoseg_gui.gui.app import main as gui_main

    return gui_main(args)
