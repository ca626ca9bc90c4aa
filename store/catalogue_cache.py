"""A foreign layout's stream list kept in a local file: EventLens's own, never in the user's database.

One SQLite file per connection and layout, in ``$EVENTLENS_HOME/cache`` (else
``~/.local/share/eventlens/cache``), beside the settings. It is keyed by the connection string
with its secrets removed (``store.uri.redact``), the database, the layout's name and a
fingerprint of the layout's ``[events]`` section: the file's name is a digest of that key (no
connection text in it), and the key itself is written inside and checked on every open, so a
cache of another layout, database or server is never used. A password is never written: the
key holds the redacted connection string only.

The file holds one row per stream (its type, event count, first and last version and time,
the collections it is in, the raw values of its id for queries, and a natural sort key), and
what a refresh needs to read only what changed (``store.catalogue_sync``). A build writes a
new file beside the old one and renames it over it, so a reader (another EventLens) sees the
old list or the new one, never half of one; a refresh changes the file in one transaction.
A file that cannot be read (damaged, truncated, from another EventLens version) is set aside
with a one-line note and built again; nothing here ever raises for a bad file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import bson

from model.event import StreamInfo
from model.ports import STREAM_SORTS
from store.natural import natural_key, order_key
from store.uri import redact

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The file's format; a file of another format is built again.
FORMAT = 1
_MICRO = timedelta(microseconds=1)


def cache_dir() -> Path:
    """Where the caches live: ``$EVENTLENS_HOME/cache``, else ``~/.local/share/eventlens/cache``."""
    home = os.environ.get("EVENTLENS_HOME")
    folder = Path(home).expanduser() if home else Path.home() / ".local" / "share" / "eventlens"
    return folder / "cache"


def layout_fingerprint(layout: Any) -> str:
    """A digest of what decides a layout's stream list: its ``[events]`` section, and this file's format."""
    events = dataclasses.asdict(layout.events)
    text = json.dumps({"format": FORMAT, "events": events}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CacheKey:
    """What one cache file belongs to; ``uri`` is always redacted (no password, no secret option)."""

    uri: str
    db: str
    layout: str
    fingerprint: str

    def digest(self) -> str:
        text = json.dumps([self.uri, self.db, self.layout, self.fingerprint])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def file_name(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", self.layout)[:40] or "layout"
        return f"{safe}-{self.digest()[:32]}.sqlite"


def cache_key(uri: str, db: str, layout: Any) -> CacheKey:
    """The key of a layout's stream list on a connection: the secrets of ``uri`` are removed here."""
    return CacheKey(redact(uri), db, layout.name, layout_fingerprint(layout))


def micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // _MICRO


