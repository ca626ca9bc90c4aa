"""The embedded store: one SQLite file with the native layout, payloads kept as BSON bytes.

BSON keeps every value type (ObjectId, Decimal128, dates, ...) exactly as MongoDB would, so a
stream copied out of a server reads back the same; decoding a batch is one C call.
"""
from __future__ import annotations

import datetime as _dt
import sqlite3
import threading
from itertools import repeat
from operator import mul
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import bson
from bson.errors import BSONError

from model.errors import ConflictError, StoreError, StoreUnavailable
from model.event import Event, NewEvent, ReducerId, Snapshot, StreamInfo
from model.freeze import ThawedDict, freeze_each
from model.ports import STREAM_SORTS, Capabilities, EventStore, StoreSize
from store import search_sql
from store.codec import CODEC_OPTIONS, CodecError

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
    version INTEGER NOT NULL,      -- the head: events above it are never read
    first_time INTEGER,
    last_time INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS streams_by_type ON streams (stream_type, stream_id);
CREATE INDEX IF NOT EXISTS streams_by_version ON streams (version, stream_id);
CREATE INDEX IF NOT EXISTS streams_by_first_time ON streams (first_time, stream_id);
CREATE INDEX IF NOT EXISTS streams_by_last_time ON streams (last_time, stream_id);
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

