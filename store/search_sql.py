"""Questions across streams on the embedded store, answered by SQLite: search, counts, traces, statistics.

A search's condition (``model.query``, over the normalised fields) becomes SQL where it names the
event's own columns (stream id, stream type, version, type, time); what it asks of the payloads,
which are BSON blobs here, runs inside the same query through one deterministic SQL function
(``el_match``) that decodes only the blobs the condition reads and applies the model's matcher.
So the database does the scanning, the indexes on (type, recorded_at) and (recorded_at) narrow
it and give the time order, and pages are found by key (``(recorded_at, stream_id, version) >
(?, ?, ?)``), never by OFFSET.

Correlation ids live in the table ``correlations`` (a 64-bit hash of the correlation id, stream id,
version), filled by ``append`` in the same transaction, and built for a whole file by ``catalogue
rebuild`` (``build_correlations``). ``eventlens_meta`` keeps its format (key ``correlations``)
and how many events it has read (``correlations_events``). It is derived from the events and
never decides: a trace uses it only while that count equals the events table's, so events
another program wrote into the file are never left out (the trace then reads every event's
metadata and says so), and checks every event it finds against the event's own metadata (so
two ids with one hash never mix).
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import operator
import re
import sqlite3
import struct
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import bson

from model.errors import UsageError
from model.event import Event
from model.patterns import SUBSTRING, parse_pattern
from model.query import FIELDS, compile_query, conjuncts, resolve
from model.stats import TypeStatistics, day_of, longest_of
from model.trace import CORRELATION_KEYS, first_of
from store.codec import CODEC_OPTIONS

_COLUMNS = {"stream_id": "stream_id", "stream_type": "stream_type", "version": "version", "type": "type",
            "time": "recorded_at"}
_TEXT = ("stream_id", "stream_type", "type")
_SELECT = "SELECT stream_id, version, type, data, metadata, recorded_at, stream_type FROM events"
MICROS_PER_DAY = 86_400_000_000
CORRELATIONS_FORMAT = "2"


def correlation_key(value: Any) -> int:
    """The table's key for a correlation id: a signed 64-bit hash of its text."""
    digest = hashlib.blake2b(str(value).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)

SCHEMA = """
CREATE TABLE IF NOT EXISTS correlations (
    correlation INTEGER NOT NULL,  -- a 64-bit hash of the correlation id's text (the events decide)
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (correlation, stream_id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_type_time ON events (type, recorded_at);
CREATE INDEX IF NOT EXISTS events_by_recorded_at ON events (recorded_at);
"""


# -- functions every connection gets ----------------------------------------------------------------

_MATCHERS: dict[str, Any] = {}
_MATCHERS_LOCK = threading.Lock()


def _regexp(pattern: str, value: Any) -> int:
    return int(isinstance(value, str) and _compiled(pattern).search(value) is not None)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _REGEX_CACHE.get(pattern)
    if found is None:
        if len(_REGEX_CACHE) > 512:
            _REGEX_CACHE.clear()
        found = _REGEX_CACHE[pattern] = re.compile(pattern)
    return found


def _match(token: str, stream_id, stream_type, version, event_type, recorded_at, data, metadata) -> int:
    test, roots = _MATCHERS[token]
    doc: dict[str, Any] = {"stream_id": stream_id, "stream_type": stream_type, "version": version, "type": event_type}
    try:
        if "time" in roots:
            from store.embedded import from_micros

            doc["time"] = from_micros(recorded_at)
        if "data" in roots:
            doc["data"] = bson.decode(data, CODEC_OPTIONS)
        if "metadata" in roots:
            doc["metadata"] = bson.decode(metadata, CODEC_OPTIONS)
    except Exception:  # noqa: BLE001 - a damaged blob matches nothing (reading it shows the problem)
        return 0
    return 1 if test(doc) else 0


_FAST_OPS = {"$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt, "$gte": operator.ge,
             "$lt": operator.lt, "$lte": operator.le}
_GONE = object()


