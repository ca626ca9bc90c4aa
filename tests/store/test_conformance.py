"""One conformance suite, run on every backend through the parametrized ``store`` fixture."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from model.errors import ConflictError, ReadOnlyError, StreamNotFound
from model.event import NewEvent, ReducerId, Snapshot
from store.codec import CodecError
from store.copy import copy_streams
from store.embedded import EmbeddedStore
from store.mongo import MongoStore

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(minutes: float) -> dt.datetime:
    """A moment after T0, whole milliseconds (what MongoDB keeps)."""
    return T0 + dt.timedelta(minutes=minutes)


def timed(n: int, start: int = 1, type: str = "Happened") -> list[NewEvent]:
    """Events one minute apart, the i-th at minute i."""
    return [NewEvent(type, {"n": i}, {"i": i}, at(i)) for i in range(start, start + n)]


def versions(store, stream_id: str, **bounds) -> list[int]:
    return [e.version for batch in store.read(stream_id, **bounds) for e in batch]


def reopen_read_only(store, request):
    """The same data through a read-only connection of the same backend."""
    if isinstance(store, EmbeddedStore):
        other = EmbeddedStore(store.path, read_only=True)
    else:
        other = MongoStore(request.getfixturevalue("mongo_uri"), store.db_name, read_only=True)
    request.addfinalizer(other.close)
    return other


EVERY_TYPE = {
    "oid": ObjectId("65e1f0c2a1b2c3d4e5f60718"),
    "date": dt.datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
    "int64": Int64(2**62 + 1),
    "int32": 7,
    "double": 2.5,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "binary": Binary(b"\x00\x01\xfe\xff", 0x80),
    "bytes": b"\x00raw",
    "regex": Regex("^a.b(c)?$", "im"),
    "timestamp": Timestamp(1_700_000_000, 42),
    "null": None,
    "bool": True,
    "text": "zürich ✓",
    "nested": {"list": [1, "two", {"three": [3.0]}], "empty": {}},
}


def test_every_bson_type_round_trips_in_data_and_metadata(store):
    store.append("types-1", [NewEvent("Typed", EVERY_TYPE, {"correlation": EVERY_TYPE["uuid"], "all": EVERY_TYPE})],
                 0, stream_type="typed")
    [[event]] = list(store.read("types-1"))
    assert event.data == EVERY_TYPE
    assert event.metadata["all"] == EVERY_TYPE
    assert event.metadata["correlation"] == EVERY_TYPE["uuid"]
    assert type(event.data["int64"]) is Int64
    assert event.data["regex"].pattern == "^a.b(c)?$" and event.data["regex"].flags == re.I | re.M
    assert event.data["date"].tzinfo is not None
    assert (event.stream_id, event.version, event.type, event.stream_type) == ("types-1", 1, "Typed", "typed")


UNSUPPORTED_ON_FERRETDB = {
    "decimal": Decimal128("12345678901234567890.0001"),
    "code": Code("function () { return 1 }"),
    "min": MinKey(),
    "max": MaxKey(),
    "nan": float("nan"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_ON_FERRETDB))
def test_types_ferretdb_cannot_store_round_trip_or_are_refused_with_a_located_error(store, name):
    value = UNSUPPORTED_ON_FERRETDB[name]
    store.append("t", timed(1), 0)
    payload = {"outer": [{"inner": value}]}
    if getattr(store, "ferretdb", False):
        with pytest.raises(CodecError) as caught:
            store.append("t", [NewEvent("Typed", payload)], 1)
        assert "'t' version 2: field data.outer.0.inner" in str(caught.value)
        with pytest.raises(CodecError, match="field state.outer.0.inner"):
            store.save_snapshot(snap(1, state=payload))
        assert versions(store, "t") == [1] and store.snapshots("s") == []
        store.append("t", timed(1, start=2), 1)  # the connection is still fine
        assert versions(store, "t") == [1, 2]
        return
    store.append("t", [NewEvent("Typed", payload)], 1)
    [[_, event]] = list(store.read("t"))
    got = event.data["outer"][0]["inner"]
    assert got != got if name == "nan" else (got == value and type(got) is type(value))
    assert store.save_snapshot(snap(1, state=payload))


def test_append_returns_the_new_version_and_keeps_times(store):
    assert store.append("s", timed(3), 0, stream_type="thing") == 3
    assert store.append("s", timed(2, start=4), 3) == 5
    events = [e for batch in store.read("s") for e in batch]
    assert [e.version for e in events] == [1, 2, 3, 4, 5]
    assert [e.time for e in events] == [at(i) for i in range(1, 6)]
    assert all(e.time.utcoffset() == dt.timedelta(0) for e in events)
    assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5]
    assert {e.stream_type for e in events} == {"thing"}


def test_events_without_a_time_get_the_current_time(store):
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    store.append("now", [NewEvent("Happened")], 0)
    [[event]] = list(store.read("now"))
    assert before <= event.time <= dt.datetime.now(UTC) + dt.timedelta(seconds=1)
    assert event.data == {} and event.metadata == {}


def test_reads_come_in_batches_of_the_asked_size(store):
    store.append("long", timed(25), 0)
    batches = list(store.read("long", batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [e.version for b in batches for e in b] == list(range(1, 26))
    assert [len(b) for b in store.read("long", batch_size=25)] == [25]


def test_version_and_time_ranges_are_inclusive(store):
    store.append("r", timed(20), 0)
    assert versions(store, "r", from_version=5, to_version=8) == [5, 6, 7, 8]
    assert versions(store, "r", from_version=18) == [18, 19, 20]
    assert versions(store, "r", to_version=100) == list(range(1, 21))
    assert versions(store, "r", since=at(3), until=at(6)) == [3, 4, 5, 6]
    assert versions(store, "r", from_version=5, since=at(3), until=at(7)) == [5, 6, 7]
    assert [len(b) for b in store.read("r", since=at(2), until=at(11), batch_size=4)] == [4, 4, 2]
    assert versions(store, "r", from_version=21) == []


def test_a_missing_stream_reads_as_nothing(store):
    assert list(store.read("nobody")) == []
    assert store.stream("nobody") is None
    assert store.version_at("nobody", at(10)) == 0


def test_a_conflict_writes_nothing(store):
    store.append("c", timed(3), 0)
    with pytest.raises(ConflictError) as caught:
        store.append("c", timed(2, start=100), 2)
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("c", 2, 3)
    assert "'c'" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ConflictError):
        store.append("c", timed(1, start=100), 0)  # "new stream" when it exists
    with pytest.raises(ConflictError):
        store.append("new", timed(1), 4)  # a stream that does not exist is at version 0
    assert versions(store, "c") == [1, 2, 3]
    assert [e.data["n"] for b in store.read("c") for e in b] == [1, 2, 3]
    assert store.stream("c").last_version == 3
    assert store.stream("new") is None
    assert store.size().events == 3


def test_appending_nothing_checks_the_version_and_writes_nothing(store):
    store.append("e", timed(2), 0)
    assert store.append("e", [], 2) == 2
    with pytest.raises(ConflictError):
        store.append("e", [], 1)
    assert versions(store, "e") == [1, 2]


def test_stream_summary(store):
    store.append("user-7", timed(4), 0, stream_type="user")
    info = store.stream("user-7")
    assert (info.stream_id, info.stream_type, info.events, info.first_version, info.last_version) == \
        ("user-7", "user", 4, 1, 4)
    assert (info.first_time, info.last_time) == (at(1), at(4))
    store.append("user-7", timed(1, start=9), 4)
    assert store.stream("user-7").last_time == at(9)
    assert store.stream("user-7").first_time == at(1)


@pytest.fixture
def listed(store):
    """Seven streams of three types with different sizes and times."""
    specs = [  # id, type, events, first minute
        ("account-1", "account", 3, 10),
        ("Account-2", "account", 1, 5),
        ("user-a.b(1", "user", 5, 30),
        ("user-axb(2", "user", 2, 1),
        ("user-100%_", "user", 4, 20),
        ("order-9", "order", 6, 40),
        ("order-10", "order", 2, 0),
    ]
    for stream_id, kind, n, first in specs:
        store.append(stream_id, [NewEvent("E", {}, {}, at(first + i)) for i in range(n)], 0, stream_type=kind)
    return store


def ids(infos) -> list[str]:
    return [i.stream_id for i in infos]


def test_stream_list_sorts_by_every_key(listed):
    store = listed
    every = sorted(["account-1", "Account-2", "user-a.b(1", "user-axb(2", "user-100%_", "order-9", "order-10"])
    assert ids(store.streams()) == every
    assert ids(store.streams(descending=True)) == every[::-1]
    assert ids(store.streams(sort="events")) == ["Account-2", "order-10", "user-axb(2", "account-1",
                                                 "user-100%_", "user-a.b(1", "order-9"]
    assert ids(store.streams(sort="first_time")) == ["order-10", "user-axb(2", "Account-2", "account-1",
                                                     "user-100%_", "user-a.b(1", "order-9"]
    assert ids(store.streams(sort="last_time", descending=True))[:2] == ["order-9", "user-a.b(1"]
    by_type = store.streams(sort="stream_type")
    assert [i.stream_type for i in by_type] == ["account"] * 2 + ["order"] * 2 + ["user"] * 3
    assert ids(by_type)[:2] == ["Account-2", "account-1"]  # ties broken by id
    with pytest.raises(ValueError):
        store.streams(sort="$where")


def test_stream_list_pages(listed):
    store = listed
    every = ids(store.streams(limit=100))
    pages = [ids(store.streams(offset=o, limit=3)) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert sum(pages, []) == every
    assert ids(store.streams(sort="events", descending=True, offset=1, limit=2)) == ["user-a.b(1", "user-100%_"]


def test_stream_list_filters_by_type_and_literal_case_insensitive_text(listed):
    store = listed
    assert ids(store.streams(type="order")) == ["order-10", "order-9"]
    assert store.count_streams(type="order") == 2
    assert ids(store.streams(match="ACCOUNT")) == ["Account-2", "account-1"]
    assert ids(store.streams(match="a.b(")) == ["user-a.b(1"]  # "." and "(" are literal, not a pattern
    assert store.count_streams(match="a.b(") == 1
    assert ids(store.streams(match="100%_")) == ["user-100%_"]
    assert ids(store.streams(match="%")) == ["user-100%_"]
    assert ids(store.streams(match=".*")) == []
    assert ids(store.streams(match="$where")) == []
    assert ids(store.streams(type="user", match="X")) == ["user-axb(2"]
    assert store.count_streams(type="user", match="user") == 3
    assert store.count_streams() == 7
    assert store.streams(type="nothing") == [] and store.count_streams(type="nothing") == 0


def test_stream_types_are_distinct_and_sorted(listed):
    assert listed.stream_types() == ["account", "order", "user"]


def test_version_at_a_moment(store):
    store.append("t", timed(10), 0)
    assert store.version_at("t", at(0)) == 0
    assert store.version_at("t", at(1)) == 1
    assert store.version_at("t", at(4.5)) == 4
    assert store.version_at("t", at(10)) == 10
    assert store.version_at("t", at(1000)) == 10


def snap(version: int, *, name="default", fingerprint="f1", minutes=0.0, state=None) -> Snapshot:
    return Snapshot("s", version, state if state is not None else {"v": version}, ReducerId(name, fingerprint),
                    created_at=at(minutes), created_by="test")


def test_snapshots_save_list_and_refuse_duplicates(store):
    store.append("s", timed(20), 0)
    assert store.save_snapshot(snap(10, state={"total": Int64(2**40 + 1), "when": at(3)}))
    assert store.save_snapshot(snap(5))
    assert not store.save_snapshot(snap(10, state={"other": True}, minutes=9))  # same stream, version, reducer
    assert store.save_snapshot(snap(10, fingerprint="f2"))  # another reducer version is another snapshot
    listed = store.snapshots("s")
    assert [(s.version, s.reducer.fingerprint) for s in listed] in (
        [(5, "f1"), (10, "f1"), (10, "f2")], [(5, "f1"), (10, "f2"), (10, "f1")])
    ten = next(s for s in listed if s.version == 10 and s.reducer.fingerprint == "f1")
    assert ten.state == {"total": Int64(2**40 + 1), "when": at(3)}
    assert (ten.created_at, ten.created_by, ten.foreign) == (at(0), "test", False)
    assert versions(store, "s") == list(range(1, 21))  # snapshots never change events
    assert store.snapshots("other") == []


def test_latest_snapshot_is_chosen_by_version_and_reducer_not_by_creation_time(store):
    store.append("s", timed(30), 0)
    store.save_snapshot(snap(20, minutes=1))   # made first
    store.save_snapshot(snap(10, minutes=50))  # made last, but older in the stream
    store.save_snapshot(snap(25, fingerprint="other", minutes=60))
    store.save_snapshot(snap(27, name="custom", minutes=60))
    reducer = ReducerId("default", "f1")
    assert store.latest_snapshot("s", at_or_before=30, reducer=reducer).version == 20
    assert store.latest_snapshot("s", at_or_before=20, reducer=reducer).version == 20
    assert store.latest_snapshot("s", at_or_before=19, reducer=reducer).version == 10
    assert store.latest_snapshot("s", at_or_before=9, reducer=reducer) is None
    assert store.latest_snapshot("s", at_or_before=30, reducer=ReducerId("default", "other")).version == 25
    assert store.latest_snapshot("s", at_or_before=30, reducer=ReducerId("nobody", "f1")) is None


def test_read_only_refuses_every_write_and_changes_nothing(store, request):
    store.append("ro", timed(3), 0, stream_type="x")
    store.save_snapshot(snap(2))
    reader = reopen_read_only(store, request)
    assert reader.read_only and not reader.capabilities.writable
    with pytest.raises(ReadOnlyError):
        reader.append("ro", timed(1, start=4), 3)
    with pytest.raises(ReadOnlyError):
        reader.append("fresh", timed(1), 0)
    with pytest.raises(ReadOnlyError):
        reader.save_snapshot(snap(3))
    assert versions(reader, "ro") == [1, 2, 3]
    assert versions(store, "ro") == [1, 2, 3]
    assert [s.version for s in store.snapshots("s")] == [2]
    assert store.stream("fresh") is None
    assert "read-only" in reader.describe()


def test_size_counts(store):
    store.append("a", timed(3), 0)
    store.append("b", timed(2), 0)
    store.save_snapshot(snap(1))
    size = store.size()
    assert (size.streams, size.events, size.snapshots) == (2, 5, 1)


def test_describe_is_one_line(store):
    text = store.describe()
    assert text and "\n" not in text


def test_copy_streams_round_trip(store, tmp_path: Path):
    store.append("acct-1", [NewEvent("Typed", EVERY_TYPE, {"m": 1}, at(1))] + timed(2500, start=2), 0,
                 stream_type="account")
    store.append("acct-2", timed(3), 0, stream_type="account")
    store.append("user-1", timed(2), 0, stream_type="user")
    store.save_snapshot(Snapshot("acct-1", 100, {"balance": Int64(10**15)}, ReducerId("r", "f"), at(5), "me"))
    calls = []
    with EmbeddedStore(tmp_path / "copy.sqlite") as target:
        result = copy_streams(store, target, ["acct-1", "acct-2"], progress=lambda done, total: calls.append((done, total)))
        assert (result.streams, result.events, result.snapshots) == (2, 2504, 1)
        assert calls[-1] == (2504, 2504) and [c[0] for c in calls] == sorted(c[0] for c in calls)
        for stream_id in ("acct-1", "acct-2"):
            assert store.stream(stream_id) == target.stream(stream_id)
            source_events = [e for b in store.read(stream_id) for e in b]
            copied = [e for b in target.read(stream_id) for e in b]
            assert copied == source_events
        assert target.stream("user-1") is None
        assert target.snapshots("acct-1") == store.snapshots("acct-1")
        # Copying again brings the copy up to date and duplicates nothing.
        store.append("acct-2", timed(2, start=4), 3)
        again = copy_streams(store, target, ["acct-2"])
        assert (again.events, again.snapshots) == (2, 0)
        assert versions(target, "acct-2") == [1, 2, 3, 4, 5]
        with pytest.raises(StreamNotFound):
            copy_streams(store, target, ["missing"])


def test_copy_all_streams_by_default(store, tmp_path: Path):
    for i in range(3):
        store.append(f"s-{i}", timed(i + 1), 0)
    with EmbeddedStore(tmp_path / "all.sqlite") as target:
        result = copy_streams(store, target)
        assert result.streams == 3 and result.events == 6
        assert ids(target.streams()) == ["s-0", "s-1", "s-2"]


def plant_orphans(store, stream_id: str, head: int, n: int, written_at: dt.datetime | None = None) -> None:
    """Write events above the head without moving it: what a writer that died mid-append leaves."""
    if isinstance(store, EmbeddedStore):
        import bson

        with store._lock:
            store._db.executemany(
                "INSERT INTO events VALUES (?, ?, '', 'Orphan', ?, ?, 0)",
                [(stream_id, head + i, bson.encode({"orphan": i}), bson.encode({})) for i in range(1, n + 1)])
    else:
        when = written_at or dt.datetime.now(UTC)
        store._events.insert_many([
            {"_id": ObjectId.from_datetime(when) if written_at else ObjectId(), "stream_id": stream_id,
             "stream_type": "", "version": head + i, "type": "Orphan", "data": {"orphan": i}, "metadata": {},
             "recorded_at": at(0)}
            for i in range(1, n + 1)])


def test_orphan_events_above_the_head_are_never_read(store):
    store.append("o", timed(3), 0)
    plant_orphans(store, "o", 3, 2)
    assert versions(store, "o") == [1, 2, 3]
    assert versions(store, "o", from_version=4) == []
    assert versions(store, "o", to_version=10) == [1, 2, 3]
    assert store.stream("o").last_version == 3
    assert store.version_at("o", at(1000)) == 3
    assert {e.type for b in store.read("o") for e in b} == {"Happened"}
