"""The command line on a database another application wrote: every event shown, nothing of it changed.

Also: reading creates nothing, a server address needs its scheme, an empty database is
explained with the databases that hold events, and a refused connection fails at once.
"""
from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta

import pytest

from model.errors import ConflictError
from model.event import NewEvent
from store.connect import open_store
from store.copy import copy_streams
from tests.store.apps import T0, EmbeddedApp, MongoApp


@pytest.fixture(params=["mongo", "embedded"])
def app(request, tmp_path):
    """An application that wrote (or will write) the native shape directly, on each backend."""
    if request.param == "mongo":
        writer = MongoApp(request.getfixturevalue("mongo_uri"), request.getfixturevalue("mongo_db_name"))
    else:
        writer = EmbeddedApp(tmp_path / "app.sqlite")
    yield writer
    writer.close()


def event_lines(result) -> list[dict]:
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def test_no_eventlens_command_changes_what_the_application_wrote(app, cli, tmp_path):
    app.write("account-1", "account", range(1, 5))  # the demo's second stream
    app.write("user-2", "user", range(1, 4))  # and its third
    app.write("app-9", "thing", range(1, 3))
    before = app.documents()
    copy = tmp_path / "copy.sqlite"
    assert cli("copy", "--to", copy, *app.args).code == 0  # a copy that holds them, for later

    demo = cli("demo", "--streams", "4", "--events-per-stream", "5", *app.args)
    assert demo.code == 1 and "already holds stream 'account-1'" in demo.err
    snapshot = cli("snapshot", "create", "account-1", "--version", "3", *app.args)
    assert snapshot.code == 0, snapshot.err
    with app.open() as store:
        for expected in (0, 1, 3, 4):  # every expected version but the real head, 2
            with pytest.raises(ConflictError):
                store.append("app-9", [NewEvent("Ours")], expected)
        assert store.append("app-9", [NewEvent("Ours", {}, {}, T0 + timedelta(minutes=3))], 2) == 3
    rebuilt = cli("catalogue", "rebuild", *app.args)
    assert rebuilt.code == 0, rebuilt.err
    # user-1 (the demo's, 5 events) and app-9 were catalogued by their appends; account-1 and user-2 are added.
    assert rebuilt.out.startswith("catalogued 4 streams, 15 events (2 added, 0 updated, 0 removed)")
    with app.open() as store:
        for expected in (0, 1, 2, 4, 5):
            with pytest.raises(ConflictError):
                store.append("user-2", [NewEvent("Ours")], expected)
        assert store.append("user-2", [NewEvent("Ours", {}, {}, T0 + timedelta(minutes=4))], 3) == 4
        with open_store(copy) as held:
            held.append("account-1", [NewEvent("Later", {}, {}, T0 + timedelta(minutes=5))], 4)
            result = copy_streams(held, store, ["account-1"])  # into a store that already holds them
        assert (result.events, result.snapshots) == (1, 0)

    assert app.documents() == before
    assert [(e["version"], e["type"]) for e in event_lines(cli("events", "account-1", *app.args))] == [
        (1, "Opened"), (2, "Changed"), (3, "Changed"), (4, "Changed"), (5, "Later")]
    check = cli("check", *app.args)
    assert check.code == 0, check.out
    assert "checked 4 streams: no problems" in check.err


def test_the_catalogue_note_is_said_once_and_gone_after_a_rebuild(app, cli):
    app.write("user-1", "user", range(1, 5))
    first = cli("streams", "--json", *app.args)
    assert first.code == 0 and [s["stream_id"] for s in json.loads(first.out)] == ["user-1"]
    assert first.err.count("\n") == 1 and "no EventLens stream catalogue (4 events)" in first.err
    assert "`eventlens catalogue rebuild`" in first.err
    assert len(event_lines(cli("events", "user-1", *app.args))) == 4
    rebuilt = cli("catalogue", "rebuild", *app.args)
    assert rebuilt.code == 0 and rebuilt.out.startswith("catalogued 1 stream, 4 events (1 added, 0 updated, 0 removed)")
    assert "catalogue" not in rebuilt.err
    after = cli("streams", "--json", *app.args)
    assert (after.code, after.err) == (0, "")
    assert json.loads(after.out) == json.loads(first.out)


def test_check_names_the_versions_the_catalogue_does_not_hold(app, cli):
    with app.open(create=True) as store:
        store.append("acct-1", [NewEvent("Opened", {"n": 1}, {}, T0), NewEvent("Changed", {"n": 2}, {}, T0),
                                NewEvent("Changed", {"n": 3}, {}, T0)], 0, stream_type="account")
    app.write("acct-1", "account", range(4, 7))
    line = ("acct-1 version 4: uncatalogued: versions 4\u20136 are not in EventLens's stream catalogue "
            "(written by another writer?)\n")
    one = cli("check", "acct-1", *app.args)
    assert (one.code, one.out) == (1, line)
    assert "behind the events (6 events, 3 catalogued)" in one.err
    every = cli("check", *app.args)
    assert (every.code, every.out) == (1, line)
    assert len(event_lines(cli("events", "acct-1", *app.args))) == 6


