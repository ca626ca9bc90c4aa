"""The embedded store at 10,000,000 events (issue 16.4): the stream list, search and as-of at 1M and 10M.

Run: ``python bench/bench_scale.py [--write] [--steps L,S,A] [--as-of-all 1M,10M] [--render]``; prints a table and,
with ``--write``, puts it in the section "The embedded store at 10,000,000 events (issue 16.4)" of
``bench/RESULTS.md`` (the rest of the file is left alone).

The shape: many short streams, 100,000 streams of 10 demo events (1,000,000 events) and 1,000,000
streams of 10 (10,000,000 events), half users and half bank accounts from ``model/demo.py``.
That is how event-sourced systems grow in practice: by more aggregates (orders, accounts,
users), each short, rather than by longer streams (issue 5 measured one 1,000,000-event stream).
It is also the hard case for the questions measured here: the stream catalogue grows tenfold
with the events, and as-of folds one stream per stream.

The data sets are built once and cached in ``bench/data/``. The 1M set is written once through
``EmbeddedStore.append`` (one transaction per stream, as a user's tool would), which gives the
build rate; both measured files are then written by ``datasets.embedded_bulk``: the same rows
through the same encoder, 20,000 streams per transaction with the secondary indexes of ``events``
made after the rows (see its docstring), because one append per stream would take hours for 10M. That both ways write the same table contents is
checked at the start of every run on a small set (row B).

Every figure stands beside a baseline measured in the same run, mostly a plain sqlite3 query
doing the same work on its own connection (with the store's cache and mmap settings), taken in
turn with ours so that the machine's other load falls on both; the growth 1M to 10M is given for
ours and the baseline. The files are read once before measuring (the page cache is warm, as it
is for a store in use). As-of runs in a fresh process per run, as ``bench_questions.py`` does.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets  # noqa: E402
from bench.bench_questions import as_of_run  # noqa: E402 (one as-of run, as bench_questions measures it)
from bench.run import RESULTS, _num, load_average, machine, replace_section  # noqa: E402

SECTION = "## The embedded store at 10,000,000 events (issue 16.4)"
SHAPES = {"1M": (100_000, 10), "10M": (1_000_000, 10)}
SELECTIVE = {"types": ("FundsDeposited",), "where": {"data.amount": {"$gte": 49_900}}}
BROAD = {"where": {"metadata.user": "alice"}}
GLOB = "account-1*"  # a glob with a literal prefix: a range of the catalogue, then the pattern
SUBSET = "account-1????"  # 10,000 streams at both sizes (account-10000 .. account-19999)
TENTH = "account-1*"  # a tenth of the accounts: 11,111 streams at 1M, 111,111 at 10M
# The fix this benchmark led to, with its before and after (measured by hand on the same files, see the commit).
FIX_NOTE = """- The fix this benchmark led to (commit "the type index carries the head"): a count of a type's
  streams, and any page of a type's list, read `streams_by_type (stream_type, stream_id)` and then
  each stream's row for its head (`version > 0`); the index is now `streams_by_type_head (stream_type,
  stream_id, version)`, which answers them alone. Before / after, by hand on the same files: at 1M,
  `count_streams(type='account')` 52.3 ms / 14.4 ms and the middle page of the type 191 ms / 29 ms
  (through the store, with the machine loaded); at 10M, the same queries forced onto each index
  175.8 ms / 34.4 ms and 79.6 ms / 15.4 ms. A writable opening makes the new index (0.2 s at 10M).
"""
LAST = ROOT / "bench" / "data" / "scale-last.json"
COLUMNS = "stream_id, stream_type, version, first_time, last_time, first_version"


def log(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, file=sys.stderr, flush=True)


@dataclass
class Figure:
    """One measurement at one size: ours and its baseline (seconds), and what the baseline was."""

    what: str
    ours: float
    base: float | None = None
    base_what: str = ""
    note: str = ""


def alternated(ours, theirs, rounds: int):
    """Median seconds of two calls made in turn ``rounds`` times, and their last results."""
    times: tuple[list[float], list[float]] = ([], [])
    results = [None, None]
    for _ in range(rounds):
        for i, fn in enumerate((ours, theirs)):
            if fn is None:
                continue
            started = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - started)
    return (statistics.median(times[0]), results[0]), (statistics.median(times[1]) if times[1] else None, results[1])


def plain(path: Path) -> sqlite3.Connection:
    """The baseline's connection: plain sqlite3, read-only, the store's cache and mmap sizes."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.execute("PRAGMA mmap_size = 1073741824")
    db.execute("PRAGMA cache_size = -65536")
    return db


def warm(path: Path) -> float:
    """Read the file once (the page cache then holds it, as it does for a store in use)."""
    started = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    return time.perf_counter() - started


# -- B. the data sets ------------------------------------------------------------------------------
def same_as_append(streams: int = 5_000) -> bool:
    """The bulk build and one append per stream write the same tables (a small set, in a temporary folder)."""
    from model.demo import demo_streams
    from store.embedded import EmbeddedStore

    folder = Path(tempfile.mkdtemp(prefix="eventlens-bench-"))
    store = EmbeddedStore(folder / "append.sqlite")
    for demo in demo_streams(streams, 10, seed=datasets.SEED):
        store.append(demo.stream_id, list(demo.events), 0, stream_type=demo.stream_type)
    store.close()
    datasets.embedded_bulk(streams, 10, lambda _: None, path=folder / "bulk.sqlite")

    def dump(path: Path) -> dict:
        db = sqlite3.connect(path)
        out = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall())
               for t in ("events", "streams", "correlations", "eventlens_meta")}
        out["schema"] = sorted(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=repr)
        db.close()
        return out

    same = dump(folder / "append.sqlite") == dump(folder / "bulk.sqlite")
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    return same


# -- L. the stream list ------------------------------------------------------------------------------
def stream_list(path: Path, streams: int) -> dict[str, Figure]:
    from store.embedded import EmbeddedStore
    from ui.session.streams import every_stream

    out: dict[str, Figure] = {}
    db = plain(path)
    q = lambda sql, *p: db.execute(sql, p).fetchall()  # noqa: E731

    def opened():
        EmbeddedStore(path, read_only=True).close()

    def plain_open():
        c = plain(path)
        c.execute(f"SELECT {COLUMNS} FROM streams ORDER BY stream_id LIMIT 100").fetchall()
        c.close()

    (ours, _), (base, _) = alternated(opened, plain_open, 3)
    out["open"] = Figure("open the file read-only (EmbeddedStore(...), which checks the catalogue against the events)",
                         ours, base, "sqlite3 connect + first page")
    store = EmbeddedStore(path, read_only=True)
    try:
        middle = streams // 2
        middle_id = store.streams(offset=middle, limit=1)[0].stream_id
        prefix_range = "stream_id >= 'account-1' AND stream_id < 'account-2' AND stream_id GLOB ?"
        cases = [
            ("first", "first page (100 by id)", lambda: store.streams(limit=100),
             lambda: q(f"SELECT {COLUMNS} FROM streams ORDER BY stream_id LIMIT 100"), "the same SELECT"),
            ("count", "count_streams()", lambda: store.count_streams(),
             lambda: q("SELECT count(*) FROM streams"), "SELECT count(*) FROM streams"),
            ("types", "stream_types()", lambda: store.stream_types(),
             lambda: q("SELECT DISTINCT stream_type FROM streams ORDER BY stream_type"), "the same SELECT DISTINCT"),
            ("last", "page sorted by last change, newest first", lambda: store.streams(sort="last_time", descending=True),
             lambda: q(f"SELECT {COLUMNS} FROM streams ORDER BY last_time DESC, stream_id DESC LIMIT 100"),
             "the same SELECT"),
            ("events", "page sorted by event count, most first", lambda: store.streams(sort="events", descending=True),
             lambda: q(f"SELECT {COLUMNS} FROM streams ORDER BY version DESC, stream_id DESC LIMIT 100"),
             "the same SELECT"),
            ("deep", "a page in the middle (offset = half the streams)", lambda: store.streams(offset=middle),
             lambda: q(f"SELECT {COLUMNS} FROM streams ORDER BY stream_id LIMIT 100 OFFSET ?", middle),
             "the same SELECT ... OFFSET"),
            ("deep_after", "a page in the middle by key (after= the id at half the streams)",
             lambda: store.streams(after=middle_id), lambda: q(f"SELECT {COLUMNS} FROM streams WHERE stream_id > ? "
                                                               "ORDER BY stream_id LIMIT 100", middle_id),
             "the same SELECT ... WHERE stream_id > ?"),
            ("type", "type filter 'account', first page", lambda: store.streams(type="account"),
             lambda: q(f"SELECT {COLUMNS} FROM streams WHERE stream_type = 'account' ORDER BY stream_id LIMIT 100"),
             "the same SELECT"),
            ("type_count", "count_streams(type='account')", lambda: store.count_streams(type="account"),
             lambda: q("SELECT count(*) FROM streams WHERE stream_type = 'account'"), "the same SELECT count(*)"),
            ("glob", f"glob '{GLOB}', first page", lambda: store.streams(match=GLOB),
             lambda: q(f"SELECT {COLUMNS} FROM streams WHERE {prefix_range} ORDER BY stream_id LIMIT 100", GLOB),
             "SQLite's own GLOB on the prefix range"),
            ("glob_count", f"count_streams(match='{GLOB}')", lambda: store.count_streams(match=GLOB),
             lambda: q(f"SELECT count(*) FROM streams WHERE {prefix_range}", GLOB), "SQLite's own GLOB on the prefix range"),
        ]
        for key, what, ours_fn, base_fn, base_what in cases:
            (ours, got), (base, want) = alternated(ours_fn, base_fn, 5)
            size = got if isinstance(got, int) else len(got)
            size_b = want[0][0] if isinstance(got, int) else len(want)
            assert size == size_b, (key, size, size_b)
            note = f" = {got:,}" if isinstance(got, int) else ""
            out[key] = Figure(what + note, ours, base, base_what)
        log("  every stream id, as as-of lists them")

        def keyset() -> int:
            n, after = 0, ""
            while rows := q("SELECT stream_id FROM streams WHERE stream_id > ? ORDER BY stream_id LIMIT 5000", after):
                n += len(rows)
                after = rows[-1][0]
            return n

        (ours, n), (base, m) = alternated(lambda: sum(1 for _ in every_stream(store, page_size=5000)), keyset, 1)
        assert n == m == streams, (n, m)
        out["every"] = Figure("every stream, pages of 5,000 (ui.session.streams.every_stream: keyset pages "
                              "since cd2a691; as-of lists its streams so)", ours, base, "keyset pages (stream_id > last)")
    finally:
        store.close()
        db.close()
    return out


# -- S. search -------------------------------------------------------------------------------------
def search(path: Path, events: int) -> dict[str, Figure]:
    import bson

    from model.search import Search
    from store.embedded import EmbeddedStore

    out: dict[str, Figure] = {}
    store = EmbeddedStore(path, read_only=True)
    db = plain(path)

    def first_plain(sql: str, params: tuple, test) -> list:
        found = []
        for row in db.execute(sql, params):
            if test(row[1]):
                found.append(row[0])
                if len(found) == 100:
                    break
        return found

    def count_plain(sql: str, params: tuple, test) -> int:
        return sum(1 for (blob,) in db.execute(sql, params) if test(blob))

    selective = lambda blob: (bson.decode(blob).get("amount") or 0) >= 49_900  # noqa: E731
    broad = lambda blob: bson.decode(blob).get("user") == "alice"  # noqa: E731
    cases = [
        ("sel", "selective: FundsDeposited and data.amount >= 49900", SELECTIVE,
         "SELECT stream_id, data FROM events WHERE type = 'FundsDeposited' ORDER BY recorded_at, stream_id, version",
         "SELECT data FROM events WHERE type = 'FundsDeposited'", selective, "by type"),
        ("broad", "broad: metadata.user = 'alice' (every event's metadata)", BROAD,
         "SELECT stream_id, metadata FROM events ORDER BY recorded_at, stream_id, version",
         "SELECT metadata FROM events", broad, "every event"),
    ]
    try:
        for key, what, spec, first_sql, count_sql, test, scope in cases:
            query = Search(**spec).query()
            (ours, page), (base, plain_page) = alternated(lambda: store.search(query, limit=100),
                                                          lambda: first_plain(first_sql, (), test), 5)
            assert [e.stream_id for e in page.events] == plain_page, key
            out[f"{key}_first"] = Figure(f"search {what}: first page of 100 by time", ours, base,
                                         f"sqlite3 SELECT {scope} in time order + bson.decode + compare, until 100")
            rounds = 3 if events <= 1_000_000 else 1
            (ours, total), (base, plain_total) = alternated(lambda: store.count_events(query),
                                                            lambda: count_plain(count_sql, (), test), rounds)
            assert total == plain_total, (key, total, plain_total)
            out[f"{key}_count"] = Figure(f"search {what}: the full count = {total:,}", ours, base,
                                         f"sqlite3 SELECT {scope} + bson.decode + compare in Python")
    finally:
        store.close()
        db.close()
    return out


# -- A. as of --------------------------------------------------------------------------------------
def as_of(path: Path, match: str, expected: int) -> tuple[Figure, dict]:
    """Parallel, then sequential, each in a fresh process; the parallel run beside the sequential one."""
    runs = {}
    for mode in ("parallel", "sequential"):
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--as-of-run", str(path), mode, match],
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"as-of {mode} failed: {done.stderr.strip()[-800:]}")
        runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"  as-of {match or 'every stream'} {mode}: {runs[mode]}")
    par, seq = runs["parallel"], runs["sequential"]
    assert par["rows"] == seq["rows"] == expected and par["balance_sum"] == seq["balance_sum"] and not par["error"], runs
    scope = f"streams matching '{match}' ({expected:,})" if match else f"every stream ({expected:,})"
    return (Figure(f"as-of latest over {scope}, {os.cpu_count()} processes (demo reducer)", par["seconds"],
                   seq["seconds"], "the same folds one after another in one process",
                   f"peak {par['peak_mib']:.0f} MiB in the session's process"), runs)


# -- goals -----------------------------------------------------------------------------------------
FAST = 0.2  # seconds: what a page may take at 10M
LINEAR = 11.0  # growth of a cost that must scan: tenfold, with a tenth for the noise of a shared machine
FLAT = 2.0  # growth of a first page: "well below 10x"


def goal(key: str, small: Figure, big: Figure) -> tuple[str, bool | None]:
    growth = big.ours / small.ours if small.ours else float("inf")
    if key in ("first", "last", "events", "type", "glob", "sel_first", "broad_first", "types"):
        return (f"<= 200 ms at 10M, growth <= {FLAT:g}x", big.ours <= FAST and growth <= FLAT)
    if key == "deep":
        return ("<= 200 ms at 10M, growth linear at most", big.ours <= FAST and growth <= LINEAR)
    if key == "open":
        return ("<= 1 s at 10M, growth linear at most", big.ours <= 1.0 and growth <= LINEAR)
    if key in ("count", "type_count", "glob_count"):
        return ("<= 1 s at 10M, growth linear at most", big.ours <= 1.0 and growth <= LINEAR)
    if key in ("sel_count", "broad_count"):
        return ("growth linear at most, not slower than the baseline",
                growth <= LINEAR and big.base is not None and big.ours <= big.base)
    if key == "every":
        return ("growth linear at most", growth <= LINEAR)
    if key == "asof_subset":
        return ("<= 5 s at 10M, growth <= 2x (the same 10,000 streams)", big.ours <= 5 and growth <= FLAT)
    if key == "asof_tenth":
        return ("growth linear at most (ten times the streams)", growth <= LINEAR)
    if key == "asof_all":
        return ("<= 150 s at 10M (issue 14's 15 s per 100,000 streams), growth linear at most",
                big.ours <= 150 and growth <= LINEAR)
    return "", None


# What stands behind each goal not met: the cause, and what would meet it (checked against the plans
# and the code when this benchmark was written; the run prints only those whose goal it missed).
CAUSES = {
    "open": ("Opening counts the events (`SELECT count(*) FROM events` in `EmbeddedStore._check_coverage`) to check "
             "that the catalogue accounts for every event (the log decides): a scan of the smallest index of `events`, "
             "linear in the events, and more than linear here, probably because at 10M that index no longer fits in "
             "SQLite's 64 MiB page cache. It stays well under the second. What would meet the growth goal: keep the "
             "check but make it cheap when nobody else wrote, e.g. compare the file's change counter (`PRAGMA "
             "data_version`, the header's change counter) with the one EventLens's last write recorded, and count "
             "only when another program wrote."),
    "types": "`stream_types()` is `SELECT DISTINCT stream_type FROM streams`, which SQLite answers by scanning every "
             "entry of the type index (linear in the streams). A skip-scan (a recursive CTE asking `min(stream_type)` "
             "above the last type found) reads one index entry per type: about 0.01 ms for two types at any size. "
             "Not changed here: it is linear, neither a missing index nor a quadratic cost.",
    "deep": ("A page deep in the list is `LIMIT 100 OFFSET n`: SQLite steps over the n rows before it, linear in "
             "the offset, and, because the list keeps only streams with events (`version > 0`), it reads each "
             "skipped row's head: a few times the baseline's bare skip. Far within 200 ms; beyond tenfold like the "
             "baseline (the same SELECT). What would meet the growth goal: pages found by key (`stream_id > last`), "
             "which the window's fetch-more could pass instead of an offset."),
    "every": "`ui.session.streams.every_stream` pages with `OFFSET` (5,000 at a time), so listing every stream costs "
             "the sum of all the offsets, quadratic in the streams; as-of lists its streams this way. Keyset pages "
             "(`stream_id > last`, the baseline) are linear. What would meet it: a keyset cursor in "
             "`EventStore.streams` (or an `after=` argument) used by `every_stream`; outside `store/embedded.py`, so "
             "left alone here.",
    "count": ("`count_streams()` counts the catalogue's entries with events (`version > 0`, through "
              "`streams_by_version`): linear, a few milliseconds per 100,000 streams, a little over tenfold as the "
              "index outgrows the caches and the machine's load rose. Far within the second. What would meet the "
              "growth goal: answer the unfiltered count from `catalogued_streams` in `eventlens_meta`, which every "
              "append keeps, while the catalogue covers every event."),
    "glob_count": ("The glob's count reads the prefix range of the catalogue (ten times the ids at 10M) and tests "
                   "each id with the Python `regexp` function: linear in the range, grown like the baseline. What "
                   "would meet the growth goal: nothing short of an index of the pattern; SQLite's own GLOB (the "
                   "baseline) is about eight times cheaper per id."),
    "glob": "The first page of the glob reads the prefix range and calls the Python `regexp` for each id until 100 "
            "match; SQLite's own GLOB (the baseline) avoids the call per row.",
    "sel_first": ("A selective payload condition in time order: SQLite walks the `FundsDeposited` events in time "
                  "order through `events_by_type_time`, looks each one's row up by key and calls the Python test "
                  "(`top_value`) until 100 match; at 0.4 % of the deposits that is about 25,000 rows per page at "
                  "either size, but at 10M each lookup is a random read in a 3.7 GB file (beyond the store's 1 GiB "
                  "memory map and 64 MiB cache), so the page grew about 2.5x and sits at the 200 ms line, level "
                  "with the baseline. What would meet it: an index of the payload field (a derived table of (type, "
                  "field, value, time) filled by append, like `correlations`), so that a page reads only its "
                  "matches."),
    "broad_first": ("The broad first page reads `events_by_recorded_at` in time order and looks each event's "
                    "metadata up by key: the same random reads in a 3.7 GB file as the selective row, so a few "
                    "milliseconds became about three times as many, far within 200 ms; the baseline grew more. "
                    "What would meet the growth goal: the payload index above."),
    "sel_count": ("The count goes the same way (the time index, then one random row lookup per deposit): 1.3 s "
                  "at 1M against 32.5 s at 10M for the bare query, superlinear because the lookups leave the memory "
                  "map and the cache; the same count read in table order (`FROM events NOT INDEXED`) takes 2.4 s "
                  "and 24.0 s, linear (measured by hand after the run, see the commit). The baseline, which reads "
                  "the same way, grew as much. What would meet it: counts, which need no order, read in table order "
                  "when the condition tests payloads, or the payload index above."),
    "broad_count": "The count over every event's metadata calls the Python test once per event: `top_value` walks "
                   "the BSON in Python, which for a small metadata document (event id, correlation id, user) costs "
                   "more than `bson.decode` does in C; so ours is slower than the plain decode loop. What would meet "
                   "it: walk only for large payloads and decode small ones in C, or an index of the field as above.",
    "asof_subset": ("The same 10,000 streams took about twice as long at 10M: the session lists the glob's "
                    "streams through the prefix range `account-1`, ten times the ids at 10M (111,111 tested to find "
                    "10,000), each spawned worker's opening counts the 10M events (the open row), and the machine's "
                    "load was higher. Within 5 s. What would meet the growth goal: the cheap opening (above) and a "
                    "listing that seeks the glob's longer literal structure, or keyset listing."),
    "asof_tenth": ("Ten times the streams took 13.6 times as long in parallel and 24 times sequentially: beyond "
                   "linear in both, so not EventLens's parallel part; the likely causes are the machine's load "
                   "(higher during the 10M part, see the load averages), the OFFSET listing of the streams in the "
                   "session's process (quadratic, the every-stream row) and each row's reads in a file ten times "
                   "larger than the caches. What would meet it: keyset listing; a quiet machine to separate the "
                   "load from the cost."),
    "asof_all": ("As-of over every stream: at 10M 1,000,000 folds took over 150 s and grew a little beyond "
                 "tenfold (the sequential baseline grew more). Besides the machine's load (two workers on two "
                 "shared cores), the session's process lists every stream by OFFSET (the every-stream row: about 12 "
                 "s at 10M, quadratic) and holds 1,000,000 rows (peak 844 MiB). What would meet it: keyset listing "
                 "and idle cores; issue 14's ratio (>= 1.6) was reached at 10M (1.88) but not at 1M."),
    "first": "The first page is one indexed range read; a miss here is the machine's load.",
    "last": "The sorted page reads one index backwards; a miss here is the machine's load.",
    "events": "The sorted page reads one index backwards; a miss here is the machine's load.",
    "type": "The type's first page is a range of the type index; a miss here is the machine's load.",
    "type_count": ("The count by type reads the type's range of `streams_by_type_head` (since this benchmark's "
                   "fix, the index alone): linear in the type's streams and far within the second, beyond tenfold "
                   "like the baseline's. What would meet the growth goal: counts per type kept by append, as above."),
}


