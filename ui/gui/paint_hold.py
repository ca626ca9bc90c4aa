"""The paint hold: the window asks the worker to stand aside while it paints.

The worker's Python and the UI thread share one GIL, and a repaint is hundreds of calls from
Qt into Python (item data, paint events), each of which would wait for the worker to hand the
GIL over. So a batch handed to the widgets, a timeline redraw and every repaint ``hold()``
the worker: it waits at its next ``Task.between_batches`` until ``release()``, at most
``LIMIT_S`` at one wait whatever the UI thread does, and the hold ends by itself after
``HOLD_MS`` when nothing gets painted (a hidden window).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer

#: The longest the worker waits at one point for release(): a UI thread that never releases
#: (a bug, or a window that never paints) slows a job down but cannot stop it.
LIMIT_S = 0.2
#: A hold ends by itself after this long without a paint.
HOLD_MS = 50


class PaintHold(QObject):
    """Held while the window paints; the worker waits on ``wait_while_held`` between batches."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._free = threading.Event()
        self._free.set()
        self._timer = QTimer(self, singleShot=True, interval=HOLD_MS)
        self._timer.timeout.connect(self.release)

    def hold(self) -> None:
        """Ask the worker to stand aside until release() (or HOLD_MS, whichever comes first)."""
        self._free.clear()
        self._timer.start()

    def release(self) -> None:
        self._timer.stop()
        self._free.set()

    def held(self) -> bool:
        return not self._free.is_set()

    def wait_while_held(self) -> None:
        """In the worker: wait until the window has painted (at most LIMIT_S)."""
        if not self._free.is_set():
            self._free.wait(LIMIT_S)
