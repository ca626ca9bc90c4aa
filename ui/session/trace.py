"""Trace: from any event, every event sharing its correlation id, across streams, as a causation tree.

The store finds the correlated events (``EventSource.correlated``: an index where one exists, and a
note saying which index would serve where none does); ``model.trace.build_tree`` places each under
the event that caused it. Jump to any of them with ``Session.open_at(*trace.target(node))``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model.errors import StreamNotFound, UsageError
from model.ports import EventSource
from model.trace import TraceNode, Traced, build_tree, walk
from model.trace import _when as time_order
from ui.session.export import event_record
from ui.session.jobs import Job, Task
from ui.session.search import checkpoint_of


@dataclass(frozen=True)
class Trace:
    """The origin event, the roots of its causation forest (time order), and what the store said."""

    origin: Traced
    roots: list[TraceNode]
    note: str = ""

    @property
    def correlation_id(self) -> Any:
        return self.origin.correlation_id

    def nodes(self) -> list[tuple[int, TraceNode]]:
        """(depth, node), depth first, each level in time order."""
        return list(walk(self.roots))

    def in_time_order(self) -> list[TraceNode]:
        return sorted((n for _, n in walk(self.roots)), key=time_order)

    @staticmethod
    def target(node: TraceNode) -> tuple[str, int]:
        return node.event.stream_id, node.event.version


def trace(store: EventSource, stream_id: str, version: int, task: Task | None = None) -> Trace:
    """The trace of event ``version`` of ``stream_id``; StreamNotFound / UsageError when there is no such event."""
    if store.stream(stream_id) is None:
        raise StreamNotFound(stream_id)
    found = store.correlated(stream_id, version, checkpoint=checkpoint_of(task, "tracing") if task else None)
    if found is None:
        raise UsageError(f"stream {stream_id!r} has no version {version}")
    events = list(found.events)
    if not any(t.event.stream_id == stream_id and t.event.version == version for t in events):
        events.append(found.origin)
    return Trace(found.origin, build_tree(events), found.note)


def trace_job(store: EventSource, stream_id: str, version: int) -> Job[Trace]:
    return Job(f"tracing {stream_id} version {version}", lambda task: trace(store, stream_id, version, task), shown=True)


def record(node: TraceNode) -> dict[str, Any]:
    """An NDJSON line: the event record plus ``caused_by`` ({"stream_id", "version"} or null)."""
    out = event_record(node.event)
    cause = node.caused_by
    out["caused_by"] = None if cause is None else {"stream_id": cause.stream_id, "version": cause.version}
    return out
