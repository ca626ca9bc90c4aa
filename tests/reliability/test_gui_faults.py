"""The window through real faults: the server dies while a stream loads, and stops while idle."""
from __future__ import annotations

import time

import pytest

from model.event import NewEvent
from tests.reliability.test_faults import fill

FAULTS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def report_faults():
    yield
    print(f"\n[reliability] GUI faults injected and survived: {len(FAULTS)}")
    for fault in FAULTS:
        print(f"  - {fault}")

EVENTS = 12_000  # three of the window's 5,000-event batches

#: Slow only for the second batch, so the server dies while the window still has events to fetch.
SLOW_REDUCER = """
import time

def evolve(state, event):
    if 5000 < event.version <= 7000:
        time.sleep(0.001)
    return {**state, "i": event.data.get("i")}
"""


def connect(qtbot, window, uri: str, db: str, timeout_s: float = 30.0):
    from ui.session.connection import Connection

    with qtbot.waitSignal(window.connected, timeout=60_000):
        window.connect_to(Connection(uri=uri, db=db, timeout_s=timeout_s))


def test_window_survives_the_server_dying_mid_load_and_reloads(qtbot, window, ferretdb_factory, tmp_path):
    server = ferretdb_factory()
    fill(server.uri, "gui", "big-1", EVENTS)
    reducer = tmp_path / "slow.py"
    reducer.write_text(SLOW_REDUCER, encoding="utf-8")
    connect(qtbot, window, server.uri, "gui")
    store = window.store
    window.use_reducer_file(str(reducer))
    qtbot.waitUntil(lambda: window.reducer.name == "slow", timeout=20_000)  # the file's name
    assert window.panes.reducer_label.text() == "Reducer: slow"

    with qtbot.waitSignal(window.loadFailed, timeout=60_000) as failed:
        window.open_stream("big-1")
        qtbot.waitUntil(lambda: window.stream.payload_version >= 5_000, timeout=60_000)
        server.kill()
        killed = time.monotonic()
    assert time.monotonic() - killed < 10
    assert window.isVisible()
    assert "unreachable" in failed.args[0] or "stopped answering" in failed.args[0]
    assert not window.stream.complete
    assert 5_000 <= window.stream.payload_version < EVENTS  # the index came first; payloads stopped midway
    banner = window.banner.text()
    assert "failed" in banner and "partial" in banner and "\n" not in banner
    assert "partial" in window.panes.position_label.text()

    server.start()
    with qtbot.waitSignal(window.streamLoaded, timeout=90_000):
        window.open_stream("big-1")
    assert window.store is store  # reopened without a new connection
    assert window.stream.complete and window.loaded_version == EVENTS
    assert window.loaded.state["i"] == EVENTS
    assert "partial" not in window.panes.position_label.text()
    FAULTS.append(f"GUI: FerretDB killed while loading at version {5_000}+ of {EVENTS:,}: window up, error shown, "
                  "reload complete after restart")


def test_window_following_live_survives_a_server_stop_while_idle(qtbot, window, ferretdb_factory):
    from store.connect import open_store

    server = ferretdb_factory()
    with open_store(server.uri + "live") as writer:
        writer.append("acct-1", [NewEvent("Opened", {"n": 1})], 0)
    connect(qtbot, window, server.uri, "live", timeout_s=2.0)
    with qtbot.waitSignal(window.streamLoaded, timeout=30_000):
        window.open_stream("acct-1")
    server.stop()
    with qtbot.waitSignal(window.messageShown, timeout=30_000) as shown:
        pass  # the live poll meets the stopped server
    assert "Following 'acct-1' failed" in shown.args[0] and "\n" not in shown.args[0]
    assert window.isVisible() and window.loaded_version == 1
    server.start()
    with open_store(server.uri + "live") as writer:
        writer.append("acct-1", [NewEvent("Deposited", {"n": 2})], 1)
    with qtbot.waitSignal(window.eventsAppended, timeout=30_000) as appended:
        pass  # the next poll, same store object, picks up the new event
    assert appended.args[0] == 2 and window.loaded_version == 2
    assert not window.banner.isVisible()
    FAULTS.append("GUI: FerretDB stopped while following live: message shown once, live follow resumed after restart")


def snapshot_count(uri: str, db: str) -> int:
    from pymongo import MongoClient

    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return client[db]["snapshots"].count_documents({})
    finally:
        client.close()


def test_snapshot_from_the_window_while_the_server_is_down(qtbot, window, ferretdb_factory, monkeypatch):
    import ui.gui.main_window
    from store.connect import open_store

    monkeypatch.setattr(ui.gui.main_window, "confirm", lambda *args: True)  # the user says yes
    server = ferretdb_factory()
    with open_store(server.uri + "snapgui") as writer:
        writer.append("acct-1", [NewEvent("Opened", {"n": 1}), NewEvent("Deposited", {"n": 2})], 0)
    connect(qtbot, window, server.uri, "snapgui", timeout_s=2.0)
    window.panes.live_box.setChecked(False)  # only the snapshot talks to the server here
    with qtbot.waitSignal(window.streamLoaded, timeout=30_000):
        window.open_stream("acct-1")
    server.stop()
    with qtbot.waitSignal(window.messageShown, timeout=30_000) as shown:
        assert window.create_snapshot() is not None
    assert shown.args[0].startswith("Snapshot not created: ") and "\n" not in shown.args[0]
    assert window.isVisible()
    server.start()
    assert snapshot_count(server.uri, "snapgui") == 0  # nothing partial was left behind
    with qtbot.waitSignal(window.snapshotsChanged, timeout=30_000):
        window.create_snapshot()  # the next action works, same store
    with qtbot.waitSignal(window.snapshotsChanged, timeout=30_000):
        window.create_snapshot()  # a second click writes no duplicate
    assert snapshot_count(server.uri, "snapgui") == 1
    assert "already exists" in window.snapshot_panel.result.toPlainText()
    FAULTS.append("GUI: snapshot created with FerretDB stopped: clear message, nothing written; after restart written once")


def test_read_only_window_refuses_a_snapshot_before_reaching_the_stopped_server(qtbot, window, ferretdb_factory, monkeypatch):
    import ui.gui.main_window
    from store.connect import open_store
    from ui.session.connection import Connection

    asked = []
    monkeypatch.setattr(ui.gui.main_window, "confirm", lambda *args: asked.append(args) or True)
    server = ferretdb_factory()
    with open_store(server.uri + "rogui") as writer:
        writer.append("acct-1", [NewEvent("Opened", {"n": 1})], 0)
    with qtbot.waitSignal(window.connected, timeout=30_000):
        window.connect_to(Connection(uri=server.uri, db="rogui", read_only=True, timeout_s=2.0))
    window.panes.live_box.setChecked(False)
    with qtbot.waitSignal(window.streamLoaded, timeout=30_000):
        window.open_stream("acct-1")
    server.stop()
    with qtbot.waitSignal(window.messageShown, timeout=5_000) as shown:
        assert window.create_snapshot() is None  # no job: refused on the spot
    assert shown.args[0] == "Read-only connection: snapshots cannot be created."
    assert asked == [] and window.worker.idle()
