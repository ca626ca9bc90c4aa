"""The open stream: loading it in batches, following it live, its problems and snapshots, and the cursor.

The load job's ``work`` runs where the runner puts it (the window's worker): it reads batches,
folds them into the loaded stream's checkpoints and builds the timeline's columns. Its partial
results are applied by ``_apply`` on the session's thread, which moves ``loaded_version`` and
tells observers. Folding in the worker while the session's thread reads is safe: the loaded
stream has one writer and readers only look below ``loaded_version``.
"""
from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Mapping

from model.diff import Diff, diff
from model.errors import CancelledError, EventLensError, StreamNotFound, UsageError
from model.event import Event, Snapshot, StreamInfo
from model.integrity import Problem, check_stream
from model.ports import EventSource
from model.reducer import Reducer
from model.replay import History
from ui.session.jobs import Job, Runner, Task
from ui.session.signals import Signal
from ui.session.text import first_line, number, parse_moment, time_text
from ui.session.timeline import Columns, TimelineModel, columns_of

#: Events per read: one progress step, one check for cancel or a pause (~8 ms of work).
BATCH = 1000
PAGE_STEP = 100

Notify = Callable[[str, str], None]  # (text, severity: "error" | "warning" | "info")


@dataclass(frozen=True)
class _Started:
    info: StreamInfo


@dataclass(frozen=True)
class _Batch:
    events: list[Event]
    columns: Columns


@dataclass(frozen=True)
class _Failed:
    """The event the reducer failed on: shown in the list with its error, though no state follows it."""

    event: Event
    columns: Columns


@dataclass(frozen=True)
class _Loaded:
    snapshots: list[Snapshot]
    problems: list[Problem]


def load_stream(store: EventSource, stream_id: str, reducer: Reducer, *,
                on_batch: Callable[[int, int], None] | None = None) -> OpenStream:
    """Open and load a stream in this thread, as the window does in its worker (tests, benchmarks, scripts).

    ``on_batch(first, last)`` is called after each batch; a load that stops early keeps what it
    loaded and its reason in ``load_error``.
    """
    from ui.session.jobs import run_now

    stream = OpenStream(store, stream_id, reducer, run_now, lambda text, severity: None)
    if on_batch is not None:
        stream.extended.connect(on_batch)
    stream.load()
    return stream


def problems_by_version(problems: list[Problem]) -> dict[int, list[str]]:
    """The problems' one-line texts grouped by the version they concern."""
    grouped: dict[int, list[str]] = {}
    for problem in problems:
        if isinstance(problem.version, int):
            grouped.setdefault(problem.version, []).append(f"{problem.category}: {problem.message}")
    return grouped


