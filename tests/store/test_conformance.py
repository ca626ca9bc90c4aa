"""The store contract (``model.ports``), written once and run on every backend.

``ReadingContract`` is what every store's reading part does (``EventSource``); ``StoreContract``
adds the writes (``EventStore``). Each backend's class at the bottom says only how to get its
stores: ``writer``, the store a test fills, and ``source``, the reader under test over the same
data (the same object for a native backend; the layout store reads what the MongoDB store
wrote). The contract lets a reader keep its stream list until ``refresh()``, so tests call it
after writing.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from model.errors import ConflictError, ReadOnlyError, StreamNotFound, UsageError
from model.event import NewEvent, ReducerId, Snapshot
from model.freeze import freeze, freeze_each
from store.codec import CodecError
from store.copy import copy_streams
from store.embedded import EmbeddedStore

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


def ids(infos) -> list[str]:
    return [i.stream_id for i in infos]


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

LISTED = [  # id, type, events, first minute
    ("account-1", "account", 3, 10),
    ("Account-2", "account", 1, 5),
    ("user-a.b(1", "user", 5, 30),
    ("user-axb(2", "user", 2, 1),
    ("user-100%_", "user", 4, 20),
    ("order-9", "order", 6, 40),
    ("order-10", "order", 2, 0),
]


def snap(version: int, *, stream_id="s", name="default", fingerprint="f1", minutes=0.0, state=None) -> Snapshot:
    return Snapshot(stream_id, version, state if state is not None else {"v": version}, ReducerId(name, fingerprint),
                    created_at=at(minutes), created_by="test")


class ReadingContract:
    """What reading gives on every backend, for data written through the backend's writer."""

    @pytest.fixture
    def listed(self, writer, source):
        """Seven streams of three types with different sizes and times."""
        for stream_id, kind, n, first in LISTED:
            writer.append(stream_id, [NewEvent("E", {}, {}, at(first + i)) for i in range(n)], 0, stream_type=kind)
        source.refresh()
        return source

    def test_every_bson_type_round_trips_in_data_and_metadata(self, writer, source):
        writer.append("types-1", [NewEvent("Typed", EVERY_TYPE, {"correlation": EVERY_TYPE["uuid"], "all": EVERY_TYPE})],
                      0, stream_type="typed")
        source.refresh()
        [[event]] = list(source.read("types-1"))
        assert event.data == EVERY_TYPE
        assert event.metadata["all"] == EVERY_TYPE
        assert event.metadata["correlation"] == EVERY_TYPE["uuid"]
        assert type(event.data["int64"]) is Int64
        assert event.data["regex"].pattern == "^a.b(c)?$" and event.data["regex"].flags == re.I | re.M
        assert event.data["date"].tzinfo is not None
        assert (event.stream_id, event.version, event.type, event.stream_type) == ("types-1", 1, "Typed", "typed")

    def test_the_index_and_the_packed_payloads_read_what_read_reads(self, writer, source):
        from model.loaded import LoadedStream, to_micros
        from model.reducer import default_reducer

        writer.append("ix", [NewEvent("Opened", {"n": 0, "deep": {"a": [1, 2]}}, {"by": "u"}, at(0))]
                      + [NewEvent(("Up", "Down")[i % 2], {"n": i}, {"i": i}, at(i)) for i in range(1, 25)], 0,
                      stream_type="thing")
        source.refresh()
        events = [e for batch in source.read("ix") for e in batch]
        index = list(source.read_index("ix", batch_size=7))
        assert [v for b in index for v in b.versions] == [e.version for e in events]
        assert [t for b in index for t in b.times] == [to_micros(e.time) for e in events]
        assert [t for b in index for t in b.types] == [e.type for e in events]
        assert {b.stream_type for b in index} == {"thing"}
        loaded = LoadedStream("ix", default_reducer())
        for batch in index:
            loaded.add_index(batch)
        for batch in source.read_payloads("ix", from_version=1, to_version=20, batch_size=6):
            loaded.add_payloads(batch)
        assert loaded.payload_version == 20 and loaded.events() == events[:20]
        assert [type(e.data) for e in loaded.events()] == [type(e.data) for e in events[:20]]
        assert list(source.read_payloads("ix", from_version=30)) == []

    def test_payloads_are_read_only_values_of_the_type_freeze_makes(self, writer, source):
        writer.append("p", [NewEvent("E", {"a": 1, "deep": {"list": [1, {"x": 2}]}}, {"m": "x"}, at(1)),
                            NewEvent("E", {"flat": True}, {}, at(2))], 0)
        source.refresh()
        first, second = [e for batch in source.read("p") for e in batch]
        # payloads are what freeze_each makes of a decoder's dicts; what nests in them, what freeze makes
        payload = type(freeze_each([{"k": 1}])[0])
        mapping, sequence = type(freeze({"k": 1})), type(freeze([1]))
        assert {type(first.data), type(first.metadata), type(second.data), type(second.metadata)} == {payload}
        assert type(first.data["deep"]) is mapping and type(first.data["deep"]["list"]) is sequence
        with pytest.raises(TypeError):
            first.data["a"] = 2  # type: ignore[index]
        assert first.data == {"a": 1, "deep": {"list": [1, {"x": 2}]}} and second.data == {"flat": True}

    def test_append_returns_the_new_version_and_keeps_times(self, writer, source):
        assert writer.append("s", timed(3), 0, stream_type="thing") == 3
        assert writer.append("s", timed(2, start=4), 3) == 5
        source.refresh()
        events = [e for batch in source.read("s") for e in batch]
        assert [e.version for e in events] == [1, 2, 3, 4, 5]
        assert [e.time for e in events] == [at(i) for i in range(1, 6)]
        assert all(e.time.utcoffset() == dt.timedelta(0) for e in events)
        assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5]
        assert {e.stream_type for e in events} == {"thing"}

    def test_events_without_a_time_get_the_current_time(self, writer, source):
        before = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
        writer.append("now", [NewEvent("Happened")], 0)
        source.refresh()
        [[event]] = list(source.read("now"))
        assert before <= event.time <= dt.datetime.now(UTC) + dt.timedelta(seconds=1)
        assert event.data == {} and event.metadata == {}

    def test_reads_come_in_batches_of_the_asked_size(self, writer, source):
        writer.append("long", timed(25), 0)
        source.refresh()
        batches = list(source.read("long", batch_size=10))
        assert [len(b) for b in batches] == [10, 10, 5]
        assert [e.version for b in batches for e in b] == list(range(1, 26))
        assert [len(b) for b in source.read("long", batch_size=25)] == [25]

    def test_version_and_time_ranges_are_inclusive(self, writer, source):
        writer.append("r", timed(20), 0)
        source.refresh()
        assert versions(source, "r", from_version=5, to_version=8) == [5, 6, 7, 8]
        assert versions(source, "r", from_version=18) == [18, 19, 20]
        assert versions(source, "r", to_version=100) == list(range(1, 21))
        assert versions(source, "r", since=at(3), until=at(6)) == [3, 4, 5, 6]
        assert versions(source, "r", from_version=5, since=at(3), until=at(7)) == [5, 6, 7]
        assert [len(b) for b in source.read("r", since=at(2), until=at(11), batch_size=4)] == [4, 4, 2]
        assert versions(source, "r", from_version=21) == []
        assert versions(source, "r", from_version=8, to_version=7) == []

    def test_a_missing_stream_reads_as_nothing(self, writer, source):
        writer.append("somebody", timed(1), 0)
        source.refresh()
        assert list(source.read("nobody")) == []
        assert source.stream("nobody") is None
        assert source.version_at("nobody", at(10)) == 0

    def test_stream_summary(self, writer, source):
        writer.append("user-7", timed(4), 0, stream_type="user")
        source.refresh()
        info = source.stream("user-7")
        assert (info.stream_id, info.stream_type, info.events, info.first_version, info.last_version) == \
            ("user-7", "user", 4, 1, 4)
        assert (info.first_time, info.last_time) == (at(1), at(4))
        assert info.catalogued_version is None
        writer.append("user-7", timed(1, start=9), 4)
        source.refresh()
        assert source.stream("user-7").last_time == at(9)
        assert source.stream("user-7").first_time == at(1)

    def test_stream_ids_sort_in_natural_order(self, writer, source):
        """Digit runs compare as numbers, as a person reads them; ties of every other key too."""
        natural = ["item-1", "item-1b", "item-2-9", "item-2-10", "item-9", "item-10", "item-100"]
        for stream_id in ("item-10", "item-2-10", "item-100", "item-1b", "item-9", "item-1", "item-2-9"):
            writer.append(stream_id, [NewEvent("E", {}, {}, at(1))], 0, stream_type="item")
        source.refresh()
        assert ids(source.streams()) == natural
        assert ids(source.streams(descending=True)) == natural[::-1]
        assert sum((ids(source.streams(offset=o, limit=3)) for o in (0, 3, 6)), []) == natural
        assert ids(source.streams(sort="events")) == natural  # one event each: the ties in natural order
        assert ids(source.streams(sort="stream_type", descending=True)) == natural[::-1]
        assert ids(source.streams(type="item", match="item-1")) == ["item-1", "item-1b", "item-10", "item-100"]

    def test_stream_list_sorts_by_every_key(self, listed):
        store = listed
        every = ["Account-2", "account-1", "order-9", "order-10", "user-100%_", "user-a.b(1", "user-axb(2"]
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

    def test_an_unknown_sort_key_is_a_usage_error(self, listed):
        with pytest.raises(UsageError, match="unknown stream sort '\\$where'"):
            listed.streams(sort="$where")

    def test_stream_list_pages(self, listed):
        store = listed
        every = ids(store.streams(limit=100))
        pages = [ids(store.streams(offset=o, limit=3)) for o in (0, 3, 6, 9)]
        assert [len(p) for p in pages] == [3, 3, 1, 0]
        assert sum(pages, []) == every
        assert ids(store.streams(sort="events", descending=True, offset=1, limit=2)) == ["user-a.b(1", "user-100%_"]
        assert store.streams(limit=0) == []

    def test_stream_list_pages_after_a_stream_id(self, listed):
        """Keyset pages: each follows the last id of the one before, in either direction, filtered too."""
        store = listed
        for descending, filters in ((False, {}), (True, {}), (False, {"type": "user"}), (True, {"match": "A"})):
            every = ids(store.streams(descending=descending, limit=100, **filters))
            pages, after = [], None
            while True:
                page = ids(store.streams(descending=descending, limit=2, after=after, **filters))
                pages.append(page)
                if len(page) < 2:
                    break
                after = page[-1]
            assert sum(pages, []) == every, (descending, filters)
        assert ids(store.streams(after="order-9", limit=2)) == ["order-10", "user-100%_"]
        assert ids(store.streams(after="order-9", offset=1, limit=1)) == ["user-100%_"]
        assert ids(store.streams(after="order-50")) == ["user-100%_", "user-a.b(1", "user-axb(2"]  # need not exist
        assert ids(store.streams(after="order-50", descending=True)) == ["order-10", "order-9", "account-1", "Account-2"]
        with pytest.raises(UsageError, match="needs the stream id order"):
            store.streams(sort="events", after="order-9")

    def test_stream_list_filters_by_type_and_literal_case_insensitive_text(self, listed):
        store = listed
        assert ids(store.streams(type="order")) == ["order-9", "order-10"]
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

    def test_stream_types_are_distinct_and_sorted(self, listed):
        assert listed.stream_types() == ["account", "order", "user"]

    def test_version_at_a_moment(self, writer, source):
        writer.append("t", timed(10), 0)
        source.refresh()
        assert source.version_at("t", at(0)) == 0
        assert source.version_at("t", at(1)) == 1
        assert source.version_at("t", at(4.5)) == 4
        assert source.version_at("t", at(10)) == 10
        assert source.version_at("t", at(1000)) == 10

    def test_size_counts(self, writer, source):
        writer.append("a", timed(3), 0)
        writer.append("b", timed(2), 0)
        writer.save_snapshot(snap(1, stream_id="a"))
        source.refresh()
        size = source.size()
        assert (size.streams, size.events, size.snapshots) == (2, 5, 1)

    def test_what_was_written_through_the_contract_is_fully_covered(self, writer, source):
        writer.append("c", timed(2), 0)
        source.refresh()
        coverage = source.coverage()
        assert coverage.complete and coverage.message == ""

    def test_describe_is_one_line(self, source):
        text = source.describe()
        assert text and "\n" not in text