def alone(key: str, f: Figure) -> tuple[str, bool | None]:
    """The goal of a row measured at one size only (as-of over every stream, when not asked for at 10M)."""
    if key == "asof_all":
        return ("issue 14's: <= 15 s for 100,000 streams and ratio >= 1.6 (at 10M not measured in this run: "
                "the glob rows stand for it)", f.ours <= 15 and f.base / f.ours >= 1.6)
    return "", None


# -- output ----------------------------------------------------------------------------------------
def seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{_num(value * 1000)} ms" if value < 1 else f"{_num(value)} s"


def table(figures: dict[str, dict[str, Figure]], letters: dict[str, str]) -> tuple[str, list[str]]:
    small, big = figures.get("1M", {}), figures.get("10M", {})
    lines = ["| # | measurement | 1M: ours / baseline | 10M: ours / baseline | ratio at 10M | growth 1M→10M: ours / "
             "baseline | goal | met |", "|---|---|---|---|---|---|---|---|"]
    missed = []
    for key in [k for k in big if k in small] + [k for k in small if k not in big]:
        s, b = small.get(key), big.get(key)
        f = b or s
        text, met = goal(key, s, b) if s and b else alone(key, f)
        grow = (f"{b.ours / s.ours:.1f}x / " + (f"{b.base / s.base:.1f}x" if b.base and s.base else "")) if s and b else ""
        ratio = f"{b.base / b.ours:.2f}" if b and b.base else ""
        what = f.what + (f" ({b.note})" if b and b.note else "") + (f"; baseline: {f.base_what}" if f.base_what else "")
        cell = lambda x: f"{seconds(x.ours)} / {seconds(x.base)}" if x else "not measured"  # noqa: E731
        shown = "" if met is None else ("yes" if met else "**no**")
        if met is False:
            missed.append(key)
        lines.append(f"| {letters[key]} | {what} | {cell(s)} | {cell(b)} | {ratio} | {grow} | {text} | {shown} |")
    return "\n".join(lines), missed


