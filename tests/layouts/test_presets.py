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
from tests.layouts.documents import UTC, at


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
    kinds = [p.kind for p in check_stream(all_events(seed_store, "user-1"), default_reducer())]
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