def test_a_read_only_rebuild_is_refused_before_connecting(cli, closed_port_uri, tmp_path):
    refused = cli("catalogue", "rebuild", "--read-only", "--uri", closed_port_uri, "--timeout", "1")
    assert refused.code == 1
    assert refused.err == "eventlens: read-only connection: refused to rebuild the stream catalogue\n"
    app = EmbeddedApp(tmp_path / "app.sqlite")
    app.write("user-1", "user", range(1, 3))
    before = hashlib.sha256(app.path.read_bytes()).hexdigest()
    assert cli("catalogue", "rebuild", "--read-only", *app.args).code == 1
    assert hashlib.sha256(app.path.read_bytes()).hexdigest() == before


def test_copy_into_a_file_that_already_holds_another_program_s_rows_keeps_them(cli, tmp_path, mongo_uri, mongo_db_name):
    target = EmbeddedApp(tmp_path / "target.sqlite")
    target.write("user-1", "user", range(1, 3))
    before = target.documents()
    source = MongoApp(mongo_uri, mongo_db_name)
    try:
        source.write("user-1", "user", range(1, 5))
        copied = cli("copy", "--to", target.path, "user-1", *source.args)
        assert copied.code == 0, copied.err
        assert "copied 1 stream, 2 events" in copied.out  # continued after the two already there
    finally:
        source.close()
    assert target.documents() == before
    assert [e["version"] for e in event_lines(cli("events", "user-1", *target.args))] == [1, 2, 3, 4]


# -- reading creates nothing ----------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["streams"], ["events", "user-1"], ["state", "user-1"], ["diff", "user-1", "1", "2"], ["check"],
    ["snapshot", "list", "user-1"], ["snapshot", "verify", "user-1"], ["snapshot", "create", "user-1"],
    ["catalogue", "rebuild"], ["copy", "--to", "OUT"],
])
def test_a_store_file_that_does_not_exist_is_one_line_and_nothing_is_created(cli, tmp_path, command):
    missing = tmp_path / "sub" / "missing.sqlite"
    command = [str(tmp_path / "out.sqlite") if part == "OUT" else part for part in command]
    result = cli(*command, "--uri", missing)
    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"eventlens: no embedded store at {missing} (nothing was created;")
    assert result.err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("address", ["127.0.0.1:27117", "localhost:27017", "db.example.net:27017/shop"])
@pytest.mark.parametrize("command", [["streams"], ["events", "user-1"], ["demo", "--streams", "1"]])
def test_a_server_address_without_its_scheme_is_a_usage_error(cli, tmp_path, monkeypatch, address, command):
    monkeypatch.chdir(tmp_path)
    result = cli(*command, "--uri", address)
    assert result.code == 2 and result.out == ""
    assert f"write it as mongodb://{address}" in result.err and result.err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no file named like the server


# -- empty is explained, failure is quick ---------------------------------------------------


def test_a_database_without_events_is_said_with_the_databases_that_hold_some(cli, mongo_uri, mongo_db_name,
                                                                             mongo_client, mongo_client_factory):
    from store.mongo import MongoStore

    with MongoStore(mongo_uri, mongo_db_name) as store:
        store.append("user-1", [NewEvent("UserCreated")], 0)
    absent = mongo_client_factory()
    for command in (["streams"], ["events", "user-1"], ["check"], ["state", "user-1"]):
        result = cli(*command, "--uri", mongo_uri, "--db", absent)
        assert result.code == 1 and result.out == ""
        assert result.err.startswith(f"eventlens: database {absent!r} holds no events; "
                                     "databases with events on this server: "), result.err
        assert mongo_db_name in result.err and result.err.count("\n") == 1
    assert absent not in mongo_client.list_database_names()  # asking created nothing
    demo = cli("demo", "--streams", "2", "--events-per-stream", "3", "--uri", mongo_uri, "--db", absent)
    assert demo.code == 0, demo.err  # filling a new database is of course fine
    assert cli("streams", "--uri", mongo_uri, "--db", absent).code == 0


def test_an_empty_store_file_is_said_in_one_line(cli, tmp_path):
    path = tmp_path / "empty.sqlite"
    EmbeddedApp(path)
    result = cli("streams", "--uri", path)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"eventlens: embedded store {path} holds no events\n"


def test_a_refused_connection_fails_at_once(cli, closed_port_uri):
    started = time.monotonic()
    result = cli("streams", "--uri", closed_port_uri, "--timeout", "10")
    elapsed = time.monotonic() - started
    assert result.code == 1 and "refused the connection" in result.err
    assert elapsed < 1.0, f"{elapsed:.2f}s"
