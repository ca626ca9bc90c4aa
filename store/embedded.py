"""The embedded store: one SQLite file with the native layout, payloads kept as BSON bytes.

BSON keeps every value type (ObjectId, Decimal128, dates, ...) exactly as MongoDB would, so a
stream copied out of a server reads back the same; decoding a batch is one C call.

As in the MongoDB store, ``events`` is the truth and ``streams`` the catalogue of EventLens's
own appends. An append is one transaction (nothing is ever left half-written, nothing is
ever deleted) that also counts the events the catalogue accounts for in ``eventlens_meta``;
at open, that count is compared with the events present, and when another program wrote
events without the catalogue the stream list is read from the events themselves.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import sqlite3
import threading
from itertools import chain, repeat
from operator import mul
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import bson
from bson.errors import BSONError

from model.errors import ConflictError, StoreError, StoreNotFound, StoreUnavailable, UsageError
from model.event import Event, NewEvent, ReducerId, Snapshot, StreamInfo
from model.freeze import ThawedDict, freeze_each
from model.ports import IndexBatch, PayloadBatch, STREAM_SORTS, Capabilities, CatalogueRebuild, Coverage, EventStore, StoreSize
from store import search_sql
from store.codec import CODEC_OPTIONS, CodecError
from store.natural import check_after, natural_key
from store.packing import BsonPayloads, index_batch

UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = _dt.timedelta(microseconds=1)
# A read's payloads are decoded as ThawedDicts, which freeze_each freezes in place instead of copying.
_FRESH = CODEC_OPTIONS.with_options(document_class=ThawedDict)
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS eventlens_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    stream_type TEXT NOT NULL,
    type TEXT NOT NULL,
    data BLOB NOT NULL,
    metadata BLOB NOT NULL,
    recorded_at INTEGER NOT NULL,  -- microseconds since 1970, UTC
    PRIMARY KEY (stream_id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_time ON events (stream_id, recorded_at, version);
CREATE TABLE IF NOT EXISTS streams (
    stream_id TEXT PRIMARY KEY,
    stream_type TEXT NOT NULL,
    version INTEGER NOT NULL,      -- the head: the last version EventLens accounts for
    first_time INTEGER,
    last_time INTEGER,
    first_version INTEGER,         -- NULL: 1 (set only for a stream another writer began higher)
    sort_key TEXT                  -- store.natural.natural_key(stream_id): account-2 before account-10
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS streams_by_key ON streams (sort_key, stream_id);
-- The head in the type index: a count by type (which keeps only streams with events, version > 0)
-- is answered from the index alone instead of a table lookup per stream.
CREATE INDEX IF NOT EXISTS streams_by_type_key ON streams (stream_type, sort_key, stream_id, version);
CREATE INDEX IF NOT EXISTS streams_by_version_key ON streams (version, sort_key, stream_id);
CREATE INDEX IF NOT EXISTS streams_by_first_time_key ON streams (first_time, sort_key, stream_id);
CREATE INDEX IF NOT EXISTS streams_by_last_time_key ON streams (last_time, sort_key, stream_id);
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    reducer_name TEXT NOT NULL,
    reducer_fingerprint TEXT NOT NULL,
    state BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (stream_id, version, reducer_name, reducer_fingerprint)
) WITHOUT ROWID;
"""

# The indexes of a store made before sort_key, replaced by the *_key ones above when it is opened writable.
_OLD_INDEXES = ("streams_by_type", "streams_by_type_head", "streams_by_version", "streams_by_first_time",
                "streams_by_last_time")
# The stream list's sort keys as columns; "events" is the head version (versions are contiguous from 1).
# Ties, and the stream id itself, go in natural order (the sort key), then by the id for a total order.
_SORT_COLUMNS = {"stream_id": "sort_key", "stream_type": "stream_type", "events": "version",
                 "first_time": "first_time", "last_time": "last_time"}
