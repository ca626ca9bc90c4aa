"""As of: the state of every stream of a type (or matching a pattern) at a moment, or at its end.

The per-stream work (:func:`fold_chunk`) is a plain function of picklable arguments: where the
store is (:class:`Source`, a connection and a layout), the reducer file, a chunk of stream ids,
the moment. It goes through any ``concurrent.futures.Executor``: by default a process pool with
one process per core (each process opens its own store connection once and keeps it), but a
Dask ``Client().get_executor()`` or any other Executor takes it unchanged. Chunks are sent a few
at a time, so memory holds the rows and the chunks in flight, never the store.

Each stream starts from its latest snapshot at or before the moment made by the same reducer
(``model.reconstruct.choose_snapshot``) unless snapshots are turned off; a reducer that fails on a
stream is shown on that stream's row and the others go on. Cancelling keeps the rows already in.
"""
from __future__ import annotations

import atexit
import concurrent.futures as futures
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from model.errors import CancelledError, EventLensError
from model.event import ReducerId
from model.freeze import freeze, thaw
from model.ports import EventSource
from model.reconstruct import choose_snapshot
from model.reducer import Reducer, default_reducer, load_reducer
from model.replay import EMPTY_STATE, fold_partial
from ui.session.jobs import Job, Runner, Task, run_now
from ui.session.signals import Signal
from ui.session.streams import every_stream
from ui.session.text import first_line

CHUNK = 500  # streams per piece of work
END = 2**62  # "the last version" for snapshot choice
NUMBER = (int, float)


@dataclass(frozen=True)
class Source:
    """Where a worker opens the store: a connection (``ui.session.connection.Connection``) and the
    layout it was opened with (a name, a file, a Layout value, or None for native/own)."""

    connection: Any
    layout: Any = None

    def open(self) -> EventSource:
        from dataclasses import replace

        return replace(self.connection, read_only=True).open(layout=self.layout)


@dataclass(frozen=True)
class AsOf:
    """What to compute: ``moment`` None means each stream's end."""

    moment: datetime | None = None
    stream_type: str | None = None
    stream: str | None = None  # a stream id pattern (model.patterns)
    reducer_path: str | None = None  # None: the generic reducer
    use_snapshots: bool = True


@dataclass(frozen=True)
class AsOfRow:
    """One stream: the version and time of its last event at or before the moment, and its state then.

    ``error`` is the reducer's (or the store's) failure on this stream; the state is then the
    state before the failing event.
    """

    stream_id: str
    version: int
    time: datetime | None
    state: Mapping[str, Any]
    error: str = ""
    snapshot: int = 0  # the snapshot's version it started from, 0 for none


@dataclass
class Chunk:
    """What one piece of work gives back: its rows, and how many streams had no event by the moment."""

    rows: list[AsOfRow] = field(default_factory=list)
    skipped: int = 0


# -- the per-stream work (runs in the worker processes) -------------------------------------------

_OPEN: dict[Any, Any] = {}


def _opened(source: Source, reducer_path: str | None) -> tuple[EventSource, Reducer]:
    key = (source, reducer_path)
    found = _OPEN.get(key)
    if found is None:
        if len(_OPEN) > 4:
            _close_all()
        reducer = load_reducer(reducer_path) if reducer_path else default_reducer()
        found = _OPEN[key] = (source.open(), reducer)
    return found


def _close_all() -> None:
    for store, _ in _OPEN.values():
        try:
            store.close()
        except Exception:  # noqa: BLE001 - closing at exit: nothing to report to
            pass
    _OPEN.clear()


atexit.register(_close_all)


def fold_chunk(source: Source, reducer_path: str | None, stream_ids: list[str], moment: datetime | None,
               use_snapshots: bool = True) -> Chunk:
    """The rows of ``stream_ids`` (in that order) as of ``moment``; picklable in and out."""
    store, reducer = _opened(source, reducer_path)
    return fold_streams(store, reducer, stream_ids, moment, use_snapshots)


