"""`python -m cocoseg_gui` opens the desktop app, like `cocoseg-gui`; `python -m cocoseg_gui cli ...` the CLI.

This is also the frozen app's entry script (packaging/cocoseg.spec): see cocoseg_gui.launcher.
"""

from cocoseg_gui.launcher import main

if __name__ == "__main__":  # guarded: 'spawn' worker processes re-import the main module
    raise SystemExit(main())
