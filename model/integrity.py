"""Integrity checks over one stream, streaming: constant memory apart from the problems found."""
from __future__ import annotations

from collections.abc import Iterable
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