def fold_streams(store: EventSource, reducer: Reducer, stream_ids: list[str], moment: datetime | None,
                 use_snapshots: bool = True) -> Chunk:
    """The rows of a chunk of streams: their targets, snapshots and events asked for in a few queries."""
    out = Chunk()
    try:
        targets = store.versions_at(stream_ids, moment)
        snapshots = store.snapshots_by(stream_ids, reducer.id) if use_snapshots else {}
    except EventLensError:  # the store failed on the chunk: stream by stream, each with its own error
        for stream_id in stream_ids:
            row = state_as_of(store, reducer, stream_id, moment, use_snapshots)
            out.rows.append(row) if row is not None else None
            out.skipped += row is None
        return out
    plans: list[tuple[str, int, Any]] = []
    for stream_id in stream_ids:
        target = targets.get(stream_id, 0)
        if target < 1:
            out.skipped += 1
            continue
        usable = [s for s in snapshots.get(stream_id, ()) if 1 <= s.version <= target]
        plans.append((stream_id, target, max(usable, key=lambda s: s.version) if usable else None))
    ranges = [(sid, (snap.version if snap else 0) + 1, target) for sid, target, snap in plans]
    events = (e for batch in store.read_ranges(ranges) for e in batch)
    pending = next(events, None)
    for stream_id, target, snapshot in plans:
        state = freeze(snapshot.state) if snapshot is not None else EMPTY_STATE
        reached = snapshot.version if snapshot is not None else 0
        mine = []
        while pending is not None and pending.stream_id == stream_id:
            mine.append(pending)
            pending = next(events, None)
        state, last, _, error = fold_partial(state, mine, reducer, stream_id, reached)
        if last is not None:
            reached = last
        last_time = next((e.time for e in reversed(mine) if e.version == reached), None)
        if last_time is None and reached >= 1:
            last_time = next((e.time for b in store.read(stream_id, from_version=reached, to_version=reached)
                              for e in b), None)
        snap = snapshot.version if snapshot else 0
        if error is None and reached != target:
            error = EventLensError(f"stream {stream_id!r} ends at version {reached}, before {target}")
        out.rows.append(AsOfRow(stream_id, reached, last_time, thaw(state), first_line(error) if error else "", snap))
    return out


def state_as_of(store: EventSource, reducer: Reducer, stream_id: str, moment: datetime | None,
                use_snapshots: bool = True) -> AsOfRow | None:
    """One stream's row, or None when it has no event at or before ``moment``."""
    try:
        if moment is None:
            target = None  # the end: whatever the latest snapshot and the read reach
        else:
            target = store.version_at(stream_id, moment)
            if target < 1:
                return None
        snapshot = None
        if use_snapshots:
            snapshot = choose_snapshot(store, stream_id, reducer, END if target is None else target)
        state = freeze(snapshot.state) if snapshot is not None else EMPTY_STATE
        reached = snapshot.version if snapshot is not None else 0
        last_time = None
        if target is None or reached < target:
            for batch in store.read(stream_id, from_version=reached + 1, to_version=target):
                state, last, _, error = fold_partial(state, batch, reducer, stream_id, reached)
                if last is not None:
                    reached = last
                    last_time = next((e.time for e in reversed(batch) if e.version == last), last_time)
                if error is not None:
                    return AsOfRow(stream_id, reached, last_time, thaw(state), first_line(error),
                                   snapshot.version if snapshot else 0)
        if reached < 1:
            return None  # no such stream, or an empty one
        if last_time is None:  # the snapshot was the state at the moment: its event gives the time
            last_time = next((e.time for b in store.read(stream_id, from_version=reached, to_version=reached)
                              for e in b), None)
        return AsOfRow(stream_id, reached, last_time, thaw(state), "", snapshot.version if snapshot else 0)
    except EventLensError as error:
        return AsOfRow(stream_id, 0, None, {}, first_line(error))


# -- running it --------------------------------------------------------------------------------------


class InlineExecutor(futures.Executor):
    """Runs each piece of work at once in this process (one core; the baseline, small stores, tests)."""

    def submit(self, fn, /, *args, **kwargs):
        future: futures.Future = futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to whoever reads the future
            future.set_exception(error)
        return future


def process_pool(workers: int | None = None) -> futures.Executor:
    """One process per core (spawned: safe beside the window's threads)."""
    import multiprocessing

    return futures.ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                       mp_context=multiprocessing.get_context("spawn"))