def moment(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CachedStream:
    """One stream as the cache holds it: what the list shows, plus what reading it needs."""

    info: StreamInfo
    parts: tuple[Any, ...]
    collections: list[str]


@dataclass
class Meta:
    """What the file says of itself (besides its key)."""

    built_at: datetime | None = None
    refreshed_at: datetime | None = None
    incremental: bool = False
    #: per collection: its ``_id`` kind ("objectid", "int" or ""), the newest ``_id`` seen, the
    #: documents counted, and its document count at the last look (``$collStats``; None where inexact)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_rows(self) -> list[tuple[str, str]]:
        return [("built_at", _iso(self.built_at)), ("refreshed_at", _iso(self.refreshed_at)),
                ("incremental", json.dumps(self.incremental)), ("collections", _dump(self.collections))]

    @classmethod
    def from_rows(cls, rows: dict[str, str]) -> "Meta":
        return cls(_parse_iso(rows.get("built_at", "")), _parse_iso(rows.get("refreshed_at", "")),
                   bool(json.loads(rows.get("incremental", "false"))), _load(rows.get("collections", "{}")))


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _parse_iso(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _dump(value: Any) -> str:
    """JSON with BSON values (ObjectId, Int64) kept exactly, as extended JSON."""
    from bson import json_util

    return json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS)


def _load(text: str) -> Any:
    from bson import json_util

    return json_util.loads(text)


_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    natural TEXT NOT NULL,
    folded TEXT NOT NULL,
    parts BLOB NOT NULL,
    stream_type TEXT NOT NULL,
    events INTEGER NOT NULL,
    first_version INTEGER NOT NULL,
    last_version INTEGER NOT NULL,
    first_time INTEGER,
    last_time INTEGER,
    collections TEXT NOT NULL
);
CREATE TABLE recent (collection TEXT NOT NULL, id BLOB NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;
"""
# Built after the rows are in (faster than keeping them up to date while filling a new file).
_INDEXES = """
CREATE INDEX streams_natural ON streams (natural, stream_id);
CREATE INDEX streams_type ON streams (stream_type, natural, stream_id);
CREATE INDEX streams_events ON streams (events, natural, stream_id);
CREATE INDEX streams_first ON streams (first_time IS NULL, first_time, natural, stream_id);
CREATE INDEX streams_last ON streams (last_time IS NULL, last_time, natural, stream_id);
"""
_ORDER = {
    "stream_id": ("natural", "stream_id"),
    "stream_type": ("stream_type", "natural", "stream_id"),
    "events": ("events", "natural", "stream_id"),
    "first_time": ("first_time IS NULL", "first_time", "natural", "stream_id"),
    "last_time": ("last_time IS NULL", "last_time", "natural", "stream_id"),
}
_COLUMNS = "stream_id, stream_type, events, first_version, last_version, first_time, last_time"
_UPSERT = """
INSERT INTO streams (stream_id, natural, folded, parts, stream_type, events, first_version, last_version,
                     first_time, last_time, collections)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (stream_id) DO UPDATE SET
    events = events + excluded.events,
    first_version = CASE WHEN first_version = 0 THEN excluded.first_version
                         WHEN excluded.first_version = 0 THEN first_version
                         ELSE min(first_version, excluded.first_version) END,
    last_version = max(last_version, excluded.last_version),
    first_time = coalesce(min(first_time, excluded.first_time), first_time, excluded.first_time),
    last_time = coalesce(max(last_time, excluded.last_time), last_time, excluded.last_time),
    stream_type = CASE WHEN stream_type = '' THEN excluded.stream_type ELSE stream_type END,
    collections = names_union(collections, excluded.collections)
"""


def _names_union(old: str, new: str) -> str:
    names = json.loads(old)
    for name in json.loads(new):
        if name not in names:
            names.append(name)
    return json.dumps(sorted(names))


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    db.create_function("names_union", 2, _names_union, deterministic=True)
    return db


def _row_of(entry: Any) -> tuple:
    """A stream entry (``store.layout_store._Entry`` or alike) as a row of the streams table."""
    sid = entry.stream_id
    parts = bson.encode({"p": list(entry.parts)})
    return (sid, natural_key(sid), sid.casefold(), parts, entry.stream_type or "", int(entry.events),
            int(entry.first_version), int(entry.last_version), micros(entry.first_time), micros(entry.last_time),
            json.dumps(sorted(entry.collections)))


def _info(row: Sequence[Any]) -> StreamInfo:
    sid, stream_type, events, first, last, t0, t1 = row
    return StreamInfo(sid, stream_type, events, first, last, moment(t0), moment(t1))


class CacheUnreadable(Exception):
    """The cache file cannot be used; ``str()`` says why, in a few words."""


class CatalogueCache:
    """One cache file: its rows for the stream list, and the building and changing of it.

    Safe to use from several threads: each thread reads through its own SQLite connection, a
    build fills a file of its own, and the swap to a new file is seen by every reader at its
    next call.
    """

    def __init__(self, path: Path, key: CacheKey):
        self.path = Path(path)
        self.key = key
        self.meta: Meta | None = None  # None: no usable file (absent, damaged or another key)
        self.problem = ""  # why the file present was not used, one line
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0  # moves on when the file is replaced; readers reopen
        self._opened: list[sqlite3.Connection] = []  # every thread's, closed by close()
        self.load()

    @classmethod
    def for_store(cls, uri: str, db: str, layout: Any, folder: Path | None = None) -> "CatalogueCache":
        key = cache_key(uri, db, layout)
        return cls((folder or cache_dir()) / key.file_name(), key)

    # -- opening -------------------------------------------------------------------------------
    def load(self) -> Meta | None:
        """Read the file's key and state again; None (and ``problem`` set) when it cannot be used."""
        self._drop_connection()
        self.meta, self.problem = None, ""
        try:
            if not self.path.exists():
                return None
        except OSError as error:
            self.problem = f"the stream list cache {self.path} was not used ({_short(error)})"
            return None
        try:
            rows = dict(self._conn().execute("SELECT name, value FROM meta").fetchall())
            self._check(rows)
            self.meta = Meta.from_rows(rows)
            self._conn().execute(f"SELECT {_COLUMNS} FROM streams LIMIT 1").fetchall()
        except (sqlite3.Error, CacheUnreadable, ValueError, TypeError, KeyError, bson.errors.BSONError) as error:
            self.meta = None
            self.problem = f"the stream list cache {self.path} was not used ({_short(error)}); building it again"
            self._drop_connection()
        return self.meta

    def _check(self, rows: dict[str, str]) -> None:
        if rows.get("format") != str(FORMAT):
            raise CacheUnreadable(f"format {rows.get('format')!r}, not {FORMAT}")
        for name in ("uri", "db", "layout", "fingerprint"):
            if rows.get(name) != getattr(self.key, name):
                raise CacheUnreadable(f"it belongs to another {'layout' if name == 'fingerprint' else name}")
        if rows.get("state") != "ready":
            raise CacheUnreadable("it was never finished")

    @property
    def ready(self) -> bool:
        return self.meta is not None

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "generation", None) != self._generation or getattr(local, "db", None) is None:
            old = getattr(local, "db", None)
            if old is not None:
                old.close()
            local.db = _connect(self.path)
            local.generation = self._generation
            with self._lock:
                self._opened = [db for db in self._opened if db is not old] + [local.db]
        return local.db

    def close(self) -> None:
        """Close the file in every thread that read it (the store is closed)."""
        with self._lock:
            opened, self._opened = self._opened, []
            self._generation += 1
        for db in opened:
            try:
                db.close()
            except sqlite3.Error:
                pass

    def _drop_connection(self) -> None:
        with self._lock:
            self._generation += 1

    def broken(self, error: BaseException) -> None:
        """A read failed on a file that looked right: stop using it (it is built again)."""
        self.meta = None
        self.problem = f"the stream list cache {self.path} could not be read ({_short(error)}); building it again"
        self._drop_connection()

    # -- reading -------------------------------------------------------------------------------
    def _where(self, type: str | None, match: str | None) -> tuple[str, list[Any]]:
        clauses, values = [], []
        if type is not None:
            clauses.append("stream_type = ?")
            values.append(type)
        if match:
            clauses.append("instr(folded, ?) > 0")  # a substring, case-insensitive: never a pattern
            values.append(match.casefold())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", values

    def page(self, *, type: str | None = None, match: str | None = None, sort: str = "stream_id",
             descending: bool = False, offset: int = 0, limit: int = 100,
             after: str | None = None) -> list[StreamInfo]:
        if sort not in STREAM_SORTS:
            raise ValueError(sort)
        where, values = self._where(type, match)
        if after is not None and sort == "stream_id":  # keyset, as the stores page (store.natural.order_key)
            where += (" AND " if where else " WHERE ") + f"(natural, stream_id) {'<' if descending else '>'} (?, ?)"
            values = [*values, *order_key(after)]
        direction = " DESC" if descending else ""
        order = ", ".join(term + direction for term in _ORDER[sort])
        sql = f"SELECT {_COLUMNS} FROM streams{where} ORDER BY {order} LIMIT ? OFFSET ?"
        rows = self._conn().execute(sql, [*values, max(0, limit), max(0, offset)]).fetchall()
        return [_info(r) for r in rows]

    def count(self, *, type: str | None = None, match: str | None = None) -> int:
        where, values = self._where(type, match)
        return self._conn().execute(f"SELECT count(*) FROM streams{where}", values).fetchone()[0]

    def types(self) -> list[str]:
        rows = self._conn().execute("SELECT DISTINCT stream_type FROM streams WHERE stream_type != '' "
                                    "ORDER BY stream_type").fetchall()
        return [r[0] for r in rows]

    def totals(self) -> tuple[int, int]:
        streams, events = self._conn().execute("SELECT count(*), coalesce(sum(events), 0) FROM streams").fetchone()
        return int(streams), int(events)

    def get(self, stream_id: str) -> CachedStream | None:
        row = self._conn().execute(f"SELECT {_COLUMNS}, parts, collections FROM streams WHERE stream_id = ?",
                                   (stream_id,)).fetchone()
        if row is None:
            return None
        return CachedStream(_info(row[:7]), tuple(bson.decode(row[7])["p"]), json.loads(row[8]))

    def last_versions(self, stream_ids: Iterable[str]) -> dict[str, int]:
        """The cached last version of each stream named (those the cache holds)."""
        out: dict[str, int] = {}
        ids = list(stream_ids)
        db = self._conn()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(db.execute(f"SELECT stream_id, last_version FROM streams WHERE stream_id IN ({marks})",
                                  chunk).fetchall())
        return out

    def recent(self, collection: str) -> set[Any]:
        """The ``_id`` values of the documents counted in the last stretch of a collection (see catalogue_sync)."""
        rows = self._conn().execute("SELECT id FROM recent WHERE collection = ?", (collection,)).fetchall()
        return {bson.decode(r[0])["v"] for r in rows}

    def state_values(self) -> dict[str, Any]:
        """For ``CatalogueState``: the file, its times and size (when ready)."""
        meta = self.meta
        if meta is None:
            return {"ready": False, "path": str(self.path)}
        try:
            streams = self._conn().execute("SELECT count(*) FROM streams").fetchone()[0]
        except sqlite3.Error as error:
            self.broken(error)
            return {"ready": False, "path": str(self.path)}
        return {"ready": True, "path": str(self.path), "built_at": meta.built_at, "refreshed_at": meta.refreshed_at,
                "incremental": meta.incremental, "streams": streams}

    # -- writing -------------------------------------------------------------------------------
    def build(self) -> "Build":
        """A new file to fill; ``Build.finish`` puts it in place of the old one."""
        return Build(self)

    def apply(self, entries: Iterable[Any], meta: Meta, recent: dict[str, tuple[set[Any], Any]]) -> None:
        """Add what a refresh found, in one transaction: streams merged into their rows, the new meta,
        and per collection the ``_id`` values to remember (``recent[name] = (ids to add, ids below this
        bound are forgotten)``)."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_UPSERT, (_row_of(e) for e in entries))
            _write_recent(db, recent, replace=False)
            db.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", meta.to_rows())
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.meta = meta

    def touch(self, meta: Meta) -> None:
        """Write the meta alone (a check that found nothing new still moves ``refreshed_at``)."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", meta.to_rows())
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.meta = meta