# The same over the stream list read from the events (a temporary table of this connection).
_LISTING = "temp.eventlens_listing"
_LISTING_SORT_COLUMNS = {**_SORT_COLUMNS, "events": "events"}
_LISTING_SQL = f"""
CREATE TEMP TABLE IF NOT EXISTS eventlens_listing AS
SELECT e.stream_id AS stream_id, coalesce(nullif(e.stream_type, ''), s.stream_type, '') AS stream_type,
       e.events AS events, e.first_version AS first_version, e.version AS version,
       e.first_time AS first_time, e.last_time AS last_time, s.version AS catalogued,
       natural_key(e.stream_id) AS sort_key
FROM (SELECT stream_id, max(stream_type) AS stream_type, count(*) AS events, min(version) AS first_version,
             max(version) AS version, min(recorded_at) AS first_time, max(recorded_at) AS last_time
      FROM events GROUP BY stream_id) AS e
LEFT JOIN streams AS s ON s.stream_id = e.stream_id
"""
_STREAM_FROM_EVENTS = ("SELECT max(stream_type), count(*), min(version), max(version), min(recorded_at), "
                       "max(recorded_at) FROM events WHERE stream_id = ?")
# Streams of the natural order a filtered page in id order looks through before it reads every match
WALK_ROWS = 20_000
# The distinct stream types in order (the column is NOT NULL), one probe of the type index each.
_TYPES_SQL = """
WITH RECURSIVE types(t) AS (
    SELECT min(stream_type) FROM streams
    UNION ALL
    SELECT (SELECT min(stream_type) FROM streams WHERE stream_type > types.t) FROM types WHERE types.t IS NOT NULL
)
SELECT t FROM types WHERE t IS NOT NULL
"""

# What the catalogue accounts for, kept in eventlens_meta by every append (and set by a rebuild).
_CATALOGUED_EVENTS, _CATALOGUED_STREAMS = "catalogued_events", "catalogued_streams"
REBUILD_COMMAND = "`eventlens catalogue rebuild`"


