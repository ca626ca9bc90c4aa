"""The open stream: loading it (index first, then payloads and states), following it live, its
problems and snapshots, and the cursor.

The load job's ``work`` runs where the runner puts it (the window's worker). It reads the
stream's index (versions, times, types) in large batches first, so the timeline and the event
list fill within moments; then the payloads, packed as the store keeps them, folding states
into checkpoints as they come. Its partial results are applied by ``_apply`` on the session's
thread, which moves the counts observers read and tells them. The loaded stream has one
writer (the worker) and readers only look below the counts already announced.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Mapping

import numpy as np

from model.diff import Diff, diff
from model.errors import CancelledError, EventLensError, StreamNotFound, UsageError
from model.event import Event, Snapshot, StreamInfo
from model.integrity import Problem, catalogue_problem, check_loaded, check_stream
from model.loaded import NO_TIME, LoadedStream
from model.ports import EventSource, IndexBatch
from model.reducer import Reducer
from ui.session.jobs import Job, Runner, Task
from ui.session.signals import Signal
from ui.session.text import first_line, number, parse_moment, time_text
from ui.session.timeline import TimelineModel
from ui.session.timeline_columns import CodedTypes, Columns, columns_of

#: Index rows per read: a column query of this many takes tens of milliseconds.
INDEX_BATCH = 50_000
#: Payloads per read: one progress step, one check for cancel or a pause (~10 ms of work with the fold).
PAYLOAD_BATCH = 2_000
PAGE_STEP = 100

Notify = Callable[[str, str], None]  # (text, severity: "error" | "warning" | "info" | "clear")


@dataclass(frozen=True)
class _Started:
    info: StreamInfo


@dataclass(frozen=True)
class _Indexed:
    first: int
    last: int
    columns: Columns


@dataclass(frozen=True)
class _Payloads:
    payload_version: int
    folded_version: int


@dataclass(frozen=True)
class _Finished:
    snapshots: list[Snapshot]
    problems: list[Problem]


def index_columns(loaded: LoadedStream, batch: IndexBatch, start: int, count: int) -> Columns:
    """The timeline's columns of the rows ``start`` onwards that a batch added (built in the worker).

    The types come coded as the loaded stream codes them: no second pass over the names.
    """
    times = np.asarray(batch.times[:count] if count < len(batch.times) else batch.times, dtype=np.int64)
    seconds = times / 1e6
    seconds[times == NO_TIME] = np.nan
    versions = np.arange(loaded.version_of(start), loaded.version_of(start) + count, dtype=np.int64)
    codes = np.frombuffer(loaded.codes(start, start + count), dtype=np.int16).copy()
    return Columns(versions, seconds, CodedTypes(tuple(loaded.type_names), codes))


def problems_by_version(problems: list[Problem]) -> dict[int, list[str]]:
    """The problems' one-line texts grouped by the version they concern."""
    grouped: dict[int, list[str]] = {}
    for problem in problems:
        if isinstance(problem.version, int):
            grouped.setdefault(problem.version, []).append(f"{problem.category}: {problem.message}")
    return grouped


