"""Scrubbing as a drag does (the timeline's cursor line moved back and forth by jumps of many
events): after every move the state view, its marks, the event list's row, the detail and the
position all show the cursor's event, and the state pane keeps its place."""
from __future__ import annotations

import random

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from model.freeze import thaw
from tests.ui.conftest import DEMO_EVENTS, connect, open_stream
from tests.ui.test_explorer import STREAM, expected_marks, expected_state


def test_scrubbing_the_timeline_shows_each_version_everywhere(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.resize(1400, 900)
    QApplication.processEvents()
    timeline, state_view = window.timeline, window.state_view
    rng = random.Random(5)
    version = DEMO_EVENTS // 2
    tree_top = None
    moves = [rng.randint(-60, 60) for _ in range(12)] + [DEMO_EVENTS, -DEMO_EVENTS, 1]
    for step in moves:
        version = max(2, min(DEMO_EVENTS, version + step))
        timeline.cursor.setValue(timeline.model.x_of(version))
        qtbot.waitUntil(lambda: window.cursor == version)
        QApplication.processEvents()  # what the user sees: every pending paint done
        assert thaw(state_view.shown_state()) == expected_state(demo_store, version)
        assert state_view.tree_value() == expected_state(demo_store, version)
        assert state_view.marks() == expected_marks(demo_store, version - 1, version)
        assert f"version {version} " in state_view.title.text()
        assert window.event_list.currentIndex().row() == version - 1
        assert window.event_list.event_model.version_at_row(window.event_list.currentIndex().row()) == version
        assert f'"version": {version},' in window.detail.toPlainText()
        assert window.panes.position_label.text().startswith(f"version {version:,} of")
        # the heading does not wrap the tree up and down from one version to the next
        top = state_view.tree.geometry().top()
        tree_top = top if tree_top is None else tree_top
        assert top == tree_top


def test_the_selected_row_is_the_one_painted_highlighted(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.resize(1400, 900)
    window.set_cursor(150)
    QApplication.processEvents()
    view = window.event_list
    image = view.viewport().grab().toImage()
    group = QPalette.ColorGroup.Active if view.isActiveWindow() else QPalette.ColorGroup.Inactive  # as it paints
    highlight = view.palette().color(group, QPalette.ColorRole.Highlight)
    row_rect = view.visualRect(view.currentIndex())
    assert view.currentIndex().row() == 149
    # a pixel in the current row's empty right part of the version cell is the highlight colour,
    # one row above it is not
    x, y = row_rect.left() + 5, row_rect.center().y()  # inside the focus frame the list has
    def close(a, b):  # Fusion's focus frame over the current row tints it by a shade
        return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) <= 4

    assert close(image.pixelColor(x, y), highlight)
    assert not close(image.pixelColor(x, y + row_rect.height()), highlight)


def test_event_detail_behind_another_tab_shows_the_cursors_event_when_brought_forward(qtbot, window, demo_store,
                                                                                    demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.tabs.setCurrentWidget(window.panes.state_split)  # the detail panel is hidden behind the state
    for version in (30, 31, 200):
        window.set_cursor(version)
    assert not window.detail.isVisible()
    window.tabs.setCurrentWidget(window.detail)
    qtbot.waitUntil(window.detail.isVisible)
    text = QPlainTextEdit.toPlainText(window.detail)  # what the widget holds, not the override
    assert '"version": 200,' in text and '"version": 31,' not in text
    window.set_cursor(45)  # visible: written at once
    assert '"version": 45,' in QPlainTextEdit.toPlainText(window.detail)
    window.tabs.setCurrentWidget(window.panes.state_split)
    window.set_cursor(46)
    assert '"version": 45,' in QPlainTextEdit.toPlainText(window.detail)  # hidden: only noted
    assert '"version": 46,' in window.detail.toPlainText()  # reading it writes the noted event


class _LayoutRequests(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_a_new_title_lays_nothing_out_again(qtbot, window, demo_store, demo_connection):
    # a layout request reaching the tab widget makes it repaint the whole pane
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, STREAM)
    window.set_cursor(10)
    for _ in range(5):
        QApplication.processEvents()
    requests = _LayoutRequests()
    window.tabs.installEventFilter(requests)
    window.state_view.installEventFilter(requests)
    titles = set()
    for version in (20, 150, 3, 239, 77, 78):
        window.set_cursor(version)
        titles.add(window.state_view.title.text())
        QApplication.processEvents()
        QApplication.processEvents()
    assert len(titles) == 6 and all(f"version {v} " in " ".join(titles) for v in (20, 150, 3, 239, 77, 78))
    assert requests.count == 0
