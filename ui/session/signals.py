"""A small signal of the session's own: observers connect callbacks, the state emits.

Plain Python (the session imports no Qt): ``emit`` calls the callbacks in the emitting thread,
in the order they connected. The session only changes state on the thread that owns it (the
window's UI thread, or the command line's one thread), so observers never see a change from
another thread.
"""
from __future__ import annotations

from typing import Any, Callable

Callback = Callable[..., Any]


class Signal:
    """Callbacks to call when something changed; ``connect`` returns the callback (usable as a decorator)."""

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
