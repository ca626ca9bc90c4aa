"""A foreign layout's stream list kept in a local cache file (issue 16, point 3).

Every test writes documents in the tool's exact shape into a real server and reads them
through ``open_store``, which keeps the list in ``$EVENTLENS_HOME/cache`` (a fresh home per
test, from ``tests/conftest.py``).
"""
from __future__ import annotations

import os
import shutil
import struct
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from bson import Int64, ObjectId

from model.errors import CancelledError
from store.catalogue_cache import CatalogueCache, Meta, cache_dir, cache_key
from store.catalogue_sync import SLACK, IndexPages, index_walked
from store.connect import open_store
from tests.layouts import documents as docs

UTC = timezone.utc


def axon_orders(n: int, events: int = 2, start: int = 0, prefix: str = "order") -> list[dict]:
    return [docs.axon_entry(f"{prefix}-{i}", "Order", seq, i, "com.shop.OrderChanged", {"n": seq})
            for i in range(start, start + n) for seq in range(events)]


def oid_at(moment: datetime) -> ObjectId:
    """An ObjectId a client made at ``moment`` (random after the time, as drivers make them)."""
    return ObjectId(struct.pack(">I", int(moment.timestamp())) + os.urandom(8))


def ids(infos) -> list[str]:
    return [i.stream_id for i in infos]


