"""Traces: the events that share a correlation id, as a causation tree (pure).

An event's correlation id, causation id and event id come from the layout (``store/layout.py``
keys ``correlation_id``, ``causation_id`` and ``event_id``); without them the usual metadata names
are recognised (:data:`CORRELATION_KEYS`, :data:`CAUSATION_KEYS`, :data:`EVENT_ID_KEYS`). A
causation id names the causing event by its event id. Events whose cause is not among the
correlated events are roots; every event appears once, under the first event that caused it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from model.event import Event

#: Metadata names of a correlation id, in the order they are tried.
CORRELATION_KEYS = ("correlation_id", "correlationId", "$correlationId", "traceId")
CAUSATION_KEYS = ("causation_id", "causationId", "$causationId")
EVENT_ID_KEYS = ("event_id", "eventId", "messageId")


def first_of(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    """The first of ``keys`` present with a value (not None, not ""), and that value."""
    for key in keys:
        value = mapping.get(key) if isinstance(mapping, Mapping) else None
        if value is not None and value != "":
            return key, value
    return None


@dataclass(frozen=True)
class Traced:
    """An event with the ids that place it in a trace (None where the event has none)."""

    event: Event
    event_id: Any = None
    correlation_id: Any = None
    causation_id: Any = None


def default_ids(event: Event) -> Traced:
    """The ids under the usual metadata names."""
    meta = event.metadata if isinstance(event.metadata, Mapping) else {}
    found = [first_of(meta, keys) for keys in (EVENT_ID_KEYS, CORRELATION_KEYS, CAUSATION_KEYS)]
    return Traced(event, *(f[1] if f else None for f in found))


@dataclass
class TraceNode:
    traced: Traced
    children: list["TraceNode"] = field(default_factory=list)
    caused_by: Event | None = None

    @property
    def event(self) -> Event:
        return self.traced.event


def _key(value: Any) -> Any:
    return str(value) if value is not None else None


def _when(node: TraceNode) -> tuple:
    e = node.event
    return (e.time is None, e.time or datetime.min, e.stream_id, e.version)


def build_tree(events: list[Traced]) -> list[TraceNode]:
    """The causation forest of ``events``: roots in time order, each with what it caused, in time order."""
    unique: dict[tuple[str, int], Traced] = {}
    for t in events:
        unique.setdefault((t.event.stream_id, t.event.version), t)
    nodes = [TraceNode(t) for t in unique.values()]
    by_id: dict[Any, TraceNode] = {}
    for node in sorted(nodes, key=_when):
        key = _key(node.traced.event_id)
        if key is not None:
            by_id.setdefault(key, node)
    roots: list[TraceNode] = []
    for node in nodes:
        cause = by_id.get(_key(node.traced.causation_id))
        if cause is None or cause is node or _descends(cause, node, by_id):
            roots.append(node)
        else:
            node.caused_by = cause.event
            cause.children.append(node)
    for node in nodes:
        node.children.sort(key=_when)
    return sorted(roots, key=_when)


def _descends(candidate: TraceNode, node: TraceNode, by_id: dict[Any, TraceNode]) -> bool:
    """Whether ``candidate`` is caused (transitively) by ``node``: a cycle, which stays broken at ``node``."""
    seen = set()
    current: TraceNode | None = candidate
    while current is not None and id(current) not in seen:
        if current is node:
            return True
        seen.add(id(current))
        current = by_id.get(_key(current.traced.causation_id))
    return False


def walk(roots: list[TraceNode], depth: int = 0):
    """(depth, node) for every node, depth first in time order."""
    for node in roots:
        yield depth, node
        yield from walk(node.children, depth + 1)
