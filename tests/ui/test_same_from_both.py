"""The window and the command line are one application: the same exports, the same snapshot rule."""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from tests.layouts.documents import seed_documents
from tests.ui.conftest import LOAD_TIMEOUT_MS, connect, open_stream
from store.codec import CODEC_OPTIONS

STREAM = "account-2"


def cli_output(capsysbinary, *argv: str) -> bytes:
    from ui.cli import main

    capsysbinary.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsysbinary.readouterr().out


def cli_args(demo_connection) -> list[str]:
    return ["--uri", demo_connection.uri] + (["--db", demo_connection.db] if demo_connection.db else [])


@pytest.mark.parametrize("name, fmt", [("events.ndjson", "ndjson"), ("events.csv", "csv")])
def test_the_windows_event_export_is_byte_for_byte_what_the_cli_prints(qtbot, window, demo_connection, tmp_path,
                                                                       capsysbinary, name, fmt):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    path = tmp_path / name
    with qtbot.waitSignal(window.exported, timeout=LOAD_TIMEOUT_MS):
        window.export_events(str(path))
    printed = cli_output(capsysbinary, "events", STREAM, "--format", fmt, *cli_args(demo_connection))
    assert path.read_bytes() == printed
    assert printed.count(b"\n") == window.loaded_version + (1 if fmt == "csv" else 0)


def test_the_windows_state_export_is_byte_for_byte_what_state_prints(qtbot, window, demo_connection, tmp_path,
                                                                     capsysbinary):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(123)
    path = tmp_path / "state.json"
    with qtbot.waitSignal(window.exported, timeout=LOAD_TIMEOUT_MS):
        window.export_state(str(path))
    assert path.read_bytes() == cli_output(capsysbinary, "state", STREAM, "--version", "123", *cli_args(demo_connection))


@pytest.fixture
def seed_db(mongo_uri, mongo_db_name):
    """A database in the Clojure/monger seed's own shape: a foreign layout."""
    events, snapshots = seed_documents()
    with MongoClient(mongo_uri) as client:
        db = client.get_database(mongo_db_name, codec_options=CODEC_OPTIONS)
        db["events"].insert_many(events)
        db["snapshots"].insert_many(snapshots)
    return sorted({d["aggregate-id"] for d in events})


def test_a_snapshot_on_a_foreign_layout_goes_to_the_same_place_from_both(qtbot, window, mongo_uri, mongo_db_name,
                                                                          seed_db, monkeypatch, capsys):
    import ui.gui.main_window
    from ui.cli import main
    from ui.session.connection import Connection

    stream_id = seed_db[0]
    assert main(["snapshot", "create", stream_id, "--uri", mongo_uri, "--db", mongo_db_name, "--layout", "seed"]) == 0
    said = capsys.readouterr().out
    assert "'eventlens_snapshots' beside the tool's own" in said

    monkeypatch.setattr(ui.gui.main_window, "confirm_layout", lambda parent, proposal, database: proposal.layout)
    asked = []
    monkeypatch.setattr(ui.gui.main_window, "confirm", lambda parent, title, text: asked.append(text) or True)
    with qtbot.waitSignal(window.connected, timeout=LOAD_TIMEOUT_MS):
        window.connect_to(Connection(uri=mongo_uri, db=mongo_db_name))
    with qtbot.waitSignal(window.streamLoaded, timeout=LOAD_TIMEOUT_MS):
        window.open_stream(stream_id)
    window.set_cursor(window.loaded_version - 1)
    with qtbot.waitSignal(window.snapshotsChanged, timeout=LOAD_TIMEOUT_MS):
        window.create_snapshot()
    assert "'eventlens_snapshots' beside the tool's own" in asked[0]

    with MongoClient(mongo_uri) as client:
        db = client[mongo_db_name]
        written = sorted(db["eventlens_snapshots"].find({"stream_id": stream_id}), key=lambda d: d["version"])
        assert db["snapshots"].count_documents({"created_by": {"$exists": True}}) == 0  # the tool's own: untouched
    # the same place and the same shape: only who made it, and when, differ
    assert [d["created_by"] for d in written] == ["eventlens gui", "eventlens cli"]
    shapes = [{k: v for k, v in d.items() if k not in ("_id", "created_at", "created_by", "version", "state")}
              for d in written]
    assert shapes[0] == shapes[1] and shapes[0]["layout"] == "seed"
