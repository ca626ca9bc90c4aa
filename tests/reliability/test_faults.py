"""Real faults: the server dies mid-load, restarts while idle or while a snapshot is written,
never answers, cannot be reached, refuses the login; databases that are empty or lack indexes."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import pytest
from pymongo import MongoClient

from model.errors import EventLensError, LoginRefused, ReadOnlyError, StoreUnavailable
from model.event import NewEvent, ReducerId, Snapshot
from model.reducer import default_reducer
from model.freeze import thaw
from store.connect import open_store
from store.mongo import MongoStore
from ui.session.stream import load_stream
from tests.reliability.servers import PASSWORD, auth_ferretdb, user_uri

#: FerretDB v1's SQLite handler sorts in Go: the first batch of a 50,000-event stream takes
#: ~24 s there (20,000: ~5-9 s), so the load test uses 20,000 to stay inside the CI budget.
BIG = 20_000
CHUNK = 5_000
TIMEOUT_S = 2.0
LOAD_TIMEOUT_S = 30.0  # above FerretDB's sort time for BIG events; a kill is seen at once anyway
MARGIN_S = 3.0  # process scheduling, DNS-free loopback connect, thread start

#: Faults injected and survived, printed at the end of the module (``pytest -s``).
FAULTS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def report_faults():
    yield
    print(f"\n[reliability] faults injected and survived: {len(FAULTS)}")
    for fault in FAULTS:
        print(f"  - {fault}")


def fill(uri: str, db: str, stream_id: str, n: int) -> None:
    """The first event through the store (indexes, head), the rest as a bulk importer writes the native layout."""
    with MongoStore(uri, db, timeout_s=60) as store:
        store.append(stream_id, [NewEvent("Counted", {"i": 1})], 0, stream_type="big")
    client = MongoClient(uri, tz_aware=True)
    try:
        now = datetime.now(timezone.utc)
        for start in range(2, n + 1, CHUNK):
            client[db]["events"].insert_many(
                [{"stream_id": stream_id, "stream_type": "big", "version": v, "type": "Counted", "data": {"i": v},
                  "metadata": {}, "recorded_at": now} for v in range(start, min(start + CHUNK, n + 1))])
        client[db]["streams"].update_one({"_id": stream_id}, {"$set": {"version": n, "last_time": now}})
    finally:
        client.close()


def load(store, stream_id: str, *, on_batch=None):
    """The explorer's own loader (``ui.session.stream``), run in this thread; raises what stopped it.

    ``on_batch(payloads)`` follows the payloads (the index of a stream comes first, in large batches).
    """
    stream = load_stream(store, stream_id, default_reducer(),
                         on_filled=None if on_batch is None else lambda payloads, folded: on_batch(payloads))
    if stream.load_error is not None:
        error = stream.load_error
        error.stream = stream  # what was loaded before it stopped
        raise error
    return stream


# -- the server dies while a big stream loads ------------------------------------------------


def test_server_killed_mid_load_ends_in_store_unavailable_and_reload_is_whole(ferretdb_factory):
    server = ferretdb_factory()
    fill(server.uri, "big", "big-1", BIG)
    store = MongoStore(server.uri, "big", timeout_s=LOAD_TIMEOUT_S)
    try:
        first_batch, killed_event = threading.Event(), threading.Event()
        outcome: dict[str, object] = {}

        def on_batch(n: int) -> None:
            # hold the loader after its first batch until the server is dead: the rest is still on the server
            first_batch.set()
            killed_event.wait(30)

        def run():
            try:
                outcome["stream"] = load(store, "big-1", on_batch=on_batch)
                outcome["result"] = "complete"
            except BaseException as error:  # the test inspects what reached the caller
                outcome["error"] = error
                outcome["stream"] = getattr(error, "stream", None)
            outcome["ended"] = time.monotonic()

        thread = threading.Thread(target=run, name="loader")
        thread.start()
        assert first_batch.wait(LOAD_TIMEOUT_S + 10), "the load never delivered a first batch"
        server.kill()
        killed = time.monotonic()
        killed_event.set()
        thread.join(LOAD_TIMEOUT_S + MARGIN_S)
        assert not thread.is_alive(), "the load hung after the server died"
        error = outcome.get("error")
        assert isinstance(error, StoreUnavailable), f"expected StoreUnavailable, got {outcome!r}"
        assert outcome["ended"] - killed < MARGIN_S  # a dead server is noticed at once, not after the timeout
        assert "\n" not in str(error) and "big-1" in str(error)
        # not silently complete: fewer payloads than the stream holds, and the ones kept are contiguous
        history = outcome["stream"].loaded
        assert not outcome["stream"].complete
        assert 0 < history.payload_version < BIG and history.folded_version == history.payload_version
        assert [e.version for e in history.events()] == list(range(1, history.payload_version + 1))
        assert history.error is None  # a transport failure is not a data error in the stream

        server.start()
        again = load(store, "big-1").loaded  # the same store object reconnects
        assert len(again) == BIG and again.last_version == BIG
        assert again.state["i"] == BIG
        FAULTS.append(f"FerretDB killed after {history.payload_version:,} of {BIG:,} events loaded: "
                      f"StoreUnavailable in {outcome['ended'] - killed:.2f}s, reload complete after restart")
    finally:
        store.close()


# -- restarts -------------------------------------------------------------------------------


def test_server_restart_while_idle_gives_a_clear_error_then_works_without_a_new_store(ferretdb_factory):
    server = ferretdb_factory()
    store = open_store(server.uri + "idle", timeout_s=TIMEOUT_S)
    try:
        store.append("s-1", [NewEvent("Happened", {"n": 1})], 0)
        server.stop()
        for call in (lambda: store.stream("s-1"), lambda: list(store.read("s-1")), lambda: store.streams(),
                     lambda: store.append("s-1", [NewEvent("Happened", {"n": 2})], 1)):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as caught:
                call()
            assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
            assert "unreachable" in str(caught.value) and "\n" not in str(caught.value)
        server.start()
        assert store.stream("s-1").last_version == 1  # nothing half-written by the failed append
        assert store.append("s-1", [NewEvent("Happened", {"n": 2})], 1) == 2
        assert [e.data["n"] for b in store.read("s-1") for e in b] == [1, 2]
        FAULTS.append("FerretDB stopped while idle: 4 calls failed with StoreUnavailable; the same store worked after restart")
    finally:
        store.close()


def snapshot_docs(uri: str, db: str) -> list[dict]:
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return list(client[db]["snapshots"].find({}, {"_id": 0}))
    finally:
        client.close()


def test_server_killed_while_snapshots_are_written_leaves_no_partial_or_duplicate(ferretdb_factory):
    server = ferretdb_factory()
    store = open_store(server.uri + "snaps", timeout_s=TIMEOUT_S)
    reducer = default_reducer()
    try:
        store.append("acct-1", [NewEvent("Deposited", {"amount": i, "payload": "x" * 2000}) for i in range(1, 401)], 0)
        history = load(store, "acct-1").loaded
        now = datetime.now(timezone.utc)
        snapshots = [Snapshot("acct-1", v, thaw(history.state_at(v)), reducer.id, now, "fault-test")
                     for v in range(1, 401)]
        saved: dict[int, bool] = {}
        failed: list[tuple[int, EventLensError]] = []
        started = threading.Event()

        def write():
            for s in snapshots:
                try:
                    saved[s.version] = store.save_snapshot(s)
                except EventLensError as error:
                    failed.append((s.version, error))
                    return  # as a user would: the message is shown, the next action comes later
                if len(saved) == 20:
                    started.set()  # well under way: the kill lands among the writes
            started.set()

        thread = threading.Thread(target=write, name="snapshot-writer")
        thread.start()
        assert started.wait(30)
        server.kill()
        thread.join(TIMEOUT_S + MARGIN_S)
        assert not thread.is_alive()
        assert failed, "the kill came too late to interrupt the snapshot writes"
        assert all(isinstance(e, StoreUnavailable) and "snapshot" in str(e) for _, e in failed)
        server.start()

        docs = snapshot_docs(server.uri, "snaps")
        versions = [d["version"] for d in docs]
        assert len(versions) == len(set(versions)), "a snapshot was written twice"
        assert set(v for v, ok in saved.items() if ok) <= set(versions), "a snapshot reported saved is missing"
        expected = {s.version: s for s in snapshots}
        for doc in docs:  # every stored snapshot is whole: its state is exactly what was taken
            assert doc["state"] == dict(expected[doc["version"]].state)
            assert doc["reducer"] == {"name": reducer.id.name, "fingerprint": reducer.id.fingerprint}

        # the next action works with the same store: retrying every failed one stores each exactly once
        for version, _ in failed:
            store.save_snapshot(expected[version])
        docs = snapshot_docs(server.uri, "snaps")
        assert sorted(d["version"] for d in docs) == sorted(set(saved) | {v for v, _ in failed})
        assert store.save_snapshot(expected[1]) is False  # a duplicate is refused, not stored
        assert len(snapshot_docs(server.uri, "snaps")) == len(docs)
        FAULTS.append(f"FerretDB killed during {len(saved) + len(failed)} snapshot writes: {len(failed)} failed "
                      f"with StoreUnavailable, 0 partial, 0 duplicates, retries stored each once")
    finally:
        store.close()


# -- timeouts -------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["silent_server", "closed_port_uri"])
@pytest.mark.parametrize("timeout_s", [1.0, 2.5])
def test_unanswering_and_unreachable_servers_fail_within_the_configured_timeout(request, which, timeout_s):
    target = request.getfixturevalue(which)
    uri = target.uri if which == "silent_server" else target
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        open_store(uri + "db", timeout_s=timeout_s)
    elapsed = time.monotonic() - started
    assert elapsed < timeout_s + MARGIN_S, f"{which}: {elapsed:.1f}s for a {timeout_s}s timeout"
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and f"{timeout_s:g}s" in message
    FAULTS.append(f"{which.replace('_', ' ')}: StoreUnavailable after {elapsed:.2f}s (timeout {timeout_s:g}s)")


def test_cli_timeout_option_bounds_an_unanswering_server(silent_server, capsys):
    from ui.cli import main

    started = time.monotonic()
    code = main(["streams", "--uri", silent_server.uri, "--timeout", "1"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1 and elapsed < 1 + MARGIN_S
    assert err.startswith("eventlens: ") and err.count("\n") == 1 and "Traceback" not in err


# -- logins, databases, indexes, permissions ----------------------------------------------------


@pytest.fixture
def auth_server(tmp_path):
    server = auth_ferretdb(tmp_path / "auth")
    yield server
    server.stop()


def test_refused_login_is_a_clear_message(auth_server):
    with pytest.raises(LoginRefused) as caught:
        open_store(user_uri(auth_server, "not-the-password", "shop"), timeout_s=TIMEOUT_S)
    assert str(caught.value) == f"login refused by MongoDB at 127.0.0.1:{auth_server.port}"
    with open_store(user_uri(auth_server, PASSWORD, "shop"), timeout_s=TIMEOUT_S) as store:
        assert store.streams() == []  # the right password works on the same server
    FAULTS.append("login refused (FerretDB --test-enable-new-auth): LoginRefused, one line")


def test_user_without_permission_gets_a_clear_message_for_reads_and_snapshots(auth_server):
    # FerretDB v1 has no roles: an unauthenticated connection is the user who may do nothing.
    with open_store(f"mongodb://127.0.0.1:{auth_server.port}/shop", timeout_s=TIMEOUT_S) as store:
        with pytest.raises(LoginRefused) as caught:
            store.streams()
        assert str(caught.value).startswith("not authorized to list streams on database 'shop'")
        snapshot = Snapshot("acct-1", 1, {"a": 1}, ReducerId("default", "x"), datetime.now(timezone.utc))
        with pytest.raises(LoginRefused) as caught:
            store.save_snapshot(snapshot)
        assert "not authorized" in str(caught.value) and "\n" not in str(caught.value)
    with open_store(user_uri(auth_server, PASSWORD, "shop"), read_only=True) as store:
        with pytest.raises(ReadOnlyError, match="read-only connection: refused to save a snapshot of stream 'acct-1'"):
            store.save_snapshot(snapshot)


def test_database_without_collections_reads_as_an_empty_store(mongo_uri, mongo_db_name, capsys):
    """A wrong database name is not an error a user must decode: the store API reads it as empty, the CLI says so."""
    from ui.cli import main

    with open_store(mongo_uri, mongo_db_name, read_only=True) as store:
        assert store.streams() == [] and store.count_streams() == 0 and store.stream_types() == []
        assert store.stream("acct-1") is None and list(store.read("acct-1")) == []
        assert store.snapshots("acct-1") == []
    for command in (["streams", "--json"], ["state", "acct-1"]):  # issue 12: one line, exit 1, not an empty table
        assert main([*command, "--uri", mongo_uri, "--db", mongo_db_name]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith(f"eventlens: database {mongo_db_name!r} holds no events")
    client = MongoClient(mongo_uri)
    try:
        assert mongo_db_name not in client.list_database_names()  # reading created nothing
    finally:
        client.close()


def _foreign_store(client, db: str) -> None:
    """The native layout's documents, written by another tool that made no indexes."""
    now = datetime.now(timezone.utc)
    client[db]["events"].insert_many([
        {"stream_id": "acct-1", "stream_type": "acct", "version": v, "type": "Deposited", "data": {"n": v},
         "metadata": {}, "recorded_at": now} for v in (1, 2, 3)])
    client[db]["streams"].insert_one({"_id": "acct-1", "stream_type": "acct", "version": 3,
                                      "first_time": now, "last_time": now})


def index_names(client, db: str, collection: str) -> set[str]:
    return {i["name"] for i in client[db][collection].list_indexes()}


def test_collections_without_indexes_are_read_and_indexed_only_when_writable(mongo_uri, mongo_db_name, mongo_client, caplog):
    _foreign_store(mongo_client, mongo_db_name)
    with caplog.at_level(logging.WARNING):
        with open_store(mongo_uri, mongo_db_name, read_only=True) as store:
            assert [e.version for b in store.read("acct-1") for e in b] == [1, 2, 3]
            assert store.streams()[0].events == 3
    assert index_names(mongo_client, mongo_db_name, "events") == {"_id_"}, "a read-only store created an index"
    warned = [r.getMessage() for r in caplog.records if "index" in r.getMessage().lower()]
    assert warned, "a read-only store on an unindexed collection should warn that reads will be slow"
    with open_store(mongo_uri, mongo_db_name) as store:
        assert store.append("acct-1", [NewEvent("Deposited", {"n": 4})], 3) == 4
    assert "stream_version" in index_names(mongo_client, mongo_db_name, "events")
    assert "stream_version_reducer" in index_names(mongo_client, mongo_db_name, "snapshots")
