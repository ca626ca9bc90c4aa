"""Folding events into states: ``fold`` checks every step; ``History`` keeps checkpoints for time travel."""
from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from operator import attrgetter, le
from time import perf_counter
from typing import Any

from model import watchdog
from model.diff import Diff, diff
from model.errors import EventLensError, ReducerError, VersionError
from model.event import Event
from model.freeze import IMMUTABLE_TYPES, FrozenDict, FrozenError, FrozenMap, freeze, freeze_each, settle
from model.reducer import Reducer

EMPTY_STATE = FrozenMap()



#: How far (in fold time) any version may lie from the checkpoint before it.
CHECKPOINT_TARGET_S = 0.002
MIN_CHECKPOINT_EVERY = 32
MAX_CHECKPOINT_EVERY = 2048
FIRST_CHECKPOINT_EVERY = 256


def _first_line(error: BaseException) -> str:
    text = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _freeze_payload(event: Event) -> None:
    # Payloads are frozen once, in place, so a reducer cannot change a loaded event and every
    # later fold of the same event is free. The content (and so equality) is unchanged.
    try:
        data, metadata = event.data, event.metadata
        if type(data) is dict and IMMUTABLE_TYPES.issuperset(map(type, data.values())):
            object.__setattr__(event, "data", FrozenDict(data))  # the common flat payload, inlined
        else:
            object.__setattr__(event, "data", freeze_each([data])[0])
        if type(metadata) is not FrozenDict:
            object.__setattr__(event, "metadata", freeze_each([metadata])[0])
    except (AttributeError, TypeError, RecursionError):
        pass  # left as it is: the reducer meets the odd payload and fails with a located error


def _state_of(value: Any) -> Any:
    # A state is a FrozenMap; anything else a caller starts from is converted (or, when it is
    # not a mapping, left for the reducer to meet and fail on with a located error).
    if type(value) is FrozenMap or not isinstance(value, Mapping):
        return freeze(value)
    return FrozenMap(value)


def fold_partial(
    state: Mapping[str, Any],
    events: Iterable[Event],
    reducer: Reducer,
    stream_id: str | None,
    after_version: int | None,
) -> tuple[Mapping[str, Any], int | None, int, EventLensError | None]:
    """Fold until the end or the first failure: (state, last version folded, count, error or None)."""
    evolve = reducer.evolve
    timeout = reducer.timeout_s
    state = _state_of(state) if state is not None else EMPTY_STATE
    version = after_version
    folded = 0
    event = None
    dog = watchdog.DEFAULT
    clock = dog.clock
    guard = dog.arm(timeout)
    try:
        for event in events:
            v = event.version
            if type(v) is not int or (version is not None and v != version + 1):
                expected = 1 if version is None else version + 1
                return state, version, folded, VersionError(stream_id or event.stream_id, expected, v)
            if type(event.data) is not FrozenDict:
                _freeze_payload(event)
            guard.deadline = clock() + timeout
            try:
                new = evolve(state, event)
            except FrozenError:
                guard.deadline = watchdog.NEVER
                return state, version, folded, _reducer_error(
                    stream_id, event, "mutated its input state; return a new state instead"
                )
            except Exception as error:  # anything a user's reducer raises becomes a located error
                guard.deadline = watchdog.NEVER
                return state, version, folded, _reducer_error(stream_id, event, _first_line(error))
            guard.deadline = watchdog.NEVER
            if type(new) is not FrozenMap:
                if not isinstance(new, Mapping):
                    reason = f"returned {type(new).__name__}, not a mapping"
                    return state, version, folded, _reducer_error(stream_id, event, reason)
                try:
                    new = FrozenMap(new)  # a plain dict, say: one copy, its frozen parts shared
                except RecursionError:
                    reason = "returned a state nested too deeply to keep"
                    return state, version, folded, _reducer_error(stream_id, event, reason)
            settle(new)  # what the next event changes is traced from this state
            state = new
            version = v
            folded += 1
    except watchdog.ReducerTimeout:
        reason = f"did not return within {timeout:g} s"
        return state, version, folded, _reducer_error(stream_id, event, reason)
    finally:
        dog.disarm(guard)
    return state, version, folded, None


