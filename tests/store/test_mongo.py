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


def test_a_refused_connection_fails_at_once_whatever_the_timeout(closed_port_uri):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        MongoStore(closed_port_uri, "db", timeout_s=10.0)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, f"{elapsed:.2f}s for a refused connection"
    assert "refused" in str(caught.value) and closed_port_uri.split("//")[1].rstrip("/") in str(caught.value)


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
    assert {"sort_key_id", "stream_type_sort_key_id", "version_sort_key_id", "first_time_sort_key_id",
            "last_time_sort_key_id"} <= set(db.streams.index_information())


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


def _crash_during_append(uri: str, db: str, step: str) -> None:
    """In a child process: append 2 events, then die (os._exit, no cleanup) at ``step`` of a second append."""
    import os

    from store.mongo import MongoStore

    store = MongoStore(uri, db)
    store.append("o", [NewEvent("E", {"i": i}) for i in (1, 2)], 0, stream_type="thing")

    def die(*args, **kwargs):
        os._exit(17)

    setattr(store, step, die)  # the process ends exactly there, as a power cut would
    store.append("o", [NewEvent("Lost", {"i": i}) for i in (3, 4, 5)], 2)


def crash(uri: str, db: str, step: str) -> None:
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=_crash_during_append, args=(uri, db, step))
    process.start()
    process.join(60)
    assert process.exitcode == 17


def test_a_writer_that_dies_before_its_head_moves_leaves_events_nobody_sees_until_the_next_append_removes_them(
        mongo_uri, mongo_store, mongo_client, monkeypatch):
    store = mongo_store
    crash(mongo_uri, store.db_name, "_advance_head")
    raw = mongo_client[store.db_name]
    assert raw.events.count_documents({"stream_id": "o"}) == 5  # the dead write's three are there
    store.refresh()
    assert [e.version for b in store.read("o") for e in b] == [1, 2]
    assert store.stream("o").last_version == 2 and store.version_at("o", dt.datetime.now(UTC)) == 2
    assert store.size().events == 2 and store.coverage().complete
    # Younger than the grace period it may be a writer between its steps: kept, and in the way.
    with pytest.raises(ConflictError):
        store.append("o", [NewEvent("E", {"i": 3})], 2)
    assert raw.events.count_documents({"stream_id": "o"}) == 5
    monkeypatch.setattr(mongo_module, "ORPHAN_GRACE", 0.0)  # now it is dead
    assert store.append("o", [NewEvent("E", {"i": 3})], 2) == 3
    events = [e for b in store.read("o") for e in b]
    assert [(e.version, e.type) for e in events] == [(1, "E"), (2, "E"), (3, "E")]
    assert raw.events.count_documents({"stream_id": "o"}) == 3  # versions 4 and 5 of the dead write went too
    assert raw[mongo_module.META].count_documents({"n": {"$gt": 0}}) == 0  # its journal entry is emptied...
    store.append("o", [NewEvent("E", {"i": 4})], 3)
    assert raw[mongo_module.META].count_documents({}) == 0  # ... and dropped by the next append


def test_a_writer_that_dies_after_its_head_moved_has_committed(mongo_uri, mongo_store, mongo_client, monkeypatch):
    store = mongo_store
    crash(mongo_uri, store.db_name, "_settle")
    store.refresh()
    assert [e.version for b in store.read("o") for e in b] == [1, 2, 3, 4, 5]
    assert store.stream("o").last_version == 5 and store.coverage().complete
    monkeypatch.setattr(mongo_module, "ORPHAN_GRACE", 0.0)
    assert store.append("o", [NewEvent("E", {"i": 6})], 5) == 6
    assert [e.version for b in store.read("o") for e in b] == [1, 2, 3, 4, 5, 6]
    assert mongo_client[store.db_name][mongo_module.META].count_documents({}) == 0


def test_events_above_the_head_that_eventlens_did_not_journal_are_never_deleted(mongo_store, mongo_client, monkeypatch):
    store = mongo_store
    store.append("o", [NewEvent("E", {"i": i}) for i in range(3)], 0)
    old = dt.datetime.now(UTC) - dt.timedelta(seconds=mongo_module.ORPHAN_GRACE + 60)
    raw = mongo_client[store.db_name].events
    theirs = [{"_id": ObjectId.from_datetime(old + dt.timedelta(seconds=n)), "stream_id": "o", "stream_type": "",
               "version": 3 + n, "type": "Theirs", "data": {}, "metadata": {}, "recorded_at": dt.datetime.now(UTC)}
              for n in (1, 2)]
    raw.insert_many(theirs)
    before = list(raw.find({"type": "Theirs"}).sort("version"))
    monkeypatch.setattr(mongo_module, "ORPHAN_GRACE", 0.0)
    with pytest.raises(ConflictError) as caught:
        store.append("o", [NewEvent("E", {"i": 3})], 3)  # their 4 and 5 are the stream's, not leftovers
    assert caught.value.actual == 5
    assert store.append("o", [NewEvent("E", {"i": 5})], 5) == 6
    assert list(raw.find({"type": "Theirs"}).sort("version")) == before
    assert [e.type for b in store.read("o") for e in b] == ["E", "E", "E", "Theirs", "Theirs", "E"]


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
