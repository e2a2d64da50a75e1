"""`python -m cocoseg_gui.cli ...` is the same as `cocoseg ...`."""

from cocoseg_gui.cli import main

if __name__ == "__main__":  # guarded: 'spawn' worker processes re-import the main module
    raise SystemExit(main())
