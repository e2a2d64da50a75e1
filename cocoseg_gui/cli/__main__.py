"""`python -m cocoseg_gui.cli ...` is the same as `cocoseg ...`."""

from cocoseg_gui.cli import main

raise SystemExit(main())
