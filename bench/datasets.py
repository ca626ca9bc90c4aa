"""The benchmark data sets, built once from the demo generator and cached under ``bench/data/``.

Every data set is keyed by its parameters; a marker written after the build says it is complete,
so an interrupted build is rebuilt, never half-used.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from model.demo import demo_streams
from model.event import NewEvent
from model.reducer import default_reducer
from model.snapshot import take_snapshot

DATA = Path(__file__).resolve().parent / "data"
SEED = 5
APPEND_BATCH = 50_000  # events per append while building the big stream
INSERT_BATCH = 5_000  # documents per insert_many on a server
Log = Callable[[str], None]


@dataclass(frozen=True)
class Sizes:
    """How big each data set is; ``--quick`` divides them by ten."""

    big: int  # events in the one long stream
    many: int  # streams of ``per_stream`` events (stream list)
    per_stream: int = 10
    store_streams: int = 0  # embedded store: streams of ``store_per_stream`` beside the big stream
    store_per_stream: int = 20

    @property
    def targets(self) -> list[int]:
        """Versions where reconstruction is measured: 1 %, 10 % and all of the big stream."""
        return [self.big // 100, self.big // 10, self.big]

    @property
    def tail(self) -> int:
        """Events between each target and the snapshot before it."""
        return max(self.big // 200, 1)

    def snapshot_versions(self) -> list[int]:
        """One snapshot ``tail`` events before each target (5,000 for a 1,000,000-event stream)."""
        return [t - self.tail for t in self.targets]


def big_stream(events: int):
    """The long stream: a demo bank account of ``events`` events, lazily generated."""
    demo = list(itertools.islice(demo_streams(2, events, seed=SEED), 1, 2))[0]
    return f"big-{demo.stream_id}", demo.stream_type, demo.events


def _chunks(iterator, size: int):
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _marker(name: str) -> Path:
    return DATA / f"{name}.built.json"


def built(name: str) -> dict | None:
    """The build record of a cached data set, or None when it must be built."""
    try:
        return json.loads(_marker(name).read_text())
    except (OSError, ValueError):
        return None


def _record(name: str, **facts) -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    _marker(name).write_text(json.dumps(facts, indent=1))
    return facts


def _take_snapshots(store, stream_id: str, versions: list[int], log: Log) -> int:
    # use_snapshots: each snapshot folds only the tail after the previous one.
    reducer = default_reducer()
    for v in versions:
        store.save_snapshot(take_snapshot(store, stream_id, reducer, version=v, created_by="bench",
                                          use_snapshots=True))
    log(f"  {len(versions)} snapshots of {stream_id}")
    return len(versions)


# -- the embedded store --------------------------------------------------------------------------
def embedded(sizes: Sizes, log: Log) -> tuple[Path, dict]:
    """One SQLite file: the big stream (with snapshots) and ``store_streams`` streams, via ``append``."""
    from store.embedded import EmbeddedStore

    name = f"embedded-big{sizes.big}-store{sizes.store_streams}x{sizes.store_per_stream}"
    path = DATA / f"{name}.sqlite"
    record = built(name)
    if record is not None and path.is_file():
        return path, record
    for leftover in DATA.glob(f"{name}.sqlite*"):
        leftover.unlink()
    DATA.mkdir(parents=True, exist_ok=True)
    store = EmbeddedStore(path)
    try:
        started = time.perf_counter()
        stream_id, kind, events = big_stream(sizes.big)
        version = 0
        for chunk in _chunks(events, APPEND_BATCH):
            version = store.append(stream_id, chunk, version, stream_type=kind)
        big_s = time.perf_counter() - started
        log(f"  embedded: {version:,} events in one stream in {big_s:.1f} s")
        started = time.perf_counter()
        count = 0
        for demo in demo_streams(sizes.store_streams, sizes.store_per_stream, seed=SEED):
            store.append(demo.stream_id, list(demo.events), 0, stream_type=demo.stream_type)
            count += sizes.store_per_stream
        store_s = time.perf_counter() - started
        log(f"  embedded: {sizes.store_streams:,} streams, {count:,} events in {store_s:.1f} s")
        started = time.perf_counter()
        snaps = _take_snapshots(store, stream_id, sizes.snapshot_versions(), log)
        snap_s = time.perf_counter() - started
    finally:
        store.close()
    record = _record(name, stream_id=stream_id, events=sizes.big + count, big_build_s=big_s,
                     store_build_s=store_s, snapshots=snaps, snapshot_build_s=snap_s,
                     bytes=path.stat().st_size, sizes=asdict(sizes))
    return path, record


def embedded_many(streams: int, per_stream: int, log: Log) -> tuple[Path, dict]:
    """One SQLite file of ``streams`` demo streams of ``per_stream`` events (as-of), via ``append``."""
    from store.embedded import EmbeddedStore

    name = f"embedded-many{streams}x{per_stream}"
    path = DATA / f"{name}.sqlite"
    record = built(name)
    if record is not None and path.is_file():
        return path, record
    for leftover in DATA.glob(f"{name}.sqlite*"):
        leftover.unlink()
    DATA.mkdir(parents=True, exist_ok=True)
    store = EmbeddedStore(path)
    try:
        started = time.perf_counter()
        count = 0
        for demo in demo_streams(streams, per_stream, seed=SEED):
            store.append(demo.stream_id, list(demo.events), 0, stream_type=demo.stream_type)
            count += per_stream
        build_s = time.perf_counter() - started
        log(f"  embedded: {streams:,} streams, {count:,} events in {build_s:.1f} s")
    finally:
        store.close()
    return path, _record(name, events=count, streams=streams, build_s=build_s, bytes=path.stat().st_size)


# -- a MongoDB server ----------------------------------------------------------------------------
def native_documents(stream_id: str, kind: str, events: list[NewEvent], after: int) -> list[dict]:
    """Event documents exactly as ``MongoStore.append`` writes them (native layout)."""
    utc = _dt.timezone.utc
    return [
        {"stream_id": stream_id, "stream_type": kind, "version": after + i, "type": e.type,
         "data": dict(e.data), "metadata": dict(e.metadata), "recorded_at": e.time.astimezone(utc)}
        for i, e in enumerate(events, start=1)
    ]


def _bulk_insert(db, streams, log: Log) -> int:
    """Insert streams as events plus their catalogue entries, in large batches.

    The bulk path: on FerretDB v1 every ``append`` scans the events table (about 50 ms per
    append with 1,000 streams), so 100,000 appends would take hours. The documents are the
    ones ``MongoStore.append`` writes; ``MongoStore`` creates the indexes first.
    """
    pending: list[dict] = []
    heads: list[dict] = []
    total = 0
    for stream_id, kind, events in streams:
        version = 0
        first = last = None
        for chunk in _chunks(iter(events), INSERT_BATCH):
            docs = native_documents(stream_id, kind, chunk, version)
            version += len(docs)
            first = first or docs[0]["recorded_at"]
            last = docs[-1]["recorded_at"]
            pending.extend(docs)
            if len(pending) >= INSERT_BATCH:
                db.events.insert_many(pending, ordered=False)
                total += len(pending)
                pending = []
        heads.append({"_id": stream_id, "stream_type": kind, "version": version, "first_time": first, "last_time": last})
        if len(heads) >= INSERT_BATCH:
            db.streams.insert_many(heads, ordered=False)
            heads = []
    if pending:
        db.events.insert_many(pending, ordered=False)
        total += len(pending)
    if heads:
        db.streams.insert_many(heads, ordered=False)
    return total


def server(uri: str, kind: str, sizes: Sizes, log: Log) -> dict[str, dict]:
    """Databases ``bench_big_N`` (the big stream, snapshots) and ``bench_many_SxM`` on the server."""
    from pymongo import MongoClient

    from store.mongo import MongoStore

    client = MongoClient(uri)
    records = {}
    try:
        for role, db_name in (("big", f"bench_big_{sizes.big}"), ("many", f"bench_many_{sizes.many}x{sizes.per_stream}")):
            name = f"server-{kind}-{db_name}"
            record = built(name)
            db = client[db_name]
            if record is not None and db.events.estimated_document_count() > 0:
                records[role] = dict(record, db=db_name)
                continue
            client.drop_database(db_name)
            store = MongoStore(uri, db_name, timeout_s=3600)
            store._ensure_indexes()  # the layout's indexes, as the first append would create them
            started = time.perf_counter()
            if role == "big":
                events = _bulk_insert(db, [big_stream(sizes.big)], log)
            else:
                streams = ((d.stream_id, d.stream_type, d.events)
                           for d in demo_streams(sizes.many, sizes.per_stream, seed=SEED))
                events = _bulk_insert(db, streams, log)
            build_s = time.perf_counter() - started
            log(f"  {kind}: {db_name}: {events:,} events in {build_s:.1f} s ({events / build_s:,.0f} events/s)")
            snaps, snap_s = 0, 0.0
            if role == "big":
                started = time.perf_counter()
                snaps = _take_snapshots(store, big_stream(1)[0], sizes.snapshot_versions(), log)
                snap_s = time.perf_counter() - started
            store.close()
            record = _record(name, stream_id=big_stream(1)[0], events=events, build_s=build_s, snapshots=snaps,
                             snapshot_build_s=snap_s, sizes=asdict(sizes))
            records[role] = dict(record, db=db_name)
    finally:
        client.close()
    return records


# -- the embedded store at scale (issue 16.4) ------------------------------------------------------
BULK_STREAMS = 2_000  # streams per piece of generating work in the bulk build
BULK_TRANSACTION = 10  # pieces per transaction
# The indexes a bulk build makes after the rows (from the schemas of store/embedded.py and store/search_sql.py).
_LATER = ("events_by_time", "events_by_type_time", "events_by_recorded_at")


def _demo_slice(streams: int, per_stream: int, start: int, stop: int):
    """The streams at positions ``start..stop-1`` of ``demo_streams(streams, per_stream, seed=SEED)``, made
    directly: skipping the positions before ``start`` (``islice``) seeds a generator per position skipped,
    which made the bulk build quadratic. Each position's generator is seeded as ``demo_streams`` seeds it;
    ``bench_scale.same_as_append`` checks the result against ``demo_streams`` over several slices."""
    import random

    from model.demo import account_events, user_events

    accounts = streams // 2
    for position in range(start, stop):
        rng = random.Random(f"eventlens-demo:{SEED}:{position}")
        number = position // 2 + 1
        if position % 2 == 0:
            yield f"user-{number}", "user", user_events(number, per_stream, rng, SEED)
        else:
            yield f"account-{number}", "account", account_events(number, per_stream, accounts, rng, SEED)


def _encoded_streams(task: tuple[int, int, int, int]) -> tuple[list, list, list]:
    """Rows of the demo streams ``start..stop-1`` of ``demo_streams(streams, per_stream)``, as ``append`` writes them.

    A plain function of picklable arguments: the bulk build generates and encodes in worker
    processes while the parent only inserts.
    """
    from store.embedded import _encode, to_micros
    from store.search_sql import correlation_key
    from model.trace import CORRELATION_KEYS, first_of

    streams, per_stream, start, stop = task
    events, correlations, heads = [], [], []
    for sid, kind, stream_events in _demo_slice(streams, per_stream, start, stop):
        first = last = None
        version = 0
        for version, e in enumerate(stream_events, start=1):
            micros = to_micros(e.time)
            first = micros if first is None else first
            last = micros
            events.append((sid, version, e.type, _encode(sid, version, "data", e.data),
                           _encode(sid, version, "metadata", e.metadata), micros, kind))
            found = first_of(e.metadata, CORRELATION_KEYS)
            if found is not None:
                correlations.append((correlation_key(found[1]), sid, version))
        heads.append((sid, kind, version, first, last, None))
    return events, correlations, heads


def embedded_bulk(streams: int, per_stream: int, log: Log, *, path: Path | None = None,
                  workers: int = 2) -> tuple[Path, dict]:
    """The file ``embedded_many(streams, per_stream)`` writes, written ``BULK_STREAMS`` streams per transaction.

    The same rows in the same tables (events, streams, correlations, the counts in
    ``eventlens_meta``) as one ``append`` per stream, through the same encoder and the store's own
    schema. Two things differ, and only in how the file is laid out: transactions of
    ``BULK_STREAMS * BULK_TRANSACTION`` streams, and the three secondary indexes of ``events``
    (``_LATER``) dropped while writing and made again at the end, so that they are built by one
    sort instead of ten million inserts at random places (with them in place the rate fell from
    13,000 to 6,000 events/s by the second million). A freshly made index is denser than one
    grown by appends, so lookups in it may be a little quicker than in a store grown over years.
    ``bench/bench_scale.py`` checks that both ways write the same tables and schema on a small set.
    """
    from concurrent.futures import ProcessPoolExecutor

    from store.embedded import _CATALOGUED_EVENTS, _CATALOGUED_STREAMS, EmbeddedStore, _add_to_meta
    from store.natural import natural_key
    from store.search_sql import _INDEXED

    name = f"embedded-bulk{streams}x{per_stream}"
    if path is None:
        path = DATA / f"{name}.sqlite"
        record = built(name)
        if record is not None and path.is_file():
            return path, record
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    store = EmbeddedStore(path)  # a new file: the schema, the search indexes, the correlation counts at 0
    db = store._db
    db.execute("PRAGMA cache_size = -2097152")  # 2 GiB for this connection: fewer spills of the random index pages
    schema = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    for index in _LATER:
        db.execute(f"DROP INDEX {index}")
    started = time.perf_counter()
    count = 0
    tasks = [(streams, per_stream, start, min(start + BULK_STREAMS, streams))
             for start in range(0, streams, BULK_STREAMS)]
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            db.executemany("INSERT OR IGNORE INTO eventlens_meta VALUES (?, '0')",
                           [(_CATALOGUED_EVENTS,), (_CATALOGUED_STREAMS,)])
            for done, (events, correlations, heads) in enumerate(pool.map(_encoded_streams, tasks), start=1):
                if not db.in_transaction:
                    db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO events (stream_id, version, type, data, metadata, recorded_at, "
                               "stream_type) VALUES (?, ?, ?, ?, ?, ?, ?)", events)
                db.executemany("INSERT OR IGNORE INTO correlations VALUES (?, ?, ?)", correlations)
                db.executemany("INSERT INTO streams (stream_id, stream_type, version, first_time, last_time, "
                               "first_version, sort_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(*head, natural_key(head[0])) for head in heads])
                _add_to_meta(db, _CATALOGUED_EVENTS, len(events))
                _add_to_meta(db, _CATALOGUED_STREAMS, len(heads))
                db.execute("UPDATE eventlens_meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?",
                           (len(events), _INDEXED))
                if done % BULK_TRANSACTION == 0 or done == len(tasks):
                    db.execute("COMMIT")
                count += len(events)
                if done % 50 == 0:
                    took = time.perf_counter() - started
                    log(f"  bulk: {count:,} events in {took:.0f} s ({count / took:,.0f} events/s)")
        indexing = time.perf_counter()
        for index in _LATER:
            db.execute(schema[index])
        log(f"  bulk: the indexes {', '.join(_LATER)} made again in {time.perf_counter() - indexing:.0f} s")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        store.close()
    build_s = time.perf_counter() - started
    log(f"  embedded (bulk): {streams:,} streams, {count:,} events in {build_s:.1f} s ({count / build_s:,.0f} events/s)")
    facts = dict(events=count, streams=streams, build_s=build_s, events_per_s=count / build_s,
                 bytes=path.stat().st_size, how=f"bulk, {BULK_STREAMS * BULK_TRANSACTION:,} streams per transaction, "
                 f"secondary indexes made after the rows")
    return path, (_record(name, **facts) if path == DATA / f"{name}.sqlite" else facts)