class OpenStream:
    """One stream being explored: what is loaded, its timeline, problems, snapshots and cursor.

    ``loaded_version`` is the last version listed (its version, time and type known);
    ``payload_version`` the last whose payload is in; ``folded_version`` the last whose state
    can be shown (a reducer failure stops it; the events after it are still listed).
    """

    def __init__(self, store: EventSource, stream_id: str, reducer: Reducer, run: Runner, notify: Notify):
        self.store, self.stream_id, self.reducer = store, stream_id, reducer
        self._run, self._notify = run, notify
        self.loaded = LoadedStream(stream_id, reducer)
        self.info: StreamInfo | None = None
        self.loaded_version = self.payload_version = self.folded_version = 0
        self.loading = False
        self.complete = False
        self.closed = False
        self.snapshots: list[Snapshot] = []
        self.problems: list[Problem] = []
        self.problem_texts: dict[int, list[str]] = {}
        self.timeline = TimelineModel()
        self.cursor = Cursor(self)
        self.load_error: BaseException | None = None  # why the last load stopped early
        self._task: Task | None = None
        self._polling = False
        self._live_error = ""
        #: (first, last): versions now listed
        self.extended = Signal()
        #: (payload_version, folded_version): more payloads and states are in
        self.filled = Signal()
        self.finished = Signal()  # the whole stream is in (or as much as the reducer allows)
        self.failed = Signal()  # (text) the load stopped: cancelled, server gone, ...
        self.snapshots_changed = Signal()
        self.problems_changed = Signal()

    @property
    def first_version(self) -> int:
        return self.loaded.first_version

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> Task:
        """Load the stream through the runner: the index first, then payloads and states."""
        loaded, store, stream_id, reducer = self.loaded, self.store, self.stream_id, self.reducer
        self.loading = True

        def work(task: Task) -> _Finished:
            info = store.stream(stream_id)
            if info is None:
                raise StreamNotFound(stream_id)
            task.post(_Started(info))
            total = max(info.events, 1)
            for batch in store.read_index(stream_id, batch_size=INDEX_BATCH):
                task.between_batches()
                first, start = loaded.last_version + 1, loaded.indexed
                kept = loaded.add_index(batch)
                if kept:
                    task.post(_Indexed(first, loaded.last_version, index_columns(loaded, batch, start, kept)))
                task.progress(loaded.indexed, 2 * total, f"loading {stream_id}")
                if loaded.index_error is not None:
                    break
            if loaded.indexed:
                for batch in store.read_payloads(stream_id, to_version=loaded.last_version, batch_size=PAYLOAD_BATCH):
                    task.between_batches()
                    if not loaded.add_payloads(batch):
                        break
                    loaded.fold_more()
                    task.post(_Payloads(loaded.payload_version, loaded.folded_version))
                    task.progress(loaded.indexed + loaded.payload_version - loaded.initial_version, 2 * total,
                                  f"loading {stream_id}")
            task.between_batches()
            snapshots = store.snapshots(stream_id)
            # from the loaded columns; a stream cut short by a gap in its versions: from what the store holds
            if loaded.index_error is None:
                problems = check_loaded(loaded, reducer)
            else:
                problems = check_stream(chain.from_iterable(store.read(stream_id, batch_size=PAYLOAD_BATCH)), reducer)
            catalogue = catalogue_problem(info)
            if catalogue is not None:
                problems.append(catalogue)
            return _Finished(snapshots, problems)

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
            info = self.info = part.info
            times = ((info.first_time.timestamp(), info.last_time.timestamp())
                     if info.first_time and info.last_time else None)
            self.timeline.expect(info.events, (info.first_version, info.last_version), times)
        elif isinstance(part, _Indexed):
            self.timeline.append(part.columns)
            self.loaded_version = part.last
            self.extended.emit(part.first, part.last)
            self.cursor.stream_grew()
        elif isinstance(part, _Payloads):
            self.payload_version, self.folded_version = part.payload_version, part.folded_version
            self.filled.emit(part.payload_version, part.folded_version)

    def _finish(self, finished: _Finished) -> None:
        if self.closed:
            return
        self.loading, self._task = False, None
        loaded = self.loaded
        self.payload_version, self.folded_version = loaded.payload_version, loaded.folded_version
        self.complete = loaded.error is None
        self.set_snapshots(finished.snapshots)
        self.problems = finished.problems
        self.problem_texts = problems_by_version(finished.problems)
        if loaded.fold_error is not None:
            failed_at = loaded.folded_version + 1
            self.problem_texts.setdefault(failed_at, []).insert(0, str(loaded.fold_error))
        self.problems_changed.emit()
        if loaded.error is not None:
            self._notify(f"Stream {self.stream_id!r}: states up to version {loaded.folded_version:,} of "
                         f"{loaded.last_version:,}: {loaded.error}", "error")
            if loaded.fold_error is not None and self.cursor.follow_end:
                self.cursor.move(loaded.folded_version + 1, by="load")  # where it stopped: the event to look at
        elif self.problems:
            self._notify(f"{len(self.problems):,} integrity problem{'s' if len(self.problems) != 1 else ''} in "
                         f"{self.stream_id!r}, first: {self.problems[0].message}", "warning")
        self.filled.emit(self.payload_version, self.folded_version)
        self.finished.emit()

    def _stop(self, error: BaseException) -> None:
        if self.closed:
            return
        self.loading, self._task, self.complete = False, None, False
        self.load_error = error
        self.payload_version, self.folded_version = self.loaded.payload_version, self.loaded.folded_version
        partial = (f" (partial: versions 1–{self.loaded_version:,} listed, not the whole stream)"
                   if self.loaded_version else "")
        if isinstance(error, CancelledError):
            text = f"Loading {self.stream_id!r} cancelled{partial}"
            self._notify(text, "warning")
        else:
            text = f"Loading {self.stream_id!r} failed: {first_line(error)}{partial}"
            self._notify(text, "error")
        self.filled.emit(self.payload_version, self.folded_version)
        self.failed.emit(text)

    # -- live --------------------------------------------------------------------------------------
    def poll_live(self, timeout: float = 0.2) -> Task | None:
        """Look for events appended since the load (one poll or change-stream wait at a time)."""
        if self.closed or not self.complete or self._polling:
            return None
        loaded, store, stream_id, after = self.loaded, self.store, self.stream_id, self.loaded.last_version

        def work(task: Task) -> _Indexed | None:
            events = store.watch(stream_id, after, timeout=timeout)
            if not events or loaded.last_version != after:
                return None
            loaded.extend(events)
            kept = loaded.last_version - after
            return _Indexed(after + 1, loaded.last_version, columns_of(events[:kept])) if kept else None

        def arrived(part: _Indexed | None) -> None:
            self._polling = False
            if self._live_error:
                self._live_error = ""
                self._notify("", "clear")
            if part is not None and not self.closed:
                at_end = self.cursor.version == self.loaded_version
                self.timeline.append(part.columns)
                self.loaded_version = part.last
                self.payload_version, self.folded_version = self.loaded.payload_version, self.loaded.folded_version
                self.extended.emit(part.first, part.last)
                self.filled.emit(self.payload_version, self.folded_version)
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
    def event(self, version: int) -> Event:
        """The event at ``version``, decoded (NotLoadedYet while its payload is on its way)."""
        if version > self.payload_version:
            from model.loaded import NotLoadedYet

            raise NotLoadedYet(f"stream {self.stream_id!r}: the payload of version {version:,} is still loading")
        return self.loaded.event(version)

    def events(self, first: int | None = None, last: int | None = None) -> list[Event]:
        """Events whose payloads are in, between two versions inclusive."""
        last = self.payload_version if last is None else min(last, self.payload_version)
        return self.loaded.events(first, last)

    def problems_of(self, version: int) -> list[str]:
        """What is wrong with one event: what the store could not read, then integrity problems."""
        try:
            read = list(self.event(version).problems) if version <= self.payload_version else \
                list(self.loaded.index_row(version)[3])
        except EventLensError:
            read = []
        return read + self.problem_texts.get(version, [])

    def set_snapshots(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = sorted(snapshots, key=lambda s: (s.version, s.created_at))
        self.snapshots_changed.emit()

    def close(self) -> None:
        """Stop loading and following; the loaded events are released with this object."""
        self.closed = True
        self.cancel()


def load_stream(store: EventSource, stream_id: str, reducer: Reducer, *,
                on_batch: Callable[[int, int], None] | None = None,
                on_filled: Callable[[int, int], None] | None = None) -> OpenStream:
    """Open and load a stream in this thread, as the window does in its worker (tests, benchmarks, scripts).

    ``on_batch(first, last)`` is called after each batch of the index, ``on_filled(payloads,
    folded)`` after each batch of payloads; a load that stops early keeps what it loaded and
    its reason in ``load_error``.
    """
    from ui.session.jobs import run_now

    stream = OpenStream(store, stream_id, reducer, run_now, lambda text, severity: None)
    if on_batch is not None:
        stream.extended.connect(on_batch)
    if on_filled is not None:
        stream.filled.connect(on_filled)
    stream.load()
    return stream


@dataclass(frozen=True)
class CursorView:
    """What the window shows for the cursor: the event, the state after it and what changed.

    ``event`` and ``state`` are None while they load (``title`` says so), and ``state`` is None
    after a reducer failure (``title`` names it).
    """

    version: int
    event: Event | None
    state: Mapping[str, Any] | None
    change: Diff | None
    title: str
    problems: list[str]
    compared_with: int | None = None


class Cursor:
    """The version being looked at: clamped to what is listed, following the end until the user moves it."""

    def __init__(self, stream: OpenStream):
        self._stream = stream
        self.version = 0
        self.follow_end = True
        self.compare_to: int | None = None
        self.moved = Signal()  # (version)

    def move(self, version: int, *, by: str = "user") -> None:
        """Move to ``version`` (clamped to the listed versions); ``by`` "load"/"live" keeps following the end."""
        stream = self._stream
        if stream.loaded_version == 0:
            return
        version = max(stream.first_version, min(int(version), stream.loaded_version))
        if by not in ("load", "live"):
            self.follow_end = version == stream.loaded_version
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
        self.move(self._stream.loaded_version)

    def stream_grew(self) -> None:
        """More events listed: the cursor follows the end while the user has not moved it away."""
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
            version = stream.loaded.version_at(moment)
            if version < stream.first_version:
                raise UsageError(f"no event of {stream.stream_id!r} at or before {time_text(moment)} UTC") from None
        if not stream.first_version <= version <= stream.loaded_version:
            raise UsageError(f"version {number(version)} is outside {number(stream.first_version)}–"
                             f"{number(stream.loaded_version)}")
        return version

    def goto(self, text: str) -> int:
        """Move to what ``text`` names (see ``resolve``); UsageError names what is wrong with it."""
        version = self.resolve(text)
        self.move(version)
        return version

    def view(self) -> CursorView | None:
        """The event at the cursor, the state after it and its change (or the comparison)."""
        stream, version = self._stream, self.version
        if version < 1 or stream.loaded_version == 0:
            return None
        loaded = stream.loaded
        _, moment, event_type, _ = loaded.index_row(version)
        heading = f"version {number(version)} · {event_type} · {time_text(moment)}"
        event = stream.event(version) if version <= stream.payload_version else None
        problems = stream.problems_of(version)
        if version > stream.folded_version:
            if loaded.fold_error is not None and version == loaded.folded_version + 1:
                reason = getattr(loaded.fold_error, "reason", loaded.fold_error)
                title = (f"Version {number(version)} · {event_type}: the reducer failed on this event "
                         f"({reason}); the state shown is the one before it")
                return CursorView(version, event, loaded.state_at(version - 1), Diff(), title, problems)
            if loaded.fold_error is not None and version > loaded.folded_version:
                reason = getattr(loaded.fold_error, "reason", loaded.fold_error)
                title = (f"No state after {heading}: the reducer failed at version "
                         f"{number(loaded.folded_version + 1)} ({reason})")
            else:
                title = (f"Building states… {heading} (states ready up to version "
                         f"{number(stream.folded_version)} of {number(stream.loaded_version)})")
            return CursorView(version, event, None, None, title, problems)
        base = self.compare_to
        if base is not None:
            base = min(base, stream.folded_version)
            old, new = loaded.state_at(base), loaded.state_at(version)
            title = f"Compare version {number(base)} → {number(version)}: highlighted is what changed between them"
            return CursorView(version, event, new, diff(old, new), title, problems, base)
        # the change first: it folds up to version - 1 and steps one event on, so the state after it
        # comes from the loaded stream's cache instead of a second fold
        change = loaded.change_at(version)
        return CursorView(version, event, loaded.state_at(version), change, f"After {heading}", problems)