def _chunks(ids: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for stream_id in ids:
        chunk.append(stream_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_as_of(store: EventSource, source: Source, request: AsOf, task: Task, *,
              executor: futures.Executor | None = None, chunk: int = CHUNK, in_flight: int | None = None) -> int:
    """Fold every selected stream through ``executor``; rows go out by ``task.post(Chunk)`` in stream order.

    Returns how many streams there were. The executor is shut down only if this made it.
    """
    total = store.count_streams(type=request.stream_type, match=request.stream)
    ids = (info.stream_id for info in every_stream(store, type=request.stream_type, match=request.stream,
                                                   page_size=5000))
    own = executor is None
    if own:
        executor = process_pool() if total > chunk else InlineExecutor()
    # in this process the open store serves (no second connection left open); elsewhere each worker opens its own
    inline = isinstance(executor, InlineExecutor)
    reducer = (load_reducer(request.reducer_path) if request.reducer_path else default_reducer()) if inline else None
    workers = 1 if inline else getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    limit = in_flight or max(2, 2 * workers)
    pending: dict[int, futures.Future] = {}
    ready: dict[int, Chunk] = {}
    sent = delivered = done = 0
    pieces = _chunks(ids, chunk)
    try:
        task.progress(0, total, "states as of the moment")
        while True:
            while len(pending) < limit:
                piece = next(pieces, None)
                if piece is None:
                    break
                pending[sent] = (executor.submit(fold_streams, store, reducer, piece, request.moment,
                                                 request.use_snapshots) if inline else
                                 executor.submit(fold_chunk, source, request.reducer_path, piece, request.moment,
                                                 request.use_snapshots))
                sent += 1
            if not pending:
                break
            finished, _ = futures.wait(pending.values(), timeout=0.25, return_when=futures.FIRST_COMPLETED)
            task.between_batches()
            for index in [i for i, f in pending.items() if f in finished]:
                ready[index] = pending.pop(index).result()
            while delivered in ready:  # in stream order, as soon as the chunks before are in
                piece = ready.pop(delivered)
                done += len(piece.rows) + piece.skipped
                task.post(piece)
                delivered += 1
                task.between_batches()
            task.progress(done, total, "states as of the moment")
    except BaseException:
        for future in pending.values():
            future.cancel()
        raise
    finally:
        if own:
            executor.shutdown(wait=False, cancel_futures=True)
    return total


# -- the results the window shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Foot:
    """Sum, count, minimum and maximum of one numeric column."""

    column: str
    sum: float
    count: int
    min: float
    max: float


class AsOfResults:
    """Rows as they come (in stream order), the columns seen, and the foot.

    Signals: ``added(start, end)`` rows arrived, ``progress(done, total)``, ``finished()``,
    ``failed(text)`` (cancelled or broken: the rows in stay usable), ``reset()``, and
    ``summed(totals)`` after either, with the foot of the rows in (``totals``).
    """

    def __init__(self, store: EventSource, source: Source, request: AsOf, run: Runner = run_now, *,
                 executor: futures.Executor | None = None, chunk: int = CHUNK):
        self.store, self.source, self.request, self._run, self.executor = store, source, request, run, executor
        self.chunk = chunk
        self.rows: list[AsOfRow] = []
        self.columns: list[str] = []
        self.skipped = 0
        self.total: int | None = None
        self.complete = False
        self.error = ""
        self._seen: set[str] = set()
        self._task: Task | None = None
        self.added, self.progress, self.finished, self.failed, self.reset = Signal(), Signal(), Signal(), Signal(), Signal()
        self.summed = Signal()  # (totals): the foot, computed off the UI thread once the rows are in
        self.totals: list[Foot] = []

    def start(self) -> Task:
        self.rows, self.columns, self._seen, self.skipped, self.complete, self.error = [], [], set(), 0, False, ""
        self.totals = []
        self.reset.emit()
        if self.request.reducer_path:
            load_reducer(self.request.reducer_path)  # a reducer file that does not load fails here, once

        def work(task: Task) -> int:
            return run_as_of(self.store, self.source, self.request, task, executor=self.executor, chunk=self.chunk)

        self._task = self._run(Job("states as of the moment", work, on_partial=self._arrived,
                                   on_result=self._done, on_error=self._failed, shown=True))
        return self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def target(self, row: int) -> tuple[str, int]:
        """The (stream id, version) a row opens: its stream at the moment."""
        found = self.rows[row]
        return found.stream_id, found.version

    def _arrived(self, piece: Chunk) -> None:
        start = len(self.rows)
        for row in piece.rows:
            for key in row.state:
                if key not in self._seen:
                    self._seen.add(key)
                    self.columns.append(key)
        self.rows.extend(piece.rows)
        self.skipped += piece.skipped
        if piece.rows:
            self.added.emit(start, len(self.rows))
        self.progress.emit(len(self.rows) + self.skipped, self.total or 0)

    def _done(self, total: int) -> None:
        self.total, self.complete = total, True
        self.finished.emit()
        self._sum()

    def _failed(self, error: BaseException) -> None:
        self.error = ("cancelled: " if isinstance(error, CancelledError) else "") + first_line(error)
        self.failed.emit(self.error)
        self._sum()  # the rows in so far stay usable, their foot too

    def _sum(self) -> None:
        rows, columns = list(self.rows), list(self.columns)

        def summed(totals: list[Foot]) -> None:
            self.totals = totals
            self.summed.emit(totals)

        self._run(Job("summing the states", lambda task: foot(rows, columns), on_result=summed))

    def numeric_columns(self) -> list[str]:
        return [c for c in self.columns if any(_is_number(r.state.get(c)) for r in self.rows)]

    def foot(self) -> list[Foot]:
        return foot(self.rows, self.columns)


def number_text(value: Any) -> str:
    """A number as tables show it: thousands separators, six significant digits for fractions."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def cell_text(value: Any, width: int = 30) -> str:
    """A state field's value in one table cell: numbers with separators, the rest one-line JSON, cut at ``width``."""
    from ui.session.export import compact

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    text = value if isinstance(value, str) else compact(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def foot_text(totals: list[Foot]) -> list[str]:
    """One line per numeric column: its sum, count, minimum and maximum."""
    return [f"{f.column}: sum {number_text(f.sum)}, count {f.count:,}, min {number_text(f.min)}, "
            f"max {number_text(f.max)}" for f in totals]


def _is_number(value: Any) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool)


def foot(rows: list[AsOfRow], columns: list[str]) -> list[Foot]:
    """Sum, count, min and max of every column holding numbers (other values are not counted)."""
    out = []
    for column in columns:
        values = [r.state.get(column) for r in rows if _is_number(r.state.get(column))]
        if values:
            out.append(Foot(column, sum(values), len(values), min(values), max(values)))
    return out


def columns_of(rows: list[AsOfRow]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row.state:
            seen.setdefault(key, None)
    return list(seen)


def record(row: AsOfRow) -> dict[str, Any]:
    """One NDJSON line: stream id, version, time and the state as ``state`` prints it (plus ``error``)."""
    from store.codec import to_jsonable
    from ui.session.text import iso

    out: dict[str, Any] = {"stream_id": row.stream_id, "version": row.version, "time": iso(row.time),
                           "state": to_jsonable(row.state)}
    if row.error:
        out["error"] = row.error
    return out


def write_rows(rows: list[AsOfRow], out, fmt: str, columns: list[str] | None = None) -> None:
    """CSV (stream_id, version, time, one column per top-level field, the whole state, error) or NDJSON."""
    import csv

    from ui.session.export import compact
    from ui.session.text import iso

    if fmt == "ndjson":
        out.write("".join(compact(record(r)) + "\n" for r in rows))
        return
    columns = columns if columns is not None else columns_of(rows)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["stream_id", "version", "time", *columns, "state", "error"])
    for r in rows:
        cells = []
        for c in columns:
            value = r.state.get(c)
            cells.append("" if value is None else value if isinstance(value, (str, int, float)) else compact(value))
        writer.writerow([r.stream_id, r.version, iso(r.time) or "", *cells, compact(r.state), r.error])


def reducer_id_of(path: str | Path | None) -> ReducerId:
    return (load_reducer(path) if path else default_reducer()).id


def as_of_of(moment: str, *, stream_type: str = "", stream: str = "", reducer_path: str | None = None,
             use_snapshots: bool = True) -> AsOf:
    """A request from a form's texts: ``moment`` an ISO-8601 moment, or empty / ``latest`` for each stream's end."""
    from model.patterns import parse_pattern
    from ui.session.text import parse_moment

    text = moment.strip()
    if stream.strip():
        parse_pattern(stream.strip())  # a pattern that does not compile fails here, before any process starts
    return AsOf(None if text.lower() in ("", "latest") else parse_moment(text, "moment"),
                stream_type.strip() or None, stream.strip() or None, reducer_path, use_snapshots)
