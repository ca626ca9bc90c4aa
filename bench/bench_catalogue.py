"""The stream list of a big foreign store (issue 16, point 3): every figure beside its baseline, in one run.

Run: ``bash .ci/setup --bench && python3 bench/bench_catalogue.py [--streams 100000,10000] [--server postgresql]
[--write]``. Builds (once, cached under ``bench/data/``) databases of N streams of 10 events in the
axon preset's exact shape (``domainevents`` with the Axon extension's index), on FerretDB over
PostgreSQL (``bench/servers.py``) or a ``mongodb://`` URI, then measures per scale:

- the first build of the stream list cache against pymongo's ``distinct`` on the same collection
  (goal: ratio >= 0.8), and the stream list built in memory at every open, as before the cache;
- reopening: ``Session.connect`` to the first page of the stream list, from the cache (goal: 200 ms);
- the command line's ``streams --limit 20`` from the cache against the same command on a tiny store
  (10 streams) with its cache (goal: as fast, ratio >= 0.8);
- a refresh after 1,000 new events (new streams and new events of existing ones), and the quick
  look every command makes on open, against the build.

``--write`` puts the figures into their section of ``bench/RESULTS.md``.

On FerretDB v1 over PostgreSQL on two shared cores, the 100,000-stream scale takes about an hour,
nearly all of it in FerretDB's ``distinct`` (two rounds of about 25 minutes: it grows as documents
x streams); loading its 1,000,000 documents takes under two minutes (about 9,000 a second).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402

from bench import datasets  # noqa: E402
from bench.measure import Row  # noqa: E402
from bench.run import load_average, machine, replace_section, table  # noqa: E402
from bench.servers import BenchError, open_server  # noqa: E402

PER_STREAM = 10
TINY = 10
INSERT_BATCH = 5_000
HOME = datasets.DATA / "catalogue-home"
SECTION = "## The stream list of a big foreign store (issue 16.3)"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------------
#: The data set's documents were written one a second from here on (their ObjectIds say so).
WRITTEN_FROM = datetime(2025, 1, 1, tzinfo=timezone.utc)


def written_id(n: int) -> ObjectId:
    """The ObjectId of the data set's ``n``-th document: written ``n`` seconds after WRITTEN_FROM.

    As in a store in use, ``_id``s grow as documents are written and the newest two minutes (the
    refresh's SLACK) hold a hundred or so of them; ids the driver makes while loading would all
    fall within two minutes, and a refresh would read the whole data set again.
    """
    seconds = int(WRITTEN_FROM.timestamp()) + n
    return ObjectId(seconds.to_bytes(4, "big") + n.to_bytes(8, "big"))


def axon_documents(streams: int, per_stream: int, start: int = 0, first_seq: int = 0, *, spread: bool = False):
    """Axon's EventEntry documents (tests/layouts/documents.py), ``per_stream`` per aggregate.

    ``spread``: ``_id``s of a store written over time (:func:`written_id`); else the driver's, now.
    """
    from tests.layouts.documents import axon_entry

    n = 0
    for i in range(start, start + streams):
        kind = "Order" if i % 2 else "Invoice"
        for seq in range(first_seq, first_seq + per_stream):
            doc = axon_entry(f"{kind.lower()}-{i}", kind, seq, i / 10 + seq, f"com.shop.{kind}Changed",
                             {"n": seq, "note": "x" * 40})
            if spread:
                doc = {"_id": written_id(n), **doc}
            n += 1
            yield doc


def insert(collection, documents) -> int:
    batch, total = [], 0
    for doc in documents:
        batch.append(doc)
        if len(batch) >= INSERT_BATCH:
            collection.insert_many(batch, ordered=False)
            total += len(batch)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
        total += len(batch)
    return total


def axon_db(client, kind: str, streams: int) -> str:
    """The database of ``streams`` aggregates of PER_STREAM events, built once (a marker says it is complete)."""
    name = f"bench_axon_{streams}x{PER_STREAM}_spread"
    marker = f"catalogue-{kind}-{name}"
    db = client[name]
    if datasets.built(marker) is not None and db.domainevents.estimated_document_count() == streams * PER_STREAM:
        return name
    client.drop_database(name)
    # the index the Axon MongoDB extension creates before it writes (uniqueAggregateIndex)
    db.domainevents.create_index([("aggregateIdentifier", 1), ("sequenceNumber", 1)], unique=True,
                                 name="uniqueAggregateIndex")
    started = time.perf_counter()
    events = insert(db.domainevents, axon_documents(streams, PER_STREAM, spread=True))
    took = time.perf_counter() - started
    log(f"  {name}: {events:,} events in {took:.0f} s ({events / took:,.0f} documents/s)")
    datasets._record(marker, events=events, build_s=took)
    return name


# -- measurements -----------------------------------------------------------------------------------
def best(fn, repeats: int) -> tuple[float, object]:
    took, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        took.append(time.perf_counter() - started)
    return min(took), value


def median_ms(fn, repeats: int) -> tuple[float, object]:
    took, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), value


def open_axon(uri: str, db: str, **options):
    from store.connect import open_store

    return open_store(uri, db, layout="axon", timeout_s=3600, **options)


def cli_ms(uri: str, db: str, repeats: int) -> float:
    """``python main.py streams --limit 20`` as a user runs it (a fresh process each time), median."""
    env = {**os.environ, "EVENTLENS_HOME": str(HOME)}
    args = [sys.executable, str(ROOT / "main.py"), "streams", "--uri", uri, "--db", db, "--layout", "axon",
            "--limit", "20"]
    took = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
        took.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0 or len(done.stdout.splitlines()) < 2:
            raise BenchError(f"eventlens streams failed: {done.stderr.strip()[-400:]}")
    return statistics.median(took)


class Deferred:
    """The window's background worker, held: connect measures what the window shows first."""

    def __init__(self) -> None:
        self.jobs = []

    def __call__(self, job):
        from ui.session.jobs import Task

        self.jobs.append(job)
        return Task(job.name)


def reopen_ms(uri: str, db: str, repeats: int) -> tuple[float, int, str]:
    """Session.connect to the first page of the stream list and its total, from the cache, median."""
    from ui.session.connection import Connection
    from ui.session.jobs import run_now
    from ui.session.session import Session

    def once():
        session = Session(run_now, background=Deferred())
        session.connect(Connection(uri=uri, db=db, layout="axon", timeout_s=3600))
        rows, total, source = len(session.streams.rows), session.streams.total, session.catalogue
        session.close()
        assert rows == 200 and source is not None and source.ready, (rows, source)
        return total, session

    ms, (total, _) = median_ms(once, repeats)
    return ms, total, ""


def measure_scale(where: str, uri: str, client, kind: str, streams: int, tiny_db: str, repeats: int) -> tuple[list[Row], dict]:
    from store.layout_store import LayoutStore
    from store.layout import load_layout

    db = axon_db(client, kind, streams)
    events = streams * PER_STREAM
    collection = client[db].domainevents
    rows: list[Row] = []
    facts: dict = {"db": db, "events": events}

    log(f"{where}: {streams:,} streams: first build against distinct")
    distinct_runs, build_runs = [], []
    state = None
    for _ in range(2):  # interleaved, best of each: the machine is shared
        started = time.perf_counter()
        found = collection.distinct("aggregateIdentifier")
        distinct_runs.append(time.perf_counter() - started)
        assert len(found) == streams
        with open_axon(uri, db) as store:
            started = time.perf_counter()
            state = store.update_catalogue(full=True)
            build_runs.append(time.perf_counter() - started)
        assert state.ready and state.streams == streams
    distinct_s, build_s = min(distinct_runs), min(build_runs)
    rows.append(Row("16.3", where, f"first build of the stream list cache, {streams:,} streams of {PER_STREAM} "
                    f"({events:,} documents, runs {', '.join(f'{t:.1f}' for t in build_runs)} s)", build_s, "s",
                    distinct_s, "pymongo distinct(aggregateIdentifier), runs "
                    + ", ".join(f"{t:.1f}" for t in distinct_runs) + " s", distinct_s / build_s, ">= 0.8",
                    distinct_s / build_s >= 0.8))

    log(f"{where}: {streams:,} streams: the list built in memory at every open (before the cache)")
    layout = load_layout("axon")
    from store.mongo import _client

    memory = LayoutStore(_client(uri, 3600, {}), db, layout)
    try:
        before_s, page = best(lambda: (memory._entries(), memory.streams(limit=200))[1], 1)
    finally:
        memory.close()
    assert len(page) == 200

    log(f"{where}: {streams:,} streams: reopen to the first page")
    reopen, total, _ = reopen_ms(uri, db, repeats)
    assert total == streams
    rows.append(Row("16.3", where, f"reopen ({streams:,} streams): Session.connect to the first page (200 rows) and "
                    "the total, from the cache (median)", reopen, "ms", before_s * 1000,
                    "the list built in memory at open, as before the cache", before_s * 1000 / reopen, "<= 200 ms",
                    reopen <= 200))
    with open_axon(uri, db) as store:
        page_ms, page = median_ms(lambda: store.streams(limit=200), repeats)
        count_ms, count = median_ms(lambda: store.count_streams(), repeats)
        match_ms, _ = median_ms(lambda: store.streams(match="77", limit=200), repeats)
        sort_ms, _ = median_ms(lambda: store.streams(sort="last_time", descending=True, limit=200), repeats)
    assert count == streams and len(page) == 200
    rows.append(Row("16.3", where, f"store.streams(limit=200) from the cache, {streams:,} streams (median; "
                    f"count_streams {count_ms:.1f} ms, id substring '77' {match_ms:.1f} ms, by last time "
                    f"descending {sort_ms:.1f} ms)", page_ms, "ms"))

    log(f"{where}: {streams:,} streams: the command line from the cache")
    cli_big = cli_ms(uri, db, repeats)
    cli_tiny = cli_ms(uri, tiny_db, repeats)
    rows.append(Row("16.3", where, f"CLI `streams --limit 20` from the cache, {streams:,} streams (a fresh process, "
                    "median)", cli_big, "ms", cli_tiny, f"the same on a tiny store ({TINY} streams) from its cache",
                    cli_tiny / cli_big, ">= 0.8 (as fast)", cli_tiny / cli_big >= 0.8))

    log(f"{where}: {streams:,} streams: quick look and refresh after 1,000 new events")
    with open_axon(uri, db) as store:
        quick_ms, _ = median_ms(lambda: store.update_catalogue(quick=True), repeats)
        exact = store._listing.metadata_counts()
    how = "counts from metadata" if exact else "FerretDB: nothing cheap to ask, so it reads nothing and the list keeps its age"
    rows.append(Row("16.3", where, f"the quick look every command makes on open, nothing new ({streams:,} streams; "
                    f"{how})", quick_ms, "ms"))
    added = insert(collection, axon_documents(100, 5, start=0, first_seq=PER_STREAM))  # more events, 100 streams
    added += insert(collection, axon_documents(100, 5, start=streams))  # 100 new streams
    try:
        with open_axon(uri, db) as store:
            started = time.perf_counter()
            refreshed = store.update_catalogue()
            refresh_s = time.perf_counter() - started
            assert refreshed.built_at == state.built_at and store.count_streams() == streams + 100, refreshed
            assert store.stream("invoice-0").events == PER_STREAM + 5
    finally:
        collection.delete_many({"$or": [{"sequenceNumber": {"$gte": PER_STREAM}},
                                        {"aggregateIdentifier": {"$in": [f"{'order' if i % 2 else 'invoice'}-{i}"
                                                                         for i in range(streams, streams + 100)]}}]})
    rows.append(Row("16.3", where, f"refresh after {added:,} new events (100 new streams, 100 streams longer), "
                    f"{streams:,} streams", refresh_s, "s", build_s, "the first build", build_s / refresh_s))
    facts.update(build_s=build_s, distinct_s=distinct_s, before_s=before_s, reopen_ms=reopen, cli_ms=cli_big,
                 refresh_s=refresh_s)
    with open_axon(uri, db) as store:
        state = store.catalogue()
        facts["index_pages"] = state.index_pages
    return rows, facts


def index_row(where: str, uri: str, db: str) -> Row:
    """Whether the first page before any cache comes from the stream-id index (MongoDB) or waits (FerretDB)."""
    shutil.rmtree(HOME, ignore_errors=True)
    from store.catalogue_sync import IndexPages

    with open_axon(uri, db) as store:
        pages = IndexPages(store)
        if not pages.available:
            return Row("16.3", where, f"first page with no cache yet, from the stream-id index: not measured "
                       f"here: {pages.reason}; the first page waits for the build (on MongoDB it comes from the "
                       "index: implemented, measured only where the server walks it)", None, "",
                       goal="<= 200 ms (MongoDB)")
        ms, page = median_ms(lambda: store.streams(limit=200), 3)
        count_ms, _ = median_ms(lambda: store.count_streams(), 1)
    return Row("16.3", where, f"first page with no cache yet, from the stream-id index ({len(page)} rows; the total "
               f"counted after it, {count_ms:.0f} ms)", ms, "ms", goal="<= 200 ms", met=ms <= 200)


def write_section(text: str, path: Path) -> None:
    replace_section(path, SECTION, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="100000,10000", help="scales, in streams of 10 events")
    parser.add_argument("--server", default="postgresql", help="postgresql (default), sqlite, or a mongodb:// URI")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="put the figures into bench/RESULTS.md")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.streams.split(",")]
    os.environ["EVENTLENS_HOME"] = str(HOME)
    from pymongo import MongoClient

    started = time.perf_counter()
    facts = {"machine": machine(), "load_before": load_average(),
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    server = open_server(args.server, datasets.DATA / f"server-{args.server}")
    rows: list[Row] = []
    per_scale = {}
    try:
        where = server.describe()
        client = MongoClient(server.uri)
        kind = args.server if "://" not in args.server else "uri"
        tiny = axon_db(client, kind, TINY)
        shutil.rmtree(HOME, ignore_errors=True)
        with open_axon(server.uri, tiny) as store:
            store.update_catalogue()
        for streams in scales:
            found, per_scale[streams] = measure_scale(where, server.uri, client, kind, streams, tiny, args.repeats)
            rows += found
        rows.append(index_row(where, server.uri, axon_db(client, kind, scales[0])))
        client.close()
    finally:
        server.stop()
    if len(scales) > 1:
        big, small = max(scales), min(scales)
        b, s = per_scale[big], per_scale[small]
        growth = (f"From {small:,} to {big:,} streams (x{big / small:.0f}): the first build x{b['build_s'] / s['build_s']:.1f}, "
                  f"distinct x{b['distinct_s'] / s['distinct_s']:.1f}, the list built in memory at open "
                  f"x{b['before_s'] / s['before_s']:.1f}; reopen to the first page x{b['reopen_ms'] / s['reopen_ms']:.2f}, "
                  f"the CLI from the cache x{b['cli_ms'] / s['cli_ms']:.2f}, a refresh of 1,000 new events "
                  f"x{b['refresh_s'] / s['refresh_s']:.1f}.")
    else:
        growth = ""
    seconds = time.perf_counter() - started
    command = "python3 bench/bench_catalogue.py " + " ".join(argv if argv is not None else sys.argv[1:])
    about = "\n".join(f"- {k}: {v}" for k, v in facts["machine"].items())
    text = f"""{SECTION}

Produced by `{command.strip()}` on {facts['date']} in {seconds:.0f} s, against {where}; load average
{facts['load_before']} at the start and {load_average()} at the end (a shared 2-core machine: the ratios,
taken within the run, are steadier than the times). Data: N streams of {PER_STREAM} events in the axon
preset's exact shape (`tests/layouts/documents.axon_entry`, the `uniqueAggregateIndex` the Axon extension
creates), inserted once into `bench_axon_Nx{PER_STREAM}_spread`, their `_id`s those of a store written
one document a second (`written_id`), so that a refresh's two-minute window holds the newest 120 or so.

There is no MongoDB server on this machine, only FerretDB v1, which scans its table for every
query (`explain` says `Seq Scan`, `filterPushdown: false`, even for a range of `_id`s). So the goal
"on MongoDB the very first page comes from an index within 200 ms" is implemented
(`store/catalogue_sync.IndexPages`, chosen when `explain` says the server walks the stream-id index)
but not measured here: on FerretDB the first page waits for the build, and the first build is
measured as a ratio to `distinct` instead, as the issue asks. That baseline is weak at scale:
FerretDB v1 collects distinct values in an array it searches linearly for every document
(`internal/handler/common/distinct.go`, `FilterDistinctValues`), so `distinct` grows as
documents x streams, while the build grows with the documents; the ratio at the smaller scale is
the fairer one. For the same reason a refresh
costs more than a build here: it counts the collection's documents exactly (a full read on
FerretDB, whose `$collStats` only estimates) and then reads the stretch of new `_id`s (another
full read, filtered by FerretDB after it), where the build reads once; on MongoDB both come from
the `_id` index and the metadata.

{about}

{table(rows)}

{growth}
"""
    print(text)
    if args.write:
        write_section(text, ROOT / "bench" / "RESULTS.md")
        log("wrote its section of bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