class StoreContract(ReadingContract):
    """What writing does on every backend that takes writes."""

    def refuses(self, store, value) -> bool:
        """Whether this backend refuses to store ``value`` (with a located CodecError) instead of keeping it."""
        return False

    @pytest.fixture
    def read_only_twin(self, writer):
        """The same data through a read-only connection of the same backend."""
        raise NotImplementedError

    @pytest.mark.parametrize("value", [Decimal128("12345678901234567890.0001"), Code("function () { return 1 }"),
                                       MinKey(), MaxKey(), float("nan")], ids=["decimal", "code", "min", "max", "nan"])
    def test_rare_types_round_trip_or_are_refused_with_a_located_error(self, writer, value):
        writer.append("t", timed(1), 0)
        payload = {"outer": [{"inner": value}]}
        if self.refuses(writer, value):
            with pytest.raises(CodecError) as caught:
                writer.append("t", [NewEvent("Typed", payload)], 1)
            assert "'t' version 2: field data.outer.0.inner" in str(caught.value)
            with pytest.raises(CodecError, match="field state.outer.0.inner"):
                writer.save_snapshot(snap(1, state=payload))
            assert versions(writer, "t") == [1] and writer.snapshots("s") == []
            writer.append("t", timed(1, start=2), 1)  # the connection is still fine
            assert versions(writer, "t") == [1, 2]
            return
        writer.append("t", [NewEvent("Typed", payload)], 1)
        [[_, event]] = list(writer.read("t"))
        got = event.data["outer"][0]["inner"]
        assert got != got if isinstance(value, float) else (got == value and type(got) is type(value))
        assert writer.save_snapshot(snap(1, state=payload))

    def test_a_conflict_writes_nothing(self, writer):
        store = writer
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
        assert store.coverage().complete

    def test_appending_nothing_checks_the_version_and_writes_nothing(self, writer):
        writer.append("e", timed(2), 0)
        assert writer.append("e", [], 2) == 2
        with pytest.raises(ConflictError):
            writer.append("e", [], 1)
        assert versions(writer, "e") == [1, 2]

    def test_snapshots_save_list_and_refuse_duplicates(self, writer):
        store = writer
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

    def test_latest_snapshot_is_chosen_by_version_and_reducer_not_by_creation_time(self, writer):
        store = writer
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

    def test_read_only_refuses_every_write_and_changes_nothing(self, writer, request):
        writer.append("ro", timed(3), 0, stream_type="x")
        writer.save_snapshot(snap(2))
        reader = request.getfixturevalue("read_only_twin")
        assert reader.read_only and not reader.capabilities.writable
        with pytest.raises(ReadOnlyError):
            reader.append("ro", timed(1, start=4), 3)
        with pytest.raises(ReadOnlyError):
            reader.append("fresh", timed(1), 0)
        with pytest.raises(ReadOnlyError):
            reader.save_snapshot(snap(3))
        with pytest.raises(ReadOnlyError):
            reader.rebuild_catalogue()
        assert versions(reader, "ro") == [1, 2, 3]
        assert versions(writer, "ro") == [1, 2, 3]
        assert [s.version for s in writer.snapshots("s")] == [2]
        assert writer.stream("fresh") is None
        assert "read-only" in reader.describe()

    def test_rebuilding_a_catalogue_that_covers_every_event_changes_nothing(self, writer):
        writer.append("a", timed(3), 0, stream_type="x")
        writer.append("b", timed(1), 0, stream_type="y")
        before = writer.streams()
        calls = []
        result = writer.rebuild_catalogue(progress=lambda done, total: calls.append((done, total)))
        assert (result.streams, result.events, result.added, result.updated, result.removed) == (2, 4, 0, 0, 0)
        assert calls[-1] == (2, 2)
        assert writer.streams() == before and writer.coverage().complete

    def test_copy_streams_round_trip(self, writer, tmp_path: Path):
        store = writer
        store.append("acct-1", [NewEvent("Typed", EVERY_TYPE, {"m": 1}, at(1))] + timed(2500, start=2), 0,
                     stream_type="account")
        store.append("acct-2", timed(3), 0, stream_type="account")
        store.append("user-1", timed(2), 0, stream_type="user")
        store.save_snapshot(Snapshot("acct-1", 100, {"balance": Int64(10**15)}, ReducerId("r", "f"), at(5), "me"))
        calls = []
        with EmbeddedStore(tmp_path / "copy.sqlite") as target:
            result = copy_streams(store, target, ["acct-1", "acct-2"],
                                  progress=lambda done, total: calls.append((done, total)))
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

    def test_copy_all_streams_by_default(self, writer, tmp_path: Path):
        for i in range(3):
            writer.append(f"s-{i}", timed(i + 1), 0)
        with EmbeddedStore(tmp_path / "all.sqlite") as target:
            result = copy_streams(writer, target)
            assert result.streams == 3 and result.events == 6
            assert ids(target.streams()) == ["s-0", "s-1", "s-2"]


