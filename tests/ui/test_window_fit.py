"""Issue 15, the window at its sizes and its choices: the end of a stream in view at the first-run
size and at 1024×640, whole column headings, the theme and the reducer remembered, and a
connection switch or a later success leaving no old position, go-to text or banner behind.

All on the embedded store: nothing here depends on the backend.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QApplication

from model.event import NewEvent
from model.freeze import thaw
from model.reconstruct import reconstruct
from model.reducer import default_reducer, load_reducer
from tests.ui.conftest import LOAD_TIMEOUT_MS, connect, fill_demo, open_stream
from ui.gui.settings import Settings
from ui.gui.theme import THEME_KEY
from ui.session.connection import Connection
from ui.session.reducers import SHIPPED_DIR

STREAM = "account-1"


@pytest.fixture
def demo_file(embedded_store) -> Connection:
    """The demo history in an embedded file (written with the generic reducer, nothing remembered)."""
    fill_demo(embedded_store)
    return Connection(uri=str(embedded_store.path))


@pytest.fixture
def other_file(tmp_path) -> Connection:
    """A second embedded store with one small stream of its own."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "other.sqlite")
    try:
        store.append("order-1", [NewEvent("OrderPlaced", {"total": 5}), NewEvent("OrderPaid", {"paid": 5})], 0,
                     stream_type="order")
    finally:
        store.close()
    return Connection(uri=str(tmp_path / "other.sqlite"))


def focused_widget(qtbot, window):
    """The widget the keyboard reaches now, as a user's key press would."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    focused = QApplication.focusWidget()
    assert focused.window() is window
    return focused


def settle_timeline(qtbot, timeline) -> None:
    """Wait for the timeline's pending redraw (it applies the range the cursor scrolled to)."""
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=3_000)


# -- 1. the end of a stream in view, whole headings, at the first-run size and at 1024×640 --------------------
@pytest.mark.parametrize("size", [None, (1024, 640)], ids=["first-run", "1024x640"])
def test_the_last_event_and_the_cursor_at_the_end_are_in_view_and_headings_are_whole(qtbot, window, embedded_store,
                                                                                      demo_file, size):
    if size is None:
        assert (window.width(), window.height()) == (window.panes.first_run_size().width(),
                                                     window.panes.first_run_size().height())
    else:
        # the offscreen screen is 800×800, but a top-level resize is not clamped to it: wait for the size asked
        window.resize(*size)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
    connect(qtbot, window, demo_file)
    open_stream(qtbot, window, STREAM)
    info = embedded_store.stream(STREAM)
    first, last = info.first_version, info.last_version
    timeline = window.timeline
    settle_timeline(qtbot, timeline)
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 <= timeline.model.x_of(last) <= x1, (x0, x1, last)

    keys = focused_widget(qtbot, window)
    qtbot.keyClick(keys, Qt.Key.Key_Home)
    assert window.cursor == first
    timeline.detail.setXRange(first, first + (last - first) / 10, padding=0)  # zoomed in on the start, as a wheel does
    qtbot.keyClick(keys, Qt.Key.Key_End)
    assert window.cursor == last
    settle_timeline(qtbot, timeline)
    x0, x1 = timeline.detail.viewRange()[0]
    assert timeline.cursor.isVisible() and x0 <= timeline.cursor.value() <= x1, (x0, x1, timeline.cursor.value())
    assert timeline.cursor.value() == timeline.model.x_of(last)
    # the position reads whole, never "version 300…"
    position = window.panes.position_label
    qtbot.waitUntil(lambda: position.label.text() == position.text() == f"version {last:,} of {last:,}", timeout=5_000)

    header = window.streams.view.horizontalHeader()
    bold = QFont(header.font())
    bold.setBold(True)
    heading = QFontMetrics(bold)
    model = window.streams.model
    for section in range(header.count()):
        text = model.headerData(section, Qt.Orientation.Horizontal)
        assert header.sectionSize(section) >= heading.horizontalAdvance(text), text


# -- 2. the theme -------------------------------------------------------------------------------------------------
@pytest.fixture
def restore_theme(qapp):
    """Put the application's style and palette back: a theme is application-wide."""
    style, palette = qapp.style().name(), QPalette(qapp.palette())
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def theme_actions(window) -> dict:
    menus = [a.menu() for a in window.view_menu.actions() if a.menu() is not None]
    themes = [m for m in menus if m.title().replace("&", "") == "Theme"]
    assert len(themes) == 1
    return {action.data(): action for action in themes[0].actions()}


def test_dark_theme_darkens_the_palette_and_is_remembered(qtbot, window, settings, restore_theme, monkeypatch):
    from ui.gui.main_window import MainWindow

    monkeypatch.delenv("EVENTLENS_THEME", raising=False)
    actions = theme_actions(window)
    assert set(actions) == {"system", "light", "dark"}
    window_colour = lambda: QApplication.palette().color(QPalette.ColorRole.Window).lightness()  # noqa: E731
    actions["light"].trigger()
    light = window_colour()
    actions["dark"].trigger()
    assert window_colour() < light
    # the open window turns dark too (widgets take the new palette from the event loop)
    qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Window).lightness() == window_colour(),
                    timeout=5_000)
    assert actions["dark"].isChecked() and not actions["light"].isChecked()

    path = settings.qsettings.fileName()
    assert Settings(path).get(THEME_KEY) == "dark"
    again = MainWindow(Settings(path))
    qtbot.addWidget(again)
    try:
        assert [choice for choice, action in theme_actions(again).items() if action.isChecked()] == ["dark"]
    finally:
        again.close()


