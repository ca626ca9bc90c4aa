"""Each preset reads a store written in that tool's exact shape (against FerretDB or $MONGODB_URI)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from model.errors import EventLensError
from model.event import NewEvent, ReducerId
from model.integrity import check_stream
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from model.snapshot import take_snapshot, verify_snapshot
from tests.layouts import documents as docs
from tests.layouts.documents import at


def all_events(store, stream_id, **bounds):
    return [e for batch in store.read(stream_id, **bounds) for e in batch]


# -- seed --------------------------------------------------------------------------------------


@pytest.fixture
def seed_store(tool_db, open_layout):
    events, snapshots = docs.seed_documents()
    # insert in an order unlike the ObjectIds', so order can only come from _id
    tool_db["events"].insert_many(list(reversed(events)))
    tool_db["snapshots"].insert_many(snapshots)
    return open_layout("seed")


def test_seed_streams_are_listed_with_counts_and_times(seed_store):
    infos = {s.stream_id: s for s in seed_store.streams()}
    assert sorted(infos) == ["user-1", "user-2", "user-3"]
    assert [(infos[s].events, infos[s].first_version, infos[s].last_version) for s in sorted(infos)] == [
        (4, 1, 4), (2, 1, 2), (1, 1, 1)]
    assert infos["user-1"].first_time == at(0) and infos["user-1"].last_time == at(20)
    assert seed_store.count_streams(match="USER-2") == 1
    assert [s.stream_id for s in seed_store.streams(sort="events", descending=True)] == ["user-1", "user-2", "user-3"]


def test_seed_events_take_order_time_and_versions_from_the_objectid(seed_store):
    events = all_events(seed_store, "user-1")
    assert [(e.version, e.type) for e in events] == [(1, "created"), (2, "updated"), (3, "updated"), (4, "deleted")]
    assert [e.time for e in events] == [at(0), at(5), at(9), at(20)]
    assert all(e.time.tzinfo is not None and e.time.utcoffset() == timedelta(0) for e in events)
    assert events[0].data == {"id": "user-1", "name": "Ada"}  # inline fields, without _id/aggregate-id/type
    assert events[3].data == {} and events[0].problems == ()
    assert [e.version for e in all_events(seed_store, "user-1", from_version=2, to_version=3)] == [2, 3]
    assert seed_store.version_at("user-1", at(9.9)) == 3


def test_seed_snapshots_are_placed_by_time_and_verify_against_the_default_reducer(seed_store):
    reducer = default_reducer()
    [snap1] = seed_store.snapshots("user-1")
    assert snap1.version == 3 and snap1.foreign
    assert snap1.reducer == ReducerId("foreign:seed", "")
    [snap2] = seed_store.snapshots("user-2")  # found through the older user-id field
    assert snap2.version == 2
    for snap in (snap1, snap2):
        assert verify_snapshot(seed_store, snap, reducer).ok
    final = reconstruct(seed_store, "user-1", reducer)
    assert final.version == 4 and dict(final.state) == {
        "id": "user-1", "name": "Ada Lovelace", "email": "ada@example.org", "deleted": True}
    # foreign snapshots are not used unless trusted, and then give the same state
    trusted = reconstruct(seed_store, "user-1", reducer, version=4, trust_foreign=True)
    assert dict(trusted.state) == dict(final.state)


def test_seed_integrity_check_finds_events_after_a_deletion(tool_db, seed_store):
    assert check_stream(all_events(seed_store, "user-1"), default_reducer()) == []
    tool_db["events"].insert_one({"_id": docs.oid(at(30), 999), "aggregate-id": "user-1", "type": "updated", "name": "Ghost"})
    seed_store.refresh()
    assert seed_store.stream("user-1").events == 5
    kinds = [p.category for p in check_stream(all_events(seed_store, "user-1"), default_reducer())]
    assert kinds == ["after-delete"]


def test_foreign_store_refuses_appends_and_keeps_its_snapshots_apart(tool_db, seed_store):
    with pytest.raises(EventLensError, match="does not write events into a foreign store"):
        seed_store.append("user-1", [NewEvent("updated", {"name": "x"})], 4)
    reducer = default_reducer()
    snap = take_snapshot(seed_store, "user-2", reducer)
    assert seed_store.save_snapshot(snap) is True
    assert seed_store.save_snapshot(snap) is False
    assert tool_db["snapshots"].count_documents({}) == 2  # the tool's collection is untouched
    [own] = list(tool_db["eventlens_snapshots"].find())
    assert own["layout"] == "seed" and own["reducer"]["name"] == reducer.id.name
    assert seed_store.latest_snapshot("user-2", at_or_before=2, reducer=reducer.id).state == snap.state
    assert not seed_store.capabilities.writable
    assert sorted(s.foreign for s in seed_store.snapshots("user-2")) == [False, True]


def test_read_only_layout_store_refuses_snapshots_before_the_server(tool_db, open_layout):
    events, _ = docs.seed_documents()
    tool_db["events"].insert_many(events)
    store = open_layout("seed", read_only=True)
    snap = take_snapshot(store, "user-3", default_reducer())
    with pytest.raises(EventLensError, match="read-only"):
        store.save_snapshot(snap)
    assert "eventlens_snapshots" not in tool_db.list_collection_names()


# -- NEventStore -------------------------------------------------------------------------------


@pytest.fixture
def nes_store(tool_db, open_layout):
    commits, snapshots = docs.neventstore_documents()
    tool_db["Commits"].insert_many(list(reversed(commits)))
    tool_db["Snapshots"].insert_many(snapshots)
    return open_layout("neventstore")


def test_neventstore_commits_unfold_into_numbered_events(nes_store):
    infos = {s.stream_id: s for s in nes_store.streams()}
    assert sorted(infos) == ["default/acc-1", "default/acc-2", "tenant-b/acc-2"]  # recycle bin left out
    assert (infos["default/acc-1"].events, infos["default/acc-1"].last_version) == (6, 6)
    assert infos["default/acc-1"].first_time == at(0) and infos["default/acc-1"].last_time == at(3)
    events = all_events(nes_store, "default/acc-1")
    assert [(e.version, e.type) for e in events] == [
        (1, "AccountOpened"), (2, "MoneyDeposited"), (3, "MoneyWithdrawn"),
        (4, "MoneyDeposited"), (5, "MoneyDeposited"), (6, "AccountClosed")]
    assert [e.time for e in events] == [at(0), at(0), at(2), at(3), at(3), at(3)]
    assert events[1].data == {"_t": "MoneyDeposited", "Amount": 100}
    assert events[1].metadata == {"UserId": "admin"}
    assert all(e.problems == () for e in events)
    assert [e.version for e in all_events(nes_store, "default/acc-1", from_version=4, to_version=5)] == [4, 5]
    assert [e.data["Owner"] for e in all_events(nes_store, "tenant-b/acc-2")] == ["Bea"]
    assert check_stream(events, default_reducer()) == []


def test_neventstore_snapshot_is_found_by_its_revision(nes_store):
    [snap] = nes_store.snapshots("default/acc-1")
    assert (snap.version, dict(snap.state), snap.foreign) == (2, {"Owner": "Ada", "Balance": 100}, True)
    assert nes_store.snapshots("default/acc-2") == []


def test_neventstore_commit_whose_array_disagrees_with_its_revisions(tool_db, nes_store):
    broken = docs.nes_commit(7, "acc-2", 2, 2, 6, [{"_t": "MoneyDeposited", "Amount": 1},
                                                    {"_t": "MoneyDeposited", "Amount": 2}])
    broken["StreamRevisionTo"] = 4  # says three events, holds two
    broken["Events"][1]["StreamRevision"] = 9
    later = docs.nes_commit(8, "acc-2", 3, 5, 7, [{"_t": "MoneyDeposited", "Amount": 3}])
    tool_db["Commits"].insert_many([broken, later])
    nes_store.refresh()
    events = all_events(nes_store, "default/acc-2")
    assert [e.version for e in events] == [1, 2, 3, 5]
    assert events[0].problems == () and events[3].problems == ()
    assert all("holds 2 events but the commit's versions are 2..4" in " ".join(e.problems) for e in events[1:3])
    assert any("Events.1.StreamRevision: says version 9" in p for p in events[2].problems)
    kinds = {p.category for p in check_stream(events)}
    assert kinds == {"undecodable", "gap"}


# -- Axon --------------------------------------------------------------------------------------


@pytest.fixture
def axon_store(tool_db, open_layout):
    events, snapshots = docs.axon_documents()
    tool_db["domainevents"].insert_many(list(reversed(events)))
    tool_db["snapshotevents"].insert_many(snapshots)
    return open_layout("axon")


def test_axon_sequence_numbers_from_zero_are_versions_from_one(axon_store):
    infos = {s.stream_id: s for s in axon_store.streams()}
    assert {k: (v.events, v.first_version, v.last_version, v.stream_type) for k, v in infos.items()} == {
        "order-1": (3, 1, 3, "Order"), "order-2": (2, 1, 2, "Order")}
    assert axon_store.stream_types() == ["Order"]
    assert infos["order-2"].first_time == at(0.5) and infos["order-2"].last_time == at(3)
    events = all_events(axon_store, "order-1")
    assert [(e.version, e.type) for e in events] == [
        (1, "com.shop.OrderCreated"), (2, "com.shop.OrderQuantityChanged"), (3, "com.shop.OrderShipped")]
    assert [e.time for e in events] == [at(0), at(1), at(2)]
    assert events[0].data == {"orderId": "order-1", "items": 2}
    assert events[1].data == {"items": 3}  # a subdocument payload reads as well as JSON text
    assert events[0].metadata == {"traceId": "t-order-1-0"}
    assert axon_store.version_at("order-1", at(1.2)) == 2


def test_axon_snapshot_sequence_number_is_its_version(axon_store):
    [snap] = axon_store.snapshots("order-1")
    assert snap.version == 2 and snap.state == {"orderId": "order-1", "items": 3}
    assert snap.created_at == at(1.5)
    assert verify_snapshot(axon_store, snap, default_reducer()).ok
    state = reconstruct(axon_store, "order-1", default_reducer(), version=2).state
    assert dict(state) == {"orderId": "order-1", "items": 3}


def test_axon_payload_that_is_not_json_is_reported_on_its_event(tool_db, axon_store):
    tool_db["domainevents"].insert_one(docs.axon_entry("order-2", "Order", 2, 5, "com.shop.OrderNoted", "{not json"))
    bad = docs.axon_entry("order-2", "Order", 3, 6, "com.shop.OrderNoted", {"note": "x"})
    del bad["timestamp"]
    tool_db["domainevents"].insert_one(bad)
    axon_store.refresh()
    events = all_events(axon_store, "order-2")
    assert [e.version for e in events] == [1, 2, 3, 4]
    assert events[2].data == {} and len(events[2].problems) == 1
    assert events[2].problems[0].startswith("serializedPayload: payload does not decode as json")
    assert events[3].data == {"note": "x"} and events[3].problems == ("timestamp: missing (time)",)
    assert events[1].problems == ()


def test_axon_commit_variant(tool_db, open_layout):
    tool_db["domainevents"].insert_many(docs.axon_commit_documents())
    store = open_layout("axon-commit")
    infos = {s.stream_id: s for s in store.streams()}
    assert {k: (v.events, v.last_version) for k, v in infos.items()} == {"order-1": (3, 3), "order-2": (2, 2)}
    assert infos["order-1"].first_time == at(0) and infos["order-1"].last_time == at(2)
    events = all_events(store, "order-1")
    assert [(e.version, e.type) for e in events] == [
        (1, "com.shop.OrderCreated"), (2, "com.shop.OrderQuantityChanged"), (3, "com.shop.OrderShipped")]
    assert [e.time for e in events] == [at(0), at(1), at(2)]
    assert all(e.problems == () for e in events)
    assert [e.version for e in all_events(store, "order-1", from_version=3)] == [3]


# -- EventFlow ---------------------------------------------------------------------------------


@pytest.fixture
def eventflow_store(tool_db, open_layout):
    events, snapshots = docs.eventflow_documents()
    tool_db["eventflow.events"].insert_many(list(reversed(events)))
    tool_db["snapShots"].insert_many(snapshots)
    return open_layout("eventflow")


def test_eventflow_type_and_time_come_from_the_metadata_text(eventflow_store):
    infos = {s.stream_id: s for s in eventflow_store.streams()}
    assert {k: (v.events, v.last_version, v.stream_type) for k, v in infos.items()} == {
        "thingy-1a": (3, 3, "ThingyAggregate"), "thingy-2b": (1, 1, "ThingyAggregate"), "user-7": (1, 1, "UserAggregate")}
    assert infos["thingy-1a"].first_time == at(0) and infos["thingy-1a"].last_time == at(4)
    assert eventflow_store.streams(type="UserAggregate")[0].stream_id == "user-7"
    events = all_events(eventflow_store, "thingy-1a")
    assert [(e.version, e.type) for e in events] == [(1, "ThingyCreated"), (2, "ThingyPinged"), (3, "ThingyDeleted")]
    assert [e.time for e in events] == [at(0), at(2), at(4)]
    assert events[0].data == {"Name": "first"} and events[0].metadata["event_version"] == "1"
    final = reconstruct(eventflow_store, "thingy-1a", default_reducer())
    assert dict(final.state) == {"Name": "first", "PingId": "p1", "deleted": True}


def test_eventflow_snapshot(eventflow_store):
    [snap] = eventflow_store.snapshots("thingy-1a")
    assert (snap.version, dict(snap.state)) == (2, {"Name": "first", "PingId": "p1"})
    assert verify_snapshot(eventflow_store, snap, default_reducer()).ok


def test_eventflow_metadata_that_is_not_json_keeps_the_stream_readable(tool_db, eventflow_store):
    doc = docs.eventflow_event(6, "thingy-2b", "ThingyAggregate", 2, 7, "ThingyPinged", {"PingId": "p2"})
    doc["Metadata"] = "{\"event_name\": "  # cut short
    tool_db["eventflow.events"].insert_one(doc)
    eventflow_store.refresh()
    events = all_events(eventflow_store, "thingy-2b")
    assert [e.version for e in events] == [1, 2]
    assert events[1].data == {"PingId": "p2"}
    assert any(p.startswith("Metadata: metadata does not decode as json") for p in events[1].problems)
    assert any(p.startswith("Metadata.event_name: missing") for p in events[1].problems)
    assert events[0].problems == ()
