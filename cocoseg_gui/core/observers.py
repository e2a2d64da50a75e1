"""A minimal, Qt-free observer list: core state models notify views without importing Qt.

The GUI subscribes a callback that re-emits a Qt signal (or repaints) on the GUI thread; core models are
changed only from the GUI thread, so callbacks run synchronously, in subscription order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Observers(Generic[T]):
    """Callbacks taking one event of type ``T``; ``subscribe`` returns the function that unsubscribes."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def subscribe(self, callback: Callable[[T], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, event: T) -> None:
        for callback in list(self._callbacks):  # a callback may unsubscribe itself
            callback(event)

    def __len__(self) -> int:
        return len(self._callbacks)
