"""What only the MongoDB store does: errors and timeouts, the no-transaction fallback, orphans, injection."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from model.errors import ConflictError, LoginRefused, ReadOnlyError, StoreError, StoreUnavailable
from model.event import NewEvent, ReducerId, Snapshot
from store import mongo as mongo_module
from store.mongo import MongoStore

UTC = dt.timezone.utc
TIMEOUT = 1.0


def test_a_closed_port_is_unavailable_within_the_timeout(closed_port_uri):
    uri = closed_port_uri.replace("mongodb://", "mongodb://reader:s3cret-pw@")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        MongoStore(uri, "db", timeout_s=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + 3
    message = str(caught.value)
    assert closed_port_uri.split("//")[1].rstrip("/") in message  # host:port is named
    assert "s3cret-pw" not in message and "\n" not in message


def test_a_server_that_never_answers_is_unavailable_within_the_timeout(silent_server):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        MongoStore(silent_server.uri, "db", timeout_s=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + 3
    assert f"127.0.0.1:{silent_server.port}" in str(caught.value)


def test_a_server_that_stops_mid_read_gives_a_clear_error_and_the_store_recovers(ferretdb_factory):
    store = MongoStore(ferretdb_factory.uri, "faults", timeout_s=2.0)
    try:
        store.append("big", [NewEvent("E", {"i": i}) for i in range(3000)], 0)
        batches = store.read("big", batch_size=500)
        first = next(batches)
        assert len(first) == 500
        ferretdb_factory.kill()
        with pytest.raises(StoreUnavailable):
            for _ in batches:
                pass
        ferretdb_factory.start()
        assert sum(len(b) for b in store.read("big", batch_size=500)) == 3000  # the same store object works again
    finally:
        store.close()


def test_snapshot_save_while_the_server_restarts_leaves_no_partial_or_duplicate(ferretdb_factory):
    store = MongoStore(ferretdb_factory.uri, "faults", timeout_s=2.0)
    try:
        store.append("s", [NewEvent("E", {"i": i}) for i in range(5)], 0)
        snapshot = Snapshot("s", 5, {"total": 5}, ReducerId("r", "f"), dt.datetime(2024, 1, 1, tzinfo=UTC))
        ferretdb_factory.stop()
        with pytest.raises(StoreUnavailable):
            store.save_snapshot(snapshot)
        ferretdb_factory.start()
        assert store.snapshots("s") == []
        assert store.save_snapshot(snapshot) is True
        assert store.save_snapshot(snapshot) is False
        assert [s.version for s in store.snapshots("s")] == [5]
    finally:
        store.close()


def test_ferretdb_has_no_transactions_and_appends_use_the_fallback(mongo_store):
    # FerretDB v1: no replica set, so the catalogue-as-commit-point path is the one under test.
    if not mongo_store.ferretdb:
        pytest.skip("checks the FerretDB fallback; MONGODB_URI points at another server")
    assert not mongo_store.capabilities.transactions and not mongo_store.capabilities.change_streams
    assert mongo_store.append("s", [NewEvent("E")], 0) == 1


def test_indexes_are_created_on_first_write(mongo_store, mongo_client):
    mongo_store.append("s", [NewEvent("E")], 0)
    db = mongo_client[mongo_store.db_name]
    events = db.events.index_information()
    assert events["stream_version"]["unique"] is True
    assert "stream_time" in events
    assert db.snapshots.index_information()["stream_version_reducer"]["unique"] is True
    assert {"stream_type_id", "version_id", "first_time_id", "last_time_id"} <= set(db.streams.index_information())


def test_read_only_writes_nothing_to_the_server(mongo_uri, mongo_db_name, mongo_client):
    reader = MongoStore(mongo_uri, mongo_db_name, read_only=True)
    try:
        with pytest.raises(ReadOnlyError):
            reader.append("s", [NewEvent("E")], 0)
        with pytest.raises(ReadOnlyError):
            reader.save_snapshot(Snapshot("s", 1, {}, ReducerId("r", "f"), dt.datetime.now(UTC)))
        assert list(reader.read("s")) == [] and reader.streams() == []
    finally:
        reader.close()
    assert mongo_client[mongo_db_name].list_collection_names() == []  # not even an index was made


def test_user_text_never_becomes_a_query_operator(mongo_store):
    mongo_store.append("plain", [NewEvent("E")], 0, stream_type="t")
    assert mongo_store.streams(match="^p") == [] and mongo_store.streams(match="p|x") == []
    assert mongo_store.streams(type={"$ne": "nothing"}) == []  # type: ignore[arg-type]
    assert mongo_store.count_streams(type={"$ne": "nothing"}) == 0  # type: ignore[arg-type]
    assert mongo_store.streams(match='"; return true; //') == []
    assert [i.stream_id for i in mongo_store.streams(match="LAI")] == ["plain"]


def test_stale_orphans_are_removed_by_the_next_append(mongo_store):
    store = mongo_store
    store.append("o", [NewEvent("E", {"i": i}) for i in range(3)], 0)
    old = ObjectId.from_datetime(dt.datetime.now(UTC) - dt.timedelta(seconds=mongo_module.ORPHAN_GRACE + 60))
    store._events.insert_many([
        {"_id": ObjectId(str(old)[:8] + f"{n:016x}"), "stream_id": "o", "stream_type": "", "version": 3 + n,
         "type": "Orphan", "data": {}, "metadata": {}, "recorded_at": dt.datetime.now(UTC)} for n in (1, 2)])
    assert store.append("o", [NewEvent("E", {"i": 3})], 3) == 4
    events = [e for b in store.read("o") for e in b]
    assert [e.version for e in events] == [1, 2, 3, 4] and events[-1].type == "E"
    assert store._events.count_documents({"stream_id": "o"}) == 4  # the orphan at version 5 is gone too


def test_fresh_orphans_may_be_an_append_in_flight_and_are_kept(mongo_store):
    store = mongo_store
    store.append("o", [NewEvent("E")], 0)
    store._events.insert_one({"stream_id": "o", "stream_type": "", "version": 2, "type": "InFlight",
                              "data": {}, "metadata": {}, "recorded_at": dt.datetime.now(UTC)})
    with pytest.raises(ConflictError):
        store.append("o", [NewEvent("E")], 1)
    assert store._events.count_documents({"stream_id": "o"}) == 2
    assert [e.version for b in store.read("o") for e in b] == [1]


def test_broken_documents_are_read_with_located_problems(mongo_store):
    store = mongo_store
    store.append("b", [NewEvent("E", {"ok": 1})], 0)
    store._events.insert_one({"stream_id": "b", "version": 2, "data": "not a document", "recorded_at": "yesterday"})
    store._streams.update_one({"_id": "b"}, {"$set": {"version": 2}})
    first, second = [e for batch in store.read("b") for e in batch]
    assert first.problems == () and first.data == {"ok": 1}
    assert second.version == 2 and second.data == {} and second.type == ""
    assert any("'data'" in p for p in second.problems)
    assert any("'recorded_at'" in p for p in second.problems)
    assert any("'type'" in p for p in second.problems)


def test_login_errors_are_one_line_and_name_no_secret(mongo_store):
    with pytest.raises(LoginRefused, match="login refused"):
        with mongo_store._errors("read"):
            raise OperationFailure("Authentication failed.", code=18)
    with pytest.raises(LoginRefused, match="not authorized to create a snapshot"):
        with mongo_store._errors("create a snapshot"):
            raise OperationFailure("not authorized on x to execute command", code=13)


def test_an_invalid_connection_string_is_a_clear_error():
    with pytest.raises(StoreError) as caught:
        MongoStore("mongodb://user:hunter2@host:notaport/", "db", timeout_s=TIMEOUT)
    assert "hunter2" not in str(caught.value)


def test_a_client_can_be_passed_in_and_is_left_open(mongo_uri, mongo_db_name):
    client = MongoClient(mongo_uri)
    store = MongoStore(client, mongo_db_name)
    store.append("c", [NewEvent("E", {"when": dt.datetime(2020, 1, 1, tzinfo=UTC)})], 0)
    [[event]] = list(store.read("c"))
    assert event.data["when"].tzinfo is not None  # our codec options, whatever the client's
    store.close()
    assert client.admin.command("ping")["ok"] == 1
    client.close()
