"""The explorer's workflows on real widgets, against FerretDB and the embedded store."""
from __future__ import annotations

import csv
import json

import orjson
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from model.diff import diff
from model.event import NewEvent
from model.freeze import thaw
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from store.codec import to_jsonable
from tests.ui.conftest import DEMO_EVENTS, DEMO_STREAMS, connect, open_stream

STREAM = "account-1"


def expected_state(store, version: int):
    return thaw(reconstruct(store, STREAM, default_reducer(), version=version, use_snapshots=False).state)


def expected_marks(store, old_version: int, new_version: int) -> dict:
    change = diff(expected_state(store, old_version), expected_state(store, new_version))
    marks = {}
    for kind, changes in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
        for c in changes:
            marks[tuple(c.path)] = kind
    return marks


def assert_shows(window, store, version: int):
    """The window's cursor, state tree and highlight match an independent reconstruction."""
    assert window.cursor == version
    state = expected_state(store, version)
    assert thaw(window.state_view.shown_state()) == state
    assert window.state_view.tree_value() == state
    shown = {p: k for p, k in window.state_view.marks().items()}
    assert shown == expected_marks(store, version - 1, version)
    assert f'"version": {version}' in window.detail.toPlainText()


def test_connect_lists_and_filters_streams(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    model = window.streams.model
    assert model.total() == DEMO_STREAMS
    shown = {model.stream_at(r).stream_id for r in range(model.rowCount())}
    assert shown == {s.stream_id for s in demo_store.streams(limit=100)}
    assert demo_store.describe() in window.status.connection.text()
    assert f"{DEMO_STREAMS:,} streams" in window.status.size.text()

    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        window.streams.type_filter.setCurrentIndex(window.streams.type_filter.findData("user"))
    assert model.rowCount() == DEMO_STREAMS // 2
    assert all(model.stream_at(r).stream_type == "user" for r in range(model.rowCount()))

    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        window.streams.type_filter.setCurrentIndex(0)
        qtbot.keyClicks(window.streams.search, "ACCOUNT-")
        window.streams.apply_filter()
    assert sorted(model.stream_at(r).stream_id for r in range(model.rowCount())) == ["account-1", "account-2", "account-3"]


def test_stream_list_pages_lazily(qtbot, window, store, backend, request):
    from ui.session.connection import Connection

    for i in range(450):
        store.append(f"s-{i:04d}", [NewEvent("Happened", {"i": i})], 0, stream_type="thing")
    conn = Connection(uri=str(store.path)) if backend == "embedded" else Connection(
        uri=request.getfixturevalue("mongo_uri"), db=request.getfixturevalue("mongo_db_name"))
    connect(qtbot, window, conn)
    model = window.streams.model
    assert model.total() == 450 and model.rowCount() == 200
    assert model.canFetchMore()
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        model.fetchMore()
    assert model.rowCount() == 400
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        model.fetchMore()
    assert model.rowCount() == 450 and not model.canFetchMore()
    assert [model.stream_at(r).stream_id for r in range(450)] == [f"s-{i:04d}" for i in range(450)]
    # sorting by a header reloads from the server in that order
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        window.streams.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert model.stream_at(0).stream_id == "s-0449"


def test_open_stream_shows_reconstructed_state_and_change(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    assert window.stream.complete
    assert window.event_list.event_model.rowCount() == DEMO_EVENTS
    assert_shows(window, demo_store, DEMO_EVENTS)  # the cursor starts at the newest event
    assert window.snapshot_panel.snapshots() == [] or all(
        s.stream_id == STREAM for s in window.snapshot_panel.snapshots())


def test_scrub_by_keyboard(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    view = window.event_list
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert_shows(window, demo_store, 1)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert_shows(window, demo_store, 2)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert_shows(window, demo_store, 102)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert_shows(window, demo_store, 101)
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert_shows(window, demo_store, 1)
    qtbot.keyClick(view, Qt.Key.Key_Left)  # clamped at the first event
    assert window.cursor == 1
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert_shows(window, demo_store, DEMO_EVENTS)
    # Up in the list is the list's own move: the selection drives the cursor
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert_shows(window, demo_store, DEMO_EVENTS - 1)


def test_timeline_cursor_and_list_follow_each_other(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.timeline.cursorMoved.emit(57)  # what a drag of the timeline's cursor emits
    assert_shows(window, demo_store, 57)
    assert window.event_list.currentIndex().row() == 56
    window.timeline.cursorFinished.emit(58)
    assert_shows(window, demo_store, 58)
    # clicking a row moves the cursor the other way round
    index = window.event_list.event_model.index(9, 2)
    window.event_list.setCurrentIndex(index)
    assert_shows(window, demo_store, 10)


def test_go_to_version_and_date(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.goto_edit.setText("33")
    qtbot.keyClick(window.goto_edit, Qt.Key.Key_Return)
    assert_shows(window, demo_store, 33)
    event = window.loaded.event(120)
    window.goto_edit.setText(event.time.strftime("%Y-%m-%dT%H:%M:%S"))
    qtbot.keyClick(window.goto_edit, Qt.Key.Key_Return)
    assert window.cursor == demo_store.version_at(STREAM, event.time)
    window.goto_edit.setText("not a date")
    qtbot.keyClick(window.goto_edit, Qt.Key.Key_Return)
    assert "neither a version nor an ISO date" in window.banner.text()
    assert window.cursor == demo_store.version_at(STREAM, event.time)


def test_compare_mode_highlights_difference_between_two_versions(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.panes.compare_spin.setValue(10)
    window.panes.compare_box.setChecked(True)
    window.set_cursor(150)
    assert thaw(window.state_view.shown_state()) == expected_state(demo_store, 150)
    marks = expected_marks(demo_store, 10, 150)
    assert marks and window.state_view.marks() == marks
    window.panes.compare_box.setChecked(False)
    assert window.state_view.marks() == expected_marks(demo_store, 149, 150)


def test_create_and_verify_snapshot(qtbot, window, demo_store, demo_connection, monkeypatch):
    import ui.gui.main_window as main_window

    asked = []
    monkeypatch.setattr(main_window, "confirm", lambda parent, title, text: asked.append(text) or True)
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(77)
    with qtbot.waitSignal(window.snapshotsChanged, timeout=20_000):
        window.snapshot_panel.create_button.click()
    assert len(asked) == 1 and "version 77" in asked[0] and demo_store.describe() in asked[0]
    saved = [s for s in demo_store.snapshots(STREAM) if s.version == 77]
    assert len(saved) == 1 and saved[0].state == expected_state(demo_store, 77)
    assert 77 in [s.version for s in window.snapshot_panel.snapshots()]

    assert window.snapshot_panel.select_version(77)
    with qtbot.waitSignal(window.verified, timeout=20_000) as verified:
        window.snapshot_panel.verify_button.click()
    assert verified.args[0].ok
    assert "matches a full replay" in window.snapshot_panel.result.toPlainText()


def test_verify_reports_a_wrong_snapshot(qtbot, window, demo_store, demo_connection):
    from dataclasses import replace

    from model.snapshot import take_snapshot

    good = take_snapshot(demo_store, STREAM, default_reducer(), version=40)
    wrong = replace(good, version=41, state={**good.state, "balance": -1})
    assert demo_store.save_snapshot(wrong)
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    assert window.snapshot_panel.select_version(41)
    with qtbot.waitSignal(window.verified, timeout=20_000) as verified:
        window.snapshot_panel.verify_button.click()
    assert not verified.args[0].ok
    text = window.snapshot_panel.result.toPlainText()
    assert "differs from a full replay" in text and "balance" in text


def test_new_event_appears_live(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    assert window.cursor == DEMO_EVENTS
    # another writer (the test's own client) appends while the stream is open
    demo_store.append(STREAM, [NewEvent("AccountNoted", {"note": "live"})], DEMO_EVENTS)
    with qtbot.waitSignal(window.eventsAppended, timeout=20_000) as appended:
        pass
    assert appended.args == [DEMO_EVENTS + 1]
    assert window.event_list.event_model.rowCount() == DEMO_EVENTS + 1
    assert window.cursor == DEMO_EVENTS + 1  # the cursor was at the end, so it follows
    assert_shows(window, demo_store, DEMO_EVENTS + 1)


def test_exports_parse_back(qtbot, window, demo_store, demo_connection, tmp_path):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(90)
    events = [e for batch in demo_store.read(STREAM) for e in batch]

    ndjson = tmp_path / "events.ndjson"
    with qtbot.waitSignal(window.exported, timeout=20_000):
        window.export_events(str(ndjson))
    lines = [orjson.loads(line) for line in ndjson.read_text().splitlines()]
    assert [d["version"] for d in lines] == list(range(1, DEMO_EVENTS + 1))
    assert [d["data"] for d in lines] == [to_jsonable(thaw(e.data)) for e in events]
    assert [d["type"] for d in lines] == [e.type for e in events]

    table = tmp_path / "events.csv"
    with qtbot.waitSignal(window.exported, timeout=20_000):
        window.export_events(str(table))
    rows = list(csv.DictReader(table.open(encoding="utf-8", newline="")))
    assert [int(r["version"]) for r in rows] == list(range(1, DEMO_EVENTS + 1))
    assert [json.loads(r["data"]) for r in rows] == [to_jsonable(thaw(e.data)) for e in events]

    state_file = tmp_path / "state.json"
    with qtbot.waitSignal(window.exported, timeout=20_000):
        window.export_state(str(state_file))
    assert json.loads(state_file.read_text()) == to_jsonable(expected_state(demo_store, 90))

    image = tmp_path / "timeline.png"
    with qtbot.waitSignal(window.exported, timeout=20_000):
        window.export_timeline(str(image))
    loaded = QImage(str(image))
    assert not loaded.isNull() and loaded.width() > 0


def test_read_only_refuses_snapshot_before_writing(qtbot, window, demo_store, demo_connection, monkeypatch):
    from dataclasses import replace

    import ui.gui.main_window as main_window

    monkeypatch.setattr(main_window, "confirm", lambda *a: pytest.fail("asked to confirm a write on a read-only connection"))
    before = demo_store.snapshots(STREAM)
    connect(qtbot, window, replace(demo_connection, read_only=True))
    assert window.store.read_only
    assert "read-only" in window.status.connection.text()
    assert not window.snapshot_panel.create_button.isEnabled()
    open_stream(qtbot, window, STREAM)
    window.set_cursor(50)
    assert window.create_snapshot() is None
    assert "read-only" in window.banner.text().lower()
    assert demo_store.snapshots(STREAM) == before


def test_closed_port_is_a_clear_error_and_the_window_lives(qtbot, window, closed_port_uri):
    from ui.session.connection import Connection

    with qtbot.waitSignal(window.connectFailed, timeout=20_000):
        window.connect_to(Connection(uri=closed_port_uri, db="nothing", timeout_s=1.0))
    text = window.banner.text()
    assert text.startswith("Cannot connect to") and "\n" not in text and "Traceback" not in text
    assert window.isVisible() and window.store is None
    assert window.status.connection.text() == "Not connected"


def test_a_server_that_never_answers_ends_in_a_clear_error_in_bounded_time(qtbot, window, silent_server):
    from ui.session.connection import Connection

    # the bound is the wait below (speed itself is measured in bench/, not asserted here)
    with qtbot.waitSignal(window.connectFailed, timeout=30_000):
        window.connect_to(Connection(uri=silent_server.uri, db="x", timeout_s=1.5))
    text = window.banner.text()
    assert text.startswith("Cannot connect to") and "\n" not in text
    # the window answers: the worker is free again (its count drops just after the error is posted)
    qtbot.waitUntil(window.worker.idle, timeout=5_000)


def test_an_empty_database_is_named_in_a_warning(qtbot, window, mongo_uri):
    from ui.session.connection import Connection

    with qtbot.waitSignal(window.connected, timeout=20_000):
        window.connect_to(Connection(uri=mongo_uri, db="no_such_database_here"))
    assert "holds no streams" in window.banner.text() and "no_such_database_here" in window.banner.text()
    assert window.banner.severity == "warning"


def test_tls_options_from_the_dialog_reach_the_driver(qtbot, window, mongo_uri, tmp_path):
    from ui.session.connection import Connection

    missing = tmp_path / "no-such-ca.pem"
    with qtbot.waitSignal(window.connectFailed, timeout=30_000):
        window.connect_to(Connection(uri=mongo_uri, db="x", timeout_s=2.0, tls_ca_file=str(missing)))
    text = window.banner.text()
    # the CA file was handed to the driver: it names the file it could not use, in one line
    assert text.startswith("Cannot connect to") and "\n" not in text and "Traceback" not in text
    assert str(missing) in text
    assert window.store is None


def test_home_and_end_bring_the_cursor_into_a_zoomed_view(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    timeline = window.timeline
    window.event_list.setFocus()
    # the load's last redraws done: a redraw still due would show the whole stream over the zoom below
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive() and not window.stream.loading, timeout=3000)
    for key, version in ((Qt.Key.Key_Home, 1), (Qt.Key.Key_End, DEMO_EVENTS)):
        timeline.detail.setXRange(DEMO_EVENTS * 0.4, DEMO_EVENTS * 0.5, padding=0)  # as a wheel zoom leaves it
        qtbot.keyClick(window.event_list, key)
        qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=3000)
        x0, x1 = timeline.detail.viewRange()[0]
        assert window.cursor == version and x0 <= version <= x1, (key, x0, x1)
        assert x1 - x0 == pytest.approx(DEMO_EVENTS * 0.1, rel=0.05)  # the zoom is kept, only panned