def to_micros(moment: _dt.datetime) -> int:
    """Microseconds since 1970 UTC; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> _dt.datetime:
    """The aware UTC datetime for microseconds since 1970."""
    return _EPOCH + _dt.timedelta(microseconds=micros)


def _encode(stream_id: str, version: int, field: str, value: Mapping[str, Any]) -> bytes:
    try:
        return bson.encode(value if isinstance(value, dict) else dict(value), codec_options=CODEC_OPTIONS)
    except (BSONError, TypeError, ValueError, OverflowError) as error:
        raise CodecError(f"stream {stream_id!r} version {version}: cannot store {field}: {error}") from None


class EmbeddedStore(search_sql.EmbeddedQuestions, EventStore):
    """An event store in one SQLite file (WAL mode); safe to share between threads."""

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout_s: float = 10.0, create: bool = True):
        """Open the store file; ``create`` makes it (and its folder) when it does not exist."""
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self.capabilities = Capabilities(transactions=True, change_streams=False, writable=not read_only)
        self._lock = threading.RLock()
        self._db = self._connect(timeout_s, create and not read_only)
        try:
            self._coverage, self._has_catalogue = self._check_coverage()
        except BaseException:
            self._db.close()
            raise

    # -- connection --------------------------------------------------------------
    def _connect(self, timeout_s: float, create: bool) -> sqlite3.Connection:
        exists = self.path.is_file()
        if not exists and not create:
            hint = ("a read-only connection creates nothing" if self.read_only else
                    "nothing was created; `eventlens demo` or `eventlens copy --to` makes one")
            raise StoreNotFound(str(self.path), hint)
        try:
            if exists:
                # mode=rw never creates the file; nothing is written before the file proves to be ours.
                mode = "ro" if self.read_only else "rw"
                db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode={mode}", uri=True,
                                     timeout=timeout_s, check_same_thread=False, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=timeout_s, check_same_thread=False, isolation_level=None)
            try:
                db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
                if exists and self.path.stat().st_size > 0:
                    self._check_schema(db)
                db.create_function("natural_key", 1, _natural_or_none, deterministic=True)
                if not self.read_only:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
                    _add_columns(db)
                    db.executescript(_SCHEMA)
                    db.execute("INSERT OR IGNORE INTO eventlens_meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                    for index in _OLD_INDEXES:
                        db.execute(f"DROP INDEX IF EXISTS {index}")
                # A read-only connection to an older store reads every first version as 1, and computes
                # the natural order of its stream ids on each page (correct, without an index).
                columns = _stream_columns(db)
                self._first = "first_version" if "first_version" in columns else "NULL"
                self._sort_key = "sort_key" if "sort_key" in columns else "natural_key(stream_id)"
                db.create_function("lower_text", 1, lambda s: s.lower() if isinstance(s, str) else s,
                                   deterministic=True)
                self._check_schema(db)
                search_sql.install(db, writable=not self.read_only)
            except BaseException:
                db.close()
                raise
            return db
        except sqlite3.Error as error:
            raise StoreError(f"cannot open embedded store {self.path}: {error}") from None
        except OSError as error:
            raise StoreUnavailable(f"cannot open embedded store {self.path}: {error.strerror or error}") from None

    def _check_schema(self, db: sqlite3.Connection) -> None:
        try:
            row = db.execute("SELECT value FROM eventlens_meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not an EventLens store: {error}") from None
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: unsupported store format {row[0] if row else 'none'}")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise StoreError(f"embedded store {self.path}: {error}") from None

    def describe(self) -> str:
        return f"embedded store {self.path}" + (" (read-only)" if self.read_only else "")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- coverage ----------------------------------------------------------------
    def _check_coverage(self) -> tuple[Coverage, bool]:
        """Does the catalogue account for every event? Two counts and the catalogue's own record of them."""
        [(events,)], [(streams,)] = self._query("SELECT count(*) FROM events"), self._query("SELECT count(*) FROM streams")
        marker = dict(self._query("SELECT key, value FROM eventlens_meta WHERE key IN (?, ?)",
                                  (_CATALOGUED_EVENTS, _CATALOGUED_STREAMS)))
        if _CATALOGUED_EVENTS in marker:
            catalogued = int(marker[_CATALOGUED_EVENTS])
            streams_ok = streams == int(marker.get(_CATALOGUED_STREAMS, streams))
        else:  # a store written before the count was kept: its heads say what it accounts for
            catalogued = self._query(f"SELECT coalesce(sum(version - coalesce({self._first}, 1) + 1), 0) "
                                     "FROM streams")[0][0]
            streams_ok = True
        has_catalogue = streams > 0
        if events == catalogued and streams_ok:
            return Coverage(True, "", events, catalogued), has_catalogue
        if not has_catalogue:
            message = (f"{self.path} has no EventLens stream catalogue ({events:,} events): the stream list is "
                       f"read from the events table; {REBUILD_COMMAND} builds one")
        else:
            state = ("behind the events" if events > catalogued else
                     "ahead of the events" if events < catalogued else "incomplete")
            message = (f"the stream catalogue is {state} ({events:,} events, {catalogued:,} catalogued): the stream "
                       f"list is read from the events table; {REBUILD_COMMAND} brings it up to date")
        return Coverage(False, message, events, catalogued), has_catalogue

    def coverage(self) -> Coverage:
        """Whether the stream catalogue covered every event when last checked (at open, or ``refresh``)."""
        return self._coverage

    def refresh(self) -> None:
        """Check the catalogue against the events again and forget the stream list read from them."""
        self._drop_listing()
        self._coverage, self._has_catalogue = self._check_coverage()

    def _drop_listing(self) -> None:
        self._query(f"DROP TABLE IF EXISTS {_LISTING}")

    def _listing(self) -> str:
        """The stream list read from the events, made once per connection (until ``refresh`` or an own write)."""
        self._query(_LISTING_SQL)
        return _LISTING

    # -- writing -----------------------------------------------------------------
    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int, *, stream_type: str = ""
    ) -> int:
        self._refuse_if_read_only(f"append to stream {stream_id!r}")
        now = to_micros(_dt.datetime.now(UTC))
        rows = [
            (stream_id, expected_version + i, e.type,
             _encode(stream_id, expected_version + i, "data", e.data),
             _encode(stream_id, expected_version + i, "metadata", e.metadata),
             now if e.time is None else to_micros(e.time))
            for i, e in enumerate(events, start=1)
        ]
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")  # takes the write lock now: the check below cannot go stale
                try:
                    head = db.execute("SELECT version, stream_type, first_time FROM streams WHERE stream_id = ?",
                                      (stream_id,)).fetchone()
                    catalogued = head[0] if head else 0
                    # Another program's events above the catalogued head are part of the stream
                    # (a lone max() is one lookup in the primary key).
                    (top,) = db.execute("SELECT max(version) FROM events WHERE stream_id = ?", (stream_id,)).fetchone()
                    actual = max(catalogued, top or 0)
                    if actual != expected_version:
                        raise ConflictError(stream_id, expected_version, actual)
                    if not rows:
                        db.execute("ROLLBACK")
                        return actual
                    foreign_type = foreign_first = None
                    first_version = None
                    if head is None and top:  # another program's stream, catalogued from its first event on
                        foreign_type, foreign_first, lowest = db.execute(
                            "SELECT (SELECT stream_type FROM events WHERE stream_id = ?1 LIMIT 1), "
                            "(SELECT min(recorded_at) FROM events WHERE stream_id = ?1), "
                            "(SELECT min(version) FROM events WHERE stream_id = ?1)", (stream_id,)).fetchone()
                        first_version = lowest if lowest != 1 else None
                    resolved_type = (head[1] if head and head[1] else None) or foreign_type or stream_type
                    # A store written before the catalogue counted itself: count it once, as it stands.
                    db.execute("INSERT OR IGNORE INTO eventlens_meta VALUES (?, (SELECT coalesce(sum(version - "
                               "coalesce(first_version, 1) + 1), 0) FROM streams))", (_CATALOGUED_EVENTS,))
                    db.execute("INSERT OR IGNORE INTO eventlens_meta VALUES (?, (SELECT count(*) FROM streams))",
                               (_CATALOGUED_STREAMS,))
                    db.executemany(
                        "INSERT INTO events (stream_id, version, type, data, metadata, recorded_at, stream_type) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [row + (resolved_type,) for row in rows],
                    )
                    search_sql.index_correlations(db, stream_id, expected_version + 1, events)
                    new_version = expected_version + len(rows)
                    first_time = head[2] if head else (foreign_first if top else rows[0][5])
                    accounted = new_version - catalogued - ((first_version or 1) - 1)
                    db.execute(
                        "INSERT INTO streams (stream_id, stream_type, version, first_time, last_time, first_version, "
                        "sort_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream_id) DO UPDATE SET "
                        "stream_type = excluded.stream_type, version = excluded.version, last_time = excluded.last_time",
                        (stream_id, resolved_type, new_version, first_time, rows[-1][5], first_version, natural_key(stream_id)),
                    )
                    _add_to_meta(db, _CATALOGUED_EVENTS, accounted)
                    if head is None:
                        _add_to_meta(db, _CATALOGUED_STREAMS, 1)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError:
                # Only possible when another program wrote events without the catalogue.
                raise ConflictError(stream_id, expected_version) from None
            except sqlite3.Error as error:
                raise StoreError(f"embedded store {self.path}: append to {stream_id!r} failed: {error}") from None
            self._has_catalogue = True
            self._drop_listing()  # the stream list read from the events no longer holds
            if self._coverage.events is not None and self._coverage.catalogued is not None:
                self._coverage = dataclasses.replace(self._coverage, events=self._coverage.events + len(rows),
                                                     catalogued=self._coverage.catalogued + accounted)
            return new_version

    def save_snapshot(self, snapshot: Snapshot) -> bool:
        self._refuse_if_read_only(f"save a snapshot of stream {snapshot.stream_id!r}")
        state = _encode(snapshot.stream_id, snapshot.version, "snapshot state", snapshot.state)
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (snapshot.stream_id, snapshot.version, snapshot.reducer.name, snapshot.reducer.fingerprint,
                     state, to_micros(snapshot.created_at), snapshot.created_by),
                )
            except sqlite3.Error as error:
                raise StoreError(f"embedded store {self.path}: saving a snapshot failed: {error}") from None
            return cursor.rowcount == 1

    def rebuild_catalogue(self, progress=None) -> CatalogueRebuild:
        """Bring the ``streams`` catalogue and the traces' correlation index up to date from ``events``, in one
        transaction; events are not touched."""
        self._refuse_if_read_only("rebuild the stream catalogue")
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    old = {r[0]: r[1:] for r in db.execute(
                        "SELECT stream_id, stream_type, version, first_time, last_time, first_version FROM streams")}
                    new = {r[0]: (r[1] or (old.get(r[0]) or ("",))[0] or "", *r[2:5], r[5] if r[5] != 1 else None)
                           for r in db.execute(
                               "SELECT stream_id, max(stream_type), max(version), min(recorded_at), max(recorded_at), "
                               "min(version) FROM events GROUP BY stream_id")}
                    changed = [(k, *v, natural_key(k)) for k, v in new.items() if old.get(k) != v]
                    db.executemany(
                        "INSERT INTO streams (stream_id, stream_type, version, first_time, last_time, first_version, "
                        "sort_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream_id) DO UPDATE SET "
                        "stream_type = excluded.stream_type, version = excluded.version, "
                        "first_time = excluded.first_time, last_time = excluded.last_time, "
                        "first_version = excluded.first_version, sort_key = excluded.sort_key", changed)
                    gone = [(k,) for k in old if k not in new]
                    db.executemany("DELETE FROM streams WHERE stream_id = ?", gone)
                    (events,) = db.execute("SELECT count(*) FROM events").fetchone()
                    db.executemany("INSERT OR REPLACE INTO eventlens_meta VALUES (?, ?)",
                                   [(_CATALOGUED_EVENTS, str(events)), (_CATALOGUED_STREAMS, str(len(new)))])
                    search_sql.build_correlations(db)  # the traces' index of the same events
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise StoreError(f"embedded store {self.path}: rebuilding the stream catalogue failed: {error}") from None
        self.refresh()
        if progress is not None:
            progress(len(new), len(new))
        added = sum(1 for k in new if k not in old)
        return CatalogueRebuild(streams=len(new), events=events, added=added, updated=len(changed) - added,
                                removed=len(gone))

    # -- reading -----------------------------------------------------------------
    def read(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        since: _dt.datetime | None = None,
        until: _dt.datetime | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[Event]]:
        """A stream's events as the events table holds them, not cut at the catalogued head."""
        for rows in self._rows(stream_id, "version, type, data, metadata, recorded_at, stream_type", from_version,
                               to_version, batch_size, since, until):
            yield self._events(stream_id, rows)

    def read_index(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                   batch_size: int = 50_000) -> Iterator[IndexBatch]:
        """Versions, times and types only: a column query, no payload read."""
        # The stream type is the same on every row the store writes: read once, not a million times.
        found = self._query("SELECT stream_type FROM events WHERE stream_id = ? ORDER BY version LIMIT 1",
                            (stream_id,))
        stream_types = [found[0][0]] if found else []
        for rows in self._rows(stream_id, "version, recorded_at, type", from_version, to_version, batch_size):
            versions, micros, types = zip(*rows)
            yield index_batch(versions, micros, types, stream_types, time_is_micros=True)

    def read_payloads(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                      batch_size: int = 10_000) -> Iterator[PayloadBatch]:
        """Payloads as their stored BSON bytes, decoded only when a loaded stream asks for them."""
        for rows in self._rows(stream_id, "version, data, metadata", from_version, to_version, batch_size):
            versions, datas, metas = zip(*rows)
            problems: dict[int, tuple[str, ...]] = {}
            if not all(type(d) is bytes for d in chain(datas, metas)):  # another program's odd value
                datas, metas = list(datas), list(metas)
                for i in range(len(rows)):
                    for field, values in (("data", datas), ("metadata", metas)):
                        if type(values[i]) is not bytes:
                            problems[i] = problems.get(i, ()) + (
                                f"field {field!r} is {type(values[i]).__name__}, not BSON",)
                            values[i] = b""
            yield BsonPayloads(versions[0], datas, metas, problems)

    def _rows(self, stream_id: str, columns: str, from_version: int, to_version: int | None, batch_size: int,
              since: _dt.datetime | None = None, until: _dt.datetime | None = None) -> Iterator[list[tuple]]:
        """Rows of the stream's events in version order, in batches; version is the first column."""
        where = "stream_id = ? AND version > ?"
        extra: list[Any] = []
        if to_version is not None:
            where += " AND version <= ?"
            extra.append(to_version)
        if since is not None:
            where += " AND recorded_at >= ?"
            extra.append(to_micros(since))
        if until is not None:
            where += " AND recorded_at <= ?"
            extra.append(to_micros(until))
        sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY version LIMIT ?"
        after = max(from_version, 1) - 1
        batch_size = max(1, batch_size)
        # Keyset paging: each batch is its own short query, so no read stays open between batches.
        while to_version is None or after < to_version:
            rows = self._query(sql, (stream_id, after, *extra, batch_size))
            if not rows:
                return
            yield rows
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    @staticmethod
    def _events(stream_id: str, rows: list[tuple]) -> list[Event]:
        # Column by column with C-level maps: no Python step per row but Event's own __init__
        # (reading is most of loading a stream; a per-row comprehension costs a Python step each).
        versions, kinds, datas, metas, micros, stream_types = zip(*rows)
        decode_all = bson.decode_all
        try:
            datas = decode_all(b"".join(datas), _FRESH)
            metas = decode_all(b"".join(metas), _FRESH)
            if len(datas) != len(rows) or len(metas) != len(rows):
                raise ValueError("a payload is not one document")  # an empty blob would shift the rest
            times = list(map(_EPOCH.__add__, map(mul, repeat(_MICROSECOND), micros)))  # faster than timedelta(microseconds=)
        except (BSONError, TypeError, ValueError, OverflowError):
            # a damaged row (copied badly, edited by hand): decode row by row, naming what failed
            return [_located_event(stream_id, r) for r in rows]
        return list(map(Event, repeat(stream_id), versions, kinds, _frozen(datas), _frozen(metas), times,
                        stream_types))

    def stream(self, stream_id: str) -> StreamInfo | None:
        """The stream's summary; the catalogue's when its head is the highest version present (by the primary key)."""
        rows = self._query(f"SELECT stream_id, stream_type, version, first_time, last_time, {self._first} "
                           "FROM streams WHERE stream_id = ?", (stream_id,))
        if rows:
            head, first = rows[0][2], rows[0][5] or 1
            # Each a lookup in the primary key: the catalogue agrees when its first and last events bound the stream.
            bounds = self._query("SELECT (SELECT min(version) FROM events WHERE stream_id = ?), "
                                 "(SELECT max(version) FROM events WHERE stream_id = ?)", (stream_id, stream_id))[0]
            if bounds == (first, head):
                return _info(rows[0])
        stream_type, events, first, last, first_time, last_time = self._query(_STREAM_FROM_EVENTS, (stream_id,))[0]
        if not events:
            return None
        head = rows[0][2] if rows else (0 if self._has_catalogue else None)
        first, last = _whole(first), _whole(last)
        return StreamInfo(stream_id, stream_type if isinstance(stream_type, str) and stream_type else (rows[0][1] if rows else ""),
                          events, first, last, _moment(first_time), _moment(last_time), None if head == last else head)

    @staticmethod
    def _filter(type: str | None, match: str | None) -> tuple[str, list[Any]]:
        clauses, params = ["version > 0"], []
        if type is not None:
            clauses.append("stream_type = ?")
            params.append(type)
        if match:
            # text: instr, not LIKE, so "%" and "_" are literal; globs and regexes: REGEXP (model.patterns)
            clause, values = search_sql.stream_match_sql(match)
            clauses.append(clause)
            params.extend(values)
        return " AND ".join(clauses), params

    def streams(
        self,
        *,
        type: str | None = None,
        match: str | None = None,
        sort: str = "stream_id",
        descending: bool = False,
        offset: int = 0,
        limit: int = 100,
        after: str | None = None,
    ) -> list[StreamInfo]:
        if sort not in STREAM_SORTS:
            raise UsageError(f"unknown stream sort {sort!r}; use one of {', '.join(STREAM_SORTS)}")
        check_after(after, sort)
        where, params = self._filter(type, None)
        order = "DESC" if descending else "ASC"
        if after is not None:  # keyset: the index of the order is entered at the key, not stepped to it
            key = self._sort_key if self._coverage.complete else "sort_key"
            where += f" AND ({key}, stream_id) {'<' if descending else '>'} (?, ?)"
            params = [*params, natural_key(after), after]
        matched, matched_params = search_sql.stream_match_sql(match) if match else ("", [])
        if self._coverage.complete and matched and sort == "stream_id":
            page = self._walked_page(type, after, matched, matched_params, descending, offset, limit)
            if page is not None:
                return page
        if matched:
            where, params = f"{where} AND {matched}", [*params, *matched_params]
        if not self._coverage.complete:
            column = _LISTING_SORT_COLUMNS[sort]
            tie = f", stream_id {order}" if column == "sort_key" else f", sort_key {order}, stream_id {order}"
            rows = self._query(
                f"SELECT stream_id, stream_type, events, first_version, version, first_time, last_time, catalogued "
                f"FROM {self._listing()} WHERE {where} ORDER BY {column} {order}{tie} LIMIT ? OFFSET ?",
                (*params, max(0, limit), max(0, offset)))
            return [self._listed(r) for r in rows]
        column = self._sort_key if sort == "stream_id" else _SORT_COLUMNS[sort]
        tie = f", stream_id {order}" if sort == "stream_id" else f", {self._sort_key} {order}, stream_id {order}"
        rows = self._query(
            f"SELECT stream_id, stream_type, version, first_time, last_time, {self._first} FROM streams WHERE {where} "
            f"ORDER BY {column} {order}{tie} LIMIT ? OFFSET ?",
            (*params, max(0, limit), max(0, offset)),
        )
        return [_info(r) for r in rows]

    def _walked_page(self, type: str | None, after: str | None, matched: str, matched_params: list,
                     descending: bool, offset: int, limit: int) -> list[StreamInfo] | None:
        """A filtered page in id order from the first WALK_ROWS entries of the natural index, or None
        when they hold too few matches (then every match is read and sorted by key).

        An id pattern with a literal prefix is a range of ids but not of natural keys (account-1,
        account-10 and account-100 lie far apart), so the plain plan reads every match of the range
        and sorts it: 147 ms for a first page among 1,000,000 streams. A common pattern fills its
        page within a few thousand streams of the natural order.
        """
        if self._sort_key != "sort_key" or WALK_ROWS <= 0:
            return None  # an older file without the natural index (read-only): the plain plan
        order, beyond, within = ("DESC", "<", ">=") if descending else ("ASC", ">", "<=")
        keyset, keys = (f"(sort_key, stream_id) {beyond} (?, ?)", [natural_key(after), after]) if after is not None \
            else ("1", [])
        # the walk's last entry, read from the index alone (no stream's row): the walk stops there
        edge = self._query(f"SELECT sort_key, stream_id FROM streams INDEXED BY streams_by_key WHERE {keyset} "
                           f"ORDER BY sort_key {order}, stream_id {order} LIMIT 1 OFFSET ?", (*keys, WALK_ROWS - 1))
        where, params = self._filter(type, None)
        bound, ends = (f" AND (sort_key, stream_id) {within} (?, ?)", list(edge[0])) if edge else ("", [])
        rows = self._query(
            f"SELECT stream_id, stream_type, version, first_time, last_time, {self._first} FROM streams "
            f"INDEXED BY streams_by_key WHERE {where} AND {keyset} AND {matched}{bound} "
            f"ORDER BY sort_key {order}, stream_id {order} LIMIT ? OFFSET ?",
            (*params, *keys, *matched_params, *ends, max(0, limit), max(0, offset)))
        if len(rows) < limit and edge:
            return None  # the walk ended before the page was full: the matches past it decide
        return [_info(r) for r in rows]

    def _listed(self, row: tuple) -> StreamInfo:
        stream_id, stream_type, events, first, last, first_time, last_time, catalogued = row
        if catalogued is None:
            catalogued = 0 if self._has_catalogue else None
        first, last = _whole(first), _whole(last)
        return StreamInfo(stream_id, stream_type if isinstance(stream_type, str) else "", events, first, last, _moment(first_time),
                          _moment(last_time), None if catalogued == last else catalogued)

    def count_streams(self, *, type: str | None = None, match: str | None = None) -> int:
        where, params = self._filter(type, match)
        table = "streams" if self._coverage.complete else self._listing()
        return self._query(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0]

    def stream_types(self) -> list[str]:
        if not self._coverage.complete:
            return [r[0] for r in self._query(f"SELECT DISTINCT stream_type FROM {self._listing()} ORDER BY stream_type")]
        # A skip-scan of the type index: one probe per type, where DISTINCT reads every entry
        # (66 ms at 1,000,000 streams against 0.1 ms, bench/bench_scale.py).
        return [r[0] for r in self._query(_TYPES_SQL)]

    def version_at(self, stream_id: str, moment: _dt.datetime) -> int:
        rows = self._query(
            "SELECT version FROM events WHERE stream_id = ? AND recorded_at <= ? "
            "ORDER BY recorded_at DESC, version DESC LIMIT 1",
            (stream_id, to_micros(moment)),
        )
        return rows[0][0] if rows else 0

    def snapshots(self, stream_id: str) -> list[Snapshot]:
        rows = self._query(
            "SELECT stream_id, version, reducer_name, reducer_fingerprint, state, created_at, created_by "
            "FROM snapshots WHERE stream_id = ? ORDER BY version, created_at", (stream_id,))
        return [_snapshot(r) for r in rows]

    def latest_snapshot(self, stream_id: str, *, at_or_before: int, reducer: ReducerId) -> Snapshot | None:
        rows = self._query(
            "SELECT stream_id, version, reducer_name, reducer_fingerprint, state, created_at, created_by "
            "FROM snapshots WHERE stream_id = ? AND version <= ? AND reducer_name = ? AND reducer_fingerprint = ? "
            "ORDER BY version DESC LIMIT 1",
            (stream_id, at_or_before, reducer.name, reducer.fingerprint),
        )
        return _snapshot(rows[0]) if rows else None

    def size(self) -> StoreSize:
        events = self._query("SELECT count(*) FROM events")[0][0]
        streams = self.count_streams()
        snapshots = self._query("SELECT count(*) FROM snapshots")[0][0]
        on_disk = 0
        for suffix in ("", "-wal"):
            try:
                on_disk += Path(f"{self.path}{suffix}").stat().st_size
            except OSError:
                pass
        return StoreSize(streams=streams, events=events, snapshots=snapshots, bytes=on_disk)


