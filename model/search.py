"""A search across all streams, as a value: what the person asked, and the one query it means.

Stores answer :meth:`Search.query` (a condition over the normalised fields, :mod:`model.query`)
in pages sorted by time or by stream and version (``EventSource.search``); the session pages
through them (``ui/session/search.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from model.errors import UsageError
from model.patterns import REGEX, parse_pattern
from model.query import combine, validate_query

SORTS = ("time", "stream")  # by (time, stream id, version) or by (stream id, version)
PAGE_SIZE = 100


@dataclass(frozen=True)
class Search:
    """Events of a stream type, of some event types, in streams matching a pattern, in a time range, matching ``where``.

    ``types`` are exact event types, or patterns as ``parse_pattern`` reads them (``re:Funds.*``,
    ``/Transfer(Sent|Received)/``); ``stream`` is a stream id pattern (substring, glob, regex).
    """

    stream_type: str | None = None
    types: tuple[str, ...] = ()
    stream: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    where: Mapping[str, Any] = field(default_factory=dict)
    sort: str = "time"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise UsageError(f"unknown search order {self.sort!r}; use one of {', '.join(SORTS)}")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise UsageError("the search's start is after its end")
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "where", validate_query(dict(self.where), "--where"))
        for text in self.types:
            if not isinstance(text, str) or not text:
                raise UsageError("an event type to search for must be non-empty text")
        self.query()  # patterns that do not compile fail here, once

    def query(self) -> dict[str, Any]:
        """The whole search as one condition over the normalised fields."""
        parts: list[dict[str, Any]] = []
        if self.stream_type is not None:
            parts.append({"stream_type": self.stream_type})
        if self.types:
            exact = [t for t in self.types if not _is_regex(t)]
            regexes = [parse_pattern(t, "event type pattern").regex for t in self.types if _is_regex(t)]
            alternatives = ([{"type": exact[0]}] if len(exact) == 1 else [{"type": {"$in": exact}}] if exact else [])
            alternatives += [{"type": {"$regex": r}} for r in regexes]
            parts.append(alternatives[0] if len(alternatives) == 1 else {"$or": alternatives})
        if self.stream:
            pattern = parse_pattern(self.stream)
            condition: dict[str, Any] = {"$regex": pattern.regex}
            if pattern.ignore_case:
                condition["$options"] = "i"
            parts.append({"stream_id": condition})
        if self.since is not None or self.until is not None:
            bounds: dict[str, Any] = {}
            if self.since is not None:
                bounds["$gte"] = self.since
            if self.until is not None:
                bounds["$lte"] = self.until
            parts.append({"time": bounds})
        return combine(*parts, self.where)

    def describe(self) -> str:
        """The search in a few words (titles, notes)."""
        bits = []
        if self.stream_type:
            bits.append(f"stream type {self.stream_type}")
        if self.types:
            bits.append("type " + " or ".join(self.types))
        if self.stream:
            bits.append(f"streams {self.stream}")
        if self.since:
            bits.append(f"since {self.since.isoformat()}")
        if self.until:
            bits.append(f"until {self.until.isoformat()}")
        if self.where:
            bits.append("where …")
        return ", ".join(bits) or "every event"


def _is_regex(text: str) -> bool:
    return parse_pattern(text, "event type pattern").syntax == REGEX
