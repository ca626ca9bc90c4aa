"""Folding events into states: ``fold`` checks every step (``model.loaded`` keeps checkpoints for time travel)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from model import watchdog
from model.errors import EventLensError, ReducerError, VersionError
from model.event import Event
from model.freeze import IMMUTABLE_TYPES, FrozenDict, FrozenError, FrozenMap, freeze, freeze_each, settle
from model.reducer import Reducer

EMPTY_STATE = FrozenMap()





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