def _reducer_error(stream_id: str | None, event: Event, reason: str) -> ReducerError:
    return ReducerError(stream_id or event.stream_id, event.version, event.type, reason)


def fold(
    state: Mapping[str, Any] | None,
    events: Iterable[Event],
    reducer: Reducer,
    *,
    stream_id: str | None = None,
    after_version: int | None = None,
) -> Mapping[str, Any]:
    """Apply ``reducer.evolve`` to each event in order and return the frozen final state.

    Versions must follow each other (the first must be ``after_version + 1`` when given);
    any reducer failure raises :class:`ReducerError` naming stream, version and event type.
    """
    result, _, _, error = fold_partial(state, events, reducer, stream_id, after_version)
    if error is not None:
        raise error
    return result


_TIME = attrgetter("time")


def _timestamp(moment: Any, previous: float) -> float:
    if moment is None:
        return math.nan  # the store keeps no time for this event: it has only its version
    try:
        return moment.timestamp()
    except (AttributeError, TypeError, ValueError, OverflowError):
        return previous  # bad data: keep the order of the neighbours


class History:
    """A loaded stream: its events, checkpoints every K events, and the state at any loaded version.

    ``extend`` is called batch by batch (the caller cancels by not calling it again). A failure
    stops the history at the event before it and is kept in ``error`` for the UI to show.
    Not thread-safe for two writers; one thread extending while another reads is fine.
    """

    def __init__(
        self,
        stream_id: str,
        reducer: Reducer,
        *,
        initial_state: Mapping[str, Any] | None = None,
        initial_version: int = 0,
        checkpoint_every: int | None = None,
    ):
        self.stream_id = stream_id
        self.reducer = reducer
        self.error: EventLensError | None = None
        self._initial_version = initial_version
        self._events: list[Event] = []
        self._times = array("d")
        self._times_sorted = True
        self._head = freeze(initial_state) if initial_state is not None else EMPTY_STATE
        # States are appended before versions, so a reader never finds a version without its state.
        self._checkpoint_states: list[Mapping[str, Any]] = [self._head]
        self._checkpoint_versions: list[int] = [initial_version]
        self._fixed_every = checkpoint_every
        self.checkpoint_every = checkpoint_every or FIRST_CHECKPOINT_EVERY
        self._fold_seconds = 0.0
        self._folded = 0
        self._cache: tuple[int, Mapping[str, Any]] = (initial_version, self._head)

    # -- loading --------------------------------------------------------------------------
    def extend(self, events: Iterable[Event]) -> int:
        """Fold and keep a batch of events; return how many were kept (fewer after an error)."""
        if self.error is not None:
            return 0
        batch = events if isinstance(events, Sequence) else list(events)
        kept = 0
        while kept < len(batch):
            last = self.last_version
            room = self._checkpoint_versions[-1] + self.checkpoint_every - last
            chunk = batch[kept : kept + max(room, 1)]
            started = perf_counter()
            state, _, folded, error = fold_partial(self._head, chunk, self.reducer, self.stream_id, last)
            self._measure(perf_counter() - started, folded)
            good = chunk[:folded] if folded < len(chunk) else chunk
            self._events.extend(good)
            self._keep_times(good)
            self._head = state
            kept += folded
            if self.last_version - self._checkpoint_versions[-1] >= self.checkpoint_every:
                self._checkpoint_states.append(state)
                self._checkpoint_versions.append(self.last_version)
            if error is not None:
                self.error = error
                break
        return kept

    def _keep_times(self, events: Sequence[Event]) -> None:
        # One C-level pass for the usual case (every time a datetime); per event only for bad data.
        previous = self._times[-1] if self._times else float("-inf")
        try:
            stamps = list(map(datetime.timestamp, map(_TIME, events)))
        except (AttributeError, TypeError, ValueError, OverflowError):
            stamps = []
            for event in events:
                previous = _timestamp(event.time, previous)
                stamps.append(previous)
            previous = self._times[-1] if self._times else float("-inf")
        if stamps and self._times_sorted:
            if stamps[0] < previous or not all(map(le, stamps, islice(stamps, 1, None))):
                self._times_sorted = False
        self._times.extend(stamps)

    def _measure(self, seconds: float, folded: int) -> None:
        # Space checkpoints by measured fold cost: any state is about CHECKPOINT_TARGET_S away.
        self._fold_seconds += seconds
        self._folded += folded
        if self._fixed_every is None and self._folded >= FIRST_CHECKPOINT_EVERY and self._fold_seconds > 0:
            per_event = self._fold_seconds / self._folded
            every = int(CHECKPOINT_TARGET_S / per_event)
            self.checkpoint_every = max(MIN_CHECKPOINT_EVERY, min(MAX_CHECKPOINT_EVERY, every))

    # -- reading --------------------------------------------------------------------------
    @property
    def first_version(self) -> int:
        return self._initial_version + 1

    @property
    def last_version(self) -> int:
        return self._initial_version + len(self._events)

    @property
    def initial_version(self) -> int:
        return self._initial_version

    @property
    def state(self) -> Mapping[str, Any]:
        """The state after the last loaded event."""
        return self._head

    @property
    def checkpoints(self) -> int:
        return len(self._checkpoint_versions)

    def __len__(self) -> int:
        return len(self._events)

    def event(self, version: int) -> Event:
        """The loaded event with this version."""
        self._check_version(version, self.first_version)
        return self._events[version - self.first_version]

    def events(self, from_version: int | None = None, to_version: int | None = None) -> list[Event]:
        """The loaded events between two versions, inclusive."""
        lo = max(self.first_version, from_version or self.first_version)
        hi = min(self.last_version, self.last_version if to_version is None else to_version)
        return self._events[lo - self.first_version : hi - self.first_version + 1]

    def _check_version(self, version: int, lowest: int) -> None:
        if type(version) is not int or not lowest <= version <= self.last_version:
            raise EventLensError(
                f"stream {self.stream_id!r}: version {version!r} is not loaded "
                f"(loaded {lowest}..{self.last_version})"
            )

    def state_at(self, version: int) -> Mapping[str, Any]:
        """The state after event ``version``; folds at most one checkpoint interval."""
        self._check_version(version, self._initial_version)
        cached_version, cached_state = self._cache
        if cached_version == version:
            return cached_state
        i = bisect_right(self._checkpoint_versions, version) - 1
        start_version, start_state = self._checkpoint_versions[i], self._checkpoint_states[i]
        if start_version <= cached_version < version:
            start_version, start_state = cached_version, cached_state  # stepping forward
        offset = self._initial_version + 1
        events = self._events[start_version + 1 - offset : version + 1 - offset]
        state = fold(start_state, events, self.reducer, stream_id=self.stream_id, after_version=start_version)
        self._cache = (version, state)
        return state

    def change_at(self, version: int) -> Diff:
        """What event ``version`` changed: the state before it against the state after it."""
        self._check_version(version, self.first_version)
        before = self.state_at(version - 1)
        return diff(before, self.state_at(version))

    def version_at(self, moment: datetime) -> int:
        """The last loaded version recorded at or before ``moment`` (the initial version when none)."""
        t = moment.timestamp()
        if self._times_sorted:
            return self._initial_version + bisect_right(self._times, t)
        # Times go backwards somewhere: the last event at or before the moment, as a store query would.
        for i in range(len(self._times) - 1, -1, -1):
            if self._times[i] <= t:
                return self._initial_version + i + 1
        return self._initial_version
