"""Several processes append to the same streams with expected versions: nothing lost, nothing duplicated."""
from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter

import pytest

WRITERS = 4
APPENDS_PER_WRITER = 12
EVENTS_PER_APPEND = 3
STREAMS = ("hot-1", "hot-2")


def writer(backend: str, location: str, db: str, writer_id: int, start, results) -> None:
    """Append APPENDS_PER_WRITER batches, retrying each after a conflict; report what happened."""
    from model.errors import ConflictError
    from model.event import NewEvent

    if backend == "mongo":
        from store.mongo import MongoStore

        store = MongoStore(location, db)
    else:
        from store.embedded import EmbeddedStore

        store = EmbeddedStore(location)
    conflicts, lost_attempts, attempt = 0, [], 0
    start.wait(60)  # a barrier: all writers begin together, after their imports, so they really race
    try:
        for i in range(APPENDS_PER_WRITER):
            stream_id = STREAMS[(writer_id + i) % len(STREAMS)]
            while True:
                attempt += 1
                info = store.stream(stream_id)
                version = info.last_version if info else 0
                time.sleep(random.uniform(0, 0.004))  # a writer deciding what to append: the race window
                batch = [NewEvent("Appended", {"writer": writer_id, "append": i, "attempt": attempt, "part": k})
                         for k in range(EVENTS_PER_APPEND)]
                try:
                    store.append(stream_id, batch, version, stream_type="hot")
                    break
                except ConflictError:
                    conflicts += 1
                    lost_attempts.append(attempt)
        results.put((writer_id, conflicts, lost_attempts, None))
    except Exception as error:  # reported to the test, which fails with it
        results.put((writer_id, conflicts, lost_attempts, repr(error)))
    finally:
        store.close()


def run_writers(backend: str, location: str, db: str = "") -> list[tuple]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(WRITERS), ctx.Queue()
    processes = [ctx.Process(target=writer, args=(backend, location, db, w, start, results)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    reports = [results.get(timeout=240) for _ in processes]
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    return reports


@pytest.fixture
def shared_store(request, tmp_path):
    """(backend, location, db, store): a store the writer processes open by location."""
    backend = request.param
    if backend == "mongo":
        from store.mongo import MongoStore

        uri, db = request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_db_name")
        store = MongoStore(uri, db)
        location = uri
    else:
        from store.embedded import EmbeddedStore

        location, db = str(tmp_path / "shared.sqlite"), ""
        store = EmbeddedStore(location)
    yield backend, location, db, store
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("shared_store", ["mongo", "embedded"], indirect=True)
def test_racing_writers_lose_nothing_and_duplicate_nothing(shared_store):
    backend, location, db, store = shared_store
    reports = run_writers(backend, location, db)
    assert [r[3] for r in reports] == [None] * WRITERS, reports

    events = {s: [e for batch in store.read(s) for e in batch] for s in STREAMS}
    total = sum(len(v) for v in events.values())
    assert total == WRITERS * APPENDS_PER_WRITER * EVENTS_PER_APPEND
    assert store.size().events == total  # nothing above the heads either
    for stream_id, stream_events in events.items():
        assert [e.version for e in stream_events] == list(range(1, len(stream_events) + 1))
        assert store.stream(stream_id).last_version == len(stream_events)
        # Each successful append's events are contiguous and in order.
        for k in range(0, len(stream_events), EVENTS_PER_APPEND):
            chunk = stream_events[k:k + EVENTS_PER_APPEND]
            assert [e.data["part"] for e in chunk] == list(range(EVENTS_PER_APPEND))
            assert len({(e.data["writer"], e.data["attempt"]) for e in chunk}) == 1

    written = Counter((e.data["writer"], e.data["append"]) for s in STREAMS for e in events[s])
    assert written == Counter({(w, i): EVENTS_PER_APPEND for w in range(WRITERS) for i in range(APPENDS_PER_WRITER)})
    # A writer got a conflict exactly for the attempts that wrote nothing.
    stored_attempts = {(e.data["writer"], e.data["attempt"]) for s in STREAMS for e in events[s]}
    for writer_id, conflicts, lost, _ in reports:
        assert conflicts == len(lost)
        assert not any((writer_id, a) in stored_attempts for a in lost)
        assert len({a for w, a in stored_attempts if w == writer_id}) == APPENDS_PER_WRITER
    # Four writers on two streams started together: losing races is certain in practice.
    assert sum(r[1] for r in reports) > 0