# The stream list's sort keys as columns; "events" is the head version (versions are contiguous from 1).
_SORT_COLUMNS = {"stream_id": "stream_id", "stream_type": "stream_type", "events": "version",
                 "first_time": "first_time", "last_time": "last_time"}


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

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout_s: float = 10.0):
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self.capabilities = Capabilities(transactions=True, change_streams=False, writable=not read_only)
        self._lock = threading.RLock()
        self._db = self._connect(timeout_s)

    # -- connection --------------------------------------------------------------
    def _connect(self, timeout_s: float) -> sqlite3.Connection:
        try:
            if self.read_only:
                if not self.path.is_file():
                    raise StoreUnavailable(f"no embedded store at {self.path}")
                db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=timeout_s, check_same_thread=False, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=timeout_s, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
                db.executescript(_SCHEMA)
                db.execute("INSERT OR IGNORE INTO eventlens_meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            db.create_function("lower_text", 1, lambda s: s.lower() if isinstance(s, str) else s, deterministic=True)
            self._check_schema(db)
            search_sql.install(db, writable=not self.read_only)
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
                    actual = head[0] if head else 0
                    if actual != expected_version:
                        raise ConflictError(stream_id, expected_version, actual)
                    if not rows:
                        db.execute("ROLLBACK")
                        return actual
                    kind = head[1] if head and head[1] else stream_type
                    db.executemany(
                        "INSERT INTO events (stream_id, version, type, data, metadata, recorded_at, stream_type) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [row + (kind,) for row in rows],
                    )
                    search_sql.index_correlations(db, stream_id, expected_version + 1, events)
                    new_version = expected_version + len(rows)
                    first_time = head[2] if head else rows[0][5]
                    db.execute(
                        "INSERT INTO streams (stream_id, stream_type, version, first_time, last_time) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream_id) DO UPDATE SET "
                        "stream_type = excluded.stream_type, version = excluded.version, last_time = excluded.last_time",
                        (stream_id, kind, new_version, first_time, rows[-1][5]),
                    )
                    db.execute("COMMIT")
                    return new_version
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError:
                # Only possible when another program wrote events without the catalogue.
                raise ConflictError(stream_id, expected_version) from None
            except sqlite3.Error as error:
                raise StoreError(f"embedded store {self.path}: append to {stream_id!r} failed: {error}") from None

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

    # -- reading -----------------------------------------------------------------
    def _head(self, stream_id: str) -> int:
        rows = self._query("SELECT version FROM streams WHERE stream_id = ?", (stream_id,))
        return rows[0][0] if rows else 0

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
        head = self._head(stream_id)
        last = head if to_version is None else min(to_version, head)
        where = "stream_id = ? AND version > ? AND version <= ?"
        extra: list[Any] = []
        if since is not None:
            where += " AND recorded_at >= ?"
            extra.append(to_micros(since))
        if until is not None:
            where += " AND recorded_at <= ?"
            extra.append(to_micros(until))
        sql = (f"SELECT version, type, data, metadata, recorded_at, stream_type FROM events "
               f"WHERE {where} ORDER BY version LIMIT ?")
        after = max(from_version, 1) - 1
        batch_size = max(1, batch_size)
        # Keyset paging: each batch is its own short query, so no read stays open between batches.
        while after < last:
            rows = self._query(sql, (stream_id, after, last, *extra, batch_size))
            if not rows:
                return
            yield self._events(stream_id, rows)
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
        rows = self._query("SELECT stream_id, stream_type, version, first_time, last_time FROM streams "
                           "WHERE stream_id = ?", (stream_id,))
        return _info(rows[0]) if rows else None

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
    ) -> list[StreamInfo]:
        if sort not in STREAM_SORTS:
            raise ValueError(f"unknown stream sort {sort!r}; use one of {', '.join(STREAM_SORTS)}")
        where, params = self._filter(type, match)
        order = "DESC" if descending else "ASC"
        column = _SORT_COLUMNS[sort]
        tie = "" if column == "stream_id" else f", stream_id {order}"
        rows = self._query(
            f"SELECT stream_id, stream_type, version, first_time, last_time FROM streams WHERE {where} "
            f"ORDER BY {column} {order}{tie} LIMIT ? OFFSET ?",
            (*params, max(0, limit), max(0, offset)),
        )
        return [_info(r) for r in rows]

    def count_streams(self, *, type: str | None = None, match: str | None = None) -> int:
        where, params = self._filter(type, match)
        return self._query(f"SELECT count(*) FROM streams WHERE {where}", params)[0][0]

    def stream_types(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT stream_type FROM streams ORDER BY stream_type")]

    def version_at(self, stream_id: str, moment: _dt.datetime) -> int:
        rows = self._query(
            "SELECT version FROM events WHERE stream_id = ? AND recorded_at <= ? "
            "AND version <= (SELECT version FROM streams WHERE stream_id = ?) "
            "ORDER BY recorded_at DESC, version DESC LIMIT 1",
            (stream_id, to_micros(moment), stream_id),
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
        streams, events = self._query("SELECT count(*), coalesce(sum(version), 0) FROM streams")[0]
        snapshots = self._query("SELECT count(*) FROM snapshots")[0][0]
        on_disk = 0
        for suffix in ("", "-wal"):
            try:
                on_disk += Path(f"{self.path}{suffix}").stat().st_size
            except OSError:
                pass
        return StoreSize(streams=streams, events=events, snapshots=snapshots, bytes=on_disk)


def _frozen(payloads: list[Any]) -> list[Any]:
    # Frozen here, in bulk, so the fold that follows a read has nothing left to freeze per event.
    try:
        return freeze_each(payloads)
    except RecursionError:
        return payloads  # nested too deeply to freeze: left to the fold, which reports it per event


def _located_event(stream_id: str, row: tuple) -> Event:
    """An event from a damaged row: what can be read is kept, the rest named in ``problems``."""
    version, kind, data, metadata, recorded_at, stream_type = row
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
    return Event(stream_id, version, kind if isinstance(kind, str) else str(kind), data, metadata, time,
                 stream_type if isinstance(stream_type, str) else "", tuple(problems))


def _info(row: tuple) -> StreamInfo:
    stream_id, stream_type, version, first, last = row
    return StreamInfo(
        stream_id=stream_id, stream_type=stream_type, events=version,
        first_version=1 if version else 0, last_version=version,
        first_time=None if first is None else from_micros(first),
        last_time=None if last is None else from_micros(last),
    )


def _snapshot(row: tuple) -> Snapshot:
    stream_id, version, name, fingerprint, state, created_at, created_by = row
    return Snapshot(
        stream_id=stream_id, version=version, state=bson.decode(state, CODEC_OPTIONS),
        reducer=ReducerId(name, fingerprint), created_at=from_micros(created_at), created_by=created_by,
    )
