"""A loaded stream, kept as columns: versions, times and types first, payloads and states after.

Opening a stream of a million events reads its index (versions, times, types) first, so the
timeline and the cursor work at once; payloads arrive next, packed as their stores keep them
(``PayloadBatch``: BSON bytes for the native stores) and decoded only for the rows shown and
the events folded; states are folded into checkpoints as payloads arrive. No ``Event`` object
lives longer than the call that asked for it, which keeps a loaded event to a few hundred
bytes.

One thread adds (the loader), others read: everything a reader sees sits below the counts
(``indexed``, ``payloads``, ``folded``), and every count moves only after what it counts is in.
"""
from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from itertools import islice, repeat
from operator import le, mul
from time import perf_counter
from typing import Any

from model.diff import Diff, diff
from model.errors import EventLensError, VersionError
from model.event import Event
from model.freeze import freeze
from model.ports import IndexBatch, KeptPayloads, PayloadBatch
from model.reducer import Reducer
from model.replay import EMPTY_STATE, fold, fold_partial

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: The time column's mark for an event without a time.
NO_TIME = -(2**63)

#: How far (in fold time) any version may lie from the checkpoint before it.
CHECKPOINT_TARGET_S = 0.002
MIN_CHECKPOINT_EVERY = 32
MAX_CHECKPOINT_EVERY = 2048
FIRST_CHECKPOINT_EVERY = 256
#: Decoded payload batches kept for the rows in sight and the folds near the cursor.
DECODED_KEPT = 4


class NotLoadedYet(EventLensError):
    """A version whose payload or state has not arrived yet (it is on its way)."""


def to_micros(moment: Any) -> int:
    """Microseconds since 1970 UTC, or NO_TIME for an event without a (readable) time."""
    if not isinstance(moment, datetime):
        return NO_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        delta = moment - _EPOCH
    except (OverflowError, TypeError):
        return NO_TIME
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime | None:
    return None if micros == NO_TIME else _EPOCH + timedelta(microseconds=micros)


