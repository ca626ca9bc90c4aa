"""The event list paints its rows itself (for scrub speed): the pixels must be Qt's table's own,
with the selected row, alternating and problem rows, elided texts, the grid and the focus frame."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QTableView, QVBoxLayout, QWidget

from model.event import Event
from tests.ui.conftest import list_events
from ui.gui.event_list import EventList


class StockPainted(EventList):
    """The same view, model and settings, painted by Qt's QTableView."""

    def paintEvent(self, event) -> None:
        QTableView.paintEvent(self, event)


def _events(count: int) -> list[Event]:
    start = datetime(2024, 1, 5, 10, 0, tzinfo=timezone.utc)
    out = []
    for version in range(1, count + 1):
        data = {"amount": version * 7, "note": "x" * (version % 90), "to_account": "account-2"}
        kind = ("FundsDeposited", "TransferReceived", "Ω wide ⚠ type")[version % 3]
        problems = ("undecodable field",) if version == 503 else ()
        out.append(Event("account-1", version, kind, data, {}, start + timedelta(minutes=version), "account", problems))
    return out


def _grab(qtbot, view_class, *, width: int, focus: bool, scroll_x: int):
    holder = QWidget()
    qtbot.addWidget(holder)
    layout = QVBoxLayout(holder)
    view, other = view_class(), QLineEdit()
    layout.addWidget(view)
    layout.addWidget(other)
    holder.resize(width, 420)
    holder.show()
    list_events(view.event_model, _events(1000))
    view.event_model.set_problems({498: ["version gap"]})
    view.select_version(500)
    view.scrollTo(view.currentIndex(), QAbstractItemView.ScrollHint.PositionAtCenter)
    view.horizontalScrollBar().setValue(scroll_x)
    (view if focus else other).setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: view.hasFocus() == focus)
    return view.grab().toImage()


@pytest.mark.parametrize("width,focus,scroll_x", [(430, False, 0), (430, True, 40), (900, True, 0), (900, False, 25)])
def test_rows_look_exactly_as_qt_paints_them(qtbot, width, focus, scroll_x):
    ours = _grab(qtbot, EventList, width=width, focus=focus, scroll_x=scroll_x)
    stock = _grab(qtbot, StockPainted, width=width, focus=focus, scroll_x=scroll_x)
    assert ours.size() == stock.size()
    differing = sum(1 for y in range(ours.height()) for x in range(ours.width()) if ours.pixel(x, y) != stock.pixel(x, y))
    assert differing == 0


def test_long_texts_are_elided_as_qt_elides_them(qtbot):
    view = EventList()
    qtbot.addWidget(view)
    fm = view.fontMetrics()
    for room in (5, 40, 120, 400):
        for text in ("amount=3491, balance=21617, to_account='account-2'", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiWWW", "short", ""):
            assert view._fitted(text, room, fm, Qt.TextElideMode.ElideRight) == fm.elidedText(text, Qt.TextElideMode.ElideRight, room)


class _PaintCounter(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_scroll_bar_repaints_only_when_the_slider_moves(qtbot):
    view = EventList()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    list_events(view.event_model, _events(200_000))  # 200,000 rows: scrolling a few rows moves no pixel
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 190_000)  # the view sets the range once it lays out
    bar.setValue(100_000)
    qtbot.waitUntil(lambda: bar._painted == bar._look())
    paints = _PaintCounter()
    bar.installEventFilter(paints)
    bar.setValue(100_003)
    QApplication.processEvents()
    assert paints.count == 0
    bar.setValue(190_000)
    qtbot.waitUntil(lambda: paints.count > 0)
    assert bar._painted == bar._look()


def test_moving_the_selection_leaves_the_header_unpainted(qtbot):
    view = EventList()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    list_events(view.event_model, _events(1000))
    view.select_version(10)
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: header.viewport().isVisible())
    QApplication.processEvents()
    paints = _PaintCounter()
    header.viewport().installEventFilter(paints)
    for version in (400, 20, 800):
        view.select_version(version)
        QApplication.processEvents()
        assert view.currentIndex().row() == version - 1
    assert paints.count == 0
    header.viewport().update()  # the counter does see the header's paints
    qtbot.waitUntil(lambda: paints.count > 0)