class OpenStream:
    """One stream being explored: what is loaded, its timeline, problems, snapshots and cursor."""

    def __init__(self, store: EventSource, stream_id: str, reducer: Reducer, run: Runner, notify: Notify):
        self.store, self.stream_id, self.reducer = store, stream_id, reducer
        self._run, self._notify = run, notify
        self.history = History(stream_id, reducer)
        self.info: StreamInfo | None = None
        self.loaded_version = 0
        self.loading = False
        self.complete = False
        self.closed = False
        self.snapshots: list[Snapshot] = []
        self.problems: list[Problem] = []
        self.problem_texts: dict[int, list[str]] = {}
        self.timeline = TimelineModel()
        self.cursor = Cursor(self)
        self._task: Task | None = None
        self._polling = False
        self._live_error = ""
        self._frozen = False
        self.load_error: BaseException | None = None  # why the last load stopped early
        self.failed_event: Event | None = None  # the event the reducer failed on, after the last loaded
        #: (first, last) versions now loaded; the first batch of a stream starts at its first version
        self.extended = Signal()
        self.loaded = Signal()  # the whole stream (or up to a reducer failure) is in
        self.failed = Signal()  # (text) the load stopped: cancelled, server gone, ...
        self.snapshots_changed = Signal()
        self.problems_changed = Signal()

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> Task:
        """Load the stream in batches through the runner; observers hear ``extended`` per batch."""
        history, store, stream_id, reducer = self.history, self.store, self.stream_id, self.reducer
        self.loading = True

        def work(task: Task) -> _Loaded:
            info = store.stream(stream_id)
            if info is None:
                raise StreamNotFound(stream_id)
            task.post(_Started(info))
            done = 0
            for batch in store.read(stream_id, batch_size=BATCH):
                task.between_batches()
                kept = history.extend(batch)
                done += len(batch)
                if kept:
                    part = batch[:kept] if kept < len(batch) else batch
                    task.post(_Batch(part, columns_of(part)))
                    if kept >= BATCH:
                        # Loaded events live as long as the stream stays open and form no cycles; without
                        # this every full collection walks all of them again (1M events: 23 s -> 12 s).
                        gc.freeze()
                        self._frozen = True
                task.progress(done, info.events, f"loading {stream_id}")
                if history.error is not None:
                    if kept < len(batch) and batch[kept].version == history.last_version + 1:
                        task.post(_Failed(batch[kept], columns_of(batch[kept:kept + 1])))
                    break
            task.between_batches()
            snapshots = store.snapshots(stream_id)
            # a history stops at a broken event; then check what the store holds, not what loaded
            events = (history.events() if history.error is None
                      else chain.from_iterable(store.read(stream_id, batch_size=BATCH)))
            problems = check_stream(events, reducer)
            return _Loaded(snapshots, problems)

        self._task = self._run(Job(f"loading {stream_id}", work, on_partial=self._apply, on_result=self._finish,
                                   on_error=self._stop, shown=True))
        return self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _apply(self, part: Any) -> None:
        if self.closed:
            return
        if isinstance(part, _Started):
            self.info = part.info
            info = part.info
            times = ((info.first_time.timestamp(), info.last_time.timestamp())
                     if info.first_time and info.last_time else None)
            self.timeline.expect(info.events, (info.first_version, info.last_version), times)
            return
        if isinstance(part, _Failed):
            self.failed_event = part.event
            self.timeline.append(part.columns)
            self.extended.emit(part.event.version, part.event.version)
            return
        first = self.loaded_version + 1 if self.loaded_version else part.events[0].version
        self.timeline.append(part.columns)
        self.loaded_version = part.events[-1].version
        self.extended.emit(first, self.loaded_version)
        self.cursor.stream_grew()

    def _finish(self, loaded: _Loaded) -> None:
        if self.closed:
            return
        self.loading, self._task = False, None
        self.complete = self.history.error is None
        self.set_snapshots(loaded.snapshots)
        self.problems = loaded.problems
        self.problem_texts = problems_by_version(loaded.problems)
        if self.failed_event is not None and self.history.error is not None:
            self.problem_texts.setdefault(self.failed_event.version, []).insert(0, str(self.history.error))
        self.problems_changed.emit()
        if self.history.error is not None:
            total = self.info.last_version if self.info else self.history.last_version
            self._notify(f"Stream {self.stream_id!r} loaded up to version {self.history.last_version:,} of "
                         f"{total:,}: {self.history.error}", "error")
        elif self.problems:
            self._notify(f"{len(self.problems):,} integrity problem{'s' if len(self.problems) != 1 else ''} in "
                         f"{self.stream_id!r}, first: {self.problems[0].message}", "warning")
        self.loaded.emit()

    def _stop(self, error: BaseException) -> None:
        if self.closed:
            return
        self.loading, self._task, self.complete = False, None, False
        self.load_error = error
        partial = (f" (partial: versions 1–{self.loaded_version:,} loaded, not the whole stream)"
                   if self.loaded_version else "")
        if isinstance(error, CancelledError):
            text = f"Loading {self.stream_id!r} cancelled{partial}"
            self._notify(text, "warning")
        else:
            text = f"Loading {self.stream_id!r} failed: {first_line(error)}{partial}"
            self._notify(text, "error")
        self.failed.emit(text)

    # -- live --------------------------------------------------------------------------------------
    def poll_live(self, timeout: float = 0.2) -> Task | None:
        """Look for events appended since the load (one poll or change-stream wait at a time)."""
        if self.closed or not self.complete or self._polling:
            return None
        history, store, stream_id, after = self.history, self.store, self.stream_id, self.history.last_version

        def work(task: Task) -> _Batch | None:
            events = store.watch(stream_id, after, timeout=timeout)
            kept = history.extend(events) if events and history.last_version == after else 0
            return _Batch(events[:kept], columns_of(events[:kept])) if kept else None

        def arrived(batch: _Batch | None) -> None:
            self._polling = False
            if self._live_error:
                self._live_error = ""
                self._notify("", "clear")
            if batch is not None and not self.closed:
                at_end = self.cursor.version == self.loaded_version
                first = self.loaded_version + 1
                self.timeline.append(batch.columns)
                self.loaded_version = batch.events[-1].version
                self.extended.emit(first, self.loaded_version)
                if at_end:
                    self.cursor.move(self.loaded_version, by="live")

        def failed(error: BaseException) -> None:
            self._polling = False
            text = f"Following {self.stream_id!r} failed (will retry): {first_line(error)}"
            if text != self._live_error:  # say it once, not every second
                self._live_error = text
                self._notify(text, "error")

        self._polling = True
        return self._run(Job(f"following {stream_id}", work, on_result=arrived, on_error=failed))

    # -- what is loaded ------------------------------------------------------------------------------
    @property
    def last_shown(self) -> int:
        """The last version the window shows: the loaded ones, and the event the reducer failed on."""
        failed = self.failed_event
        return failed.version if failed is not None and failed.version == self.loaded_version + 1 else self.loaded_version

    def event(self, version: int) -> Event:
        failed = self.failed_event
        if failed is not None and version == failed.version:
            return failed
        return self.history.event(version)

    def events(self, first: int | None = None, last: int | None = None) -> list[Event]:
        """The events shown between two versions, inclusive (the failed event last, if any)."""
        shown = self.last_shown
        last = shown if last is None else min(last, shown)
        events = self.history.events(first, min(last, self.loaded_version))
        if last == shown and shown > self.loaded_version:
            events = events + [self.failed_event]
        return events

    @property
    def first_version(self) -> int:
        return self.history.first_version

    def problems_of(self, version: int) -> list[str]:
        """What is wrong with one event: what the store could not decode, then integrity problems."""
        try:
            decoded = list(self.event(version).problems)
        except EventLensError:
            decoded = []
        return decoded + self.problem_texts.get(version, [])

    def set_snapshots(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = sorted(snapshots, key=lambda s: (s.version, s.created_at))
        self.snapshots_changed.emit()

    def close(self) -> None:
        """Stop loading and following; the loaded events are released."""
        self.closed = True
        self.cancel()
        if self._frozen:
            gc.unfreeze()  # the loaded events may now be collected like anything else
            self._frozen = False


@dataclass(frozen=True)
class CursorView:
    """What the window shows for the cursor: the event, the state after it and what changed."""

    version: int
    event: Event
    state: Mapping[str, Any]
    change: Diff
    title: str
    problems: list[str]
    compared_with: int | None = None


class Cursor:
    """The version being looked at: clamped to what is loaded, following the end until the user moves it."""

    def __init__(self, stream: OpenStream):
        self._stream = stream
        self.version = 0
        self.follow_end = True
        self.compare_to: int | None = None
        self.moved = Signal()  # (version)

    def move(self, version: int, *, by: str = "user") -> None:
        """Move to ``version`` (clamped to the loaded versions); ``by`` "load"/"live" keeps following the end."""
        stream = self._stream
        if stream.last_shown == 0:
            return
        version = max(stream.first_version, min(int(version), stream.last_shown))
        if by not in ("load", "live"):
            self.follow_end = version >= stream.loaded_version
        if version == self.version:
            return
        self.version = version
        stream.timeline.set_cursor(version)
        self.moved.emit(version)

    def step(self, delta: int) -> None:
        self.move(self.version + delta)

    def home(self) -> None:
        self.move(self._stream.first_version)

    def end(self) -> None:
        self.move(self._stream.last_shown)

    def stream_grew(self) -> None:
        """More events loaded: the cursor follows the end while the user has not moved it away."""
        if self.follow_end or self.version == 0:
            self.move(self._stream.loaded_version, by="load")

    def set_compare(self, version: int | None) -> None:
        """Compare the state at the cursor with the state after ``version`` (None: with the event's change)."""
        self.compare_to = None if version is None else max(0, int(version))
        self.moved.emit(self.version)

    def resolve(self, text: str) -> int:
        """The version a "go to" text means: a version number, or the last event at or before a moment."""
        stream = self._stream
        text = text.strip().replace(",", "")
        try:
            version = int(text)
        except ValueError:
            try:
                moment = parse_moment(text)
            except UsageError:
                raise UsageError(f"{text!r} is neither a version nor an ISO date (2024-01-05T10:00)") from None
            version = stream.history.version_at(moment)
            if version < stream.first_version:
                raise UsageError(f"no event of {stream.stream_id!r} at or before {time_text(moment)} UTC") from None
        if not stream.first_version <= version <= stream.last_shown:
            raise UsageError(f"version {number(version)} is outside {number(stream.first_version)}–"
                             f"{number(stream.last_shown)}")
        return version

    def goto(self, text: str) -> int:
        """Move to what ``text`` names (see ``resolve``); UsageError names what is wrong with it."""
        version = self.resolve(text)
        self.move(version)
        return version

    def view(self) -> CursorView | None:
        """The event at the cursor, the state after it and its change (or the comparison)."""
        stream, version = self._stream, self.version
        if version < 1 or stream.last_shown == 0:
            return None
        history = stream.history
        if version > stream.loaded_version:  # the event the reducer failed on: the state before it
            event = stream.event(version)
            title = (f"Version {number(version)} · {event.type}: the reducer failed on this event "
                     f"({getattr(history.error, 'reason', history.error)}); the state shown is the one before it")
            return CursorView(version, event, history.state_at(stream.loaded_version), Diff(), title,
                              stream.problems_of(version))
        event = history.event(version)
        base = self.compare_to
        if base is not None:
            base = min(base, stream.loaded_version)
            old, new = history.state_at(base), history.state_at(version)
            title = f"Compare version {number(base)} → {number(version)}: highlighted is what changed between them"
            return CursorView(version, event, new, diff(old, new), title, stream.problems_of(version), base)
        # the change first: it folds up to version - 1 and steps one event on, so the state after it
        # comes from the history's cache instead of a second fold
        change = history.change_at(version)
        title = f"State after version {number(version)} · {event.type} · {time_text(event.time)}"
        return CursorView(version, event, history.state_at(version), change, title, stream.problems_of(version))
