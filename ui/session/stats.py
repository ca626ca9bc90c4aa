"""Statistics of the store per stream type, kept per connection in a small local cache with their age.

The store computes them (``EventSource.statistics``: SQL on the embedded store, aggregation
pipelines on MongoDB, a read of every stream on a foreign layout). They are kept in a JSON file
beside the settings, never in the user's database: ``$EVENTLENS_HOME/cache/`` or
``~/.local/share/eventlens/cache/``, one file per connection and layout, named by a hash of their
redacted description (no password is ever in the name or the file). ``refresh`` computes them again.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from model.ports import EventSource
from model.stats import TypeStatistics
from store.uri import redact_text
from ui.session.jobs import Job, Task
from ui.session.search import checkpoint_of
from ui.session.text import iso, parse_moment

UTC = timezone.utc


def cache_dir() -> Path:
    home = os.environ.get("EVENTLENS_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".local" / "share" / "eventlens"
    return base / "cache"


def cache_key(store: EventSource, connection: Any = None) -> str:
    """What names the cache entry: the redacted connection and layout (or the store's own redacted name)."""
    layout = getattr(getattr(store, "layout", None), "name", "") or ""
    where = connection.key() if connection is not None and hasattr(connection, "key") else store.describe()
    return redact_text(f"{where} | layout {layout or 'native'}")


def cache_path(key: str) -> Path:
    return cache_dir() / f"stats-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


@dataclass(frozen=True)
class Statistics:
    """The statistics, when they were computed, and whether they came from the cache."""

    stream_types: list[TypeStatistics]
    computed_at: datetime
    cached: bool = False

    def age_s(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.computed_at).total_seconds()

    def to_json(self, *, per_day: bool = False) -> dict[str, Any]:
        """``{"stream_types": [...]}`` as ``stats --json`` prints it (``per_day`` adds events per day)."""
        out = []
        for t in self.stream_types:
            entry = {"stream_type": t.stream_type, "streams": t.streams, "events": t.events,
                     "event_types": dict(t.event_types), "first_time": iso(t.first_time), "last_time": iso(t.last_time),
                     "longest": [{"stream_id": s, "events": n} for s, n in t.longest]}
            if per_day:
                entry["per_day"] = dict(t.per_day)
            out.append(entry)
        return {"stream_types": out}


def _from_json(data: dict[str, Any]) -> list[TypeStatistics]:
    def moment(text):
        return parse_moment(text) if text else None

    return [TypeStatistics(t["stream_type"], int(t["streams"]), int(t["events"]), dict(t["event_types"]),
                           moment(t.get("first_time")), moment(t.get("last_time")),
                           [(x["stream_id"], int(x["events"])) for x in t.get("longest", [])], dict(t.get("per_day", {})))
            for t in data["stream_types"]]


def load_cached(key: str) -> Statistics | None:
    try:
        data = json.loads(cache_path(key).read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return Statistics(_from_json(data), parse_moment(data["computed_at"]), cached=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(key: str, stats: Statistics) -> Path:
    path = cache_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = dict(stats.to_json(per_day=True), key=key, computed_at=iso(stats.computed_at))
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)
    return path


def statistics(store: EventSource, *, connection: Any = None, refresh: bool = False, task: Task | None = None) -> Statistics:
    """The cached statistics of this connection, or (none kept, or ``refresh``) computed now and kept."""
    key = cache_key(store, connection)
    if not refresh:
        cached = load_cached(key)
        if cached is not None:
            return cached
    found = store.statistics(checkpoint=checkpoint_of(task, "statistics") if task is not None else None)
    stats = Statistics(found, datetime.now(UTC))
    save(key, stats)
    return stats


def statistics_job(store: EventSource, *, connection: Any = None, refresh: bool = False) -> Job[Statistics]:
    return Job("statistics", lambda task: statistics(store, connection=connection, refresh=refresh, task=task),
               shown=True)


def age_text(seconds: float) -> str:
    """How old, in words: "just now", "5 minutes", "3 hours", "2 days"."""
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
