"""The embedded store's batch read: frozen payloads, exact times, and damage kept to its own row."""
import sqlite3
from datetime import datetime, timedelta, timezone

from model.event import NewEvent
from model.freeze import FrozenDict, FrozenList
from store.embedded import EmbeddedStore

UTC = timezone.utc


def test_read_gives_frozen_payloads_and_microsecond_times(tmp_path):
    moment = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    with EmbeddedStore(tmp_path / "s.sqlite") as store:
        store.append("s-1", [NewEvent("Opened", {"a": 1, "n": {"b": [1, 2]}}, {"user": "x"}, moment),
                             NewEvent("Changed", {"a": 2}, {}, moment + timedelta(microseconds=1))], 0)
        first, second = [e for batch in store.read("s-1") for e in batch]
    assert type(first.data) is FrozenDict and type(first.data["n"]["b"]) is FrozenList
    assert type(second.metadata) is FrozenDict
    assert first.data == {"a": 1, "n": {"b": [1, 2]}} and first.metadata == {"user": "x"}
    assert (first.time, second.time) == (moment, moment + timedelta(microseconds=1))
    assert first.time.tzinfo is not None and second.data == {"a": 2}


def test_an_empty_payload_blob_is_located_and_does_not_shift_its_neighbours(tmp_path):
    path = tmp_path / "s.sqlite"
    with EmbeddedStore(path) as store:
        store.append("s-1", [NewEvent("Changed", {"i": i}) for i in range(1, 5)], 0)
    db = sqlite3.connect(path)
    db.execute("UPDATE events SET data = x'' WHERE version = 2")
    db.commit()
    db.close()
    with EmbeddedStore(path, read_only=True) as store:
        events = [e for batch in store.read("s-1") for e in batch]
    assert [e.data for e in events] == [{"i": 1}, {}, {"i": 3}, {"i": 4}]
    assert events[1].problems and "'data'" in events[1].problems[0]
    assert [e.problems for e in events if e.version != 2] == [(), (), ()]


def _plans(store, call):
    """The query plans of the statements ``call`` runs on the store's connection."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        result = call()
    finally:
        store._db.set_trace_callback(None)
    plans = [" ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql)) for sql in statements
             if sql.lstrip().upper().startswith("SELECT")]
    return result, plans


def test_a_count_by_type_reads_the_type_index_alone(tmp_path):
    with EmbeddedStore(tmp_path / "s.sqlite") as store:
        for i in range(30):
            store.append(f"{'ab'[i % 2]}-{i}", [NewEvent("Changed", {"i": i})], 0, stream_type="ab"[i % 2])
        count, plans = _plans(store, lambda: store.count_streams(type="a"))
        page = store.streams(type="a", limit=5)
    assert count == 15 and [s.stream_id for s in page] == ["a-0", "a-2", "a-4", "a-6", "a-8"]  # natural order
    assert len(plans) == 1 and "COVERING INDEX streams_by_type_key" in plans[0], plans


def test_a_file_with_the_older_type_index_gets_the_new_one_when_opened_writable(tmp_path):
    path = tmp_path / "s.sqlite"
    with EmbeddedStore(path) as store:
        store.append("a-1", [NewEvent("Changed", {})], 0, stream_type="a")
        store.append("b-1", [NewEvent("Changed", {})], 0, stream_type="b")
    db = sqlite3.connect(path)
    db.execute("DROP INDEX streams_by_type_key")
    db.execute("CREATE INDEX streams_by_type ON streams (stream_type, stream_id)")
    db.commit()
    db.close()
    with EmbeddedStore(path, read_only=True) as store:  # a read-only opening changes nothing and answers the same
        assert store.count_streams(type="a") == 1 and [s.stream_id for s in store.streams(type="b")] == ["b-1"]
    with EmbeddedStore(path) as store:
        assert store.count_streams(type="a") == 1
    indexes = {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "streams_by_type_key" in indexes and "streams_by_type" not in indexes


def test_the_file_is_mapped_only_while_a_scan_across_streams_runs(tmp_path):
    """Mapped pages are the process's memory: a stream read (or loaded) keeps none of the file."""
    from model.query import parse_where

    with EmbeddedStore(tmp_path / "s.sqlite") as store:
        for i in range(5):
            store.append(f"s-{i}", [NewEvent("Changed", {"i": i})], 0, stream_type="s")
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        try:
            list(store.read("s-1"))
            assert not any("mmap_size" in s for s in statements)
            assert store.count_events(parse_where('{"data.i": {"$gte": 2}}')) == 3
        finally:
            store._db.set_trace_callback(None)
        pragmas = [s for s in statements if "mmap_size" in s]
        assert pragmas == [f"PRAGMA mmap_size = {1 << 30}", "PRAGMA mmap_size = 0"]
        scan = [i for i, s in enumerate(statements) if "el_" in s or "FROM events" in s]
        assert statements.index(pragmas[0]) < scan[-1] < statements.index(pragmas[1])
        assert store._db.execute("PRAGMA mmap_size").fetchone()[0] == 0
