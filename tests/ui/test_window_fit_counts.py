"""Issue 15, the window while it works and how it counts: keys move the cursor from a long stream's
first batch on, the field history says it is working until its result replaces that, and counts
read "1 snapshot" and "1,234 events" everywhere the window shows them.

All on the embedded store: nothing here depends on the backend.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from model.diff import format_path
from model.event import NewEvent
from model.reducer import default_reducer
from model.snapshot import take_snapshot
from tests.ui.conftest import LOAD_TIMEOUT_MS, connect, open_stream
from ui.session.connection import Connection

LONG_STREAM, LONG_EVENTS, BATCH = "counter-1", 50_000, 10_000


@pytest.fixture
def long_file(embedded_store) -> Connection:
    """One stream of 50,000 events whose field ``n`` changes in every one (written in batches)."""
    for start in range(0, LONG_EVENTS, BATCH):
        events = [NewEvent("Counted", {"n": n}) for n in range(start + 1, start + BATCH + 1)]
        embedded_store.append(LONG_STREAM, events, start, stream_type="counter")
    return Connection(uri=str(embedded_store.path))


def focused_widget(qtbot, window):
    """The widget the keyboard reaches now, as a user's key press would."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    focused = QApplication.focusWidget()
    assert focused.window() is window
    return focused


# -- 6. keys act on the cursor as soon as a stream starts loading ---------------------------------------------------
def test_keys_move_the_cursor_from_a_long_streams_first_batch_on(qtbot, window, embedded_store, long_file):
    connect(qtbot, window, long_file)
    info = embedded_store.stream(LONG_STREAM)
    pressed = []

    def press_keys(first: int, last: int) -> None:
        """At the first batch listed: the keys a user presses on whatever has the focus, nothing clicked."""
        stream.extended.disconnect(press_keys)
        keys = focused_widget(qtbot, window)
        for key in (Qt.Key.Key_End, Qt.Key.Key_Home, Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Left):
            qtbot.keyClick(keys, key)
            pressed.append((key, window.cursor, stream.loading, stream.payload_version))

    with qtbot.waitSignal(window.streamLoaded, timeout=LOAD_TIMEOUT_MS):
        stream = window.open_stream(LONG_STREAM)
        stream.extended.connect(press_keys)
    first, last = info.first_version, info.last_version
    assert [(key, cursor) for key, cursor, _, _ in pressed] == [
        (Qt.Key.Key_End, last), (Qt.Key.Key_Home, first), (Qt.Key.Key_Right, first + 1),
        (Qt.Key.Key_Right, first + 2), (Qt.Key.Key_Left, first + 1)]
    # every key went in while the stream was loading, before its payloads were in
    assert all(loading and payloads < last for _, _, loading, payloads in pressed)
    # the rest of the load leaves the cursor where the keys put it, and shows its state
    assert window.stream.complete and window.cursor == first + 1
    assert dict(window.state_view.shown_state()) == {"n": first + 1}
    assert window.panes.position_label.text() == f"version {first + 1:,} of {last:,}"


# -- 7. the field history shows that it is working, then its result ---------------------------------------------------
def test_a_long_field_history_shows_its_progress_then_its_result(qtbot, window, long_file):
    connect(qtbot, window, long_file)
    open_stream(qtbot, window, LONG_STREAM)
    panel, status, path = window.field_history, window.status, ("n",)
    name = format_path(path)
    working = f"{name}: looking through the stream…"
    seen = {"started": [], "progress": []}

    def started(task) -> None:
        if task.name == "history of a field":
            seen["started"].append((panel.title.text(), status.busy(), status.what.text()))

    def progressed(task, done: int, total: int, what: str) -> None:
        if what == "history of a field":
            seen["progress"].append((done, total, panel.title.text(), status.busy(), status.progress.value()))

    window.worker.started_job.connect(started)
    window.worker.progress.connect(progressed)
    with qtbot.waitSignal(window.fieldHistoryShown, timeout=LOAD_TIMEOUT_MS):
        assert window.state_view.select_path(path)
        assert panel.title.text() == working and panel.changes() == []
    # while it worked: the panel said so and the status bar showed the job and how far it was
    assert seen["started"] == [(working, True, "history of a field")]
    assert seen["progress"], "no progress was reported for a history of 50,000 events"
    assert all(title == working and busy for _, _, title, busy, _ in seen["progress"])
    assert all(0 <= done <= total == LONG_EVENTS for done, total, *_ in seen["progress"])
    assert any(0 < value < LONG_EVENTS for *_, value in seen["progress"])
    # then the result replaced it: every event changed n
    assert [c.version for c in panel.changes()] == list(range(1, LONG_EVENTS + 1))
    assert panel.title.text() == f"{name}: changed by {LONG_EVENTS:,} events"
    qtbot.waitUntil(lambda: not status.busy(), timeout=5_000)


# -- 8. one snapshot is "1 snapshot", and big counts carry thousands separators -------------------------------------------
def test_one_snapshot_is_singular_and_counts_carry_thousands_separators(qtbot, window, embedded_store, monkeypatch):
    stream_id, events, snapshot_at = "meter-1", 1_234, 1_000
    embedded_store.append(stream_id, [NewEvent("Read", {"n": n}) for n in range(1, events + 1)], 0,
                          stream_type="meter")
    embedded_store.save_snapshot(take_snapshot(embedded_store, stream_id, default_reducer(), version=snapshot_at,
                                               created_by="test"))
    connect(qtbot, window, Connection(uri=str(embedded_store.path)))
    size = window.status.size.text()
    assert size.startswith(f"1 stream · {events:,} events · 1 snapshot") and "snapshots" not in size, size
    assert window.streams.count_label.text() == "1 stream"
    model = window.streams.model
    assert model.data(model.index(0, 2)) == f"{events:,}" == "1,234"

    open_stream(qtbot, window, stream_id)
    panel = window.snapshot_panel
    assert [s.version for s in panel.snapshots()] == [snapshot_at]
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text() == f"{snapshot_at:,}"
    assert window.panes.position_label.text() == f"version {events:,} of {events:,}"
    with qtbot.waitSignal(window.fieldHistoryShown, timeout=LOAD_TIMEOUT_MS):
        assert window.state_view.select_path(("n",))
    assert window.field_history.title.text() == f"n: changed by {events:,} events"

    # a second snapshot: the count turns plural
    monkeypatch.setattr("ui.gui.main_window.confirm", lambda parent, title, text: True)
    window.set_cursor(events)
    with qtbot.waitSignal(window.snapshotsChanged, timeout=LOAD_TIMEOUT_MS):
        window.create_snapshot()
    qtbot.waitUntil(lambda: "2 snapshots" in window.status.size.text(), timeout=10_000)
    assert window.status.size.text().startswith(f"1 stream · {events:,} events · 2 snapshots")
    assert panel.table.rowCount() == 2


def test_a_field_one_event_changed_says_one_event(qtbot, window, embedded_store):
    embedded_store.append("thing-1", [NewEvent("Made", {"colour": "red", "n": 1}), NewEvent("Counted", {"n": 2})], 0)
    connect(qtbot, window, Connection(uri=str(embedded_store.path)))
    size = window.status.size.text()
    assert size.startswith("1 stream · 2 events · 0 snapshots"), size
    open_stream(qtbot, window, "thing-1")
    with qtbot.waitSignal(window.fieldHistoryShown, timeout=LOAD_TIMEOUT_MS):
        assert window.state_view.select_path(("colour",))
    assert window.field_history.title.text() == "colour: changed by 1 event"