def _add_to_meta(db: sqlite3.Connection, key: str, amount: int) -> None:
    db.execute("UPDATE eventlens_meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = ?", (amount, key))


def _frozen(payloads: list[Any]) -> list[Any]:
    # Frozen here, in bulk, so the fold that follows a read has nothing left to freeze per event.
    try:
        return freeze_each(payloads)
    except RecursionError:
        return payloads  # nested too deeply to freeze: left to the fold, which reports it per event


def _located_event(stream_id: str, row: tuple) -> Event:
    """An event from a damaged row: what can be read is kept, the rest named in ``problems``."""
    version, event_type, data, metadata, recorded_at, stream_type = row
    problems: list[str] = []

    def decoded(field: str, blob: Any) -> Mapping[str, Any]:
        try:
            return bson.decode(blob, CODEC_OPTIONS)
        except (BSONError, TypeError, ValueError, OverflowError) as error:
            problems.append(f"field {field!r} does not decode: {(str(error).splitlines() or [''])[0][:120]}")
            return {}

    data, metadata = decoded("data", data), decoded("metadata", metadata)
    try:
        time = from_micros(recorded_at)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"field 'recorded_at' is {type(recorded_at).__name__} {recorded_at!r:.40}, not a time")
        time = _EPOCH
    return Event(stream_id, version, event_type if isinstance(event_type, str) else str(event_type), data, metadata, time,
                 stream_type if isinstance(stream_type, str) else "", tuple(problems))