_INT32, _INT64, _DOUBLE = struct.Struct("<i").unpack_from, struct.Struct("<q").unpack_from, struct.Struct("<d").unpack_from
_FIXED = {1: 8, 9: 8, 17: 8, 18: 8, 16: 4, 8: 1, 10: 0, 7: 12, 19: 16, 6: 0, 127: 0, 255: 0}
_OTHER = object()


def top_value(blob: bytes, key: bytes) -> Any:
    """A top-level number or text of a BSON document without decoding the rest: _GONE when absent,
    _OTHER for any other kind of value (or bytes that do not walk), which the matcher then reads."""
    i, end = 4, len(blob) - 1
    try:
        while i < end:
            element_type = blob[i]
            stop = blob.index(0, i + 1)
            found = blob[i + 1:stop] == key
            i = stop + 1
            if found:
                if element_type == 16:
                    return _INT32(blob, i)[0]
                if element_type == 18:
                    return _INT64(blob, i)[0]
                if element_type == 1:
                    return _DOUBLE(blob, i)[0]
                if element_type == 2:
                    return blob[i + 4:i + 3 + _INT32(blob, i)[0]].decode("utf-8")
                return _OTHER
            size = _FIXED.get(element_type)
            if size is None:
                if element_type in (2, 13, 14):
                    size = 4 + _INT32(blob, i)[0]
                elif element_type in (3, 4):
                    size = _INT32(blob, i)[0]
                elif element_type == 5:
                    size = 5 + _INT32(blob, i)[0]
                else:
                    return _OTHER
            i += size
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return _OTHER
    return _GONE


def _fast(path: str, condition: Any):
    """A quick test of one payload field against numbers or texts, or None when the condition is not that simple.

    It walks plain documents only; anything else (an array on the way, another kind of value, a
    missing field) goes to the model's matcher, so the answer is always the matcher's.
    """
    ops = condition if isinstance(condition, Mapping) and all(str(k).startswith("$") for k in condition) \
        else {"$eq": condition}
    if not ops or set(ops) - set(_FAST_OPS):
        return None
    values = list(ops.values())
    if all(type(v) in (int, float) for v in values):
        kinds: tuple[type, ...] = (int, float)
    elif all(type(v) is str for v in values):
        kinds = (str,)
    else:
        return None
    checks = [(_FAST_OPS[op], value) for op, value in ops.items()]
    root, *parts = path.split(".")
    full = compile_query({path: condition})

    def slow(blob: bytes) -> int:
        try:
            return 1 if full({root: bson.decode(blob, CODEC_OPTIONS)}) else 0
        except Exception:  # noqa: BLE001 - a damaged blob matches nothing
            return 0

    if len(parts) == 1:
        key = parts[0].encode("utf-8")
        (check, operand), = checks if len(checks) == 1 else ((None, None),)
        if check is not None:
            def one(blob: bytes) -> int:
                value = top_value(blob, key)
                if type(value) in kinds:
                    return 1 if check(value, operand) else 0
                return slow(blob)
            return root, one

    def test(blob: bytes) -> int:
        try:
            doc = bson.decode(blob)
        except Exception:  # noqa: BLE001 - a damaged blob matches nothing
            return 0
        value: Any = doc
        for part in parts:
            if type(value) is not dict:
                return 1 if full({root: doc}) else 0
            value = value.get(part, _GONE)
        if type(value) in kinds:
            for check, operand in checks:
                if not check(value, operand):
                    return 0
            return 1
        return 1 if full({root: doc}) else 0

    return root, test


def _register_fast(path: str, condition: Any) -> tuple[str, str] | None:
    token = repr(("fast", path, condition))
    with _MATCHERS_LOCK:
        found = _MATCHERS.get(token)
        if found is None:
            made = _fast(path, condition)
            if made is None:
                return None
            if len(_MATCHERS) > 256:
                _MATCHERS.clear()
            found = _MATCHERS[token] = made
    return found[0], token


def _test(token: str, blob: bytes) -> int:
    return _MATCHERS[token][1](blob)