class LoadedStream:
    """A stream's index, packed payloads and checkpoints; ``state_at(v)`` folds a bounded number of events."""

    def __init__(self, stream_id: str, reducer: Reducer, *, initial_state: Mapping[str, Any] | None = None,
                 initial_version: int = 0, checkpoint_every: int | None = None):
        self.stream_id = stream_id
        self.reducer = reducer
        self.stream_type = ""
        self.index_error: EventLensError | None = None  # the index stopped here: a gap, a duplicate version
        self.fold_error: EventLensError | None = None  # the fold stopped here: the reducer failed
        self._initial_version = initial_version
        self._versions = array("q")
        self._times = array("q")  # microseconds since 1970, NO_TIME for none
        self._times_sorted = True
        self._some_without_time = False
        self._last_time = -(2**63) + 1
        self._codes = array("h")
        self.type_names: list[str] = []
        self._code_of: dict[str, int] = {}
        self._index_problems: dict[int, tuple[str, ...]] = {}
        self._payload_problems: dict[int, tuple[str, ...]] = {}  # found while decoding, by position
        self._index_stopped = False
        self._batches: list[PayloadBatch] = []
        self._batch_starts: list[int] = []
        self._payloads = 0
        self._decoded: dict[int, list] = {}  # batch number -> decoded payloads (a few, most recent)
        head = freeze(initial_state) if initial_state is not None else EMPTY_STATE
        self._head = head
        # States are appended before positions, so a reader never finds a position without its state.
        self._checkpoint_states: list[Mapping[str, Any]] = [head]
        self._checkpoint_positions: list[int] = [0]
        self._folded = 0
        self._fixed_every = checkpoint_every
        self.checkpoint_every = checkpoint_every or FIRST_CHECKPOINT_EVERY
        self._fold_seconds = 0.0
        self._fold_count = 0
        self._cache: tuple[int, Mapping[str, Any]] = (initial_version, head)

    # -- counts -----------------------------------------------------------------------------------
    @property
    def first_version(self) -> int:
        return self._initial_version + 1

    @property
    def initial_version(self) -> int:
        return self._initial_version

    @property
    def indexed(self) -> int:
        """Events whose version, time and type are known."""
        return len(self._versions)

    @property
    def last_version(self) -> int:
        """The last version whose index is loaded (its payload and state may still be on their way)."""
        return self._initial_version + len(self._versions)

    @property
    def payload_version(self) -> int:
        """The last version whose payload is loaded."""
        return self._initial_version + self._payloads

    @property
    def folded_version(self) -> int:
        """The last version whose state can be had (a reducer failure stops it there)."""
        return self._initial_version + self._folded

    @property
    def checkpoints(self) -> int:
        return len(self._checkpoint_positions)

    def __len__(self) -> int:
        return len(self._versions)

    @property
    def state(self) -> Mapping[str, Any]:
        """The state after the last folded event."""
        return self._head

    @property
    def error(self) -> EventLensError | None:
        """Why the stream stops short: the reducer's failure, else the index's gap."""
        return self.fold_error or self.index_error

    # -- loading: the index -------------------------------------------------------------------------
    def add_index(self, batch: IndexBatch) -> int:
        """Take a batch of versions, times and types; return how many were kept (fewer at a gap)."""
        if self._index_stopped or not len(batch.versions):
            return 0
        versions = batch.versions
        expected = self.last_version + 1
        count = len(versions)
        # contiguous from the last one (checked in C for the usual batch), or the index stops at the gap
        if list(versions) != list(range(expected, expected + count)):
            count = 0
            for version in versions:
                if type(version) is not int or version != expected:
                    self._index_stopped = True
                    self.index_error = VersionError(self.stream_id, expected, version)
                    break
                expected += 1
                count += 1
            if count == 0:
                return 0
        start = len(self._versions)
        code_of = self._code_of
        types = batch.types if count == len(batch.types) else batch.types[:count]
        new = [name for name in dict.fromkeys(types) if name not in code_of]
        for name in new:
            code_of[name] = len(self.type_names)
            self.type_names.append(name if isinstance(name, str) else str(name))
        codes = list(map(code_of.__getitem__, types))
        times = batch.times if count == len(batch.times) else batch.times[:count]
        if NO_TIME in times:
            self._some_without_time = True
        if self._times_sorted and times:
            present = [t for t in times if t != NO_TIME] if self._some_without_time else times
            if present and (present[0] < self._last_time or not all(map(le, present, islice(present, 1, None)))):
                self._times_sorted = False
            if present:
                self._last_time = max(self._last_time, present[-1])
        for position, problems in batch.problems.items():
            if position < count:
                self._index_problems[start + position] = problems
        if batch.stream_type and not self.stream_type:
            self.stream_type = batch.stream_type
        self._codes.extend(codes)
        self._times.extend(times)
        self._versions.extend(versions[:count] if count < len(versions) else versions)  # last: readers trust this count
        return count

    def codes(self, start: int, stop: int) -> array:
        """The type codes of positions start..stop-1 (``type_names[code]`` is the type)."""
        return self._codes[start:stop]

    # -- loading: payloads ----------------------------------------------------------------------------
    def add_payloads(self, batch: PayloadBatch) -> int:
        """Take the payloads of the events after the last ones that have theirs; return how many were kept."""
        start = self._payloads
        if batch.first_version != self._initial_version + start + 1:
            raise EventLensError(f"stream {self.stream_id!r}: payloads from version {batch.first_version} "
                                 f"do not follow version {self._initial_version + start}")
        count = min(len(batch), len(self._versions) - start)
        if count <= 0:
            return 0
        self._batches.append(batch)
        self._batch_starts.append(start)
        self._payloads = start + count
        return count

    def extend(self, events: Iterable[Event]) -> int:
        """Index, keep and fold a list of events at once (scripts, tests); return how many were folded."""
        batch = events if isinstance(events, Sequence) else list(events)
        if not batch:
            return 0
        before = self._folded
        index = IndexBatch([e.version for e in batch], [to_micros(e.time) for e in batch], [e.type for e in batch],
                           stream_type=next((e.stream_type for e in batch if e.stream_type), ""))
        kept = self.add_index(index)
        if kept:
            self.add_payloads(KeptPayloads(batch[0].version, batch[:kept]))
        self.fold_more()
        return self._folded - before

    # -- folding ------------------------------------------------------------------------------------------
    def fold_more(self, most: int | None = None) -> int:
        """Fold the events whose payloads are loaded (at most ``most``); return how many were folded."""
        folded_before = self._folded
        limit = self._payloads if most is None else min(self._payloads, self._folded + most)
        while self._folded < limit and self.fold_error is None:
            room = self._checkpoint_positions[-1] + self.checkpoint_every - self._folded
            stop = min(limit, self._folded + max(room, 1))
            # the cost of reaching a state from a checkpoint is decoding the payloads and folding them
            started = perf_counter()
            events = self._events_between(self._folded, stop)
            state, _, done, error = fold_partial(self._head, events, self.reducer, self.stream_id, self.folded_version)
            self._measure(perf_counter() - started, done)
            self._head = state
            self._folded += done
            if self._folded - self._checkpoint_positions[-1] >= self.checkpoint_every:
                self._checkpoint_states.append(state)
                self._checkpoint_positions.append(self._folded)
            if error is not None:
                self.fold_error = error
                break
        return self._folded - folded_before

    def _measure(self, seconds: float, folded: int) -> None:
        # Space checkpoints by measured fold cost: any state is about CHECKPOINT_TARGET_S away.
        self._fold_seconds += seconds
        self._fold_count += folded
        if self._fixed_every is None and self._fold_count >= FIRST_CHECKPOINT_EVERY and self._fold_seconds > 0:
            every = int(CHECKPOINT_TARGET_S / (self._fold_seconds / self._fold_count))
            self.checkpoint_every = max(MIN_CHECKPOINT_EVERY, min(MAX_CHECKPOINT_EVERY, every))

    # -- reading ------------------------------------------------------------------------------------------
    def _position(self, version: int, limit: int, what: str) -> int:
        if type(version) is not int or not self.first_version <= version <= self._initial_version + limit:
            if type(version) is int and self.first_version <= version <= self.last_version:
                raise NotLoadedYet(f"stream {self.stream_id!r}: the {what} of version {version:,} is still loading "
                                   f"(loaded to version {self._initial_version + limit:,})")
            raise EventLensError(f"stream {self.stream_id!r}: version {version!r} is not loaded "
                                 f"(loaded {self.first_version}..{self.last_version})")
        return version - self.first_version

    def version_of(self, position: int) -> int:
        return self._initial_version + position + 1

    def type_of(self, version: int) -> str:
        return self.type_names[self._codes[self._position(version, len(self._versions), "index")]]

    def time_of(self, version: int) -> datetime | None:
        return from_micros(self._times[self._position(version, len(self._versions), "index")])

    def index_row(self, version: int) -> tuple[int, datetime | None, str, tuple[str, ...]]:
        """(version, time, type, problems known from the index) of a version whose index is loaded."""
        position = self._position(version, len(self._versions), "index")
        return (version, from_micros(self._times[position]), self.type_names[self._codes[position]],
                self._index_problems.get(position, ()))

    def _decoded_batch(self, number: int) -> tuple[list, list, dict[int, tuple[str, ...]]]:
        decoded = self._decoded.get(number)
        if decoded is None:
            batch = self._batches[number]
            decoded = batch.decode(0, len(batch))
            first = self._batch_starts[number]
            for position, problems in decoded[2].items():  # what could not be read: kept for the checks
                self._payload_problems[first + position] = problems
            if len(self._decoded) >= DECODED_KEPT:
                self._decoded.pop(next(iter(self._decoded)))
            self._decoded[number] = decoded
        return decoded

    def _events_between(self, start: int, stop: int) -> list[Event]:
        """Events at positions start..stop-1 (their payloads loaded), decoded batch by batch."""
        out: list[Event] = []
        position = start
        names, stream_id, stream_type = self.type_names, self.stream_id, self.stream_type
        while position < stop:
            number = bisect_right(self._batch_starts, position) - 1
            first = self._batch_starts[number]
            datas, metas, problems = self._decoded_batch(number)
            end = min(stop, first + len(datas))
            a, b = position - first, end - first
            times = self._times[position:end]
            moments: Any = map(_EPOCH.__add__, map(mul, repeat(_MICROSECOND), times))
            if NO_TIME in times:
                moments = [None if t == NO_TIME else _EPOCH + t * _MICROSECOND for t in times]
            found = [()] * (end - position)
            if problems or self._index_problems:
                for i in range(position, end):
                    here = self._index_problems.get(i, ()) + problems.get(i - first, ())
                    if here:
                        found[i - position] = here
            # C-level maps: no Python step per event but Event's own __init__
            out.extend(map(Event, repeat(stream_id), self._versions[position:end], map(names.__getitem__,
                                                                                         self._codes[position:end]),
                           datas[a:b], metas[a:b], moments, repeat(stream_type), found))
            position = end
        return out

    def event(self, version: int) -> Event:
        """The event with this version, decoded (NotLoadedYet while its payload is on its way)."""
        position = self._position(version, self._payloads, "payload")
        return self._events_between(position, position + 1)[0]

    def events(self, from_version: int | None = None, to_version: int | None = None) -> list[Event]:
        """The events whose payloads are loaded between two versions, inclusive."""
        lo = max(self.first_version, from_version or self.first_version)
        hi = min(self.payload_version, self.payload_version if to_version is None else to_version)
        if hi < lo:
            return []
        return self._events_between(lo - self.first_version, hi - self.first_version + 1)

    def iter_events(self, batch: int = 10_000):
        """Every event whose payload is loaded, decoded a batch at a time."""
        for start in range(0, self._payloads, batch):
            yield from self._events_between(start, min(self._payloads, start + batch))

    def state_at(self, version: int) -> Mapping[str, Any]:
        """The state after event ``version``; folds at most one checkpoint interval."""
        if type(version) is int and version == self._initial_version:
            return self._checkpoint_states[0]
        if type(version) is int and self.folded_version < version <= self.last_version:
            why = f": {self.fold_error}" if self.fold_error is not None else ""
            raise NotLoadedYet(f"stream {self.stream_id!r}: no state for version {version:,} yet "
                               f"(folded to version {self.folded_version:,}){why}")
        target = self._position(version, self._folded, "state") + 1
        cached_version, cached_state = self._cache
        if cached_version == version:
            return cached_state
        i = bisect_right(self._checkpoint_positions, target) - 1
        start, state = self._checkpoint_positions[i], self._checkpoint_states[i]
        cached = cached_version - self._initial_version
        # stepping forward from the cache; also onto a checkpoint from the version just before it,
        # so that the state after an event derives from the state before it (model.freeze.changed_keys:
        # their diff then costs what the event changed, not a walk of the whole state)
        if start <= cached < target or cached == target - 1:
            start, state = cached, cached_state
        events = self._events_between(start, target)
        state = fold(state, events, self.reducer, stream_id=self.stream_id, after_version=self._initial_version + start)
        self._cache = (version, state)
        return state

    def change_at(self, version: int) -> Diff:
        """What event ``version`` changed: the state before it against the state after it."""
        before = self.state_at(version - 1)
        return diff(before, self.state_at(version))

    def version_at(self, moment: datetime) -> int:
        """The last loaded version recorded at or before ``moment`` (the initial version when none)."""
        t = to_micros(moment)
        times = self._times
        if self._times_sorted and not self._some_without_time:
            return self._initial_version + bisect_right(times, t)
        # Times go backwards somewhere (or some are missing): the last event at or before the moment.
        for i in range(len(times) - 1, -1, -1):
            if times[i] != NO_TIME and times[i] <= t:
                return self._initial_version + i + 1
        return self._initial_version

    # -- what the checks read ------------------------------------------------------------------------
    def read_problems(self) -> dict[int, tuple[str, ...]]:
        """What could not be read of each event, by version: from the index and from decoding the payloads.

        Payloads not yet decoded (past a reducer failure) are decoded here once, batch by batch.
        """
        for number in range(len(self._batches)):
            first = self._batch_starts[number]
            if number not in self._decoded and not self._scanned(number, first):
                self._decoded_batch(number)
        out: dict[int, tuple[str, ...]] = {}
        for position in sorted(set(self._index_problems) | set(self._payload_problems)):
            out[self._initial_version + position + 1] = (self._index_problems.get(position, ())
                                                         + self._payload_problems.get(position, ()))
        return out

    def _scanned(self, number: int, first: int) -> bool:
        # a batch the fold went through was decoded then, and its problems kept
        return first + len(self._batches[number]) <= self._folded

    def index_columns(self) -> tuple[array, array, list[str]]:
        """(times in microseconds, type codes, type names) of the listed events, for the checks."""
        return self._times, self._codes, self.type_names

    def nbytes(self) -> int:
        """About how much memory the columns and packed payloads take."""
        columns = (self._versions.itemsize + self._times.itemsize + self._codes.itemsize) * len(self._versions)
        return columns + sum(batch.nbytes for batch in self._batches)


def micros_to_seconds(micros: Sequence[int]) -> list[float]:
    """Epoch seconds (NaN for no time) for the timeline's float column."""
    return [math.nan if t == NO_TIME else t / 1e6 for t in micros]
