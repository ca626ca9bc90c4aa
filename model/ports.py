"""The one persistence contract every backend keeps; ``tests/store`` checks it on each backend.

It lives in the model because the model's use of a store (reconstruction, snapshots) is
written against it; ``store/`` implements it. ``EventSource`` is the reading part (every
store, foreign layouts included), ``EventStore`` adds the writes.
"""
from __future__ import annotations

import abc
import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping, Sequence

from model.errors import ReadOnlyError
from model.event import Event, NewEvent, ReducerId, Snapshot, StreamInfo

#: Sort keys the stream list accepts.
STREAM_SORTS = ("stream_id", "stream_type", "events", "first_time", "last_time")


@dataclass(frozen=True, slots=True)
class IndexBatch:
    """A batch of a stream's index: versions, times (microseconds since 1970, ``NO_TIME`` for none), types.

    ``problems`` maps a position in the batch to what the store could not read of that event's
    version, type or time; the rest of the event is still shown.
    """

    versions: Sequence[int]
    times: Sequence[int]
    types: Sequence[str]
    problems: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    stream_type: str = ""


class PayloadBatch(abc.ABC):
    """The payloads of a run of events, packed as the store keeps them; decoded when asked."""

    first_version: int

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def decode(self, start: int, stop: int) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]],
                                                     dict[int, tuple[str, ...]]]:
        """The data and the metadata (read-only) of the events at positions start..stop-1, and what
        could not be read of them, by position counted from ``start``."""

    @property
    def nbytes(self) -> int:
        """About how much memory the packed payloads take."""
        return 0


class KeptPayloads(PayloadBatch):
    """Payloads of events already decoded (stores without a packed form): kept as they are."""

    def __init__(self, first_version: int, events: Sequence[Event]):
        self.first_version = first_version
        self._datas = [e.data for e in events]
        self._metas = [e.metadata for e in events]
        self._problems = {i: e.problems for i, e in enumerate(events) if e.problems}

    def __len__(self) -> int:
        return len(self._datas)

    def decode(self, start: int, stop: int):
        problems = {i - start: p for i, p in self._problems.items() if start <= i < stop}
        return self._datas[start:stop], self._metas[start:stop], problems

    @property
    def nbytes(self) -> int:
        return 600 * len(self._datas)  # decoded dicts: a rough figure, for the memory estimate only


@dataclass(frozen=True, slots=True)
class StoreSize:
    streams: int
    events: int
    snapshots: int
    bytes: int | None  # on-disk size where the backend can tell


@dataclass(frozen=True, slots=True)
class Coverage:
    """Whether a store's own stream catalogue accounts for every event it holds.

    When it does not (``complete`` False), the store reads its stream list from the events
    themselves and ``message`` says so in one line, for a note or a banner. ``events`` and
    ``catalogued`` are the counts compared, where the backend counts them (None otherwise).
    """

    complete: bool = True
    message: str = ""
    events: int | None = None
    catalogued: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogueState:
    """Where a store's stream list comes from when it keeps a local cache of it (foreign layouts).

    ``ready``: the cache holds the whole list as of ``refreshed_at`` (the end of the last build
    or refresh that checked it against the store; ``built_at`` the last full build). Until then
    the list is built (``update_catalogue``), and ``index_pages`` says whether first pages sorted by
    stream id come from the server's stream-id index meanwhile. ``incremental``: a refresh reads
    only what changed (an increasing ``_id``); otherwise it reads everything again. ``note`` is one
    line about the last build or refresh worth saying (a damaged file rebuilt), else "".
    """

    ready: bool
    refreshed_at: datetime | None = None
    built_at: datetime | None = None
    streams: int | None = None
    incremental: bool = False
    index_pages: bool = False
    path: str = ""
    note: str = ""
    changed: bool = False  # the last update found something new (the list should be shown again)

    def age(self, now: datetime | None = None) -> float | None:
        """Seconds since the list last matched the store, or None before it was built."""
        if self.refreshed_at is None:
            return None
        from datetime import timezone

        now = now or datetime.now(timezone.utc)
        return max(0.0, (now - self.refreshed_at).total_seconds())

    def describe(self, now: datetime | None = None) -> str:
        """One line for a status bar or stderr: "stream list from the cache refreshed 3 minutes ago"."""
        seconds = self.age(now)
        if seconds is None:
            return "building the stream list (a local cache of this store's streams)"
        return f"stream list from the cache refreshed {_ago(seconds)}"


