"""One worker thread that runs every store and model call off the UI thread, in order.

All database access goes through a single QThread: the calls keep their order, the embedded
store's SQLite connection stays on the thread that opened it, and the UI thread never waits
on the network. A task reports progress, partial results, its result or its error by signals.
"""
from __future__ import annotations

import ctypes
import logging
import queue
import sys
from collections import deque
import threading
import weakref
from typing import Any, Callable

import PySide6
import shiboken6
from PySide6.QtCore import QObject, QThread, Signal

from model.errors import CancelledError, EventLensError

log = logging.getLogger(__name__)


def _pin_singletons() -> None:
    """Work around PySide6 6.12 on Python 3.11: some bindings return True or None without
    taking a reference (``SignalInstance.emit()`` returns True so; pyqtgraph's pixelVectors
    meets a None one), so each call drops a reference and after a few thousand calls the
    interpreter aborts with "deallocating True or False" / "deallocating None". Python 3.12+
    makes these singletons immortal; here we give them the same effectively endless count.
    pyproject.toml keeps 6.12 off Python 3.11; this guards an environment that has it anyway."""
    if sys.version_info >= (3, 12) or not PySide6.__version__.startswith("6.12."):
        return
    for value in (True, False, None):
        ctypes.c_ssize_t.from_address(id(value)).value += 1 << 40


_pin_singletons()

#: The longest a job waits at one check() for release(): a UI thread that never releases
#: (a bug, or a window that never paints) slows a job down but cannot stop it.
HOLD_LIMIT_S = 0.2

_live: "weakref.WeakSet[Worker]" = weakref.WeakSet()


def live_workers() -> list["Worker"]:
    """Workers whose thread is still running (tests fail when one is left behind)."""
    # a deleted QThread was finished (Qt aborts on destroying a running one)
    return [w for w in list(_live) if shiboken6.isValid(w) and w.isRunning()]


def user_message(error: BaseException) -> str:
    """The one line shown for an error: expected failures as they are, others with their type."""
    if isinstance(error, EventLensError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Callbacks:
    """A signal-like list of Python callables, called in the UI thread by the job.

    Values stay Python objects end to end: nothing is copied through Qt's metatype system,
    and a slot can take any value, None included.
    """

    def __init__(self) -> None:
        self._slots: list[Callable[[Any], Any]] = []

    def connect(self, slot: Callable[[Any], Any]) -> None:
        self._slots.append(slot)

    def emit(self, value: Any) -> None:
        for slot in list(self._slots):
            slot(value)


class Job(QObject):
    """One queued call; the function receives the job to report progress and check for cancel."""

    progress = Signal(int, int, str)  # done, total (0 = unknown), what
    finished = Signal()  # after result or error, always
    # values cross threads through a deque and this argument-less signal (see Callbacks)
    _ready = Signal()

    def __init__(self, name: str, fn: Callable[["Job"], Any], may_run: threading.Event | None = None):
        super().__init__()
        self.name, self._fn = name, fn
        self._cancel = threading.Event()
        self._outbox: "deque[tuple[str, Any]]" = deque()
        self.partial = Callbacks()  # pieces of the result, e.g. batches of events
        self.result = Callbacks()
        self.error = Callbacks()  # the exception
        self._ready.connect(self._deliver)  # queued: the job lives in the UI thread
        self.done = False
        self._may_run = may_run  # the worker's: clear while the UI thread holds it (Worker.hold)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it then ends with CancelledError."""
        self._cancel.set()

    def check(self) -> None:
        """Raise CancelledError when cancel() was called, after standing aside while the UI
        thread asked for the GIL (Worker.hold); call between batches."""
        may_run = self._may_run
        if may_run is not None and not may_run.is_set() and not self._cancel.is_set():
            may_run.wait(HOLD_LIMIT_S)
        if self._cancel.is_set():
            raise CancelledError(self.name)

    def report(self, done: int, total: int = 0, what: str = "") -> None:
        """Emit progress (from the worker thread)."""
        self.progress.emit(int(done), int(total), what or self.name)

    def post_partial(self, value: Any) -> None:
        """Send a piece of the result to the UI thread (from the worker thread)."""
        self._post("partial", value)

    def _post(self, kind: str, value: Any = None) -> None:
        self._outbox.append((kind, value))
        self._ready.emit()

    def _deliver(self) -> None:
        while self._outbox:
            kind, value = self._outbox.popleft()
            if kind == "finished":
                self.finished.emit()
            else:
                getattr(self, kind).emit(value)

    def _run(self) -> None:
        try:
            if self._cancel.is_set():
                raise CancelledError(self.name)
            value = self._fn(self)
        except BaseException as exc:  # every failure goes to the window, never to stderr only
            if not isinstance(exc, EventLensError):
                log.exception("task %s failed", self.name)
            self.done = True
            self._post("error", exc)
        else:
            self.done = True
            self._post("result", value)


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
        self._may_run = threading.Event()
        self._may_run.set()
        _live.add(self)

    def submit(self, name: str, fn: Callable[[Job], Any], *, result=None, error=None, partial=None,
               progress=None) -> Job:
        """Queue ``fn(job)`` with its slots connected first (a job may end before submit returns)."""
        job = self.create(name, fn)
        for signal, slot in ((job.result, result), (job.error, error), (job.partial, partial), (job.progress, progress)):
            if slot is not None:
                signal.connect(slot)
        return self.enqueue(job)

    def create(self, name: str, fn: Callable[[Job], Any]) -> Job:
        """A job not yet queued: connect its signals, then enqueue() it."""
        job = Job(name, fn, self._may_run)
        # keep the job alive until its last signal reached the UI thread
        self._jobs.add(job)
        job.finished.connect(lambda: self._jobs.discard(job))
        return job

    def enqueue(self, job: Job) -> Job:
        """Queue a created job; it runs after every job queued before it."""
        with self._lock:
            self._pending += 1
        if not self.isRunning():
            self.start()
        self._queue.put(job)
        return job

    def hold(self) -> None:
        """Ask the running job to wait at its next check() until release() (or HOLD_LIMIT_S)."""
        self._may_run.clear()

    def release(self) -> None:
        """Let the running job go on after hold()."""
        self._may_run.set()

    def held(self) -> bool:
        """True between hold() and release()."""
        return not self._may_run.is_set()

    def idle(self) -> bool:
        """True when no job is queued or running."""
        with self._lock:
            return self._pending == 0

    def cancel_all(self) -> None:
        """Cancel the running job and every queued one."""
        current = self._current
        if current is not None:
            current.cancel()
        self.release()
        for job in list(self._queue.queue):
            if job is not None:
                job.cancel()

    def stop(self, timeout_ms: int = 15000) -> bool:
        """Run what is queued (cancel_all() first to drop it), end the thread and wait; True when it ended."""
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
                job._post("finished")  # after the count: a finished job is never "pending"
