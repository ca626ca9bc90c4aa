"""One worker thread that runs the session's jobs off the UI thread, in order.

It is the window's runner for ``ui.session.jobs.Job``: ``worker(job)`` queues the job's work
for the thread and returns its Task; partial results, the result and the error reach the
job's callbacks on the UI thread. All database access goes through this one thread: the calls
keep their order, the embedded store's SQLite connection stays on one thread, and the UI
thread never waits on the network.
"""
from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections import deque
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal

from model.errors import EventLensError
from ui.gui.paint_hold import PaintHold
from ui.session.jobs import Job, Task

log = logging.getLogger(__name__)
_live: "weakref.WeakSet[Worker]" = weakref.WeakSet()


def live_workers() -> list["Worker"]:
    """Workers whose thread is still running (tests fail when one is left behind)."""
    # a deleted QThread was finished (Qt aborts on destroying a running one)
    return [w for w in list(_live) if shiboken6.isValid(w) and w.isRunning()]


class _Delivery(QObject):
    """A job's way back to the UI thread: values queue in a deque, an argument-less signal wakes the UI.

    Values stay Python objects end to end: nothing is copied through Qt's metatype system.
    """

    ready = Signal()

    def __init__(self, worker: "Worker", job: Job, task: Task):
        super().__init__()
        self.worker, self.job, self.task = worker, job, task
        self.outbox: deque[tuple[str, Any]] = deque()
        self.ready.connect(self.deliver)  # queued: this object lives in the UI thread

    def post(self, what: str, value: Any = None) -> None:
        self.outbox.append((what, value))
        self.ready.emit()

    def deliver(self) -> None:
        job = self.job
        while self.outbox:
            what, value = self.outbox.popleft()
            if what == "partial" and job.on_partial is not None:
                job.on_partial(value)
            elif what == "progress":
                self.worker.progress.emit(self.task, *value)
            elif what == "result" and job.on_result is not None:
                job.on_result(value)
            elif what == "error" and job.on_error is not None:
                job.on_error(value)
            elif what == "finished":
                for done in job.on_finished:
                    done()
                self.worker.finished_job.emit(self.task)
                self.worker._deliveries.discard(self)


class Worker(QThread):
    """The thread that runs jobs one after another until stop(); call it with a Job to queue it."""

    started_job = Signal(object)  # the Task of a shown job, as it is queued
    progress = Signal(object, int, int, str)  # task, done, total (0 = unknown), what
    finished_job = Signal(object)  # the Task, after its result or error reached the UI thread

    def __init__(self, parent: QObject | None = None, hold: PaintHold | None = None):
        super().__init__(parent)
        self.hold = hold or PaintHold(self)
        self._queue: "queue.Queue[_Delivery | None]" = queue.Queue()
        self._current: _Delivery | None = None
        self._pending = 0
        self._lock = threading.Lock()
        self._deliveries: set[_Delivery] = set()  # alive until their last value reached the UI thread
        self.shown: dict[Task, Job] = {}
        _live.add(self)

    def __call__(self, job: Job) -> Task:
        """Queue ``job``; it runs after every job queued before it. Returns its Task (to cancel it)."""
        delivery: _Delivery | None = None
        task = Task(job.name, post=lambda value: delivery.post("partial", value),
                    progress=lambda done, total, what: delivery.post("progress", (done, total, what)),
                    pause=self.hold.wait_while_held)
        delivery = _Delivery(self, job, task)
        self._deliveries.add(delivery)
        if job.shown:
            self.shown[task] = job
            job.on_finished.append(lambda: self.shown.pop(task, None))
            self.started_job.emit(task)
        with self._lock:
            self._pending += 1
        if not self.isRunning():
            self.start()
        self._queue.put(delivery)
        return task

    def idle(self) -> bool:
        """True when no job is queued or running."""
        with self._lock:
            return self._pending == 0

    def cancel_all(self) -> None:
        """Cancel the running job and every queued one."""
        current = self._current
        if current is not None:
            current.task.cancel()
        self.hold.release()
        for delivery in list(self._queue.queue):
            if delivery is not None:
                delivery.task.cancel()

    def stop(self, timeout_ms: int = 15000) -> bool:
        """Run what is queued (cancel_all() first to drop it), end the thread and wait; True when it ended."""
        if self.isRunning():
            self._queue.put(None)
            return self.wait(timeout_ms)
        return True

    def run(self) -> None:  # noqa: D401 - QThread entry point
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            self._current = delivery
            try:
                task = delivery.task
                try:
                    task.raise_if_cancelled()
                    value = delivery.job.work(task)
                except BaseException as error:  # every failure goes to the window, never to stderr only
                    if not isinstance(error, EventLensError):
                        log.exception("task %s failed", delivery.job.name)
                    delivery.post("error", error)
                else:
                    delivery.post("result", value)
            finally:
                self._current = None
                with self._lock:
                    self._pending -= 1
                delivery.post("finished")  # after the count: a finished job is never "pending"
