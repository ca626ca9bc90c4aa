"""The main window's menu bar: File, Reducer, Stream, Across streams, View."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence

from ui.gui.theme import add_theme_menu
from ui.session import reducers


def build_menus(window) -> None:
    """Fill ``window``'s menu bar; each action calls a method of the window or of its session."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction("&Connect…", QKeySequence.StandardKey.Open, window.show_connect_dialog)
    file_menu.addAction("Open &embedded store file…", window._choose_embedded_file)
    file_menu.addSeparator()
    for text, what, filters in (("Export events as &NDJSON…", "events", "NDJSON (*.ndjson)"),
                                ("Export events as &CSV…", "events", "CSV (*.csv)"),
                                ("Export &state at cursor as JSON…", "state", "JSON (*.json)"),
                                ("Export &timeline image…", "timeline", "PNG image (*.png)")):
        file_menu.addAction(text, lambda what=what, filters=filters: window._export_dialog(what, filters))
    file_menu.addSeparator()
    file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, window.close)
    window.reducer_menu = bar.addMenu("&Reducer")
    window.reducer_menu.aboutToShow.connect(lambda: _fill_reducer_menu(window))
    stream_menu = bar.addMenu("&Stream")
    stream_menu.addAction("&Reload", QKeySequence.StandardKey.Refresh, window.session.reload)
    stream_menu.addAction("&Go to…", QKeySequence("Ctrl+G"), lambda: window.goto_edit.setFocus())
    stream_menu.addAction("Create &snapshot at cursor…", window.create_snapshot)
    panes = window.panes
    questions = bar.addMenu("&Across streams")
    questions.addAction("&Search events…", QKeySequence.StandardKey.Find, lambda: window._ask(panes.search_view))
    questions.addAction("States &as of a moment…", QKeySequence("Ctrl+Shift+A"), lambda: window._ask(panes.as_of_view))
    questions.addAction("&Trace the event at the cursor", QKeySequence("Ctrl+T"), window.trace_cursor)
    questions.addAction("S&tatistics", lambda: panes.show_view(panes.stats_view))
    window.view_menu = bar.addMenu("&View")
    add_theme_menu(window.view_menu, window.settings)


def _fill_reducer_menu(window) -> None:
    """The shipped reducers with the one in use checked, then a file of one's own."""
    menu, choice = window.reducer_menu, window.session.reducer
    menu.clear()
    for option in reducers.shipped():
        action = menu.addAction(option.name, lambda option=option: (
            window.session.use_generic_reducer() if option.path is None else window.use_reducer_file(option.path)))
        action.setCheckable(True)
        action.setChecked(choice.path == option.path if option.path else choice.path is None)
    menu.addSeparator()
    menu.addAction("Load reducer &file…", window._choose_reducer)
