"""Long work as jobs: a function that runs off the caller's thread, and what it reports back.

A session method that takes time returns a :class:`Job`: ``work(task)`` does the reading and
folding, and may ``task.post`` partial results; ``on_partial``, ``on_result`` and ``on_error``
update the session's state. A runner decides where ``work`` runs: :func:`run_now` runs it in
the calling thread (the command line, tests, scripts); the window's worker runs it in its
thread and calls the three callbacks back on the UI thread. A job never knows a thread exists.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, TypeVar

from model.errors import CancelledError

T = TypeVar("T")


class Task:
    """What running work sees: cancellation, progress, partial results and the caller's pauses.

    ``post(value)`` hands a partial result to the job's ``on_partial``; ``progress(done, total,
    what)`` reports how far it is; ``between_batches()`` is the call to make between two
    batches: it first lets the caller pause the work (``pause``, the window's paint hold) and
    then raises CancelledError when the job was cancelled.
    """

    def __init__(
        self,
        name: str = "",
        *,
        post: Callable[[Any], None] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        pause: Callable[[], None] | None = None,
    ):
        self.name = name
        self._cancel = threading.Event()
        self._post = post
        self._progress = progress
        self._pause = pause

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the work to stop at its next ``between_batches`` (it then ends with CancelledError)."""
        self._cancel.set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise CancelledError(self.name or "operation")

    def between_batches(self) -> None:
        """Pause while the caller asks (the window paints), then raise CancelledError if cancelled."""
        if self._pause is not None and not self._cancel.is_set():
            self._pause()
        self.raise_if_cancelled()

    def post(self, value: Any) -> None:
        """A piece of the result (a batch of events, a page of rows) for the job's ``on_partial``."""
        if self._post is not None:
            self._post(value)

    def progress(self, done: int, total: int = 0, what: str = "") -> None:
        """Report progress: ``done`` of ``total`` (0 when unknown) units of ``what``."""
        if self._progress is not None:
            self._progress(int(done), int(total), what or self.name)


@dataclass
class Job(Generic[T]):
    """Work to run and the session's callbacks for its partial results, result and error."""

    name: str
    work: Callable[[Task], T]
    on_partial: Callable[[Any], None] | None = None
    on_result: Callable[[T], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    cancellable: bool = True
    #: shown to the user while it runs (the status bar's progress, a progress line on stderr)
    shown: bool = False
    #: called once after the result or the error, whichever came
    on_finished: list[Callable[[], None]] = field(default_factory=list)


class Runner(Protocol):
    """Runs a job somewhere and returns its task (to cancel it)."""

    def __call__(self, job: Job) -> Task: ...


def run_now(job: Job[T], *, progress: Callable[[int, int, str], None] | None = None) -> Task:
    """Run ``job`` in this thread: partial results, the result or the error go to its callbacks at once.

    An error with no ``on_error`` callback is raised to the caller.
    """
    task = Task(job.name, post=job.on_partial, progress=progress)
    try:
        try:
            value = job.work(task)
        except BaseException as error:
            if job.on_error is None:
                raise
            job.on_error(error)
        else:
            if job.on_result is not None:
                job.on_result(value)
    finally:
        for done in job.on_finished:
            done()
    return task


def result_of(job: Job[T], *, progress: Callable[[int, int, str], None] | None = None) -> T:
    """Run ``job`` in this thread and return its value (callbacks run too); errors are raised."""
    box: list[T] = []
    on_result = job.on_result

    def keep(value: T) -> None:
        box.append(value)
        if on_result is not None:
            on_result(value)

    run_now(Job(job.name, job.work, job.on_partial, keep, None, job.cancellable, job.shown, job.on_finished),
            progress=progress)
    return box[0]
