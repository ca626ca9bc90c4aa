"""Integrity checks over one stream, streaming: constant memory apart from the problems found."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from dataclasses import dataclass
from datetime import datetime

from model.event import Event, StreamInfo
from model.reducer import Reducer, event_role


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding; ``category`` is a short stable string the CLI and UI can filter on."""

    stream_id: str
    version: object
    category: str
    message: str


CATEGORIES = ("bad-version", "bad-type", "gap", "duplicate", "out-of-order", "time-backwards", "undecodable",
              "after-delete", "unknown-type", "uncatalogued")


def check_loaded(loaded: Any, reducer: Reducer | None = None) -> list[Problem]:
    """What ``check_stream`` finds in a loaded stream, read from its columns (no payload decoded again).

    A loaded stream's versions are contiguous (its index stops at a gap, which the caller then
    checks in the store's events with ``check_stream``).
    """
    from model.loaded import NO_TIME, from_micros

    sid, first = loaded.stream_id, loaded.first_version
    times, codes, names = loaded.index_columns()
    found: dict[int, list[Problem]] = {}

    def add(version: int, category: str, message: str) -> None:
        found.setdefault(version, []).append(Problem(sid, version, category, message))

    latest = None
    for position, t in enumerate(times):
        if t == NO_TIME:
            continue
        if latest is not None and t < latest:
            add(first + position, "time-backwards",
                f"time {from_micros(t).isoformat()} is before {from_micros(latest).isoformat()}")
        else:
            latest = t
    for version, problems in loaded.read_problems().items():
        add(version, "undecodable", " ".join("; ".join(map(str, problems)).split()))
    deleted = {code for code, name in enumerate(names) if event_role(name) == "deleted"}
    deleted_at = next((position for position, code in enumerate(codes) if code in deleted), None)
    if deleted_at is not None:
        deleted_type = names[codes[deleted_at]]
        for position in range(deleted_at + 1, len(codes)):
            add(first + position, "after-delete",
                f"{names[codes[position]]!r} after {deleted_type!r} at version {first + deleted_at}")
    known = reducer.known_types if reducer is not None else None
    if known is not None:
        for code, name in enumerate(names):
            if name not in known:
                add(first + codes.index(code), "unknown-type",
                    f"event type {name!r} is not known to reducer {reducer.id.name!r}")
    order = {category: i for i, category in enumerate(CATEGORIES)}
    return [p for version in sorted(found) for p in sorted(found[version], key=lambda p: order[p.category])]


def check_stream(events: Iterable[Event], reducer: Reducer | None = None, *, after_version: int = 0) -> list[Problem]:
    """Check a stream's events in order: versions, times, undecodable payloads, life cycle, known types."""
    problems: list[Problem] = []
    previous = after_version
    latest_time: datetime | None = None
    deleted_at: tuple[object, str] | None = None
    known = reducer.known_types if reducer is not None else None
    unknown_seen: set[str] = set()  # bounded by the number of distinct types, not events
    for event in events:
        sid, v = event.stream_id, event.version
        if type(v) is not int:
            problems.append(Problem(sid, v, "bad-version", f"version {v!r} is not a whole number"))
        elif v == previous:
            problems.append(Problem(sid, v, "duplicate", f"version {v} appears more than once"))
        elif v < previous:
            problems.append(Problem(sid, v, "out-of-order", f"version {v} comes after version {previous}"))
        else:
            if v > previous + 1:
                missing = f"version {previous + 1}" if v == previous + 2 else f"versions {previous + 1}..{v - 1}"
                problems.append(Problem(sid, v, "gap", f"{missing} missing before version {v}"))
            previous = v

        moment = event.time
        if isinstance(moment, datetime):
            try:
                if latest_time is not None and moment < latest_time:
                    problems.append(
                        Problem(sid, v, "time-backwards", f"time {moment.isoformat()} is before {latest_time.isoformat()}")
                    )
                else:
                    latest_time = moment
            except TypeError:  # naive and aware datetimes mixed: nothing sensible to compare
                latest_time = moment

        if event.problems:
            problems.append(Problem(sid, v, "undecodable", " ".join("; ".join(map(str, event.problems)).split())))

        if not isinstance(event.type, str):
            problems.append(Problem(sid, v, "bad-type", f"event type {event.type!r} is not a string"))
            continue
        if deleted_at is not None:
            problems.append(
                Problem(sid, v, "after-delete", f"{event.type!r} after {deleted_at[1]!r} at version {deleted_at[0]}")
            )
        elif event_role(event.type) == "deleted":
            deleted_at = (v, event.type)

        if known is not None and event.type not in known and event.type not in unknown_seen:
            unknown_seen.add(event.type)
            problems.append(
                Problem(sid, v, "unknown-type", f"event type {event.type!r} is not known to reducer {reducer.id.name!r}")
            )
    return problems


def _span(first: int, last: int) -> str:
    return f"version {first} is" if first == last else f"versions {first}\u2013{last} are"


def catalogue_problem(info: StreamInfo | None) -> Problem | None:
    """The disagreement between a stream's events and EventLens's stream catalogue, if any."""
    if info is None or info.catalogued_version is None:
        return None
    head, last = info.catalogued_version, info.last_version
    if head < last:
        first = max(head + 1, info.first_version or 1)
        return Problem(info.stream_id, first, "uncatalogued",
                       f"{_span(first, last)} not in EventLens's stream catalogue (written by another writer?)")
    if head > last:
        return Problem(info.stream_id, last + 1, "uncatalogued",
                       f"{_span(last + 1, head)} in EventLens's stream catalogue but not among the events "
                       f"(removed by another writer?)")
    return None