# -- 3. the reducer menu --------------------------------------------------------------------------------------------
def reducer_actions(qtbot, window) -> dict:
    """Open the Reducer menu as a click on it does (it fills itself on aboutToShow); its actions by text."""
    menu = window.reducer_menu
    menu.popup(window.mapToGlobal(QPoint(0, 0)))
    qtbot.waitUntil(menu.isVisible, timeout=5_000)
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def choose_reducer(qtbot, window, name: str) -> None:
    """Choose a reducer in the menu and wait until the open stream has loaded again with it."""
    with qtbot.waitSignal(window.streamLoaded, timeout=LOAD_TIMEOUT_MS):
        reducer_actions(qtbot, window)[name].trigger()
    window.reducer_menu.hide()


def shown_state(store, stream_id: str, reducer, version: int) -> dict:
    return thaw(reconstruct(store, stream_id, reducer, version=version, use_snapshots=False).state)


def test_reducer_menu_offers_the_shipped_reducers_and_remembers_the_choice_per_store(qtbot, window, tmp_path,
                                                                                     other_file):
    from store.embedded import EmbeddedStore

    first_run = Connection(uri=str(tmp_path / "first-run.sqlite"))
    with qtbot.waitSignal(window.streams.model.pageLoaded, timeout=60_000):
        with qtbot.waitSignal(window.connected, timeout=60_000):
            window.connect_to(first_run, seed_demo_history=True)
    label = window.panes.reducer_label
    demo = load_reducer(SHIPPED_DIR / "demo.py")
    assert window.session.reducer.path == SHIPPED_DIR / "demo.py"
    assert label.isVisible() and label.text() == f"Reducer: {demo.name}"

    actions = reducer_actions(qtbot, window)
    shipped = sorted(p.stem for p in SHIPPED_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert list(actions)[:len(shipped) + 1] == ["generic"] + shipped
    assert [text for text, action in actions.items() if action.isChecked()] == [demo.name]
    window.reducer_menu.hide()

    model = window.streams.model
    account = next(model.stream_at(r).stream_id for r in range(model.rowCount())
                   if model.stream_at(r).stream_type == "account")
    open_stream(qtbot, window, account)
    reader = EmbeddedStore(first_run.embedded_path(), read_only=True)
    try:
        last = reader.stream(account).last_version
        by_demo = shown_state(reader, account, demo, last)
        assert {"owner", "balance"} <= set(by_demo)
        assert thaw(window.state_view.shown_state()) == by_demo

        choose_reducer(qtbot, window, "generic")
        generic = shown_state(reader, account, default_reducer(), last)
        assert generic != by_demo
        assert thaw(window.state_view.shown_state()) == generic
        assert label.text() == "Reducer: generic"

        choose_reducer(qtbot, window, "accounts")
        accounts = load_reducer(SHIPPED_DIR / "accounts.py")
        assert thaw(window.state_view.shown_state()) == shown_state(reader, account, accounts, last)
        assert label.text() == f"Reducer: {accounts.name}"
    finally:
        reader.close()

    connect(qtbot, window, other_file)  # another store: its own reducer (nothing chosen there: generic)
    assert label.text() == "Reducer: generic" and window.session.reducer.path is None
    connect(qtbot, window, first_run)  # back: the choice made for this store
    assert window.session.reducer.path == SHIPPED_DIR / "accounts.py"
    assert label.text() == f"Reducer: {accounts.name}"
    assert [text for text, action in reducer_actions(qtbot, window).items() if action.isChecked()] == [accounts.name]
    window.reducer_menu.hide()


# -- 4. a connection switch starts afresh ----------------------------------------------------------------------------
def test_a_connection_switch_clears_the_position_the_go_to_text_and_the_banner(qtbot, window, demo_file, other_file):
    connect(qtbot, window, demo_file)
    open_stream(qtbot, window, STREAM)
    qtbot.keyClick(focused_widget(qtbot, window), Qt.Key.Key_Home)
    assert window.cursor == 1
    position = window.panes.position_label
    assert position.text().startswith("version 1 of")
    typed = "not a version"
    qtbot.keyClicks(window.goto_edit, typed)
    qtbot.keyClick(window.goto_edit, Qt.Key.Key_Return)
    assert window.banner.isVisible() and window.banner.severity == "error" and typed in window.banner.text()
    assert window.goto_edit.text() == typed

    connect(qtbot, window, other_file)
    assert window.stream is None and window.cursor == 0
    assert window.goto_edit.text() == ""
    assert position.text() == ""
    assert not window.banner.isVisible() and window.banner.text() == ""


# -- 5. a banner neither stays after a success nor moves the panes -----------------------------------------------------
def pane_places(window) -> dict:
    """Where the main splitter and the panes in it sit in the window, and how tall they are."""
    panes = window.panes
    widgets = {"main": panes.main_split, "streams": panes.streams, "timeline": panes.timeline,
               "events": panes.event_list, "tabs": panes.tabs}
    return {name: (w.mapTo(window, QPoint(0, 0)).y(), w.height()) for name, w in widgets.items()}


def test_a_banner_goes_with_a_later_success_and_never_moves_the_panes(qtbot, window, demo_file, closed_port_uri):
    connect(qtbot, window, demo_file)
    QApplication.processEvents()  # the layout requests the connection posted
    without = pane_places(window)
    with qtbot.waitSignal(window.connectFailed, timeout=20_000):
        window.connect_to(Connection(uri=closed_port_uri, db="nothing", timeout_s=1.0))
    banner = window.banner
    assert banner.isVisible() and banner.severity == "error" and banner.text().startswith("Cannot connect to")
    QApplication.processEvents()
    assert pane_places(window) == without
    # the banner lies over the top of the panes, inside the window
    assert banner.geometry().top() < window.panes.main_split.geometry().bottom()

    connect(qtbot, window, demo_file)
    assert not banner.isVisible() and banner.text() == ""
    QApplication.processEvents()
    assert pane_places(window) == without
