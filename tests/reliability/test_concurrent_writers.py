"""Writer processes race on the same streams while a follower live-follows them, on both backends.

Each attempt is recorded with the version it expected and its outcome, so the test can check
that a writer got ConflictError exactly when another writer had taken that version, and that
the follower, which only ever asked for events after the last one it saw, ends with exactly
what a fresh full read gives.
"""
from __future__ import annotations

import multiprocessing
import random
import threading
import time

import pytest

WRITERS = 4
APPENDS_PER_WRITER = 15
EVENTS_PER_APPEND = 2
STREAMS = ("race-1", "race-2")


def open_backend(backend: str, location: str, db: str):
    if backend == "mongo":
        from store.mongo import MongoStore

        return MongoStore(location, db, timeout_s=30)
    from store.embedded import EmbeddedStore

    return EmbeddedStore(location, timeout_s=30)


def writer(backend: str, location: str, db: str, writer_id: int, start, results) -> None:
    """Append APPENDS_PER_WRITER batches, each retried after a conflict; report every attempt."""
    from model.errors import ConflictError
    from model.event import NewEvent

    attempts: list[tuple] = []  # (stream, expected, attempt id, outcome)
    store = open_backend(backend, location, db)
    start.wait(120)  # a barrier: every writer has its connection, so they start together
    try:
        for i in range(APPENDS_PER_WRITER):
            stream_id = STREAMS[(writer_id + i) % len(STREAMS)]
            while True:
                attempt = f"w{writer_id}-a{len(attempts)}"
                info = store.stream(stream_id)
                expected = info.last_version if info else 0
                time.sleep(random.uniform(0, 0.003))  # deciding what to write: the race window
                batch = [NewEvent("Raced", {"writer": writer_id, "attempt": attempt, "seq": f"{attempt}-{k}"})
                         for k in range(EVENTS_PER_APPEND)]
                try:
                    store.append(stream_id, batch, expected, stream_type="race")
                    attempts.append((stream_id, expected, attempt, "ok"))
                    break
                except ConflictError:
                    attempts.append((stream_id, expected, attempt, "conflict"))
        results.put((writer_id, attempts, None))
    except Exception as error:  # reported to the test, which fails with it
        results.put((writer_id, attempts, repr(error)))
    finally:
        store.close()


def follow(backend: str, location: str, db: str, stop: threading.Event, view: dict, errors: list) -> None:
    """Live-follow every stream with ``watch`` from the last version seen, until told to stop."""
    store = open_backend(backend, location, db)  # its own connection, on this thread (SQLite wants that)
    try:
        last = {s: 0 for s in STREAMS}
        final_round = False
        while True:
            final_round = stop.is_set()  # one more full round after the writers finished
            for stream_id in STREAMS:
                for event in store.watch(stream_id, last[stream_id], timeout=0.05):
                    if event.version != last[stream_id] + 1:
                        errors.append(f"{stream_id}: follower got version {event.version} after {last[stream_id]}")
                    last[stream_id] = event.version
                    view[stream_id].append((event.version, event.data["seq"]))
            if final_round:
                return
    except Exception as error:  # noqa: BLE001 - reported to the test
        errors.append(repr(error))
    finally:
        store.close()


@pytest.fixture(params=["mongo", "embedded"])
def shared(request, tmp_path):
    """(backend, location, db) a writer process can open."""
    if request.param == "mongo":
        return "mongo", request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_db_name")
    return "embedded", str(tmp_path / "race.sqlite"), ""


def test_racing_writers_and_a_live_follower(shared):
    backend, location, db = shared
    open_backend(backend, location, db).close()  # create the file or database before the race
    ctx = multiprocessing.get_context("spawn")
    # a barrier rather than an event: on a busy machine a writer spawned late used to find the
    # others done, and nobody raced
    start, results = ctx.Barrier(WRITERS), ctx.Queue()
    processes = [ctx.Process(target=writer, args=(backend, location, db, w, start, results)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    stop, view, follow_errors = threading.Event(), {s: [] for s in STREAMS}, []
    follower = threading.Thread(target=follow, args=(backend, location, db, stop, view, follow_errors), name="follower")
    follower.start()
    try:
        reports = [results.get(timeout=240) for _ in processes]
    finally:
        for p in processes:
            p.join(30)
        stop.set()
        follower.join(60)
    assert [r[2] for r in reports] == [None] * WRITERS, reports
    assert all(p.exitcode == 0 for p in processes)
    assert not follower.is_alive() and follow_errors == []

    store = open_backend(backend, location, db)
    try:
        stored = {s: [e for b in store.read(s) for e in b] for s in STREAMS}
        size = store.size()
    finally:
        store.close()

    attempts = [a for _, report, _ in reports for a in report]
    ok = [a for a in attempts if a[3] == "ok"]
    conflicts = [a for a in attempts if a[3] == "conflict"]
    by_version = {(s, e.version): e for s, events in stored.items() for e in events}

    # contiguous versions, nothing above the heads
    for stream_id, events in stored.items():
        assert [e.version for e in events] == list(range(1, len(events) + 1)), stream_id
    assert size.events == sum(len(v) for v in stored.values())
    # nothing lost, nothing duplicated: the stored ids are exactly the successful attempts' ids
    seqs = [e.data["seq"] for events in stored.values() for e in events]
    expected_seqs = {f"{a[2]}-{k}" for a in ok for k in range(EVENTS_PER_APPEND)}
    assert len(seqs) == len(set(seqs)), "an event was stored twice"
    assert set(seqs) == expected_seqs
    lost = len(expected_seqs - set(seqs))
    # a success owns the versions after what it expected; a conflict found them taken by another attempt
    for stream_id, expected, attempt, _ in ok:
        owners = {by_version[(stream_id, expected + k)].data["attempt"] for k in range(1, EVENTS_PER_APPEND + 1)}
        assert owners == {attempt}
    for stream_id, expected, attempt, _ in conflicts:
        winner = by_version.get((stream_id, expected + 1))
        assert winner is not None and winner.data["attempt"] != attempt, (stream_id, expected, attempt)
    for writer_id, report, _ in reports:
        successes = sum(1 for a in report if a[3] == "ok")
        assert successes == APPENDS_PER_WRITER
        assert sum(1 for a in report if a[3] == "conflict") == len(report) - successes
    # the follower's view equals a fresh full read
    for stream_id in STREAMS:
        assert view[stream_id] == [(e.version, e.data["seq"]) for e in stored[stream_id]]
    assert conflicts, "four writers on two streams started together and never raced"

    print(f"\n[concurrency {backend}] writers={WRITERS} appends={len(ok)} attempts={len(attempts)} "
          f"conflicts={len(conflicts)} events={len(seqs)} lost={lost} duplicated={len(seqs) - len(set(seqs))} "
          f"follower_events={sum(len(v) for v in view.values())}")