def _write_recent(db: sqlite3.Connection, recent: dict[str, tuple[set[Any], Any]], *, replace: bool) -> None:
    for name, (ids, below) in recent.items():
        if replace:
            db.execute("DELETE FROM recent WHERE collection = ?", (name,))
        elif below is not None:
            # forget the ids below the new bound: decoded, since BSON bytes do not sort as values do
            rows = db.execute("SELECT id FROM recent WHERE collection = ?", (name,)).fetchall()
            old = [r[0] for r in rows if _below(bson.decode(r[0])["v"], below)]
            db.executemany("DELETE FROM recent WHERE collection = ? AND id = ?", [(name, b) for b in old])
        db.executemany("INSERT OR IGNORE INTO recent (collection, id) VALUES (?, ?)",
                       [(name, bson.encode({"v": v})) for v in ids])


def _below(value: Any, bound: Any) -> bool:
    try:
        return value < bound
    except TypeError:
        return False


class Build:
    """A cache file being filled: streams merged in batches, then the meta, then the rename."""

    def __init__(self, cache: CatalogueCache):
        self.cache = cache
        cache.path.parent.mkdir(parents=True, exist_ok=True)
        self.path = cache.path.with_name(f"{cache.path.name}.{os.getpid()}.{threading.get_ident()}.building")
        self._discard_file()
        self.db = _connect(self.path)
        self.db.execute("PRAGMA journal_mode = OFF")  # a build that dies leaves a file nobody reads
        self.db.execute("PRAGMA synchronous = OFF")  # it is renamed into place only once complete
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")

    def merge(self, entries: Iterable[Any]) -> None:
        """Add streams (new rows, or counts merged into the rows of streams already added)."""
        self.db.executemany(_UPSERT, (_row_of(e) for e in entries))

    def last_versions(self, stream_ids: Iterable[str]) -> dict[str, int]:
        ids = list(stream_ids)
        out: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT stream_id, last_version FROM streams WHERE stream_id IN ({marks})",
                                       chunk).fetchall())
        return out

    def finish(self, meta: Meta, recent: dict[str, tuple[set[Any], Any]]) -> None:
        """Write the key, the meta and the remembered ids, index the rows, and put the file in place."""
        key = self.cache.key
        db = self.db
        _write_recent(db, recent, replace=True)
        rows = [("format", str(FORMAT)), ("uri", key.uri), ("db", key.db), ("layout", key.layout),
                ("fingerprint", key.fingerprint), ("state", "ready"), *meta.to_rows()]
        db.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", rows)
        db.execute("COMMIT")
        db.executescript(_INDEXES + "ANALYZE;")
        db.close()
        os.replace(self.path, self.cache.path)
        for stale in ("-journal",):
            try:
                os.unlink(str(self.cache.path) + stale)
            except FileNotFoundError:
                pass
        self.cache.load()

    def abandon(self) -> None:
        """Throw the unfinished file away (cancelled or failed); the old cache stays as it was."""
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        self._discard_file()

    def _discard_file(self) -> None:
        for suffix in ("", "-journal"):
            try:
                os.unlink(str(self.path) + suffix)
            except FileNotFoundError:
                pass


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]
