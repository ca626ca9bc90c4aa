"""Statistics of a store per stream type: streams, events, event types, first and last time, the
longest streams and events per day. Values, and the accumulator stores without a server-side way
fill event by event (pure)."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable

LONGEST = 10


@dataclass(frozen=True)
class TypeStatistics:
    """One stream type; ``per_day`` maps an ISO date (UTC) to its events, in date order."""

    stream_type: str
    streams: int
    events: int
    event_types: dict[str, int]
    first_time: datetime | None
    last_time: datetime | None
    longest: list[tuple[str, int]]  # (stream id, events), longest first, at most LONGEST
    per_day: dict[str, int] = field(default_factory=dict)


def day_of(moment: datetime) -> str:
    return moment.date().isoformat() if isinstance(moment, datetime) else str(moment)


def longest_of(counts: Iterable[tuple[str, int]], n: int = LONGEST) -> list[tuple[str, int]]:
    """The ``n`` longest streams, longest first, ties by stream id."""
    return [(sid, -negative) for negative, sid in heapq.nsmallest(n, ((-c, s) for s, c in counts))]


class Accumulator:
    """Statistics built from events one stream at a time (memory: a count per stream and per day)."""

    def __init__(self) -> None:
        self._types: dict[str, dict] = {}

    def _of(self, stream_type: str) -> dict:
        found = self._types.get(stream_type)
        if found is None:
            found = self._types[stream_type] = {"streams": {}, "types": {}, "first": None, "last": None, "days": {}}
        return found

    def add(self, stream_type: str, stream_id: str, event_type: str, moment: datetime | None) -> None:
        entry = self._of(stream_type)
        entry["streams"][stream_id] = entry["streams"].get(stream_id, 0) + 1
        entry["types"][event_type] = entry["types"].get(event_type, 0) + 1
        if moment is not None:
            if entry["first"] is None or moment < entry["first"]:
                entry["first"] = moment
            if entry["last"] is None or moment > entry["last"]:
                entry["last"] = moment
            day = day_of(moment)
            entry["days"][day] = entry["days"].get(day, 0) + 1

    def result(self) -> list[TypeStatistics]:
        out = []
        for stream_type in sorted(self._types):
            e = self._types[stream_type]
            out.append(TypeStatistics(
                stream_type, len(e["streams"]), sum(e["streams"].values()), dict(sorted(e["types"].items())),
                e["first"], e["last"], longest_of(e["streams"].items()), dict(sorted(e["days"].items()))))
        return out


def parse_day(text: str) -> date:
    return date.fromisoformat(text)
