"""`python -m cocoseg_gui` launches the desktop app, like `cocoseg-gui`."""

from cocoseg_gui.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
