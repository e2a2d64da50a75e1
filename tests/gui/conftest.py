"""Every GUI test fails fast on an unexpected dialog instead of hanging (no_blocking_dialogs)."""

from tests.gui.window_helpers import no_blocking_dialogs  # noqa: F401
