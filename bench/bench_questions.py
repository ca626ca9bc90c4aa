"""Questions across streams (issue 14): search, as-of, trace, each beside a baseline in the same run.

Run: ``python bench/bench_questions.py [--server-streams N] [--server none]``; prints a table and
writes the section "Questions across streams" of ``bench/RESULTS.md`` (the rest of the file is
left as ``bench/run.py`` wrote it). Data sets come from ``bench/datasets.py`` (cached in
``bench/data/``): the 3,000,000-event embedded store, 100,000 streams of 10 events in an embedded
store, and on FerretDB with PostgreSQL (``bench/servers.py``) ``--server-streams`` streams of 10
events (default 20,000: the full 100,000 take FerretDB v1 about half an hour to load).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets  # noqa: E402
from bench.measure import Row  # noqa: E402
from bench.run import FULL, RESULTS, load_average, machine, replace_section, table  # noqa: E402

SECTION = "## Questions across streams (issue 14)"
SEARCH = {"types": ("FundsWithdrawn",), "where": {"data.amount": {"$gt": 20000}}}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(fn, repeats: int = 5) -> tuple[float, object]:
    """The median time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def alternated(ours, theirs, rounds: int = 3):
    """Median times of two calls made in turn, ``rounds`` times each, and their last results."""
    times: tuple[list[float], list[float]] = ([], [])
    results = [None, None]
    for _ in range(rounds):
        for i, fn in enumerate((ours, theirs)):
            started = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - started)
    return (statistics.median(times[0]), results[0]), (statistics.median(times[1]), results[1])


# -- search on the embedded store ------------------------------------------------------------------
def embedded_search(path: Path) -> list[Row]:
    import sqlite3

    import bson

    from model.search import Search
    from store.embedded import EmbeddedStore

    where = "embedded (SQLite)"
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    from store.search_sql import CORRELATIONS_FORMAT

    had = db.execute("SELECT value FROM eventlens_meta WHERE key = 'correlations'").fetchone() == (CORRELATIONS_FORMAT,)
    db.close()
    started = time.perf_counter()
    EmbeddedStore(path).close()  # a writable opening builds what an older file lacks (once)
    built = time.perf_counter() - started
    store = EmbeddedStore(path, read_only=True)
    query = Search(**SEARCH).query()
    first, page = timed(lambda: store.search(query, limit=100))
    total_s, total = timed(lambda: store.count_events(query), repeats=3)
    store.close()

    def naive() -> int:  # the plain way: every event of the type, decoded and compared in Python
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        found = sum(1 for (blob,) in db.execute("SELECT data FROM events WHERE type = ?", ("FundsWithdrawn",))
                    if (bson.decode(blob).get("amount") or 0) > 20000)
        db.close()
        return found

    naive_s, naive_total = timed(naive, repeats=1)
    assert naive_total == total, (naive_total, total)
    return [
        Row("S", where, f"search: type FundsWithdrawn and data.amount > 20000 over 3,000,000 events: first page "
            f"({len(page.events)} events)", first * 1000, "ms", goal="<= 200 ms", met=first <= 0.2),
        Row("S", where, f"search: the full count ({total:,} events)", total_s, "s", naive_s,
            "sqlite3 SELECT by type + bson.decode + compare in Python", naive_s / total_s, "<= 2 s", total_s <= 2),
        Row("S", where, "writable opening of the file: " + ("its search indexes and correlations table were built "
            "by an earlier run" if had else "builds the correlations table (and the search indexes, where missing; once, "
            "for a file written before them)"), built, "s"),
    ]


