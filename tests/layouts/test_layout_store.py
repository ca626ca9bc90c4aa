"""LayoutStore behaviour beyond one preset: opening through connect, the stream list, opting in to writes."""
from __future__ import annotations

import pytest

from model.errors import LayoutError
from model.event import Snapshot
from model.reducer import default_reducer
from model.snapshot import take_snapshot
from store.layout import load_layout, parse_layout
from tests.layouts import documents as docs
from tests.layouts.documents import at


def test_open_store_with_a_layout_name(tool_db, mongo_uri, mongo_db_name):
    from store.connect import open_store

    events, snapshots = docs.eventflow_documents()
    tool_db["eventflow.events"].insert_many(events)
    with open_store(mongo_uri, mongo_db_name, layout="eventflow") as store:
        assert store.count_streams() == 3
        assert "eventflow layout" in store.describe() and mongo_db_name in store.describe()
        assert not store.capabilities.writable


def test_open_store_with_an_unknown_layout_is_one_clear_error(mongo_uri, mongo_db_name):
    from store.connect import open_store

    with pytest.raises(LayoutError, match="no layout 'nope'"):
        open_store(mongo_uri, mongo_db_name, layout="nope")


def test_stream_list_pages_sorts_and_filters(tool_db, open_layout):
    # 25 streams of 1..3 events in the axon shape
    entries = []
    for i in range(25):
        kind = "Order" if i % 2 else "Invoice"
        for seq in range(i % 3 + 1):
            entries.append(docs.axon_entry(f"agg-{i:02d}", kind, seq, i + seq / 10, "com.x.Changed", {"n": seq}))
    tool_db["domainevents"].insert_many(entries)
    store = open_layout("axon")
    assert store.count_streams() == 25 and store.stream_types() == ["Invoice", "Order"]
    assert store.count_streams(type="Order") == 12
    page = store.streams(sort="stream_id", offset=10, limit=5)
    assert [s.stream_id for s in page] == [f"agg-{i:02d}" for i in range(10, 15)]
    newest = store.streams(sort="last_time", descending=True, limit=2)
    assert [s.stream_id for s in newest] == ["agg-24", "agg-23"]
    assert [s.stream_id for s in store.streams(match="-1", limit=100)] == [f"agg-1{i}" for i in range(10)]
    assert store.count_streams(match=".") == 0  # the filter is a substring, not a pattern
    size = store.size()
    assert (size.streams, size.events, size.snapshots) == (25, sum(i % 3 + 1 for i in range(25)), 0)


def test_new_documents_show_after_refresh(tool_db, open_layout):
    events, _ = docs.axon_documents()
    tool_db["domainevents"].insert_many(events)
    store = open_layout("axon")
    assert store.stream("order-3") is None
    tool_db["domainevents"].insert_one(docs.axon_entry("order-3", "Order", 0, 9, "com.shop.OrderCreated", {"n": 1}))
    assert store.stream("order-3") is None  # cached for the store's life
    store.refresh()
    assert store.stream("order-3").events == 1


def test_writing_into_the_tools_snapshots_needs_the_layouts_opt_in(tool_db, open_layout, tmp_path):
    events, snapshots = docs.seed_documents()
    tool_db["events"].insert_many(events)
    tool_db["snapshots"].insert_many(snapshots)
    text = load_layout("seed").to_toml().replace("writable = false", "writable = true")
    layout = parse_layout(text, source="seed-writable.toml")
    store = open_layout(layout)
    assert store.capabilities.writable
    snap = take_snapshot(store, "user-1", default_reducer(), version=2)
    assert store.save_snapshot(snap) is True
    written = tool_db["snapshots"].find_one({"aggregate-id": "user-1", "timestamp": int(at(5).timestamp() * 1000)})
    assert written["snapshot"] == {"id": "user-1", "name": "Ada Lovelace"}  # the tool's own shape
    assert "eventlens_snapshots" not in tool_db.list_collection_names()
    versions = sorted(s.version for s in store.snapshots("user-1"))
    assert versions == [2, 3]  # read back, placed by its timestamp at version 2
    assert store.save_snapshot(snap) is False


def test_undecodable_foreign_snapshot_is_listed_not_hidden(tool_db, open_layout):
    events, snapshots = docs.axon_documents()
    tool_db["domainevents"].insert_many(events)
    bad = dict(snapshots[0], serializedPayload="<xml>not json</xml>")
    tool_db["snapshotevents"].insert_one(bad)
    store = open_layout("axon")
    [snap] = store.snapshots("order-1")
    assert isinstance(snap, Snapshot) and "$undecodable" in snap.state
    assert snap.state["$undecodable"].startswith("serializedPayload: not valid JSON")