# -- the backends ---------------------------------------------------------------------------


class TestMongoStore(StoreContract):
    @pytest.fixture
    def writer(self, mongo_store):
        return mongo_store

    @pytest.fixture
    def source(self, writer):
        return writer

    @pytest.fixture
    def read_only_twin(self, writer, mongo_uri):
        from store.mongo import MongoStore

        with MongoStore(mongo_uri, writer.db_name, read_only=True) as twin:
            yield twin

    def refuses(self, store, value) -> bool:
        return store.ferretdb  # FerretDB v1 cannot keep Decimal128, Code, MinKey, MaxKey or NaN


class TestEmbeddedStore(StoreContract):
    @pytest.fixture
    def writer(self, embedded_store):
        return embedded_store

    @pytest.fixture
    def source(self, writer):
        return writer

    @pytest.fixture
    def read_only_twin(self, writer):
        with EmbeddedStore(writer.path, read_only=True) as twin:
            yield twin


class TestLayoutStore(ReadingContract):
    """The layout store with the ``eventlens`` preset, reading what the MongoDB store wrote."""

    @pytest.fixture
    def writer(self, mongo_store):
        return mongo_store

    @pytest.fixture
    def source(self, writer, mongo_uri):
        from pymongo import MongoClient

        from store.layout_store import open_layout_store

        with open_layout_store(MongoClient(mongo_uri), writer.db_name, "eventlens", read_only=True) as reader:
            yield reader