@pytest.fixture
def axon(mongo_uri, mongo_db_name):
    """``axon(read_only=False)``: a store over the test database in the axon layout, with its cache."""
    opened = []

    def open_(**options):
        store = open_store(mongo_uri, mongo_db_name, layout="axon", **options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def test_built_once_with_progress_then_reopened_from_the_file(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(30, events=3))
    store = axon()
    before = store.catalogue()
    assert not before.ready and before.refreshed_at is None and Path(before.path).parent == cache_dir()
    reports = []
    state = store.update_catalogue(progress=lambda done, total, what: reports.append((done, total)))
    assert state.ready and state.streams == 30 and state.incremental and state.changed
    assert reports and reports[-1] == (90, 90)  # every document read, out of the collection's count
    assert Path(state.path).is_file()
    store.close()

    again = axon()
    reopened = again.catalogue()
    assert reopened.ready and reopened.built_at == state.built_at  # the file answers: nothing was built again
    assert again.count_streams() == 30 and again.stream_types() == ["Order"]
    first = again.streams(limit=3)
    assert ids(first) == ["order-0", "order-1", "order-2"]
    assert (first[0].events, first[0].first_version, first[0].last_version) == (3, 1, 3)
    assert first[0].first_time == docs.at(0) and first[2].last_time == docs.at(2)
    size = again.size()
    assert (size.streams, size.events) == (30, 90)
    assert again.catalogue().built_at == state.built_at


def test_a_refresh_shows_new_streams_and_new_events_of_a_stream(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(5))
    store = axon()
    store.update_catalogue()
    # Axon writes the next events of order-3, and a new aggregate, while EventLens is closed
    tool_db["domainevents"].insert_many([
        docs.axon_entry("order-3", "Order", 2, 40, "com.shop.OrderShipped", {"carrier": "post"}),
        docs.axon_entry("order-3", "Order", 3, 41, "com.shop.OrderDelivered", {}),
        docs.axon_entry("invoice-1", "Invoice", 0, 42, "com.shop.InvoiceIssued", {"total": 12}),
    ])
    store.close()

    store = axon()
    state = store.update_catalogue()  # what the session does in the background at connect
    assert state.changed and state.incremental
    assert store.count_streams() == 6 and store.stream_types() == ["Invoice", "Order"]
    three = store.stream("order-3")
    assert (three.events, three.last_version, three.last_time) == (4, 4, docs.at(41))
    assert [i.stream_id for i in store.streams(sort="last_time", descending=True, limit=2)] == ["invoice-1", "order-3"]
    assert store.catalogue().built_at == state.built_at  # read what changed, not everything

    # refresh() (the store contract) brings it up to date too, before the next answer
    tool_db["domainevents"].insert_one(docs.axon_entry("order-9", "Order", 0, 50, "com.shop.OrderCreated", {}))
    store.refresh()
    assert "order-9" in ids(store.streams(limit=100))


def test_a_stream_written_since_the_last_refresh_is_never_hidden(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(3))
    store = axon()
    store.update_catalogue()
    tool_db["domainevents"].insert_many([docs.axon_entry("late-1", "Order", s, 60, "com.shop.X", {}) for s in range(2)])
    info = store.stream("late-1")  # not in the file yet: read from its own documents
    assert info is not None and (info.events, info.last_version) == (2, 2)
    assert [e.version for batch in store.read("late-1") for e in batch] == [1, 2]


def test_a_quick_look_reads_only_where_counts_are_metadata(tool_db, axon, mongo_client):
    tool_db["domainevents"].insert_many(axon_orders(3))
    store = axon()
    built = store.update_catalogue()
    tool_db["domainevents"].insert_many(axon_orders(2, start=3))
    store.close()
    store = axon()
    state = store.update_catalogue(quick=True)  # what the command line does on open
    if "ferretdbVersion" in mongo_client.admin.command("buildInfo"):
        # FerretDB v1 counts only by reading every document: a quick look reads nothing, the list keeps its age
        assert state.refreshed_at == built.refreshed_at and store.count_streams() == 3
        assert store.stream("order-4") is not None  # a stream named is read from its own documents all the same
        assert store.update_catalogue().changed and store.count_streams() == 5
    else:  # MongoDB: the counts come from metadata, and only the new documents are read
        assert state.changed and state.built_at == built.built_at and store.count_streams() == 5
        unchanged = store.update_catalogue(quick=True)
        assert not unchanged.changed and unchanged.refreshed_at > state.refreshed_at


def test_documents_written_behind_the_newest_are_found(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(4))
    store = axon()
    built = store.update_catalogue()
    newest = tool_db["domainevents"].find_one(sort=[("_id", -1)])["_id"].generation_time
    # another client, its clock a little behind: an _id older than the newest one read
    near = docs.axon_entry("order-1", "Order", 2, 30, "com.shop.OrderPaid", {})
    near["_id"] = oid_at(newest - SLACK / 2)
    tool_db["domainevents"].insert_one(near)
    state = store.update_catalogue()
    assert state.built_at == built.built_at and not state.note  # found by the refresh itself, not a rebuild
    assert store.stream("order-1").events == 3 and store.size().events == 9
    # the next refresh reads that stretch again (every document here is in it) and skips what it counted
    tool_db["domainevents"].insert_one(docs.axon_entry("order-0", "Order", 2, 31, "com.shop.OrderPaid", {}))
    again = store.update_catalogue()
    assert again.changed and again.built_at == built.built_at
    assert store.size().events == 10 and store.stream("order-0").events == 3

    # and one far behind every stretch a refresh reads again: the count gives it away
    far = docs.axon_entry("order-2", "Order", 2, 31, "com.shop.OrderPaid", {})
    far["_id"] = oid_at(newest - timedelta(days=3))
    tool_db["domainevents"].insert_one(far)
    state = store.update_catalogue()
    assert "read again" in state.note
    assert store.stream("order-2").events == 3 and store.count_streams() == 4


def test_deleted_documents_leave_the_list(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(4))
    store = axon()
    store.update_catalogue()
    tool_db["domainevents"].delete_many({"aggregateIdentifier": "order-2"})
    store.update_catalogue()
    assert ids(store.streams(limit=10)) == ["order-0", "order-1", "order-3"]


def test_neventstore_checkpoints_and_its_recycle_bin(tool_db, mongo_uri, mongo_db_name):
    commits, _ = docs.neventstore_documents()
    tool_db["Commits"].insert_many(list(reversed(commits)))
    with open_store(mongo_uri, mongo_db_name, layout="neventstore") as store:
        state = store.update_catalogue()
        assert state.incremental  # Int64 checkpoints as _id
        assert ids(store.streams(limit=10)) == ["default/acc-1", "default/acc-2", "tenant-b/acc-2"]
        tool_db["Commits"].insert_many([
            docs.nes_commit(7, "acc-2", 2, 2, 9, [{"_t": "MoneyDeposited", "Amount": 3}]),
            docs.nes_commit(8, "acc-5", 1, 1, 10, [{"_t": "AccountOpened", "Owner": "Eve"}]),
            docs.nes_commit(9, "acc-6", 1, 1, 11, [{"_t": "AccountOpened"}], bucket=":rb"),
        ])
        state = store.update_catalogue()
        assert state.changed and not state.note
        assert ids(store.streams(limit=10)) == ["default/acc-1", "default/acc-2", "default/acc-5", "tenant-b/acc-2"]
        assert store.stream("default/acc-2").last_version == 2


def test_a_stream_shaped_layout_is_read_again_in_full(tool_db, mongo_uri, mongo_db_name):
    for collection, documents in docs.emmett_documents().items():
        tool_db[collection].insert_many(documents)
    with open_store(mongo_uri, mongo_db_name, layout="emmett") as store:
        state = store.update_catalogue()
        assert state.ready and not state.incremental  # its documents grow in place
        assert store.stream("shopping_cart:cart-2").events == 1
        tool_db["emt:shopping_cart"].update_one(
            {"streamName": "shopping_cart:cart-2"},
            {"$push": {"messages": {"type": "ProductItemAdded", "data": {"productId": "cap", "quantity": 1},
                                    "metadata": {"streamPosition": Int64(2)}}},
             "$set": {"metadata.streamPosition": Int64(2)}})
        quick = store.update_catalogue(quick=True)
        assert quick.built_at == state.built_at  # a quick look cannot tell: the list stays, its age grows
        assert store.streams(match="cart-2")[0].events == 1
        store.update_catalogue()  # the background refresh: everything read again
        assert store.streams(match="cart-2")[0].events == 2
        assert store.stream("shopping_cart:cart-2").events == 2


def test_natural_order_of_stream_ids_in_the_cached_list(tool_db, axon):
    tool_db["domainevents"].insert_many([docs.axon_entry(f"account-{n}", "Account", 0, n, "com.bank.Opened", {})
                                         for n in (10, 2, 1, 100, 20, 3)])
    store = axon()
    assert ids(store.streams()) == ["account-1", "account-2", "account-3", "account-10", "account-20", "account-100"]
    assert ids(store.streams(descending=True, limit=2)) == ["account-100", "account-20"]
    assert ids(store.streams(offset=2, limit=2)) == ["account-3", "account-10"]
    assert ids(store.streams(after="account-3", limit=2)) == ["account-10", "account-20"]  # keyset, in the file
    assert ids(store.streams(after="account-10", descending=True)) == ["account-3", "account-2", "account-1"]
    assert ids(store.streams(match="ACCOUNT-1")) == ["account-1", "account-10", "account-100"]
    assert store.count_streams(match="0") == 3 and store.count_streams(type="Nope") == 0


def test_a_cache_of_another_database_or_layout_is_never_used(tool_db, mongo_client, mongo_uri, mongo_db_name):
    tool_db["domainevents"].insert_many(axon_orders(3))
    other_db = f"{mongo_db_name}_other"
    mongo_client[other_db]["domainevents"].insert_many(axon_orders(2, prefix="other"))
    try:
        with open_store(mongo_uri, mongo_db_name, layout="axon") as mine:
            mine_path = Path(mine.update_catalogue().path)
        with open_store(mongo_uri, other_db, layout="axon") as theirs:
            assert not theirs.catalogue().ready and Path(theirs.catalogue().path) != mine_path
            theirs_path = Path(theirs.catalogue().path)
        # a file copied over another's (by hand, a backup restored): its key says whose it is
        shutil.copy(mine_path, theirs_path)
        with open_store(mongo_uri, other_db, layout="axon") as theirs:
            state = theirs.catalogue()
            assert not state.ready and "another db" in state.note
            assert ids(theirs.streams()) == ["other-0", "other-1"]
        with open_store(mongo_uri, mongo_db_name, layout="axon-commit") as commit_layout:
            assert not commit_layout.catalogue().ready  # the same collection read by another layout
    finally:
        mongo_client.drop_database(other_db)


def test_a_changed_layout_file_gets_a_cache_of_its_own(tool_db, mongo_uri, mongo_db_name, tmp_path):
    from store.layout import load_layout

    tool_db["domainevents"].insert_many(axon_orders(2))
    text = load_layout("axon").to_toml()
    first, second = tmp_path / "mine.toml", tmp_path / "mine-too.toml"
    first.write_text(text.replace('name = "axon"', 'name = "mine"'))
    second.write_text(text.replace('name = "axon"', 'name = "mine"').replace('stream_type = "type"', 'stream_type = ""'))
    with open_store(mongo_uri, mongo_db_name, layout=str(first)) as store:
        store.update_catalogue()
        assert store.stream_types() == ["Order"]
    with open_store(mongo_uri, mongo_db_name, layout=str(second)) as store:
        assert not store.catalogue().ready  # same name, other content: another fingerprint
        assert store.stream_types() == []


def test_a_damaged_cache_file_is_rebuilt_with_a_note(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(3))
    store = axon()
    path = Path(store.update_catalogue().path)
    store.close()
    path.write_bytes(b"this is not a cache" * 100)
    store = axon()
    state = store.catalogue()
    assert not state.ready and "was not used" in state.note and state.note.count("\n") == 0
    assert ids(store.streams()) == ["order-0", "order-1", "order-2"]
    assert store.catalogue().ready and "building it again" in store.catalogue().note
    store.close()

    # damaged while open: a read that fails builds it again instead of failing
    store = axon()
    built = store.catalogue()
    assert built.ready
    path.write_bytes(b"\xff" * path.stat().st_size)
    assert ids(store.streams()) == ["order-0", "order-1", "order-2"]
    state = store.catalogue()
    assert state.ready and state.built_at > built.built_at and "could not be read" in state.note


def test_read_only_connections_cache_locally_and_write_nothing_to_the_database(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(3))
    collections = sorted(tool_db.list_collection_names())
    store = axon(read_only=True)
    state = store.update_catalogue()
    assert state.ready and Path(state.path).is_file() and store.count_streams() == 3
    assert sorted(tool_db.list_collection_names()) == collections


def test_no_password_in_the_cache_file_or_its_name(tmp_path):
    from store.layout import load_layout

    uri = "mongodb://ada:s3cr3t-pw@db.example.net:27017/shop?authSource=admin&authMechanismProperties=TOKEN:t0ken"
    cache = CatalogueCache.for_store(uri, "shop", load_layout("axon"), folder=tmp_path)
    build = cache.build()
    build.finish(Meta(), {})
    assert cache.ready
    files = list(tmp_path.iterdir())
    assert files == [cache.path]
    for secret in ("s3cr3t-pw", "t0ken"):
        assert secret not in cache.path.name and secret.encode() not in cache.path.read_bytes()
    assert b"mongodb://ada@db.example.net:27017/shop" in cache.path.read_bytes()  # who it belongs to, redacted
    assert cache_key(uri, "shop", load_layout("axon")) == cache_key(uri.replace("s3cr3t-pw", "other"), "shop",
                                                                    load_layout("axon"))


def test_a_cancelled_build_leaves_the_old_list_as_it_was(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(3))
    store = axon()
    path = Path(store.update_catalogue().path)
    tool_db["domainevents"].insert_many(axon_orders(2000, events=1, start=100))
    calls = []

    def cancel() -> None:
        calls.append(1)
        raise CancelledError("building the stream list")

    with pytest.raises(CancelledError):
        store.update_catalogue(full=True, check=cancel)
    assert calls and sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no half-built file left
    store.close()
    assert axon().catalogue().streams == 3


def test_a_build_in_another_thread_and_a_reader_build_it_once(tool_db, axon):
    tool_db["domainevents"].insert_many(axon_orders(200, events=2))
    store = axon()
    results: dict[str, object] = {}
    worker = threading.Thread(target=lambda: results.setdefault("state", store.update_catalogue()))
    worker.start()
    listed = store.streams(limit=3)  # waits for the build when it runs, or builds it first
    worker.join(60)
    assert not worker.is_alive()
    assert ids(listed) == ["order-0", "order-1", "order-2"]
    assert results["state"].ready and results["state"].built_at == store.catalogue().built_at
    assert store.count_streams() == 200


# -- the first page from the stream-id index ----------------------------------------------------------


def test_the_first_page_comes_from_the_stream_id_index_where_the_server_walks_it(tool_db, axon, mongo_db_name):
    # the index the Axon MongoDB extension creates on its event collection
    tool_db["domainevents"].create_index([("aggregateIdentifier", 1), ("sequenceNumber", 1)], unique=True,
                                         name="uniqueAggregateIndex")
    tool_db["domainevents"].insert_many(axon_orders(120, events=3))
    store = axon()
    walked = index_walked(tool_db, {"find": "domainevents", "filter": {}, "sort": {"aggregateIdentifier": 1},
                                    "projection": {"aggregateIdentifier": 1, "_id": 0},
                                    "hint": "uniqueAggregateIndex", "limit": IndexPages.BATCH})
    state = store.catalogue()
    assert not state.ready
    assert state.index_pages == ("uniqueAggregateIndex" in walked)
    if state.index_pages:  # MongoDB: the page before any build, in the index's (plain) order
        page = store.streams(limit=5)
        assert ids(page) == sorted(f"order-{i}" for i in range(120))[:5]
        assert all((i.events, i.first_version, i.last_version) == (3, 1, 3) for i in page)
        assert ids(store.streams(offset=5, limit=3)) == sorted(f"order-{i}" for i in range(120))[5:8]
        assert store.count_streams() == 120
        assert not store.catalogue().ready  # nothing built for it
    else:  # FerretDB v1: its explain says it scans, so the page waits for the build
        assert IndexPages(store).reason == "the server does not walk the index for it (it scans)"
        assert ids(store.streams(limit=3)) == ["order-0", "order-1", "order-2"]
        assert store.catalogue().ready


def test_index_pages_need_one_indexed_stream_id_field(tool_db, mongo_uri, mongo_db_name):
    commits, _ = docs.neventstore_documents()
    tool_db["Commits"].insert_many(commits)
    with open_store(mongo_uri, mongo_db_name, layout="neventstore") as store:
        pages = IndexPages(store)
        assert not pages.available and pages.reason == "the stream id is not one field"
    tool_db["domainevents"].insert_many(axon_orders(2))
    with open_store(mongo_uri, mongo_db_name, layout="axon") as store:
        pages = IndexPages(store)
        assert not pages.available and pages.reason == "no index starts with 'aggregateIdentifier'"


def test_explain_outputs_name_the_indexes_walked():
    from store.catalogue_sync import _index_stages

    classic = {"queryPlanner": {"winningPlan": {
        "stage": "LIMIT", "inputStage": {"stage": "PROJECTION_COVERED", "inputStage": {
            "stage": "IXSCAN", "indexName": "uniqueAggregateIndex", "keyPattern": {"aggregateIdentifier": 1}}}},
        "rejectedPlans": [{"stage": "IXSCAN", "indexName": "other"}]}}
    slot_based = {"queryPlanner": {"winningPlan": {"queryPlan": {
        "stage": "PROJECTION_COVERED", "inputStage": {"stage": "IXSCAN", "indexName": "by_stream"}},
        "slotBasedPlan": {"slots": "..."}}}}
    sharded = {"queryPlanner": {"winningPlan": {"stage": "SHARD_MERGE", "shards": [
        {"winningPlan": {"stage": "DISTINCT_SCAN", "indexName": "by_stream"}}]}}}
    ferretdb = {"queryPlanner": {"Plan": ["id=2 parent=0 notused=0 detail=SCAN domainevents_d01f9f08"]},
                "filterPushdown": False}
    assert _index_stages(classic) == {"uniqueAggregateIndex"}
    assert _index_stages(slot_based) == {"by_stream"} == _index_stages(sharded)
    assert _index_stages(ferretdb) == set()