def _register(query: Mapping[str, Any]) -> str:
    token = repr(sorted(query.items(), key=lambda kv: kv[0]))
    with _MATCHERS_LOCK:
        if token not in _MATCHERS:
            if len(_MATCHERS) > 256:
                _MATCHERS.clear()
            roots = {p.split(".")[0] for p in _paths(query)}
            _MATCHERS[token] = (compile_query(query), roots)
    return token


def _paths(query: Mapping[str, Any]) -> set[str]:
    from model.query import paths_of

    return paths_of(query)


def install(db: sqlite3.Connection, *, writable: bool) -> None:
    """Give a connection the functions searches use; on a writable one, the tables and indexes too."""
    db.create_function("regexp", 2, _regexp, deterministic=True)
    db.create_function("el_match", 8, _match, deterministic=True)
    db.create_function("el_test", 2, _test, deterministic=True)
    # searches read many pages: keep more of them than SQLite's default 2 MB (and map the file while
    # one runs: _mapped)
    db.execute("PRAGMA cache_size = -65536")
    if not writable:
        return
    built = db.execute("SELECT value FROM eventlens_meta WHERE key = 'correlations'").fetchone()
    if built is not None and built[0] != CORRELATIONS_FORMAT:
        db.execute("DROP TABLE IF EXISTS correlations")  # an older form of the derived table
        db.execute("DELETE FROM eventlens_meta WHERE key IN ('correlations', ?)", (_INDEXED,))
        built = None
    db.executescript(SCHEMA)
    if built is None and db.execute("SELECT NOT EXISTS (SELECT 1 FROM events)").fetchone()[0]:
        # a new file: the table covers every event from the first append on. An older file is
        # indexed by ``catalogue rebuild``, not by opening it (a minute of writing on a big file).
        db.executemany("INSERT OR REPLACE INTO eventlens_meta VALUES (?, ?)",
                       [("correlations", CORRELATIONS_FORMAT), (_INDEXED, "0")])


_INDEXED = "correlations_events"


def correlations_cover(db: sqlite3.Connection) -> bool:
    """Has ``correlations`` read every event the file holds now? (no: a trace reads every event)"""
    if not has_table(db, "correlations"):
        return False
    marks = dict(db.execute("SELECT key, value FROM eventlens_meta WHERE key IN ('correlations', ?)", (_INDEXED,)))
    if marks.get("correlations") != CORRELATIONS_FORMAT or _INDEXED not in marks:
        return False
    (events,) = db.execute("SELECT count(*) FROM events").fetchone()
    return int(marks[_INDEXED]) == events


def build_correlations(db: sqlite3.Connection, batch: int = 20_000) -> int:
    """Fill ``correlations`` from every event's metadata (inside the caller's transaction); return the rows written."""
    db.execute("DELETE FROM correlations")
    written = scanned = 0
    after: tuple[str, int] = ("", 0)
    while True:
        rows = db.execute("SELECT stream_id, version, metadata FROM events WHERE (stream_id, version) > (?, ?) "
                          "ORDER BY stream_id, version LIMIT ?", (*after, batch)).fetchall()
        if not rows:
            break
        out = []
        for stream_id, version, blob in rows:
            try:
                found = first_of(bson.decode(blob, CODEC_OPTIONS), CORRELATION_KEYS)
            except Exception:  # noqa: BLE001 - a damaged blob has no correlation to index
                found = None
            if found is not None:
                out.append((correlation_key(found[1]), stream_id, version))
        db.executemany("INSERT OR IGNORE INTO correlations VALUES (?, ?, ?)", out)
        written += len(out)
        scanned += len(rows)
        after = (rows[-1][0], rows[-1][1])
    db.executemany("INSERT OR REPLACE INTO eventlens_meta VALUES (?, ?)",
                   [("correlations", CORRELATIONS_FORMAT), (_INDEXED, str(scanned))])
    return written


