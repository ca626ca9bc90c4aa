"""What the database holds is what EventLens shows: events another application wrote in the
native shape, without EventLens's stream catalogue, or above a head the catalogue knows.

Written once, run on both native backends; each class at the bottom says how its application
writes (pymongo into FerretDB/MongoDB, sqlite3 rows into the embedded file).
"""
from __future__ import annotations

import datetime as dt

import pytest

from model.errors import ConflictError
from model.event import NewEvent
from model.freeze import freeze, freeze_each
from model.integrity import catalogue_problem
from store.copy import copy_streams
from store.embedded import EmbeddedStore
from tests.store.apps import T0, EmbeddedApp, MongoApp, app_event

UTC = dt.timezone.utc


def versions(store, stream_id: str, **bounds) -> list[int]:
    return [e.version for batch in store.read(stream_id, **bounds) for e in batch]


def summary(info) -> tuple:
    return (info.stream_id, info.stream_type, info.events, info.first_version, info.last_version,
            info.first_time, info.last_time, info.catalogued_version)


def minute(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


class OtherWriterContract:
    """Each backend gives ``app``: an application writing that backend's database directly."""

    def test_an_application_s_events_are_all_shown_without_a_catalogue(self, app):
        app.write("user-1", "user", range(1, 5))
        app.write("order-7", "order", range(1, 4))
        with app.open(read_only=True) as store:
            coverage = store.coverage()
            assert not coverage.complete
            assert "no EventLens stream catalogue (7 events)" in coverage.message and "\n" not in coverage.message
            assert "catalogue rebuild" in coverage.message
            listed = store.streams()
            assert [summary(i) for i in listed] == [
                ("order-7", "order", 3, 1, 3, minute(1), minute(3), None),
                ("user-1", "user", 4, 1, 4, minute(1), minute(4), None),
            ]
            assert [summary(store.stream(s)) for s in ("order-7", "user-1")] == [summary(i) for i in listed]
            assert store.stream("nobody") is None
            assert store.count_streams() == 2 and store.count_streams(type="user") == 1
            assert [i.stream_id for i in store.streams(match="USER", sort="events", descending=True)] == ["user-1"]
            assert [i.stream_id for i in store.streams(sort="events", descending=True)] == ["user-1", "order-7"]
            assert store.stream_types() == ["order", "user"]
            size = store.size()
            assert (size.streams, size.events) == (2, 7)
            events = [e for b in store.read("user-1", batch_size=3) for e in b]
            assert [(e.version, e.type, e.data, e.metadata, e.time) for e in events] == [
                (v, *app_event("user-1", v)) for v in range(1, 5)]
            assert {type(e.data) for e in events} == {type(freeze_each([{"a": 1}])[0])}  # what every store hands out
            assert versions(store, "user-1", from_version=2, to_version=3) == [2, 3]
            assert store.version_at("user-1", minute(2.5)) == 2 and store.version_at("user-1", minute(0)) == 0
            assert catalogue_problem(store.stream("user-1")) is None  # no catalogue at all: said once, above

    def test_streams_read_from_the_events_list_in_natural_order(self, app):
        for stream_id in ("user-10", "user-9", "user-100", "user-1"):
            app.write(stream_id, "user", range(1, 2))
        with app.open(read_only=True) as store:
            assert not store.coverage().complete
            assert [i.stream_id for i in store.streams()] == ["user-1", "user-9", "user-10", "user-100"]
            assert [i.stream_id for i in store.streams(after="user-9")] == ["user-10", "user-100"]
            assert [i.stream_id for i in store.streams(after="user-10", descending=True)] == ["user-9", "user-1"]
            assert [i.stream_id for i in store.streams(sort="events", descending=True, limit=2)] == ["user-100",
                                                                                                   "user-10"]

    def test_events_another_writer_appends_above_a_catalogued_head_are_shown(self, app):
        with app.open(create=True) as store:
            store.append("acct-1", [NewEvent("Opened", {"n": 1}, {}, minute(0.5)),
                                    NewEvent("Changed", {"n": 2}, {}, minute(0.7)),
                                    NewEvent("Changed", {"n": 3}, {}, minute(0.9))], 0, stream_type="account")
            store.append("acct-2", [NewEvent("Opened", {"n": 1}, {}, minute(0.5))], 0, stream_type="account")
            assert store.coverage().complete
            app.write("acct-1", "account", range(4, 7))
            assert versions(store, "acct-1") == [1, 2, 3, 4, 5, 6]  # at once, on the same connection
            store.refresh()
            self.check_behind(store)
        with app.open(read_only=True) as fresh:  # and what a new connection finds
            self.check_behind(fresh)

    @staticmethod
    def check_behind(store) -> None:
        coverage = store.coverage()
        assert not coverage.complete and "behind the events (7 events, 4 catalogued)" in coverage.message
        info = store.stream("acct-1")
        assert summary(info) == ("acct-1", "account", 6, 1, 6, minute(0.5), minute(6), 3)
        assert [summary(i) for i in store.streams(type="account")][0] == summary(info)
        assert store.stream("acct-2").catalogued_version is None  # agrees
        assert versions(store, "acct-1") == [1, 2, 3, 4, 5, 6]
        assert [e.type for b in store.read("acct-1", from_version=3) for e in b] == ["Changed"] * 4
        assert store.version_at("acct-1", minute(100)) == 6 and store.version_at("acct-1", minute(4)) == 4
        assert store.count_streams() == 2 and store.stream_types() == ["account"]
        assert store.size().events == 7
        problem = catalogue_problem(info)
        assert (problem.stream_id, problem.version, problem.category) == ("acct-1", 4, "uncatalogued")
        assert problem.message == "versions 4\u20136 are not in EventLens's stream catalogue (written by another writer?)"

    def test_appends_and_a_rebuild_take_the_application_s_events_as_they_are(self, app, tmp_path):
        app.write("user-2", "user", range(1, 4))
        app.write("app-9", "thing", range(1, 3))
        before = app.documents()
        with app.open() as store:
            for expected in (0, 1, 3, 4):  # every expected version around the real head but the head, 2
                with pytest.raises(ConflictError) as caught:
                    store.append("app-9", [NewEvent("Ours", {"k": expected})], expected)
                assert caught.value.actual == 2
            assert store.append("app-9", [NewEvent("Ours", {"k": 2})], 2) == 3
            assert [e.type for b in store.read("app-9") for e in b] == ["Opened", "Changed", "Ours"]
            assert store.stream("app-9").catalogued_version is None  # its head moved past theirs: catalogued
            info = store.stream("user-2")
            assert (info.last_version, info.catalogued_version) == (3, 0)  # a catalogue exists, without it
            assert catalogue_problem(info).message.startswith("versions 1\u20133 are not in EventLens's stream catalogue")
            result = store.rebuild_catalogue()
            assert (result.streams, result.events, result.added) == (2, 6, 1)
            assert store.coverage().complete
            assert store.stream("user-2").catalogued_version is None
            with EmbeddedStore(tmp_path / "copy.sqlite") as copy:  # a copy already holding them, and more
                copy_streams(store, copy)
                copy.append("user-2", [NewEvent("Later", {"k": 2})], 3)
                assert copy_streams(copy, store, ["user-2", "app-9"]).events == 1
            assert [e.type for b in store.read("user-2") for e in b] == ["Opened", "Changed", "Changed", "Later"]
        assert app.documents() == before

    def test_events_another_writer_removed_are_not_shown_and_the_catalogue_s_claim_is_named(self, app):
        with app.open(create=True) as store:
            store.append("s", [NewEvent("E", {"n": i}, {}, minute(i)) for i in range(1, 6)], 0)
        app.remove("s", 5)
        app.remove("s", 4)
        with app.open(read_only=True) as store:
            coverage = store.coverage()
            assert not coverage.complete and "ahead of the events (3 events, 5 catalogued)" in coverage.message
            info = store.stream("s")
            assert summary(info) == ("s", "", 3, 1, 3, minute(1), minute(3), 5)
            assert [summary(i) for i in store.streams()] == [summary(info)]
            assert versions(store, "s") == [1, 2, 3] and store.size().events == 3
            problem = catalogue_problem(info)
            assert (problem.version, problem.category) == (4, "uncatalogued")
            assert problem.message == ("versions 4\u20135 are in EventLens's stream catalogue but not among the "
                                       "events (removed by another writer?)")
        with app.open() as store:
            assert store.rebuild_catalogue().updated == 1
            assert store.coverage().complete and store.stream("s").last_version == 3
            assert store.append("s", [NewEvent("E", {"n": 4}, {}, minute(4))], 3) == 4

    def test_a_stream_another_writer_began_above_version_1_is_shown_as_it_is(self, app):
        app.write("late-1", "thing", range(5, 8))  # its first four were archived away
        with app.open(create=True) as store:
            assert summary(store.stream("late-1"))[2:5] == (3, 5, 7)
            with pytest.raises(ConflictError):
                store.append("late-1", [NewEvent("Ours")], 3)
            assert store.append("late-1", [NewEvent("Ours", {}, {}, minute(9))], 7) == 8
            assert summary(store.stream("late-1")) == ("late-1", "thing", 4, 5, 8, minute(5), minute(9), None)
            assert store.coverage().events == 4
            store.refresh()
            assert store.coverage().complete  # the catalogue counts 5..8, not 1..8
            assert [summary(i) for i in store.streams()] == [summary(store.stream("late-1"))]
            assert store.rebuild_catalogue().updated == 0


class TestMongoStore(OtherWriterContract):
    @pytest.fixture
    def app(self, mongo_uri, mongo_db_name):
        writer = MongoApp(mongo_uri, mongo_db_name)
        yield writer
        writer.close()


class TestEmbeddedStore(OtherWriterContract):
    @pytest.fixture
    def app(self, tmp_path):
        return EmbeddedApp(tmp_path / "app.sqlite")