# -- search on FerretDB ----------------------------------------------------------------------------
def server_search(streams: int) -> tuple[list[Row], str]:
    from pymongo import ASCENDING, MongoClient

    from bench.servers import open_server
    from model.demo import demo_streams
    from model.search import Search
    from store.mongo import MongoStore
    from store.search import native_filter

    server = open_server("postgresql", datasets.DATA / "server-postgresql")
    try:
        where = server.describe()
        db_name = f"bench_questions_{streams}x10"
        name = f"server-postgresql-{db_name}"
        client = MongoClient(server.uri)
        if datasets.built(name) is None or client[db_name].events.estimated_document_count() == 0:
            client.drop_database(db_name)
            MongoStore(server.uri, db_name, timeout_s=3600)._ensure_indexes()
            started = time.perf_counter()
            rows = ((d.stream_id, d.stream_type, d.events) for d in demo_streams(streams, 10, seed=datasets.SEED))
            events = datasets._bulk_insert(client[db_name], rows, log)
            datasets._record(name, events=events, build_s=time.perf_counter() - started)
            log(f"  {where}: {events:,} events in {time.perf_counter() - started:.0f} s")
        events = client[db_name].events.estimated_document_count()
        store = MongoStore(server.uri, db_name, timeout_s=3600, read_only=True)
        query = Search(**SEARCH).query()
        server_filter = native_filter(query)
        keys = [("recorded_at", ASCENDING), ("stream_id", ASCENDING), ("version", ASCENDING)]
        collection = client[db_name].events
        # alternated, round by round, so that the server's other load falls on both alike
        (ours, page), (theirs, docs) = alternated(lambda: store.search(query, limit=100),
                                                  lambda: list(collection.find(server_filter).sort(keys).limit(100)))
        assert [(e.stream_id, e.version) for e in page.events] == [(d["stream_id"], d["version"]) for d in docs]
        (count_ours, total), (count_theirs, _) = alternated(lambda: store.count_events(query),
                                                            lambda: collection.count_documents(server_filter))
        store.close()
        client.close()
        scale = f"{events:,} events ({streams:,} streams of 10, a reduced scale)"
        return [
            Row("S", where, f"search, first page of 100 sorted by time, over {scale}", ours * 1000, "ms",
                theirs * 1000, "pymongo find(same filter).sort(same keys).limit(100)", theirs / ours, ">= 0.8",
                theirs / ours >= 0.8),
            Row("S", where, f"search, the full count ({total:,} events)", count_ours * 1000, "ms", count_theirs * 1000,
                "pymongo count_documents(same filter)", count_theirs / count_ours, ">= 0.8",
                count_theirs / count_ours >= 0.8),
        ], where
    finally:
        server.stop()


# -- as of ------------------------------------------------------------------------------------------
def as_of_run(path: str, mode: str, match: str = "") -> dict:
    """One as-of at the end of every stream (or those ``match`` names) in this process (``mode``:
    parallel or sequential); JSON facts. bench_scale.py runs it too."""
    import resource

    from ui.session.asof import AsOf, AsOfResults, InlineExecutor, Source, process_pool
    from ui.session.connection import Connection

    connection = Connection(uri=path, read_only=True)
    store = connection.open()
    executor = InlineExecutor() if mode == "sequential" else process_pool()
    started = time.perf_counter()
    results = AsOfResults(store, Source(connection), AsOf(None, stream=match or None, reducer_path=str(ROOT / "resources/reducers/demo.py")),
                          executor=executor)
    results.start()
    elapsed = time.perf_counter() - started
    executor.shutdown()
    store.close()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # VmHWM is this process's own peak (ru_maxrss carries the forking parent's over exec)
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    return {"mode": mode, "seconds": elapsed, "rows": len(results.rows), "error": results.error,
            "workers": os.cpu_count(), "peak_mib": peak / 1024, "worker_peak_mib": children.ru_maxrss / 1024,
            "cpu_s": own.ru_utime + own.ru_stime, "worker_cpu_s": children.ru_utime + children.ru_stime,
            "balance_sum": sum(r.state.get("balance", 0) for r in results.rows)}


def as_of(path: Path, rounds: int = 2) -> list[Row]:
    """Each mode in a fresh process, in turn, ``rounds`` times; the fastest of each (the machine is shared)."""
    runs: dict[str, list[dict]] = {"sequential": [], "parallel": []}
    for _ in range(rounds):
        for mode in ("sequential", "parallel"):
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--as-of-run", str(path), mode],
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
            log(f"  as-of {mode}: {runs[mode][-1]}")
    seq, par = (min(runs[m], key=lambda r: r["seconds"]) for m in ("sequential", "parallel"))
    assert seq["rows"] == par["rows"] == 100_000 and seq["balance_sum"] == par["balance_sum"], (seq, par)
    where = "embedded (SQLite)"
    ratio = seq["seconds"] / par["seconds"]
    return [
        Row("A", where, f"as-of latest over 100,000 streams of 10 events, {par['workers']} processes (demo reducer; "
            f"fastest of {rounds} runs in turn, each in a fresh process)",
            par["seconds"], "s", seq["seconds"], "the same folds one after another in one process", ratio,
            "<= 15 s and ratio >= 1.6", par["seconds"] <= 15 and ratio >= 1.6),
        Row("A", where, f"as-of: peak memory, the session's process (100,000 rows kept) / each worker "
            f"(sequential run: {seq['peak_mib']:.0f} MiB)", par["peak_mib"], f"MiB / {par['worker_peak_mib']:.0f} MiB"),
        Row("A", where, f"as-of: CPU time, workers / the session's process (sequential: {seq['cpu_s']:.1f} s)",
            par["worker_cpu_s"], f"s / {par['cpu_s']:.1f} s"),
    ]