def index_correlations(db: sqlite3.Connection, stream_id: str, first_version: int, events: Sequence[Any]) -> None:
    """Rows of ``correlations`` for appended events (called inside the append's transaction)."""
    rows = []
    for i, event in enumerate(events):
        found = first_of(event.metadata, CORRELATION_KEYS) if isinstance(event.metadata, Mapping) else None
        if found is not None:
            rows.append((correlation_key(found[1]), stream_id, first_version + i))
    if rows:
        db.executemany("INSERT OR IGNORE INTO correlations VALUES (?, ?, ?)", rows)
    # the count of events read moves with the append (a file never indexed keeps no count)
    db.execute("UPDATE eventlens_meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?", (len(events), _INDEXED))


def has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


# -- the stream list's patterns ---------------------------------------------------------------------


def stream_match_sql(match: str, column: str = "stream_id") -> tuple[str, list[Any]]:
    """A WHERE clause for a stream id pattern: ``instr`` for text, a seek plus REGEXP for globs and regexes."""
    pattern = parse_pattern(match)
    if pattern.syntax == SUBSTRING:
        return f"instr(lower_text({column}), ?) > 0", [match.lower()]
    clauses, params = [f"{column} REGEXP ?"], [pattern.regex]
    prefix = pattern.literal_prefix()
    if prefix:
        clauses.insert(0, f"{column} >= ? AND {column} < ?")
        params[:0] = [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
    return " AND ".join(clauses), params


# -- translating a condition ------------------------------------------------------------------------


def _flags(options: str) -> str:
    letters = "".join(sorted(set(options) & set("imsx")))
    return f"(?{letters})" if letters else ""


def _kind_ok(field: str, value: Any) -> bool:
    if field in _TEXT:
        return isinstance(value, str)
    if field == "version":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, datetime)


def _param(field: str, value: Any) -> Any:
    if field == "time":
        from store.embedded import to_micros

        return to_micros(value)
    return value


class _Untranslatable(Exception):
    pass


def _field_sql(field: str, condition: Any) -> tuple[str, list[Any]]:
    column = _COLUMNS[field]
    if not (isinstance(condition, Mapping) and condition and all(str(k).startswith("$") for k in condition)):
        condition = {"$eq": condition}
    clauses: list[str] = []
    params: list[Any] = []
    for op, operand in condition.items():
        if op == "$options":
            continue
        if op in ("$eq", "$ne"):
            if isinstance(operand, (list, dict)):
                raise _Untranslatable
            ok = _kind_ok(field, operand)
            if op == "$eq":
                clauses.append(f"{column} = ?" if ok else "0")
            else:
                clauses.append(f"{column} != ?" if ok else "1")
            if ok:
                params.append(_param(field, operand))
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            if not _kind_ok(field, operand):
                clauses.append("0")
                continue
            sign = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
            clauses.append(f"{column} {sign} ?")
            params.append(_param(field, operand))
        elif op in ("$in", "$nin"):
            if any(isinstance(v, (list, dict)) for v in operand):
                raise _Untranslatable
            values = [_param(field, v) for v in operand if _kind_ok(field, v)]
            marks = ", ".join("?" * len(values))
            if op == "$in":
                clauses.append(f"{column} IN ({marks})" if values else "0")
            else:
                clauses.append(f"{column} NOT IN ({marks})" if values else "1")
            params.extend(values)
        elif op == "$exists":
            clauses.append("1" if operand else "0")
        elif op == "$regex":
            if field not in _TEXT:
                clauses.append("0")
                continue
            clauses.append(f"{column} REGEXP ?")
            params.append(_flags(condition.get("$options", "")) + operand)
        elif op == "$not":
            inner, inner_params = _field_sql(field, operand)
            clauses.append(f"NOT ({inner})")
            params.extend(inner_params)
        else:  # $all, $elemMatch, $size on a scalar column: the matcher decides
            raise _Untranslatable
    return " AND ".join(f"({c})" for c in clauses) or "1", params


