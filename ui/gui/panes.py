"""The window's panes, and their binding to the session: the stream browser, the timeline, the event
list, the state and event tabs, the snapshots and the field history, with the bar above them.

Each widget shows a piece of the session's state and hands the user's actions to the session;
none of them reads a store or folds a stream.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QFrame, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QSplitter, QStyle,
                               QTabWidget, QToolButton, QVBoxLayout, QWidget)

from ui.gui.as_of_view import AsOfView
from ui.gui.event_detail import EventDetail
from ui.gui.event_list import EventList
from ui.gui.field_history import FieldHistoryPanel
from ui.gui.search_view import SearchView
from ui.gui.snapshot_panel import SnapshotPanel
from ui.gui.stats_view import StatsView
from ui.gui.state_view import StateView
from ui.gui.steady_label import SteadyLabel
from ui.gui.stream_list import StreamBrowser
from ui.gui.theme import banner_colors
from ui.gui.timeline import TimelineWidget
from ui.gui.trace_view import TraceView
from ui.session.session import Session
from ui.session.stream import OpenStream
from ui.session.text import first_line, number
from ui.session.timeline import TimelineModel


class Banner(QFrame):
    """A message over the top of the panes: it never pushes them down, and a later success clears it."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setAutoRaise(True)
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.severity = ""
        self.hide()

    def show_message(self, text: str, severity: str = "error") -> None:
        self.severity = severity
        background, foreground = banner_colors(self.palette(), "error" if severity == "error" else "warning")
        palette = self.palette()
        palette.setColor(self.backgroundRole(), background)
        palette.setColor(self.foregroundRole(), foreground)
        self.setPalette(palette)
        self.label.setText(text)
        self.place()
        self.show()
        self.raise_()

    def clear(self) -> None:
        self.severity = ""
        self.label.setText("")
        self.hide()

    def place(self) -> None:
        """Lie over the top of the parent, as wide as it, as high as the text needs."""
        parent = self.parentWidget()
        width = parent.width() - 16
        self.setGeometry(8, 4, width, self.heightForWidth(width) if self.hasHeightForWidth() else self.sizeHint().height())

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class Panes(QWidget):
    """The central widget: every pane, bound to the session and to its open stream."""

    def __init__(self, window, session: Session):
        super().__init__(window)
        self.window_, self.session = window, session
        self.stream: OpenStream | None = None
        self.streams = StreamBrowser(session.streams)
        self.timeline = TimelineWidget()
        self.event_list = EventList()
        self.state_view = StateView()
        self.detail = EventDetail()
        self.snapshot_panel = SnapshotPanel()
        self.field_history = FieldHistoryPanel()
        self.goto_edit = QLineEdit(placeholderText="Go to version or date (2024-01-05T10:00)")
        self.position_label = SteadyLabel(chars=34, whole=True)  # "version 1,000,000 of 1,000,000 (partial)"
        self.reducer_label = QLabel("")
        self.reducer_label.setToolTip("The reducer that builds the states; change it in the Reducer menu")
        self.compare_box = QCheckBox("Compare with")
        self.compare_box.setToolTip("Highlight what changed between the version in the box and the cursor")
        self.compare_spin = QSpinBox(minimum=0, maximum=0)
        self.compare_spin.setGroupSeparatorShown(True)
        self.axis_box = QCheckBox("Versions", checked=True)
        self.axis_box.setToolTip("The timeline's x axis: versions when checked, else time (UTC)")
        self.live_box = QCheckBox("Follow live", checked=True)
        bar = QHBoxLayout()
        for widget, stretch in ((self.goto_edit, 2), (self.position_label, 1), (self.reducer_label, 1),
                                (self.compare_box, 0), (self.compare_spin, 0), (self.axis_box, 0), (self.live_box, 0)):
            bar.addWidget(widget, stretch)
        self.state_split = QSplitter(Qt.Orientation.Vertical)
        self.state_split.addWidget(self.state_view)
        self.state_split.addWidget(self.field_history)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.state_split, "State")
        self.tabs.addTab(self.detail, "Event")
        self.tabs.addTab(self.snapshot_panel, "Snapshots")
        self.lower_split = QSplitter(Qt.Orientation.Horizontal)
        self.lower_split.addWidget(self.event_list)
        self.lower_split.addWidget(self.tabs)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.timeline, 1)
        top_layout.addLayout(bar)
        self.right_split = QSplitter(Qt.Orientation.Vertical)
        self.right_split.addWidget(top)
        self.right_split.addWidget(self.lower_split)
        # the questions across streams, each a tab beside the stream being explored
        self.search_view = SearchView(session)
        self.as_of_view = AsOfView(session)
        self.trace_view = TraceView(session)
        self.stats_view = StatsView(session)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        for widget, title, tip in ((self.right_split, "Stream", "The open stream: timeline, events, state"),
                                   (self.search_view, "Search", "Events across every stream (Ctrl+F)"),
                                   (self.as_of_view, "As of", "Every stream's state at a moment (Ctrl+Shift+A)"),
                                   (self.trace_view, "Trace", "The events one business transaction caused (Ctrl+T)"),
                                   (self.stats_view, "Statistics", "What the store holds, per stream type")):
            self.views.setTabToolTip(self.views.addTab(widget, title), tip)
        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.streams)
        self.main_split.addWidget(self.views)
        for splitter in self.splitters().values():
            splitter.setChildrenCollapsible(False)
        # minimums that fit 800×500 logical pixels (a 1600×1000 screen at scale factor 2)
        fm = self.fontMetrics()
        self.streams.setMinimumWidth(fm.averageCharWidth() * 18)
        self.event_list.setMinimumWidth(fm.averageCharWidth() * 28)
        self.tabs.setMinimumWidth(fm.averageCharWidth() * 30)
        self.goto_edit.setMinimumWidth(fm.averageCharWidth() * 16)
        self.timeline.setMinimumHeight(fm.height() * 9)
        self.lower_split.setMinimumHeight(fm.height() * 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.main_split, 1)
        self.banner = Banner(self)
        self._wire()
        self.show_reducer()

    def _wire(self) -> None:
        session, window = self.session, self.window_
        self.streams.streamActivated.connect(session.open_stream)
        for view in (self.search_view, self.as_of_view, self.trace_view):
            view.openRequested.connect(self.open_at)
        self.views.currentChanged.connect(self._view_shown)
        self.streams.model.failed.connect(lambda error: session.notify(f"Listing streams failed: {first_line(error)}"))
        self.event_list.versionSelected.connect(lambda v: self._move(v))
        self.timeline.cursorMoved.connect(self._move)
        self.timeline.cursorFinished.connect(window.set_cursor)  # the drag's end shows at once
        self.state_view.pathSelected.connect(self._path_selected)
        self.field_history.jumpTo.connect(self._move)
        self.snapshot_panel.createRequested.connect(window.create_snapshot)
        self.snapshot_panel.verifyRequested.connect(window.verify_snapshot)
        self.snapshot_panel.jumpTo.connect(self._move)
        self.compare_box.toggled.connect(lambda on: self._compare())
        self.compare_spin.valueChanged.connect(lambda _: self.compare_box.isChecked() and self._compare())
        self.axis_box.toggled.connect(lambda on: self.timeline.set_axis("version" if on else "time"))
        self.goto_edit.returnPressed.connect(lambda: window.goto(self.goto_edit.text()) and self.event_list.setFocus())
        # the arrow, Home/End and page keys scrub wherever the focus is, except in text fields
        for widget in (self.event_list, self.timeline, self.state_view.tree, self.detail, self.tabs, self.streams.view):
            widget.installEventFilter(window)

    def open_at(self, stream_id: str, version: int) -> None:
        """Open a stream at a version (a search, as-of or trace row) and show it."""
        self.views.setCurrentWidget(self.right_split)
        self.session.open_at(stream_id, version)

    def show_view(self, view: QWidget) -> None:
        self.views.setCurrentWidget(view)

    def _view_shown(self, index: int) -> None:
        if self.views.widget(index) is self.stats_view and self.stats_view.statistics is None and self.session.store:
            self.stats_view.load()  # the kept figures, or computed once: Refresh computes them again

    def clear_questions(self, stream_types: list[str]) -> None:
        """A new connection: the questions' answers were the old store's."""
        for view in (self.search_view, self.as_of_view):
            view.cancel()
            view.model.set_results(None)
            view.results = None
            view.note.setText("")
            view.set_stream_types(stream_types)
        self.as_of_view.foot.setText("")
        self.trace_view.tree.clear()
        self.trace_view.trace = None
        self.stats_view.clear()
        if self.views.currentWidget() is self.stats_view:
            self.stats_view.load()

    def _move(self, version: int) -> None:
        if self.stream is not None:
            self.stream.cursor.move(version)

    def _compare(self) -> None:
        if self.stream is not None:
            self.stream.cursor.set_compare(self.compare_spin.value() if self.compare_box.isChecked() else None)

    # -- the open stream -----------------------------------------------------------------------------
    def clear_stream(self) -> None:
        """No stream open (a new connection): no position, no go-to text, nothing shown."""
        self.stream = None
        self.event_list.event_model.clear()
        self.timeline.set_model(TimelineModel())
        self.state_view.clear()
        self.detail.show_event(None)
        self.snapshot_panel.set_snapshots([])
        self.field_history.clear()
        self.goto_edit.clear()
        self.compare_box.setChecked(False)
        self.compare_spin.setMaximum(0)
        self.position_label.setText("")
        self.position_label.forget_width()

    def bind_stream(self, stream: OpenStream) -> None:
        """Show ``stream`` as it loads; the keys move its cursor from the first batch on."""
        self.clear_stream()
        self.stream = stream
        self.timeline.set_model(stream.timeline)
        self.event_list.event_model.set_stream(stream.loaded)
        self.state_view.clear(f"Loading {stream.stream_id}…")
        stream.extended.connect(lambda first, last: self._extended(stream, first, last))
        stream.filled.connect(lambda payloads, folded: self._filled(stream))
        stream.finished.connect(lambda: self._loaded(stream))
        stream.failed.connect(lambda text: self.show_position())
        stream.snapshots_changed.connect(lambda: self._snapshots(stream))
        if not self.goto_edit.hasFocus():
            self.event_list.setFocus()

    def _extended(self, stream: OpenStream, first: int, last: int) -> None:
        if stream is not self.stream:
            return
        self.event_list.event_model.grow(last)
        self.compare_spin.setMaximum(last)
        if not stream.timeline.has_times:  # a layout that keeps no event times: versions only
            self.axis_box.setChecked(True)
        self.axis_box.setEnabled(stream.timeline.has_times)
        self.timeline.data_changed()
        self.show_position()

    def _filled(self, stream: OpenStream) -> None:
        if stream is not self.stream:
            return
        self.event_list.event_model.filled()
        key = self.state_view.shown_key()
        # the cursor's event or state was still on its way: show it now that it is in
        version = stream.cursor.version
        if key is not None and key[0] == version and (
                (key[2] is None and version <= stream.folded_version) or (not key[3] and version <= stream.payload_version)):
            self.show_cursor()

    def _loaded(self, stream: OpenStream) -> None:
        if stream is not self.stream:
            return
        self.event_list.event_model.set_problems(stream.problem_texts)
        self.timeline.set_problems(stream.problem_texts)
        if stream.loaded_version == 0:
            self.state_view.clear(f"{stream.stream_id}: no events")
        self.show_position()

    def _snapshots(self, stream: OpenStream) -> None:
        if stream is self.stream:
            self.snapshot_panel.set_snapshots(stream.snapshots)
            self.timeline.set_snapshots({s.version for s in stream.snapshots})

    def snapshot_created(self, created) -> None:
        self.snapshot_panel.select_version(created.snapshot.version)
        where = self.session.snapshot_target().where if self.session.store else ""
        if created.saved:
            self.snapshot_panel.show_message(f"Snapshot written at version {number(created.snapshot.version)} to {where}")
        else:
            self.snapshot_panel.show_message(f"A snapshot at version {number(created.snapshot.version)} by this "
                                             "reducer already exists; nothing written")

    def show_cursor(self) -> None:
        """Show the cursor's event and state in every pane."""
        stream = self.stream
        if stream is None:
            return
        try:
            view = stream.cursor.view()
        except Exception as error:  # a reducer that fails on a later fold: say so, keep the panes
            self.session.notify(first_line(error))
            return
        if view is None:
            return
        self.timeline.show_cursor(view.version)
        self.event_list.select_version(view.version)
        key = (view.version, view.compared_with, view.state, view.event is not None)
        if key != self.state_view.shown_key():
            self.state_view.show_state(view.state, view.change, view.title, key=key)
        self.detail.show_event(view.event, view.problems)
        self.field_history.select_version(view.version)
        self.show_position()

    def show_position(self) -> None:
        stream = self.stream
        if stream is None:
            self.position_label.setText("")
            return
        partial = "" if stream.complete or stream.loading else " (partial)"
        self.position_label.setText(f"version {number(stream.cursor.version)} of {number(stream.loaded_version)}{partial}")

    def show_reducer(self) -> None:
        self.reducer_label.setText(f"Reducer: {self.session.reducer.name}")
        self.reducer_label.setToolTip(f"States are built by {self.session.reducer.describe()}; "
                                      "change it in the Reducer menu")

    def _path_selected(self, path: tuple) -> None:
        """Find every loaded event that changed ``path``, in the worker (it walks the whole stream)."""
        self.field_history.show_working(path)
        self.session.field_history(path, on_result=self._field_history)

    def _field_history(self, value) -> None:
        path, changes = value
        self.field_history.set_changes(path, changes)
        if self.stream is not None:
            self.field_history.select_version(self.stream.cursor.version)
        self.window_.fieldHistoryShown.emit(path)

    # -- geometry ---------------------------------------------------------------------------------------
    def splitters(self) -> dict[str, QSplitter]:
        return {"main": self.main_split, "right": self.right_split, "lower": self.lower_split, "state": self.state_split}

    def first_run_size(self) -> QSize:
        """A size that shows every column, within the screen the window opens on."""
        fm = self.fontMetrics()
        wanted = QSize(fm.averageCharWidth() * 240, fm.height() * 60)
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            room = screen.availableGeometry().size()
            wanted = wanted.boundedTo(QSize(int(room.width() * 0.92), int(room.height() * 0.92)))
        return wanted

    def restore_splitters(self, settings) -> None:
        size = self.window_.size()
        width, height = size.width(), size.height()
        # first run: proportions that show every column; later runs restore what the user chose
        defaults = {"main": [width * 24 // 100, width * 76 // 100], "right": [height * 46 // 100, height * 54 // 100],
                    "lower": [width * 34 // 100, width * 42 // 100], "state": [height * 4 // 10, height * 2 // 10]}  # the state tree over its field history
        for name, splitter in self.splitters().items():
            state = settings.load_bytes(f"splitters/{name}")
            if state is None or not splitter.restoreState(state):
                splitter.setSizes(defaults[name])

    def save_splitters(self, settings) -> None:
        for name, splitter in self.splitters().items():
            settings.save_bytes(f"splitters/{name}", splitter.saveState())

    def stop_timers(self) -> None:
        self.streams.stop_timers()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.banner.isVisible():
            self.banner.place()

