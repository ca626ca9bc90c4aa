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