def write_section(body: str) -> None:
    replace_section(RESULTS, SECTION, body)


def render(state: dict, write: bool) -> None:
    """The table and the section from the saved measurements (``--render`` redoes this from bench/data/scale-last.json)."""
    facts, same, appended, loads, letters = (state[k] for k in ("facts", "same", "appended", "loads", "letters"))
    sets = {size: (Path(path), record) for size, (path, record) in state["sets"].items()}
    figures = {s: {k: Figure(**f) for k, f in got.items()} for s, got in state["figures"].items()}
    rows, missed = table(figures, letters)
    print(rows)
    print("not met:", ", ".join(missed) or "none")
    sizes = "\n".join(
        f"- {size}: `{path.name}`, {record['streams']:,} streams x {SHAPES[size][1]} events = {record['events']:,} events, "
        f"{record['bytes'] / 2**20:,.0f} MiB, built in {record['build_s']:.0f} s ({record['events_per_s']:,.0f} events/s, "
        f"{record['how']})" for size, (path, record) in sets.items())
    about = "\n".join(f"- {k}: {v}" for k, v in facts["machine"].items())
    body = f"""{SECTION}

Produced by `python bench/bench_scale.py {' '.join(state['argv'])}` on {facts['date']}
in {facts['seconds']:.0f} s (load average {facts['load_before']} at the start, {facts['load_after']} at the end;
at the start of each size {'; '.join(loads)}: the two cores were shared with other work). Letters:
L stream list, S search, A as-of. **ratio** is baseline time / our time; growth is the 10M time
over the 1M time. Figures are medians of 5 calls taken in turn with the baseline (search counts: 3 calls
at 1M, 1 at 10M; every as-of and the every-stream listing: 1 call, each as-of in a fresh process).

{about}
- SQLite {facts['sqlite']}

Data (`bench/datasets.py`, cached in `bench/data/`): many short streams, half demo users and half
demo bank accounts, the way stores grow in practice (more aggregates, each short); the catalogue
grows tenfold with the events.

{sizes}
- Build rate through `EmbeddedStore.append`, one transaction per stream: {appended['events']:,} events in
  {appended['build_s']:.0f} s = {appended['events'] / appended['build_s']:,.0f} events/s, with the machine loaded by other work (at that rate 10M would take
  {10_000_000 / (appended['events'] / appended['build_s']) / 60:.0f} minutes or more). The measured files are written by
  `datasets.embedded_bulk` (as said on each line above: the same rows, bigger transactions, the secondary
  indexes of `events` made after the rows); the run first checks that it writes the same tables and
  schema as one append per stream on 5,000 streams (three pieces of generating work): {'the same' if same else 'NOT the same'}.
{FIX_NOTE}
{rows}
"""
    def named(key: str) -> str:
        return (figures.get("10M", {}).get(key) or figures["1M"][key]).what

    preface = ("The machine's load rose during the runs (the load averages above), more during the 10M part; a "
               "growth a little beyond tenfold in a row whose baseline grew as much is that load and the caches "
               "as much as the code. Each goal not met:\n\n")
    paragraphs = "\n\n".join(f"**Not met: {named(key)}.** {CAUSES.get(key, 'No cause recorded.')}" for key in missed)
    body += "\n" + (preface + paragraphs if paragraphs else "Every goal was met.") + "\n"
    print(paragraphs)
    if write:
        write_section(body)
        log(f"wrote the section of {RESULTS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="L,S,A", help="L stream list, S search, A as-of (default: all)")
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--as-of-all", default="1M,10M",
                        help="sizes at which as-of runs over every stream (default both: at 10M about six minutes "
                             "with its baseline)")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--as-of-run", nargs=3, metavar=("FILE", "MODE", "MATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--render", action="store_true", help="only redo the table from bench/data/scale-last.json")
    args = parser.parse_args(argv)
    if args.render:
        render(json.loads(LAST.read_text()), args.write)
        return 0
    if args.as_of_run:
        print(json.dumps(as_of_run(*args.as_of_run)))
        return 0
    started = time.perf_counter()
    facts = {"machine": machine(), "load_before": load_average(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "sqlite": sqlite3.sqlite_version}
    steps = set(args.steps.split(","))
    log("B: the bulk build against one append per stream")
    same = same_as_append()
    assert same, "the bulk build writes other contents than append"
    log("B: the 1M set through append (the build rate)")
    _, appended = datasets.embedded_many(*SHAPES["1M"], log)
    sets = {}
    for size in args.sizes.split(","):
        path, record = datasets.embedded_bulk(*SHAPES[size], log)
        sets[size] = (path, record)
    figures: dict[str, dict[str, Figure]] = {}
    letters: dict[str, str] = {}
    loads = []
    for size, (path, record) in sets.items():
        streams, per_stream = SHAPES[size]
        from store.embedded import EmbeddedStore

        opening = time.perf_counter()
        EmbeddedStore(path).close()  # a writable opening makes what the current schema has and the file lacks (once)
        log(f"{size}: writable opening in {time.perf_counter() - opening:.1f} s")
        log(f"{size}: warming {path.name} ({record['bytes'] / 2**20:,.0f} MiB) in {warm(path):.1f} s; "
            f"load {load_average()}")
        loads.append(f"{size}: {load_average()}")
        got = figures[size] = {}
        if "L" in steps:
            log(f"{size}: L stream list")
            found = stream_list(path, streams)
            got.update(found)
            letters.update({k: "L" for k in found})
        if "S" in steps:
            log(f"{size}: S search")
            found = search(path, record["events"])
            got.update(found)
            letters.update({k: "S" for k in found})
        if "A" in steps:
            log(f"{size}: A as-of")
            got["asof_subset"], _ = as_of(path, SUBSET, 10_000)
            got["asof_tenth"], _ = as_of(path, TENTH, sum(10 ** k for k in range(len(str(streams // 2)))))
            letters["asof_subset"] = letters["asof_tenth"] = "A"
            if size in args.as_of_all.split(","):
                got["asof_all"], _ = as_of(path, "", streams)
                letters["asof_all"] = "A"
    facts.update(seconds=time.perf_counter() - started, load_after=load_average())
    state = {"argv": argv if argv is not None else sys.argv[1:], "facts": facts, "same": same, "appended": appended,
             "sets": {size: [str(path), record] for size, (path, record) in sets.items()}, "loads": loads,
             "letters": letters, "figures": {s: {k: vars(f) for k, f in got.items()} for s, got in figures.items()}}
    LAST.parent.mkdir(exist_ok=True)
    LAST.write_text(json.dumps(state, indent=1))  # kept, so a failure in the writing loses no measurement
    render(state, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
