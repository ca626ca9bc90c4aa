"""The measurements of issue 5, each beside its baseline measured in the same run.

Each function returns a list of :class:`Row`; ``bench/run.py`` prints and writes them.
"""
from __future__ import annotations

import random
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import bson

from model.event import EMPTY
from model.reconstruct import reconstruct
from model.reducer import default_reducer, generic_evolve
from model.loaded import LoadedStream
from model.replay import EMPTY_STATE, fold

BATCH = 5000  # the GUI's read batch (ui.gui.main_window.BATCH)
JUMPS = 1000
LIST_REPEATS = 5


@dataclass
class Row:
    """One line of the results table: a figure, its baseline, and the goal when issue 5 sets one."""

    number: str  # the measurement of issue 5 it answers (1..7)
    where: str  # "embedded" or the server's name
    what: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_what: str = ""
    ratio: float | None = None  # > 1 means EventLens is faster (for throughputs: ours / baseline)
    goal: str = ""
    met: bool | None = None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _best(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def load_history(store, stream_id: str) -> LoadedStream:
    """What the window does on opening a stream: the session's loader (index, payloads, fold, check)."""
    from ui.session.stream import load_stream

    stream = load_stream(store, stream_id, default_reducer())
    if stream.load_error is not None:
        raise stream.load_error
    return stream.loaded


def baseline_pymongo(collection, stream_id: str) -> int:
    return len(list(collection.find({"stream_id": stream_id}).sort("version", 1)))


def baseline_sqlite(path: Path, stream_id: str) -> int:
    """Plain sqlite3: one ordered SELECT, fetchall, and bson.decode of each payload."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT version, type, data, metadata, recorded_at FROM events "
                          "WHERE stream_id = ? ORDER BY version", (stream_id,)).fetchall()
        decode = bson.decode
        return len([(v, t, decode(d), decode(m), r) for v, t, d, m, r in rows])
    finally:
        db.close()


# -- 1. load -------------------------------------------------------------------------------------
def load(where: str, store, stream_id: str, baseline, baseline_what: str, events: int) -> tuple[list[Row], LoadedStream]:
    """Load throughput of the session's loader against the plain baseline read of the same documents."""
    base_s, n = _best(baseline, 1)
    assert n == events, f"baseline read {n} events, expected {events}"
    read_s, _ = _best(lambda: sum(len(b) for b in store.read(stream_id, batch_size=BATCH)), 1)
    load_s, history = _best(lambda: load_history(store, stream_id), 1)
    assert len(history) == events and history.error is None, history.error
    rows = [
        Row("1", where, f"open {events:,} events as the window does (index, payloads, fold, checkpoints, checks)", events / load_s,
            "events/s", events / base_s, baseline_what, base_s / load_s, ">= 0.8", base_s / load_s >= 0.8),
        Row("1", where, f"store.read alone, {events:,} events (Event values, no fold)", events / read_s,
            "events/s", events / base_s, baseline_what, base_s / read_s),
    ]
    return rows, history


# -- 2. time travel ------------------------------------------------------------------------------
def jumps(where: str, history: LoadedStream, seed: int = 7) -> list[Row]:
    """1,000 state_at calls at random versions of the loaded history."""
    rng = random.Random(seed)
    versions = [rng.randint(1, history.last_version) for _ in range(JUMPS)]
    took = []
    for v in versions:
        started = time.perf_counter()
        history.state_at(v)
        took.append((time.perf_counter() - started) * 1000)
    p95 = percentile(took, 95)
    # Baseline: the same jump done by folding from the start of the history (no checkpoints).
    sample = versions[:5]
    started = time.perf_counter()
    for v in sample:
        fold(EMPTY_STATE, history.events(1, v), history.reducer)
    naive_ms = (time.perf_counter() - started) / len(sample) * 1000
    n = len(history)
    return [
        Row("2", where, f"state_at random version, {n:,} events: median", statistics.median(took), "ms"),
        Row("2", where, f"state_at random version, {n:,} events: p95 (every {history.checkpoint_every} "
            f"events a checkpoint, {history.checkpoints:,} checkpoints)", p95, "ms", naive_ms,
            "fold from version 0 (5 jumps, mean)", naive_ms / p95, "p95 <= 16 ms", p95 <= 16),
        Row("2", where, f"state_at random version, {n:,} events: max", max(took), "ms"),
    ]


# -- 3. replay -----------------------------------------------------------------------------------
def replay(where: str, store, stream_id: str, history: LoadedStream, requests: int = 3, seed: int = 11) -> list[Row]:
    """Full replay throughput, and requests served by the loaded stream against the naive way."""
    events = history.events()
    n = len(events)
    reducer = history.reducer
    fold_s, _ = _best(lambda: fold(None, events, reducer), 1)

    def plain():  # the bare reducer loop: no version check, no freezing, no watchdog
        state = EMPTY
        for e in events:
            state = generic_evolve(state, e)
        return state

    plain_s, _ = _best(plain, 1)
    rng = random.Random(seed)
    versions = [rng.randint(n // 2, n) for _ in range(requests)]
    started = time.perf_counter()
    for v in versions:  # naive: every request reads everything again and folds from empty
        loaded = [e for batch in store.read(stream_id, batch_size=BATCH) for e in batch]
        fold(None, loaded[:v], reducer)
    naive_s = (time.perf_counter() - started) / requests
    started = time.perf_counter()
    for v in versions:
        history.state_at(v)
    ours_s = (time.perf_counter() - started) / requests
    full_s, result = _best(lambda: reconstruct(store, stream_id, reducer, use_snapshots=False), 1)
    return [
        Row("3", where, f"fold of {n:,} loaded events, default reducer (checked, frozen)", n / fold_s, "events/s",
            n / plain_s, "bare generic_evolve loop", plain_s / fold_s),
        Row("3", where, f"full replay from the store, reconstruct(use_snapshots=False), {n:,} events",
            result.folded / full_s, "events/s"),
        Row("3", where, f"one request for a state, after loading ({requests} requests, mean)", ours_s * 1000, "ms",
            naive_s * 1000, "naive: read all + fold from empty per request", naive_s / max(ours_s, 1e-9)),
    ]


# -- 4. snapshots ----------------------------------------------------------------------------------
def snapshots(where: str, store, stream_id: str, targets: list[int], repeats: int = 3) -> list[Row]:
    """reconstruct() at each target from the latest snapshot plus its tail, against a full replay.

    ``repeats`` (best of) applies below 200,000 events; a server that scans the whole stream for
    any range (FerretDB v1) gets 1, since each call there costs a full read.
    """
    reducer = default_reducer()
    rows = []
    for target in targets:
        snap_s, with_snap = _best(lambda: reconstruct(store, stream_id, reducer, version=target),
                                  repeats if target < 200_000 else 1)
        full_s, full = _best(lambda: reconstruct(store, stream_id, reducer, version=target, use_snapshots=False), 1)
        assert with_snap.snapshot is not None and with_snap.state == full.state, "snapshot + tail differs from replay"
        rows.append(Row("4", where, f"state at version {target:,}: snapshot at {with_snap.snapshot.version:,} + "
                        f"{with_snap.folded:,} events", snap_s * 1000, "ms", full_s * 1000,
                        f"full replay of {full.folded:,} events", full_s / snap_s))
    return rows


# -- 6. the stream list ------------------------------------------------------------------------------
def _median_ms(fn, budget_s: float = 5.0) -> tuple[float, object]:
    # Up to LIST_REPEATS runs, fewer when one run is slow (FerretDB's $group takes many seconds).
    took, result = [], None
    while len(took) < LIST_REPEATS and sum(took) < budget_s * 1000:
        started = time.perf_counter()
        result = fn()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), result


def stream_list(where: str, store, streams: int, baseline_first, baseline_type, baseline_match) -> list[Row]:
    """First page, a page filtered by type, and one by id substring, through store.streams()."""
    rows = []
    for label, ours, base, what in (
        ("first page (100 by id)", lambda: store.streams(limit=100), baseline_first, "group events by stream"),
        ("type filter 'account' (100)", lambda: store.streams(type="account", limit=100), baseline_type,
         "match type + group events"),
        ("id substring '77' (100)", lambda: store.streams(match="77", limit=100), baseline_match,
         "match regex + group events"),
    ):
        ms, page = _median_ms(ours)
        assert page, f"empty page: {label}"
        try:
            base_ms, base_page = _median_ms(base)
        except BaselineStopped as stopped:
            base_ms, what = stopped.ms, f"{what}; stopped at its {stopped.ms / 1000:.0f} s limit, so at least this"
        rows.append(Row("6", where, f"stream list, {streams:,} streams: {label}", ms, "ms", base_ms, what,
                        base_ms / ms, "<= 200 ms", ms <= 200))
    count_ms, count = _median_ms(lambda: store.count_streams())
    rows.append(Row("6", where, f"count_streams() = {count:,}", count_ms, "ms"))
    return rows


class BaselineStopped(Exception):
    """A baseline ran past its time limit (the server stopped it)."""

    def __init__(self, ms: float) -> None:
        super().__init__(f"stopped after {ms:.0f} ms")
        self.ms = ms


#: FerretDB v1 groups in Go after fetching every event: at 1,000,000 events one $group ran for
#: over 55 minutes. The server stops a baseline at this limit, which then stands as a lower bound.
BASELINE_LIMIT_MS = 120_000


def mongo_list_baselines(collection, limit_ms: int = BASELINE_LIMIT_MS):
    """The stream list done by aggregation over events (what a store without a catalogue must do)."""
    from pymongo.errors import ExecutionTimeout

    def page(match: dict):
        pipeline = ([{"$match": match}] if match else []) + [
            {"$group": {"_id": "$stream_id", "events": {"$sum": 1}}}, {"$sort": {"_id": 1}}, {"$limit": 100}]
        try:
            return list(collection.aggregate(pipeline, allowDiskUse=True, maxTimeMS=limit_ms))
        except ExecutionTimeout:
            raise BaselineStopped(limit_ms) from None
    return (lambda: page({}), lambda: page({"stream_type": "account"}),
            lambda: page({"stream_id": {"$regex": "77", "$options": "i"}}))


def sqlite_list_baselines(path: Path):
    """The stream list by GROUP BY over the events table, with plain sqlite3."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    sql = ("SELECT stream_id, stream_type, count(*), min(version), max(version), min(recorded_at), max(recorded_at) "
           "FROM events {where} GROUP BY stream_id ORDER BY stream_id LIMIT 100")
    return (lambda: db.execute(sql.format(where="")).fetchall(),
            lambda: db.execute(sql.format(where="WHERE stream_type = 'account'")).fetchall(),
            lambda: db.execute(sql.format(where="WHERE stream_id LIKE '%77%'")).fetchall())