def _ago(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now" if seconds < 5 else f"{int(seconds)} seconds ago"


@dataclass(frozen=True, slots=True)
class CatalogueRebuild:
    """What ``rebuild_catalogue`` did: streams and events catalogued, and catalogue entries changed."""

    streams: int
    events: int
    added: int = 0
    updated: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the backend offers, detected at connection time; fallbacks are chosen from this."""

    transactions: bool = False
    change_streams: bool = False
    writable: bool = True  # False for read-only connections and foreign layouts without opt-in


#: Called between batches of long store work with (done, total; 0 when unknown); it may raise
#: CancelledError to stop the work (the session passes its task's progress and cancel check).
Checkpoint = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of a search; ``after`` is the cursor to pass for the next page (None: no more)."""

    events: list[Event]
    after: Any = None


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How a store runs a search: ``note`` (empty when the server or the database does all of it)
    says what EventLens filters itself and what it scans; ``index`` names an index that would serve
    it where none does."""

    note: str = ""
    index: str = ""


@dataclass(frozen=True, slots=True)
class Correlated:
    """The events sharing the origin event's correlation id (the origin among them), with their ids.

    ``events`` holds :class:`model.trace.Traced` values; ``note`` says when no index served the lookup.
    """

    origin: Any  # Traced
    events: list[Any]
    note: str = ""


def _time_key(event: Event) -> tuple:
    return (event.time is None, event.time or datetime.min, event.stream_id, event.version)


def sort_key(event: Event, sort: str) -> tuple:
    """The order of search results: by (time, stream id, version) or by (stream id, version)."""
    return _time_key(event) if sort == "time" else (event.stream_id, event.version)


class EventSource(abc.ABC):
    """The reading part of a store: streams in batches, the stream list, snapshots.

    ``read_only`` stores refuse every write with :class:`ReadOnlyError` before anything
    reaches the server.
    """

    read_only: bool = False
    capabilities: Capabilities = Capabilities()

    # -- identity ---------------------------------------------------------------
    @abc.abstractmethod
    def describe(self) -> str:
        """A one-line name for the store, never with credentials (status bar, window title)."""

    # -- reading ----------------------------------------------------------------
    @abc.abstractmethod
    def read(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[Event]]:
        """Yield a stream's events in version order, in batches, never the whole stream at once.

        Bounds are inclusive. A stream that does not exist yields nothing.
        """

    def read_index(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                   batch_size: int = 50_000) -> Iterator[IndexBatch]:
        """A stream's versions, times and types in version order, without payloads (a column query where
        the store has one). The default reads whole events."""
        from model.loaded import to_micros

        for events in self.read(stream_id, from_version=from_version, to_version=to_version, batch_size=batch_size):
            # what could not be read comes with the payloads (``read_payloads``), once
            yield IndexBatch([e.version for e in events], [to_micros(e.time) for e in events], [e.type for e in events],
                             stream_type=next((e.stream_type for e in events if e.stream_type), ""))

    def read_payloads(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                      batch_size: int = 10_000) -> Iterator[PayloadBatch]:
        """A stream's payloads in version order, packed as the store keeps them. The default keeps decoded events."""
        for events in self.read(stream_id, from_version=from_version, to_version=to_version, batch_size=batch_size):
            if events:
                yield KeptPayloads(events[0].version, events)

    @abc.abstractmethod
    def stream(self, stream_id: str) -> StreamInfo | None:
        """One stream's summary, or None when it does not exist."""

    @abc.abstractmethod
    def streams(
        self,
        *,
        type: str | None = None,
        match: str | None = None,
        sort: str = "stream_id",
        descending: bool = False,
        offset: int = 0,
        limit: int = 100,
        after: str | None = None,
    ) -> list[StreamInfo]:
        """A page of the stream list, filtered by exact type and by a stream id pattern
        (``model.patterns``: a case-insensitive substring, a ``*``/``?`` glob, or ``/regex/`` /
        ``re:regex``).

        ``after``, with the stream id order only: the page that follows that stream id (which need
        not exist), ``offset`` counting from there. Paging so costs the same at any depth; an
        offset deep in a long list is read past row by row (UsageError with another order).
        """

    @abc.abstractmethod
    def count_streams(self, *, type: str | None = None, match: str | None = None) -> int:
        """How many streams the same filter gives."""

    @abc.abstractmethod
    def stream_types(self) -> list[str]:
        """The distinct stream types, sorted."""

    @abc.abstractmethod
    def version_at(self, stream_id: str, moment: datetime) -> int:
        """The last version recorded at or before ``moment``; 0 when none was."""

    @abc.abstractmethod
    def snapshots(self, stream_id: str) -> list[Snapshot]:
        """A stream's snapshots, by version."""

    @abc.abstractmethod
    def latest_snapshot(self, stream_id: str, *, at_or_before: int, reducer: ReducerId) -> Snapshot | None:
        """The snapshot with the highest version <= ``at_or_before`` made by ``reducer``."""

    @abc.abstractmethod
    def size(self) -> StoreSize:
        """Counts for the status bar."""

    def coverage(self) -> Coverage:
        """Whether the stream list comes from an index that covers every event (as of the last check)."""
        return Coverage()

    def refresh(self) -> None:
        """Forget what was cached about the stream list, so the next call reads the store again."""

    def catalogue(self) -> CatalogueState | None:
        """The local cache of the stream list, for stores that keep one (foreign layouts); None otherwise."""
        return None

    def update_catalogue(self, *, full: bool = False, quick: bool = False, progress=None,
                         check=None) -> CatalogueState | None:
        """Build the cached stream list, or bring it up to date (``full``: read everything again;
        ``quick``: only what is cheap to find, such as new documents after an increasing ``_id``).

        ``progress(done, total, what)`` reports documents read; ``check()`` runs between batches
        (and may raise to cancel). None for stores without a cache.
        """
        return None

    def watch(self, stream_id: str, after_version: int, *, timeout: float = 1.0) -> list[Event]:
        """Wait up to ``timeout`` seconds for events after ``after_version``; return them (maybe none).

        The default polls once; backends with change streams override it.
        """
        events: list[Event] = []
        for batch in self.read(stream_id, from_version=after_version + 1):
            events.extend(batch)
        return events

    # -- questions across streams (issue 14) ---------------------------------------------------
    # The defaults below read every stream through ``read`` and filter in Python, so any store
    # answers them; the backends override them with queries their database runs.
    def search(self, query: Mapping[str, Any], *, sort: str = "time", after: Any = None, limit: int = 100,
               checkpoint: Checkpoint | None = None) -> SearchPage:
        """A page of the events matching ``query`` (validated, over the normalised fields, see
        ``model.query``), sorted by ``sort`` ("time" or "stream"), after the cursor ``after``
        (None: from the start); pages are found by key, never by skipping.
        """
        from model.query import compile_query, event_view

        test = compile_query(query)
        best: list[tuple[tuple, int, Event]] = []  # a max-heap by negated position, bounded by limit
        seen = 0
        for info, events in self._every_event(checkpoint):
            for event in events:
                key = sort_key(event, sort)
                if after is not None and key <= tuple(after):
                    continue
                if not test(event_view(event)):
                    continue
                seen += 1
                item = (_Reverse(key), seen, event)
                if len(best) < limit:
                    heapq.heappush(best, item)
                elif key < best[0][0].key:
                    heapq.heapreplace(best, item)
        found = sorted((e for _, _, e in best), key=lambda e: sort_key(e, sort))
        more = len(found) == limit and limit > 0
        return SearchPage(found, sort_key(found[-1], sort) if more else None)

    def count_events(self, query: Mapping[str, Any], *, checkpoint: Checkpoint | None = None) -> int:
        """How many events match ``query``."""
        from model.query import compile_query, event_view

        test = compile_query(query)
        return sum(1 for _, events in self._every_event(checkpoint) for e in events if test(event_view(e)))

    def search_plan(self, query: Mapping[str, Any]) -> SearchPlan:
        """How this store runs ``query``, said before it starts."""
        return SearchPlan(f"{self.describe()} has no search of its own: EventLens reads every stream and "
                          f"filters the events itself")

    def origin_of(self, stream_id: str, version: int):
        """The event ``version`` of ``stream_id`` with its correlation ids (model.trace), or None."""
        from model.trace import default_ids

        return next((default_ids(e) for b in self.read(stream_id, from_version=version, to_version=version)
                     for e in b if e.version == version), None)

    def correlated(self, stream_id: str, version: int, *, checkpoint: Checkpoint | None = None) -> Correlated | None:
        """The event ``version`` of ``stream_id`` and every event sharing its correlation id (None: no such event)."""
        from model.trace import default_ids

        origin = self.origin_of(stream_id, version)
        if origin is None:
            return None
        if origin.correlation_id is None:
            return Correlated(origin, [origin])
        found = [t for _, events in self._every_event(checkpoint) for t in map(default_ids, events)
                 if t.correlation_id == origin.correlation_id]
        return Correlated(origin, found, "no index of correlation ids here: every stream was read")

    def statistics(self, *, checkpoint: Checkpoint | None = None) -> list:
        """Per stream type: streams, events, event types, first and last time, longest streams,
        events per day (``model.stats.TypeStatistics``), sorted by stream type."""
        from model.stats import Accumulator

        totals = Accumulator()
        for info, events in self._every_event(checkpoint):
            for e in events:
                totals.add(e.stream_type or info.stream_type, e.stream_id, e.type, e.time)
        return totals.result()

    # -- many streams at once (as-of works in chunks of streams) ------------------------------------
    def versions_at(self, stream_ids: Sequence[str], moment: datetime | None) -> dict[str, int]:
        """Each stream's ``version_at(moment)`` (its last version when ``moment`` is None); 0 when none."""
        out = {}
        for stream_id in stream_ids:
            if moment is None:
                info = self.stream(stream_id)
                out[stream_id] = info.last_version if info is not None else 0
            else:
                out[stream_id] = self.version_at(stream_id, moment)
        return out

    def snapshots_by(self, stream_ids: Sequence[str], reducer: ReducerId) -> dict[str, list[Snapshot]]:
        """Each stream's own snapshots made by ``reducer`` (never foreign ones), by version."""
        return {sid: [s for s in self.snapshots(sid) if s.reducer == reducer and not s.foreign] for sid in stream_ids}

    def read_ranges(self, ranges: Sequence[tuple[str, int, int]], *, batch_size: int = 5000) -> Iterator[list[Event]]:
        """Events of several streams: for each (stream id, first, last) its versions first..last, in
        that order, in batches (a batch may hold the end of one stream and the start of the next)."""
        for stream_id, first, last in ranges:
            if last >= first:
                yield from self.read(stream_id, from_version=first, to_version=last, batch_size=batch_size)

    def _every_event(self, checkpoint: Checkpoint | None) -> Iterator[tuple[StreamInfo, list[Event]]]:
        """(stream, batch) for every batch of every stream, with a checkpoint per stream."""
        total = self.count_streams()
        done, offset = 0, 0
        while True:
            page = self.streams(offset=offset, limit=1000)
            for info in page:
                for batch in self.read(info.stream_id, batch_size=5000):
                    yield info, batch
                done += 1
                if checkpoint is not None:
                    checkpoint(done, total)
            if len(page) < 1000:
                return
            offset += len(page)

    def snapshot_destination(self) -> str:
        """Where a snapshot EventLens saves here is written, in words for a confirmation."""
        return f"the snapshots of {self.describe()}"

    def close(self) -> None:
        """Release connections and files."""

    # -- helpers for subclasses -------------------------------------------------
    def _refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(what)

    def __enter__(self) -> "EventSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Reverse:
    """Reverses the order of a key (a bounded max-heap of the smallest keys)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple):
        self.key = key

    def __lt__(self, other: "_Reverse") -> bool:
        return other.key < self.key


class EventStore(EventSource):
    """A store that takes writes: append with optimistic concurrency, save snapshots."""

    @abc.abstractmethod
    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int, *, stream_type: str = ""
    ) -> int:
        """Append ``events`` after ``expected_version`` (0 for a new stream); return the new version.

        Raises :class:`ConflictError` and writes nothing when the stream is not at ``expected_version``.
        """

    @abc.abstractmethod
    def save_snapshot(self, snapshot: Snapshot) -> bool:
        """Store a snapshot; return False when one with the same stream, version and reducer exists.

        Never changes events.
        """

