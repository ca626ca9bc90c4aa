"""One worker thread that runs every store and model call off the UI thread, in order.

All database access goes through a single QThread: the calls keep their order, the embedded
store's SQLite connection stays on the thread that opened it, and the UI thread never waits
on the network. A task reports progress, partial results, its result or its error by signals.
"""
from __future__ import annotations

import logging
import queue
import threading
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from model.errors import CancelledError, EventLensError

log = logging.getLogger(__name__)

_live: "weakref.WeakSet[Worker]" = weakref.WeakSet()


def live_workers() -> list["Worker"]:
    """Workers whose thread is still running (tests fail when one is left behind)."""
    return [w for w in _live if w.isRunning()]


def user_message(error: BaseException) -> str:
    """The one line shown for an error: expected failures as they are, others with their type."""
    if isinstance(error, EventLensError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Job(QObject):
    """One queued call; the function receives the job to report progress and check for cancel."""

    progress = Signal(int, int, str)  # done, total (0 = unknown), what
    partial = Signal(object)  # a piece of the result, e.g. a batch of events
    result = Signal(object)
    error = Signal(object)  # the exception
    finished = Signal()  # after result or error, always

    def __init__(self, name: str, fn: Callable[["Job"], Any]):
        super().__init__()
        self.name, self._fn = name, fn
        self._cancel = threading.Event()
        self.done = False

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it then ends with CancelledError."""
        self._cancel.set()

    def check(self) -> None:
        """Raise CancelledError when cancel() was called; call between batches."""
        if self._cancel.is_set():
            raise CancelledError(self.name)

    def report(self, done: int, total: int = 0, what: str = "") -> None:
        """Emit progress (from the worker thread)."""
        self.progress.emit(int(done), int(total), what or self.name)

    def _run(self) -> None:
        try:
            if self._cancel.is_set():
                raise CancelledError(self.name)
            value = self._fn(self)
        except BaseException as exc:  # every failure goes to the window, never to stderr only
            if not isinstance(exc, EventLensError):
                log.exception("task %s failed", self.name)
            self.done = True
            self.error.emit(exc)
        else:
            self.done = True
            self.result.emit(value)
        self.finished.emit()


class Worker(QThread):
    """A thread that runs submitted jobs one after another until stop()."""

    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._queue: "queue.Queue[Job | None]" = queue.Queue()
        self._current: Job | None = None
        self._pending = 0
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()
        _live.add(self)

    def submit(self, name: str, fn: Callable[[Job], Any]) -> Job:
        """Queue ``fn(job)``; connect to the job's signals before control returns to the event loop."""
        job = Job(name, fn)
        # keep the job alive until its last signal reached the UI thread
        self._jobs.add(job)
        job.finished.connect(lambda: self._jobs.discard(job))
        with self._lock:
            self._pending += 1
        if not self.isRunning():
            self.start()
        self._queue.put(job)
        return job

    def idle(self) -> bool:
        """True when no job is queued or running."""
        with self._lock:
            return self._pending == 0

    def cancel_all(self) -> None:
        """Cancel the running job and every queued one."""
        current = self._current
        if current is not None:
            current.cancel()
        for job in list(self._queue.queue):
            if job is not None:
                job.cancel()

    def stop(self, timeout_ms: int = 15000) -> bool:
        """Cancel everything, end the thread and wait for it; True when it ended in time."""
        self.cancel_all()
        if self.isRunning():
            self._queue.put(None)
            return self.wait(timeout_ms)
        return True

    def run(self) -> None:  # noqa: D401 - QThread entry point
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._current = job
            try:
                job._run()
            finally:
                self._current = None
                with self._lock:
                    self._pending -= 1
