"""Scrubbing with the mouse, field history, cancelling, reducer errors and a server that goes away."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from model.event import NewEvent
from model.freeze import thaw
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from model.replay import fold
from tests.ui.conftest import DEMO_EVENTS, connect, fill_demo, open_stream
from ui.session.connection import Connection

STREAM = "account-1"
pg.setConfigOption("mouseRateLimit", -1)  # deliver every mouse move, as pyqtgraph's own tests do


def _send(widget, kind, pos: QPoint, button, buttons) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _viewport_point(timeline, x: float) -> QPoint:
    y = sum(timeline.detail.viewRange()[1]) / 2
    return timeline.view.mapFromScene(timeline.detail.getViewBox().mapViewToScene(QPointF(x, y)))


def drag_cursor(timeline, to_x: float, steps: int = 10) -> None:
    """Press on the cursor line, move to ``to_x`` (view coordinates) and release."""
    viewport, left, none = timeline.view.viewport(), Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    start, end = _viewport_point(timeline, timeline.cursor.value()), _viewport_point(timeline, to_x)
    _send(viewport, QEvent.Type.MouseMove, start, none, none)
    _send(viewport, QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        _send(viewport, QEvent.Type.MouseMove, start + (end - start) * (i / steps), none, left)
    _send(viewport, QEvent.Type.MouseButtonRelease, end, left, none)


def state_at(store, version: int):
    return thaw(reconstruct(store, STREAM, default_reducer(), version=version, use_snapshots=False).state)


def test_scrub_by_dragging_the_timeline_cursor(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    qtbot.waitExposed(window)
    timeline = timeline_widget = window.timeline
    timeline_widget.view.scene().minDragTime = 0
    timeline.set_axis("version")
    window.set_cursor(200)
    # show versions 100..220 so the drag has room on screen
    timeline.detail.setXRange(100, 220, padding=0)
    QApplication.processEvents()
    with qtbot.waitSignal(timeline.cursorFinished, timeout=5000):
        drag_cursor(timeline, 150.0)
    assert abs(window.cursor - 150) <= 2  # snapped to an event under the mouse, a pixel of slack
    assert window.event_list.currentIndex().row() == window.cursor - 1
    assert thaw(window.state_view.shown_state()) == state_at(demo_store, window.cursor)


def test_field_history_lists_changes_and_jumps(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    with qtbot.waitSignal(window.fieldHistoryShown, timeout=10_000):
        assert window.state_view.select_path(("balance",))
    # every state, by one read and a step-by-step fold (not through the window's History)
    states, state = [{}], None
    for event in (e for batch in demo_store.read(STREAM) for e in batch):
        state = fold(state, [event], default_reducer())
        states.append(thaw(state))
    assert len(states) == DEMO_EVENTS + 1
    expected = [v for v in range(1, DEMO_EVENTS + 1) if states[v].get("balance") != states[v - 1].get("balance")]
    changes = window.field_history.changes()
    assert [c.version for c in changes] == expected
    assert all(c.new == states[c.version]["balance"] for c in changes)
    target = expected[len(expected) // 2]
    window.field_history.jumpTo.emit(target)
    assert window.cursor == target
    assert thaw(window.state_view.shown_state()) == states[target]


def test_cancel_a_long_load_keeps_it_marked_partial(qtbot, window, embedded_store):
    stream = "big-1"
    events = [NewEvent("Counted", {"n": i}) for i in range(1, 40_001)]
    for start in range(0, len(events), 10_000):
        embedded_store.append(stream, events[start:start + 10_000], start, stream_type="big")
    connect(qtbot, window, Connection(uri=str(embedded_store.path)))
    first_batch = []
    with qtbot.waitSignal(window.loadFailed, timeout=30_000):
        opened = window.open_stream(stream)
        assert window.status.cancel_button.isVisibleTo(window)
        opened.filled.connect(lambda payloads, folded: first_batch or (first_batch.append(payloads),
                                                                        window.status.cancel_button.click()))
    assert first_batch and 0 < window.stream.payload_version < 40_000
    assert not window.stream.complete
    assert "cancelled" in window.banner.text() and "partial" in window.banner.text()
    assert "(partial)" in window.panes.position_label.text()
    assert window.event_list.event_model.rowCount() == window.loaded_version  # listed, payloads or not
    # the window still works: the same stream loads in full afterwards
    open_stream(qtbot, window, stream)
    assert window.stream.complete and window.loaded_version == 40_000


def test_reducer_error_is_a_located_message(qtbot, window, demo_store, demo_connection, tmp_path):
    reducer_file = tmp_path / "strict.py"
    reducer_file.write_text(
        "NAME = 'strict'\n"
        "def evolve(state, event):\n"
        "    if event.version == 5:\n"
        "        raise ValueError('no fifth event allowed')\n"
        "    return {**state, 'last': event.version}\n"
    )
    connect(qtbot, window, demo_connection)
    with qtbot.waitSignal(window.streamLoaded, timeout=20_000):
        window.open_stream(STREAM)
    with qtbot.waitSignal(window.streamLoaded, timeout=20_000):
        window.use_reducer_file(str(reducer_file))  # reloads the open stream with it
    text = window.banner.text()
    assert "version 5" in text and "no fifth event allowed" in text and STREAM in text and "\n" not in text
    # every event is still listed; states stop before the one the reducer fails on, where the cursor stands
    assert window.loaded_version == 240 and window.stream.folded_version == 4 and not window.stream.complete
    assert window.cursor == 5 and window.state_view.shown_state() == {"last": 4}
    assert "the reducer failed on this event" in window.state_view.title.text()


def test_server_down_then_back(qtbot, window, ferretdb_factory):
    from store.mongo import MongoStore

    server = ferretdb_factory.server
    with MongoStore(server.uri, "faults") as store:
        fill_demo(store, streams=2, events_per_stream=50)
    connect(qtbot, window, Connection(uri=server.uri, db="faults", timeout_s=2.0))
    server.stop()
    with qtbot.waitSignal(window.loadFailed, timeout=30_000):
        window.open_stream("user-1")
    text = window.banner.text()
    assert text.startswith("Loading 'user-1' failed") and "\n" not in text and "Traceback" not in text
    assert window.isVisible() and not window.stream.complete
    server.start()
    open_stream(qtbot, window, "user-1")
    assert window.stream.complete and window.loaded_version == 50
    with MongoStore(server.uri, "faults") as store:
        expected = thaw(reconstruct(store, "user-1", default_reducer(), version=50).state)
    assert thaw(window.state_view.shown_state()) == expected


def test_integrity_problems_are_marked_on_stream_and_events(qtbot, window, store, backend, request):
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
    store.append("order-1", [NewEvent("OrderPlaced", {"total": 10}, time=t0),
                             NewEvent("OrderPaid", {"paid": 10}, time=t0 + timedelta(hours=1)),
                             NewEvent("OrderShipped", {"by": "post"}, time=t0 - timedelta(days=1)),  # clock went back
                             NewEvent("OrderDeleted", {}, time=t0 + timedelta(hours=3)),
                             NewEvent("OrderPaid", {"paid": 5}, time=t0 + timedelta(hours=4))],  # after delete
                 0, stream_type="order")
    conn = Connection(uri=str(store.path)) if backend == "embedded" else Connection(
        uri=request.getfixturevalue("mongo_uri"), db=request.getfixturevalue("mongo_db_name"))
    connect(qtbot, window, conn)
    open_stream(qtbot, window, "order-1")
    model = window.event_list.event_model
    marked = {v for v in range(1, 6) if model.problems_of(v)}
    assert marked == {3, 5}
    assert any("time-backwards" in p for p in model.problems_of(3))
    assert any("after-delete" in p for p in model.problems_of(5))
    assert model.data(model.index(2, 2)).startswith("⚠")  # the type column of version 3
    assert "integrity problem" in window.banner.text()
    streams = window.streams.model
    row = next(r for r in range(streams.rowCount()) if streams.stream_at(r).stream_id == "order-1")
    assert streams.data(streams.index(row, 0), Qt.ItemDataRole.DecorationRole) is not None
    assert "integrity problem" in streams.data(streams.index(row, 0), Qt.ItemDataRole.ToolTipRole)
    window.set_cursor(3)
    assert "time-backwards" in window.detail.toPlainText()


def test_the_event_a_reducer_fails_on_is_in_the_list_with_its_error(qtbot, window, embedded_store, tmp_path):
    embedded_store.append("acct-9", [NewEvent("Deposited", {"n": i}) for i in range(1, 11)], 0, stream_type="acct")
    reducer = tmp_path / "picky.py"
    reducer.write_text("def evolve(state, event):\n"
                       "    if event.data['n'] == 7:\n"
                       "        raise ValueError('seven is not allowed')\n"
                       "    return state.set('n', event.data['n'])\n", encoding="utf-8")
    connect(qtbot, window, Connection(uri=str(embedded_store.path)))
    window.use_reducer_file(str(reducer))
    qtbot.waitUntil(lambda: window.reducer.name == "picky", timeout=10_000)
    open_stream(qtbot, window, "acct-9")
    model = window.event_list.event_model
    # all ten listed (what the store holds); states for the six before the one it failed on
    assert window.loaded_version == 10 and window.stream.folded_version == 6 and model.rowCount() == 10
    assert "seven is not allowed" in "\n".join(model.problems_of(7))
    assert model.row_texts(6)[2] == "⚠ Deposited"
    assert window.cursor == 7  # the cursor stands on the failing event
    assert "the reducer failed on this event" in window.state_view.title.text()
    assert thaw(window.state_view.shown_state()) == {"n": 6}  # the state before it
    assert "seven is not allowed" in window.banner.text()
    window.set_cursor(9)
    assert window.state_view.shown_state() is None and "No state after" in window.state_view.title.text()
