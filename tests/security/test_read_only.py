"""Read-only mode refuses every write before anything reaches the server.

"Before" is proved by stopping the server first: a write that tried to reach it would end in
StoreUnavailable; a refusal made up front is ReadOnlyError. The embedded store's file must
stay byte for byte the same.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from model.errors import ReadOnlyError
from model.event import NewEvent, ReducerId, Snapshot
from store.connect import open_store
from ui.cli import main

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)
SNAPSHOT = Snapshot("acct-1", 2, {"balance": 5}, ReducerId("default", "f" * 16), NOW, "test")


def writes(store):
    """Every write the store contract offers, as (name, call)."""
    return [
        ("append to a new stream", lambda: store.append("new-1", [NewEvent("Opened", {"n": 1})], 0)),
        ("append to an existing stream", lambda: store.append("acct-1", [NewEvent("Deposited", {"n": 3})], 2)),
        ("append with a wrong expected version", lambda: store.append("acct-1", [NewEvent("X")], 7)),
        ("append nothing", lambda: store.append("acct-1", [], 2)),
        ("save a snapshot", lambda: store.save_snapshot(SNAPSHOT)),
    ]


def seed(store) -> None:
    store.append("acct-1", [NewEvent("Opened", {"n": 1}), NewEvent("Deposited", {"n": 2})], 0, stream_type="acct")


@pytest.mark.parametrize("layout", [None, "eventlens", "seed"])
def test_read_only_mongo_refuses_every_write_with_the_server_stopped(ferretdb_factory, layout):
    server = ferretdb_factory()
    uri = server.uri + "ro_db"
    with open_store(uri) as writable:
        seed(writable)
    store = open_store(uri, layout=layout, read_only=True, timeout_s=2)
    try:
        assert store.read_only
        assert not store.capabilities.writable
        server.stop()  # anything that reached for the server now would be StoreUnavailable
        for name, call in writes(store):
            with pytest.raises(ReadOnlyError) as caught:
                call()
            message = str(caught.value)
            # a foreign layout never takes events, read-only or not, and says so
            assert "read-only" in message or "does not write events" in message, name
            assert "\n" not in message, name
    finally:
        store.close()
    server.start()
    with open_store(uri) as check:  # and nothing changed
        assert [e.version for b in check.read("acct-1") for e in b] == [1, 2]
        assert check.stream("new-1") is None
        assert check.snapshots("acct-1") == []


def test_read_only_embedded_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "store.sqlite"
    with open_store(str(path), create=True) as writable:
        seed(writable)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_store(str(path), read_only=True) as store:
        for name, call in writes(store):
            with pytest.raises(ReadOnlyError):
                call()
        assert [e.version for b in store.read("acct-1") for e in b] == [1, 2]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("argv", [
    ["demo", "--streams", "1"],
    ["snapshot", "create", "acct-1"],
    ["snapshot", "create", "acct-1", "--version", "1"],
])
def test_cli_read_only_refuses_before_connecting(ferretdb_factory, capsys, argv):
    server = ferretdb_factory()
    uri = server.uri + "ro_cli"
    with open_store(uri) as writable:
        seed(writable)
    server.stop()
    code = main([*argv, "--uri", uri, "--read-only", "--timeout", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "read-only" in captured.err
    assert "unreachable" not in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1
    server.start()
    with open_store(uri) as check:
        assert check.snapshots("acct-1") == [] and check.count_streams() == 1


def test_cli_read_only_reads_still_work(ferretdb_factory, capsys):
    server = ferretdb_factory()
    uri = server.uri + "ro_reads"
    with open_store(uri) as writable:
        seed(writable)
    assert main(["state", "acct-1", "--uri", uri, "--read-only"]) == 0
    assert '"n"' in capsys.readouterr().out