def _whole(value: Any) -> int:
    """A version another program stored, as an int (0 for text, blobs and fractions: the events say what is wrong)."""
    return value if type(value) is int else 0


def _moment(micros: Any) -> _dt.datetime | None:
    """A time another program stored; None when it is not microseconds since 1970."""
    try:
        return from_micros(micros) if type(micros) is int else None
    except (OverflowError, ValueError):
        return None


def _stream_columns(db: sqlite3.Connection) -> set[str]:
    return {column[1] for column in db.execute("PRAGMA table_info(streams)")}


def _natural_or_none(text: Any) -> str | None:
    return natural_key(text) if isinstance(text, str) else None


def _add_columns(db: sqlite3.Connection) -> None:
    """Bring a store made by an earlier EventLens up to the columns of ``_SCHEMA`` (EventLens's own tables only)."""
    columns = _stream_columns(db)
    if not columns or {"first_version", "sort_key"} <= columns:  # a new file (_SCHEMA makes it), or up to date
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "first_version" not in columns:  # NULL for every stream: they all began at 1
            db.execute("ALTER TABLE streams ADD COLUMN first_version INTEGER")
        if "sort_key" not in columns:
            db.execute("ALTER TABLE streams ADD COLUMN sort_key TEXT")
            db.execute("UPDATE streams SET sort_key = natural_key(stream_id)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _info(row: tuple) -> StreamInfo:
    """A stream from its catalogue row (versions contiguous from ``first_version``, 1 unless recorded)."""
    stream_id, stream_type, version, first_time, last_time, first = row
    first = (first or 1) if version else 0
    return StreamInfo(
        stream_id=stream_id, stream_type=stream_type, events=version - first + 1 if version else 0,
        first_version=first, last_version=version,
        first_time=None if first_time is None else from_micros(first_time),
        last_time=None if last_time is None else from_micros(last_time),
    )


def _snapshot(row: tuple) -> Snapshot:
    stream_id, version, name, fingerprint, state, created_at, created_by = row
    return Snapshot(
        stream_id=stream_id, version=version, state=bson.decode(state, CODEC_OPTIONS),
        reducer=ReducerId(name, fingerprint), created_at=from_micros(created_at), created_by=created_by,
    )
