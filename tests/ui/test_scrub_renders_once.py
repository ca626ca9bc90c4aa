"""A scrub shows each state once: a drag's moves within one event-loop turn render once, the last one;
the event list's cached texts follow appends, resets and integrity problems."""
from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication

from model.event import Event
from model.freeze import thaw
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from tests.ui.conftest import list_events, connect, open_stream
from ui.gui.event_list import EventTableModel

STREAM = "account-1"


def expected_state(store, version: int):
    return thaw(reconstruct(store, STREAM, default_reducer(), version=version, use_snapshots=False).state)


def test_moves_of_one_drag_turn_render_once_showing_the_last(qtbot, window, demo_store, demo_connection, monkeypatch):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(100)
    rendered = []
    show = window.panes.show_cursor
    monkeypatch.setattr(window.panes, "show_cursor", lambda: (rendered.append(window.cursor), show()))
    window.timeline.cursor.moving = True  # what pyqtgraph sets while the mouse drags the line
    try:
        for version in (40, 41, 57, 60):
            window.timeline.cursorMoved.emit(version)
        assert rendered == []  # nothing rendered yet: the moves wait for the turn's end
        qtbot.waitUntil(lambda: rendered == [60], timeout=5000)
        QApplication.processEvents()
    finally:
        window.timeline.cursor.moving = False
    assert rendered == [60]
    assert thaw(window.state_view.shown_state()) == expected_state(demo_store, 60)
    assert window.event_list.currentIndex().row() == 59
    assert '"version": 60' in window.detail.toPlainText()


def test_drag_end_wins_over_a_pending_move(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.timeline.cursor.moving = True
    try:
        window.timeline.cursorMoved.emit(30)
    finally:
        window.timeline.cursor.moving = False
    window.timeline.cursorFinished.emit(31)  # the release: shown at once, the pending move dropped
    assert window.cursor == 31
    QApplication.processEvents()
    assert window.cursor == 31
    assert thaw(window.state_view.shown_state()) == expected_state(demo_store, 31)


def test_showing_the_same_version_again_keeps_the_tree(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(50)
    resets = window.state_view.model.resets
    window.set_cursor(50)
    assert window.state_view.model.resets == resets  # not made again
    window.panes.compare_box.setChecked(True)  # another point of view: shown again
    assert window.state_view.title.text().startswith("Compare version")
    window.panes.compare_box.setChecked(False)
    window.set_cursor(51)
    assert thaw(window.state_view.shown_state()) == expected_state(demo_store, 51)
    assert window.state_view.tree_value() == expected_state(demo_store, 51)


def _event(version: int, problems=()) -> Event:
    return Event(STREAM, version, "Deposited", {"amount": version}, {},
                 datetime(2024, 1, 5, 10, 0, version % 60, 123456, tzinfo=timezone.utc), "account", tuple(problems))


def test_event_list_texts_follow_appends_resets_and_problems(qtbot):
    model = EventTableModel()
    loaded = list_events(model, [_event(1), _event(2)])
    text = lambda row, col: model.data(model.index(row, col))  # noqa: E731
    assert [text(0, c) for c in range(4)] == ["1", "2024-01-05 10:00:01.123", "Deposited", "amount=1"]  # ms when the time has them
    model.set_problems({2: ["gap: version 2 follows 0"]})
    assert text(1, 2) == "⚠ Deposited"
    assert model.data(model.index(1, 0), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    list_events(model, [_event(3)], loaded)
    assert text(2, 0) == "3"
    model.clear()
    list_events(model, [_event(7)])
    assert [text(0, c) for c in range(4)] == ["7", "2024-01-05 10:00:07.123", "Deposited", "amount=7"]
    assert model.data(model.index(-1, -1)) is None


def test_stepping_shows_each_state_and_marks_whether_rows_are_reused_or_rebuilt(qtbot, window, demo_store, demo_connection):
    from model.diff import diff

    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(1)
    reused = 0
    previous = expected_state(demo_store, 1)
    for version in range(2, 80):
        resets = window.state_view.model.resets
        window.step(1)
        state = expected_state(demo_store, version)
        assert window.state_view.tree_value() == state
        change = diff(previous, state)
        marks = {tuple(c.path): kind for kind, cs in (("added", change.added), ("changed", change.changed),
                                                      ("removed", change.removed)) for c in cs}
        assert window.state_view.marks() == marks, version
        reused += window.state_view.model.resets == resets
        previous = state
    assert reused > 0  # same-shaped states were shown in the existing rows


class _LayoutWatch(QObject):
    def __init__(self):
        super().__init__()
        self.requests = 0

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        self.requests += event.type() == QEvent.Type.LayoutRequest
        return False


def _settle_layouts(turns: int = 50) -> None:
    """Run event-loop turns until one runs no layout."""
    watch = _LayoutWatch()
    QApplication.instance().installEventFilter(watch)
    try:
        for _ in range(turns):
            watch.requests = 0
            QApplication.processEvents()
            if not watch.requests:
                return
    finally:
        QApplication.instance().removeEventFilter(watch)
    raise AssertionError(f"the window still lays itself out after {turns} turns")


class _PaintCounter(QObject):
    """Counts paint events per watched widget."""

    def __init__(self, widgets):
        super().__init__()
        self.counts = {w: 0 for w in widgets}

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint and obj in self.counts:
            self.counts[obj] += 1
        return False


def test_a_cursor_move_repaints_what_shows_the_cursor_and_nothing_else(qtbot, window, demo_store, demo_connection):
    # A label whose text changes asks the layouts above it to run again; through the tab widget
    # that repainted the whole window on every move (the position label did, until d57d593). The
    # position asks again only for a wider text than before (a digit more), never at these moves.
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(100)  # three digits, as every move below: the position asks for no more room
    panes = window.panes
    bystanders = [panes.goto_edit, panes.live_box, panes.compare_box, panes.streams]
    shows_cursor = [window.event_list.viewport(), window.state_view.tree.viewport()]
    counter = _PaintCounter(bystanders + shows_cursor)
    # the window settles first: the work after the load (checks, snapshots), the timeline's redraw,
    # and the layouts, which run one level up the widget tree per event-loop turn
    qtbot.waitUntil(lambda: window.worker.idle() and not window.timeline._redraw_timer.isActive(), timeout=5000)
    _settle_layouts()
    QApplication.instance().installEventFilter(counter)
    try:
        for version in (120, 135, 136, 180, 181, 230):
            window.set_cursor(version)
            assert panes.position_label.text().startswith(f"version {version:,} of")
            QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(counter)
    assert all(counter.counts[w] > 0 for w in shows_cursor), counter.counts
    assert {type(w).__name__: counter.counts[w] for w in bystanders} == {type(w).__name__: 0 for w in bystanders}
