"""What the window's menu controllers (the ``*_actions`` modules) may ask of the window, handed to them.

The controllers used to take the ``MainWindow`` and reach into it (``window._fail``, ``window._dialog_dir``,
``window.images.browser``), so each imported main_window under TYPE_CHECKING while main_window imported
them: an import cycle, and no telling what a controller depends on. The window now builds one
``WindowHooks`` and passes it, with whatever else a controller needs, explicitly (ADR 0031).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class WindowHooks:
    """The window's services a controller may use; nothing else of the window."""

    parent: QWidget  # the controllers' owner and their dialogs' parent
    show_status: Callable[[str, int], None]  # a status bar message shown for so many milliseconds
    fail: Callable[[BaseException | str], None]  # a dataset not opened: status bar, dialog unless unattended
    dialog_dir: Callable[[], str]  # where file dialogs start: the open dataset's folder, else home