def _sql(query: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL for a whole condition; _Untranslatable when a part names payloads or needs the matcher."""
    clauses, params = [], []
    for key, value in query.items():
        if key in ("$and", "$or", "$nor"):
            parts = [_sql(q) for q in value]
            joined = (" AND " if key == "$and" else " OR ").join(f"({s})" for s, _ in parts)
            clauses.append(f"NOT ({joined})" if key == "$nor" else joined)
            for _, p in parts:
                params.extend(p)
        elif key in FIELDS:
            sql, p = _field_sql(key, value)
            clauses.append(sql)
            params.extend(p)
        else:
            raise _Untranslatable
    return " AND ".join(f"({c})" for c in clauses) or "1", params


_NAMES = itertools.count(1)


def _function(store, token: str) -> str:
    """A SQL function of its own for a quick payload test (no token to look up per row)."""
    if store is None:
        return ""
    names = store.__dict__.setdefault("_question_functions", {})
    name = names.get(token)
    if name is None:
        name = names[token] = f"el_t{next(_NAMES)}"
        with store._lock:
            store._db.create_function(name, 1, _MATCHERS[token][1], deterministic=True)
    return name


def translate(query: Mapping[str, Any], store=None) -> tuple[str, list[Any]]:
    """A WHERE clause for a validated condition: SQL where it can be, ``el_match`` for the rest."""
    parts = conjuncts(query)
    clauses, params, rest = [], [], []
    for part in parts:
        try:
            sql, p = _sql(part)
        except _Untranslatable:
            (key, value), = part.items()
            fast = _register_fast(key, value) if key.split(".")[0] in ("data", "metadata") else None
            if fast is None:
                rest.append(part)
            elif store is not None:
                clauses.append(f"{_function(store, fast[1])}({fast[0]})")
            else:
                clauses.append(f"el_test(?, {fast[0]})")
                params.append(fast[1])
            continue
        clauses.append(sql)
        params.extend(p)
    if rest:
        residual = rest[0] if len(rest) == 1 else {"$and": rest}
        clauses.append("el_match(?, stream_id, stream_type, version, type, recorded_at, data, metadata)")
        params.append(_register(residual))
    return " AND ".join(f"({c})" for c in clauses) or "1", params


# -- answering -----------------------------------------------------------------------------------


def _order(sort: str) -> tuple[str, str]:
    if sort == "time":
        return "recorded_at, stream_id, version", "(recorded_at, stream_id, version) > (?, ?, ?)"
    if sort == "stream":
        return "stream_id, version", "(stream_id, version) > (?, ?)"
    raise UsageError(f"unknown search order {sort!r}")


def search(store, query: Mapping[str, Any], *, sort: str, after: Any, limit: int) -> tuple[list[Event], Any]:
    where, params = translate(query, store)
    order, keyset = _order(sort)
    if after is not None:
        where = f"{keyset} AND ({where})"
        params = [*after, *params]
    rows = store._query(f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT ?", (*params, max(0, limit)))
    events = decode_rows(rows)
    more = len(rows) == limit and limit > 0
    if not more:
        return events, None
    last = rows[-1]
    return events, ((last[5], last[0], last[1]) if sort == "time" else (last[0], last[1]))


def count(store, query: Mapping[str, Any]) -> int:
    where, params = translate(query, store)
    return store._query(f"SELECT count(*) FROM events WHERE {where}", params)[0][0]


def decode_rows(rows: list[tuple]) -> list[Event]:
    """Events from (stream_id, version, type, data, metadata, recorded_at, stream_type) rows of any streams.

    Column by column in one pass, as ``EmbeddedStore._events`` reads one stream; a damaged row sends
    its stream's rows through that method's careful path.
    """
    from itertools import repeat
    from operator import mul

    from store.embedded import _EPOCH, _FRESH, _MICROSECOND, EmbeddedStore, _frozen

    if not rows:
        return []
    sids, versions, kinds, datas, metas, micros, stream_types = zip(*rows)
    try:
        decoded = bson.decode_all(b"".join(datas), _FRESH)
        decoded_meta = bson.decode_all(b"".join(metas), _FRESH)
        if len(decoded) != len(rows) or len(decoded_meta) != len(rows):
            raise ValueError("a payload is not one document")
        times = list(map(_EPOCH.__add__, map(mul, repeat(_MICROSECOND), micros)))
    except (bson.errors.BSONError, TypeError, ValueError, OverflowError):
        out: list[Event] = []
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[start][0]:
                out.extend(EmbeddedStore._events(rows[start][0], [r[1:] for r in rows[start:i]]))
                start = i
        return out
    return list(map(Event, sids, versions, kinds, _frozen(decoded), _frozen(decoded_meta), times, stream_types))


def correlated_rows(store, correlation_id: Any) -> list[tuple] | None:
    """The event rows indexed under ``correlation_id``, or None when the table does not cover every event."""
    with store._lock:
        if not correlations_cover(store._db):
            return None
    return store._query(
        "SELECT e.stream_id, e.version, e.type, e.data, e.metadata, e.recorded_at, e.stream_type "
        "FROM correlations c JOIN events e ON e.stream_id = c.stream_id AND e.version = c.version "
        "WHERE c.correlation = ? ORDER BY e.recorded_at, e.stream_id, e.version", (correlation_key(correlation_id),))


def statistics(store) -> list[TypeStatistics]:
    """Three GROUP BY queries over ``events``: types, streams, days."""
    kinds: dict[str, dict] = {}

    def entry(stream_type: str) -> dict:
        return kinds.setdefault(stream_type, {"types": {}, "first": None, "last": None, "streams": [], "days": {}})

    from store.embedded import from_micros

    for stream_type, event_type, n, first, last in store._query(
            "SELECT stream_type, type, count(*), min(recorded_at), max(recorded_at) FROM events "
            "GROUP BY stream_type, type"):
        e = entry(stream_type)
        e["types"][event_type] = n
        e["first"] = first if e["first"] is None else min(e["first"], first)
        e["last"] = last if e["last"] is None else max(e["last"], last)
    for stream_type, stream_id, n in store._query(
            "SELECT stream_type, stream_id, count(*) FROM events GROUP BY stream_id, stream_type"):
        entry(stream_type)["streams"].append((stream_id, n))
    for stream_type, day, n in store._query(
            f"SELECT stream_type, recorded_at / {MICROS_PER_DAY}, count(*) FROM events GROUP BY 1, 2"):
        entry(stream_type)["days"][day_of(from_micros(day * MICROS_PER_DAY))] = n
    out = []
    for stream_type in sorted(kinds):
        e = kinds[stream_type]
        out.append(TypeStatistics(
            stream_type, len(e["streams"]), sum(n for _, n in e["streams"]), dict(sorted(e["types"].items())),
            None if e["first"] is None else from_micros(e["first"]),
            None if e["last"] is None else from_micros(e["last"]),
            longest_of(e["streams"]), dict(sorted(e["days"].items()))))
    return out


__all__ = ["install", "index_correlations", "stream_match_sql", "translate", "search", "count",
           "correlated_rows", "statistics", "resolve"]


MAPPED_BYTES = 1 << 30


@contextlib.contextmanager
def _mapped(store):
    """The file memory-mapped while a scan across streams runs, and only then.

    A long scan reads faster through the map; but mapped pages count as the process's resident
    memory, and a stream loaded through a mapped connection held its whole stretch of the file
    (264 bytes per event of a 1,000,000-event stream, beside the 230 it keeps).
    """
    with store._lock:
        store._scans = getattr(store, "_scans", 0) + 1
        if store._scans == 1:
            store._db.execute(f"PRAGMA mmap_size = {MAPPED_BYTES}")
    try:
        yield
    finally:
        with store._lock:
            store._scans -= 1
            if store._scans == 0:
                store._db.execute("PRAGMA mmap_size = 0")


class EmbeddedQuestions:
    """The embedded store's answers to the questions across streams (mixed into ``EmbeddedStore``)."""

    def search(self, query, *, sort="time", after=None, limit=100, checkpoint=None):
        from model.ports import SearchPage

        with _mapped(self):
            events, cursor = search(self, query, sort=sort, after=after, limit=limit)
        return SearchPage(events, cursor)

    def count_events(self, query, *, checkpoint=None) -> int:
        with _mapped(self):
            return count(self, query)

    def search_plan(self, query):
        from model.ports import SearchPlan

        return SearchPlan()  # SQLite runs all of it, payload conditions included (el_match)

    def correlated(self, stream_id, version, *, checkpoint=None):
        from model.ports import Correlated
        from model.trace import default_ids

        origin = self.origin_of(stream_id, version)
        if origin is None:
            return None
        if origin.correlation_id is None:
            return Correlated(origin, [origin])
        rows = correlated_rows(self, origin.correlation_id)
        if rows is None:  # events the table has not read (an older file, another program's rows)
            scanned = super().correlated(stream_id, version, checkpoint=checkpoint)
            return Correlated(scanned.origin, scanned.events,
                              "the correlation index does not cover every event in this file: every event was read "
                              "(`catalogue rebuild` indexes them)")
        found = [t for t in map(default_ids, decode_rows(rows)) if str(t.correlation_id) == str(origin.correlation_id)]
        if not any(t.event.stream_id == stream_id and t.event.version == version for t in found):
            found.append(origin)  # the log decides: an event written outside EventLens is still its own trace
        return Correlated(origin, found)

    def statistics(self, *, checkpoint=None):
        with _mapped(self):
            return statistics(self)

    # many streams at once: one query per chunk instead of a few per stream
    def versions_at(self, stream_ids, moment):
        from store.embedded import to_micros

        marks = ", ".join("?" * len(stream_ids))
        if moment is None:
            rows = self._query(f"SELECT stream_id, version FROM streams WHERE stream_id IN ({marks})", list(stream_ids))
        else:
            rows = self._query(
                f"SELECT s.stream_id, (SELECT e.version FROM events e WHERE e.stream_id = s.stream_id "
                f"AND e.recorded_at <= ? AND e.version <= s.version ORDER BY e.recorded_at DESC, e.version DESC LIMIT 1) "
                f"FROM streams s WHERE s.stream_id IN ({marks})", [to_micros(moment), *stream_ids])
        found = {sid: int(v or 0) for sid, v in rows}
        return {sid: found.get(sid, 0) for sid in stream_ids}

    def snapshots_by(self, stream_ids, reducer):
        from store.embedded import _snapshot

        marks = ", ".join("?" * len(stream_ids))
        rows = self._query(
            "SELECT stream_id, version, reducer_name, reducer_fingerprint, state, created_at, created_by FROM snapshots "
            f"WHERE stream_id IN ({marks}) AND reducer_name = ? AND reducer_fingerprint = ? ORDER BY stream_id, version",
            [*stream_ids, reducer.name, reducer.fingerprint])
        out = {sid: [] for sid in stream_ids}
        for row in rows:
            out[row[0]].append(_snapshot(row))
        return out

    def read_ranges(self, ranges, *, batch_size=5000):
        """Groups of streams read from their first version in keyset pages over all of them (one query
        per ``batch_size`` rows, not a few per stream); anything else stream by stream."""
        wanted = [(sid, first, last) for sid, first, last in ranges if last >= first]
        for start in range(0, len(wanted), 500):
            group = wanted[start:start + 500]
            ids = [sid for sid, _, _ in group]
            if not (all(first <= 1 for _, first, _ in group) and ids == sorted(set(ids))):
                for sid, first, last in group:
                    yield from self.read(sid, from_version=first, to_version=last, batch_size=batch_size)
                continue
            lasts = {sid: last for sid, _, last in group}
            marks = ", ".join("?" * len(ids))
            after: tuple[str, int] = ("", 0)
            while True:
                rows = self._query(f"{_SELECT} WHERE stream_id IN ({marks}) AND (stream_id, version) > (?, ?) "
                                   "ORDER BY stream_id, version LIMIT ?", [*ids, *after, batch_size])
                kept = [r for r in rows if r[1] <= lasts[r[0]]]
                if kept:
                    yield decode_rows(kept)
                if len(rows) < batch_size:
                    break
                after = (rows[-1][0], rows[-1][1])