# -- trace ------------------------------------------------------------------------------------------
def trace(path: Path) -> list[Row]:
    import sqlite3

    import bson

    from store.embedded import EmbeddedStore
    from ui.session.trace import trace as trace_of

    store = EmbeddedStore(path, read_only=True)
    stream_id, version = store._query("SELECT stream_id, version FROM events WHERE type = 'TransferSent' "
                                      "ORDER BY stream_id LIMIT 1 OFFSET 20000")[0]
    seconds, found = timed(lambda: trace_of(store, stream_id, version), repeats=21)
    store.close()
    correlation = found.correlation_id

    def scan() -> int:  # without the table: every event's metadata, in SQL order
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        n = sum(1 for (blob,) in db.execute("SELECT metadata FROM events")
                if bson.decode(blob).get("correlation_id") == correlation)
        db.close()
        return n

    scan_s, scanned = timed(scan, repeats=1)
    assert scanned == len(found.nodes()), (scanned, len(found.nodes()))
    return [Row("T", "embedded (SQLite)", f"trace among 3,000,000 events ({len(found.nodes())} correlated, median "
                "of 21)", seconds * 1000, "ms", scan_s * 1000, "scan of every event's metadata", scan_s / seconds,
                "<= 100 ms", seconds <= 0.1)]


# -- output -----------------------------------------------------------------------------------------
def write_section(rows: list[Row], facts: dict, command: str) -> None:
    about = "\n".join(f"- {k}: {v}" for k, v in facts["machine"].items())
    body = f"""{SECTION}

Produced by `{command}` on {facts['date']} in {facts['seconds']:.0f} s (load average {facts['load_before']} at the
start, {facts['load_after']} at the end: the two cores were shared with other work). Letters: S search, A as-of,
T trace. **ratio** is baseline time / our time.

{about}
- Servers: {', '.join(facts['servers'])}

{table(rows)}
"""
    replace_section(RESULTS, SECTION, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql", help="postgresql (default) or none")
    parser.add_argument("--server-streams", type=int, default=20_000)
    parser.add_argument("--steps", default="S,T,A,F", help="S search, T trace, A as-of, F FerretDB (default: all)")
    parser.add_argument("--as-of-run", nargs=2, metavar=("FILE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_of_run:
        print(json.dumps(as_of_run(*args.as_of_run)))
        return 0
    started = time.perf_counter()
    facts = {"machine": machine(), "load_before": load_average(), "servers": ["embedded store (SQLite "
             + __import__("sqlite3").sqlite_version + ")"], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    big, _ = datasets.embedded(FULL, log)
    many, _ = datasets.embedded_many(100_000, 10, log)
    steps = set(args.steps.split(","))
    rows: list[Row] = []
    if "S" in steps:
        log("search on the embedded store")
        rows += embedded_search(big)
    if "T" in steps:
        log("trace on the embedded store")
        rows += trace(big)
    if "A" in steps:
        log("as-of on the embedded store")
        rows += as_of(many)
    if args.server != "none" and "F" in steps:
        log("search on FerretDB")
        try:
            server_rows, where = server_search(args.server_streams)
            rows += server_rows
            facts["servers"].append(where)
        except Exception as error:  # noqa: BLE001 - the embedded figures still stand
            log(f"server: {error}")
            facts["servers"].append(f"FerretDB not measured: {error}")
    facts.update(seconds=time.perf_counter() - started, load_after=load_average())
    print(table(rows))
    command = ("python bench/bench_questions.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    write_section(rows, facts, command)
    log(f"wrote the section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
