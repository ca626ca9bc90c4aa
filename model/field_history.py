"""Field history: every event that changed the value at one path of a stream's state."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Protocol

from model.errors import CancelledError
from model.freeze import LIST_TYPES, FrozenMap, changed_keys, freeze

Path = tuple[Any, ...]

#: How many events pass between two calls of ``cancel`` and ``progress``.
CHECK_EVERY = 4096
#: Events decoded at a time while walking a loaded stream.
WALK_BATCH = 10_000


class _Missing:
    """The value at a path that does not exist (before creation, after removal)."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"  # pickles (worker threads, copies) keep the singleton


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class FieldChange:
    """Event ``version`` changed the value at the path from ``old`` to ``new`` (either may be MISSING)."""

    version: int
    type: str
    time: datetime
    old: Any
    new: Any


class _History(Protocol):
    # The part of model.loaded.LoadedStream this module uses.
    first_version: int
    last_version: int

    def state_at(self, version: int) -> Mapping[str, Any]: ...

    def event(self, version: int) -> Any: ...


def value_at(state: Any, path: Path) -> Any:
    """The value at ``path`` (keys and list indexes) in ``state``, or MISSING."""
    value = state
    for step in path:
        if isinstance(value, Mapping):
            if step not in value:
                return MISSING
            value = value[step]
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            if not isinstance(step, int) or isinstance(step, bool) or not -len(value) <= step < len(value):
                return MISSING
            value = value[step]
        else:
            return MISSING
    return value


def same_value(old: Any, new: Any) -> bool:
    """Type-aware equality: 1, 1.0 and True are different values in a state; NaN equals NaN.

    Mappings are compared as mappings and lists as lists, whatever their class (a payload's
    FrozenDict in one state and a FrozenMap in the next hold the same value).
    """
    if old is new:
        return True  # structural sharing makes the common, unchanged case one comparison
    if isinstance(old, Mapping):
        if not isinstance(new, Mapping) or len(old) != len(new):
            return False
        keys = changed_keys(old, new)  # persistent values derived one from the other: only these may differ
        if keys is not None:
            return all(same_value(old.get(k, MISSING), new.get(k, MISSING)) for k in keys)
        return all(k in new and same_value(v, new[k]) for k, v in old.items())
    if isinstance(old, LIST_TYPES):
        if not isinstance(new, LIST_TYPES) or len(old) != len(new):
            return False
        keys = changed_keys(old, new)
        if keys is not None:
            return all(same_value(old[i], new[i]) for i in keys)
        return all(same_value(a, b) for a, b in zip(old, new))
    if type(old) is not type(new):
        return False
    if isinstance(old, float):
        return old == new or (math.isnan(old) and math.isnan(new))
    return old == new


def _walk(history: Any, state: Mapping[str, Any], first: int, last: int) -> Iterator[tuple[int, Any]]:
    # The loaded events were all folded once already (the loaded stream checked versions, the
    # reducer's result and its time), so evolve is called directly here: state_at per version
    # would arm the watchdog and slice the events for every single step (5x slower). Events are
    # decoded a batch at a time: a stream of a million is never held whole.
    evolve = history.reducer.evolve
    version = first - 1
    batches = (history.events(lo, min(last, lo + WALK_BATCH - 1)) for lo in range(first, last + 1, WALK_BATCH))
    try:
        for event in (event for batch in batches for event in batch):
            new = evolve(state, event)
            state = new if type(new) is FrozenMap else freeze(new)
            version = event.version
            yield version, state
    except Exception:
        # Whatever a reducer does differently the second time, state_at reports it, located.
        for v in range(version + 1, last + 1):
            yield v, history.state_at(v)


def field_history(
    history: _History,
    path: Path,
    *,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    from_version: int | None = None,
    to_version: int | None = None,
) -> list[FieldChange]:
    """Every loaded event that changed the value at ``path``, in version order.

    Walks the versions one after the other: ``History.state_at`` keeps the last state, so each
    step folds one event. ``cancel()`` returning True raises CancelledError; ``progress(done,
    total)`` is called every few thousand events.
    """
    path = tuple(path)
    first = history.first_version if from_version is None else max(from_version, history.first_version)
    last = history.last_version if to_version is None else min(to_version, history.last_version)
    total = max(0, last - first + 1)
    changes: list[FieldChange] = []
    if total == 0:
        return changes
    states = getattr(history, "states", None)
    start = history.state_at(first - 1)
    if callable(states):
        steps = states(first, last)  # (version, state) pairs, when History offers the walk
    elif hasattr(history, "reducer") and hasattr(history, "events"):
        steps = _walk(history, start, first, last)
    else:
        steps = ((v, history.state_at(v)) for v in range(first, last + 1))
    previous = value_at(start, path)
    done = 0
    for version, state in steps:
        current = value_at(state, path)
        if not same_value(previous, current):
            event = history.event(version)
            changes.append(FieldChange(version, event.type, event.time, previous, current))
        previous = current
        done += 1
        if done % CHECK_EVERY == 0:
            if cancel is not None and cancel():
                raise CancelledError("field history")
            if progress is not None:
                progress(done, total)
    if progress is not None:
        progress(done, total)
    return changes
