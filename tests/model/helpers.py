"""Test values for the model: events built in memory and an EventSource that is a list of them.

``ListSource`` is not a database stand-in: the model's contract is the ``EventSource``
protocol, and a list of events is the simplest real value that keeps it.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

from model.event import Event, NewEvent, ReducerId, Snapshot, StreamInfo

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def make_events(stream_id: str, new_events: Iterable[NewEvent], *, start: int = 1, stream_type: str = "") -> list[Event]:
    """Number a list of NewEvents the way a store would (versions from ``start``, times every minute)."""
    events = []
    for offset, new in enumerate(new_events):
        time = new.time or T0 + timedelta(minutes=start + offset)
        events.append(
            Event(stream_id, start + offset, new.type, dict(new.data), dict(new.metadata), time, stream_type)
        )
    return events


def event(stream_id: str, version: int, type: str, data: dict | None = None, **kw) -> Event:
    time = kw.pop("time", T0 + timedelta(minutes=version if isinstance(version, int) else 0))
    return Event(stream_id, version, type, data or {}, kw.pop("metadata", {}), time, **kw)


class ListSource:
    """An EventSource over in-memory events and snapshots; counts the events it hands out."""

    def __init__(self, events: list[Event], snapshots: Iterable[Snapshot] = ()):
        self.events = events
        self.snapshot_list = sorted(snapshots, key=lambda s: s.version)
        self.events_read = 0

    def stream(self, stream_id: str) -> StreamInfo | None:
        mine = [e for e in self.events if e.stream_id == stream_id]
        if not mine:
            return None
        return StreamInfo(stream_id, mine[0].stream_type, len(mine), mine[0].version, mine[-1].version, mine[0].time, mine[-1].time)

    def read(self, stream_id, *, from_version=1, to_version=None, since=None, until=None, batch_size=1000) -> Iterator[list[Event]]:
        mine = [
            e for e in self.events
            if e.stream_id == stream_id and e.version >= from_version and (to_version is None or e.version <= to_version)
        ]
        for i in range(0, len(mine), batch_size):
            batch = mine[i : i + batch_size]
            self.events_read += len(batch)
            yield batch

    def version_at(self, stream_id: str, moment: datetime) -> int:
        times = [e.time for e in self.events if e.stream_id == stream_id]
        return bisect_right(times, moment)

    def snapshots(self, stream_id: str) -> list[Snapshot]:
        return [s for s in self.snapshot_list if s.stream_id == stream_id]

    def latest_snapshot(self, stream_id: str, *, at_or_before: int, reducer: ReducerId) -> Snapshot | None:
        fitting = [s for s in self.snapshots(stream_id) if s.version <= at_or_before and s.reducer == reducer]
        return fitting[-1] if fitting else None
