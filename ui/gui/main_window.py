"""The main window: stream browser, timeline, event list, state, detail, snapshots and field history.

Every store and model call that can take time runs in the one worker thread (ui.gui.workers);
this module only wires results into widgets. Loading, following and checking a stream all
feed one ``History`` that the worker extends and the UI thread reads.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.demo import demo_streams
from model.diff import diff
from model.field_history import field_history
from model.errors import CancelledError, EventLensError, ReadOnlyError, StreamNotFound
from model.event import Event, StreamInfo
from model.integrity import check_stream
from model.reducer import default_reducer, load_reducer
from model.replay import History
from model.snapshot import take_snapshot, verify_snapshot
from ui.gui.event_detail import EventDetail
from ui.gui.event_list import EventList
from ui.gui.field_history import FieldHistoryPanel
from ui.gui.layout_proposal import confirm_layout
from ui.gui.settings import Connection, Settings
from ui.gui.snapshot_panel import SnapshotPanel
from ui.gui.state_view import StateView
from ui.gui.stream_list import StreamBrowser
from ui.gui.theme import banner_colors
from ui.gui.timeline import CodedTypes, TimelineWidget, code_types, concat_types
from ui.gui.workers import Job, Worker, user_message

log = logging.getLogger(__name__)

BATCH = 1000  # events per read batch: one progress step, and one check for cancel or a hold (~8 ms of work)
PAGE_STEP = 100  # PageUp / PageDown
HOLD_MS = 50  # the longest the worker stands aside for one batch or redraw (see _hold_worker)
FLUSH_MS = 250  # while loading, the widgets take new events at most this often
CREATED_BY = "eventlens gui"
DEMO_STREAMS, DEMO_EVENTS = 12, 300


@dataclass(frozen=True)
class _Proposed:
    """The worker's answer when the store needs the user to confirm a detected layout first."""

    proposal: Any


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask yes/no; tests replace this function to answer for the user."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def seed_demo(store, job: Job, streams: int = DEMO_STREAMS, events_per_stream: int = DEMO_EVENTS) -> int:
    """Write the demo history (and its snapshots) into an empty store; return the events written."""
    reducer = default_reducer()
    total, written = streams * events_per_stream, 0
    for demo in demo_streams(streams, events_per_stream, seed=0):
        job.check()
        events = list(demo.events)
        store.append(demo.stream_id, events, 0, stream_type=demo.stream_type)
        written += len(events)
        for version in demo.snapshot_at:
            store.save_snapshot(take_snapshot(store, demo.stream_id, reducer, version=version, created_by=CREATED_BY))
        job.report(written, total, "writing the demo history")
    return written


def parse_moment(text: str) -> datetime:
    """An ISO date or time; without a zone it is UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _arrays(events: list[Event]) -> tuple[np.ndarray, np.ndarray, CodedTypes]:
    """The timeline's columns of these events: versions, epoch seconds, coded types."""
    versions = np.fromiter((e.version for e in events), dtype=np.int64, count=len(events))
    times = np.fromiter((e.time.timestamp() for e in events), dtype=np.float64, count=len(events))
    return versions, times, code_types([e.type for e in events])


class Banner(QFrame):
    """A message strip above the views: errors stay until closed, never a modal crash box."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setAutoFillBackground(True)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        background, foreground = banner_colors(self.palette(), "error" if kind == "error" else "added")
        palette = self.palette()
        palette.setColor(self.backgroundRole(), background)
        palette.setColor(self.foregroundRole(), foreground)
        self.setPalette(palette)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class MainWindow(QMainWindow):
    """The explorer window; ``connect_to`` and ``open_stream`` start everything."""

    connected = Signal()
    connectFailed = Signal(str)
    streamLoaded = Signal(str)
    loadFailed = Signal(str)
    eventsAppended = Signal(int)  # live: new last version
    cursorChanged = Signal(int)
    messageShown = Signal(str)
    snapshotsChanged = Signal()
    verified = Signal(object)
    exported = Signal(str)
    fieldHistoryShown = Signal(tuple)

    def __init__(self, settings: Settings | None = None, *, live_interval_ms: int = 1000, parent=None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.worker = Worker(self)
        self.reducer = default_reducer()
        self.store = None
        self.connection: Connection | None = None
        self.history: History | None = None
        self.stream_id: str | None = None
        self.cursor = 0
        self.loaded_version = 0  # last version delivered to the widgets
        self.load_complete = False
        self._follow_end = True  # the cursor sticks to the newest event until the user moves it
        self._load_job: Job | None = None
        self._live_job: Job | None = None
        self._long_jobs: list[Job] = []
        self._last_live_error = ""
        self._connecting: Connection | None = None
        self._closing = False
        self.setWindowTitle("EventLens")
        self._build()
        self._build_menus()
        self._incoming: list[tuple[list[Event], tuple]] = []  # loaded batches with their timeline columns
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush_in_turns)
        # while loading, batches reach the timeline in one event-loop turn and the event list and
        # cursor in the next: each turn stays short enough for input to get through between them
        self._staged: list[list[Event]] = []
        self._list_timer = QTimer(self, singleShot=True, interval=0)
        self._list_timer.timeout.connect(self._flush_list)
        self._release_timer = QTimer(self, singleShot=True, interval=HOLD_MS)
        self._release_timer.timeout.connect(self._release_worker)
        self.timeline.redrawing.connect(self._hold_worker)
        # a mouse drag can move the timeline's cursor several times in one event-loop turn:
        # only the last position is rendered, once the turn's events are handled
        self._dragged_to: int | None = None
        self._shown_point: tuple | None = None  # (history, version, compare base) in the state view
        self._shown_state = None
        self._drag_timer = QTimer(self, singleShot=True, interval=0)
        self._drag_timer.timeout.connect(self._apply_drag)
        self.live_timer = QTimer(self, interval=live_interval_ms)
        self.live_timer.timeout.connect(self._poll_live)
        self._restore_layout()

    # -- building ----------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = Banner()
        self.streams = StreamBrowser(self.worker)
        self.timeline = TimelineWidget()
        self.event_list = EventList()
        self.state_view = StateView()
        self.detail = EventDetail()
        self.snapshot_panel = SnapshotPanel()
        self.field_history = FieldHistoryPanel()

        self.goto_edit = QLineEdit(placeholderText="Go to version or date (2024-01-05T10:00)")
        self.goto_edit.returnPressed.connect(self._goto_entered)
        self.position_label = QLabel("")
        self.compare_box = QCheckBox("Compare with version")
        self.compare_spin = QSpinBox(minimum=0, maximum=0)
        self.compare_box.toggled.connect(lambda _: self._show_cursor())
        self.compare_spin.valueChanged.connect(lambda _: self.compare_box.isChecked() and self._show_cursor())
        self.axis_box = QCheckBox("Version axis")
        self.axis_box.setChecked(True)  # the timeline starts on versions
        self.axis_box.toggled.connect(lambda on: self.timeline.set_axis("version" if on else "time"))
        self.live_box = QCheckBox("Follow live")
        self.live_box.setChecked(True)
        bar = QHBoxLayout()
        bar.addWidget(self.goto_edit, 2)
        bar.addWidget(self.position_label, 1)
        bar.addWidget(self.compare_box)
        bar.addWidget(self.compare_spin)
        bar.addWidget(self.axis_box)
        bar.addWidget(self.live_box)

        # the field history sits under the state tree: pick a field, see who changed it
        self.state_split = QSplitter(Qt.Orientation.Vertical)
        self.state_split.addWidget(self.state_view)
        self.state_split.addWidget(self.field_history)
        self.state_split.setStretchFactor(0, 3)
        self.state_split.setStretchFactor(1, 2)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.state_split, "State")
        self.tabs.addTab(self.detail, "Event")
        self.tabs.addTab(self.snapshot_panel, "Snapshots")

        self.lower_split = QSplitter(Qt.Orientation.Horizontal)
        self.lower_split.addWidget(self.event_list)
        self.lower_split.addWidget(self.tabs)
        self.lower_split.setStretchFactor(0, 2)
        self.lower_split.setStretchFactor(1, 3)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.timeline, 1)
        top_layout.addLayout(bar)
        self.right_split = QSplitter(Qt.Orientation.Vertical)
        self.right_split.addWidget(top)
        self.right_split.addWidget(self.lower_split)
        self.right_split.setStretchFactor(0, 2)
        self.right_split.setStretchFactor(1, 3)
        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.streams)
        self.main_split.addWidget(self.right_split)
        self.main_split.setStretchFactor(0, 1)
        self.main_split.setStretchFactor(1, 3)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        self.connection_label = QLabel("Not connected")
        self.size_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(self.fontMetrics().horizontalAdvance("x" * 30))
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_work)
        status = self.statusBar()
        status.addWidget(self.connection_label, 1)
        status.addPermanentWidget(self.size_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()

        self.streams.streamActivated.connect(self.open_stream)
        self.streams.model.failed.connect(lambda exc: self.show_message(f"Listing streams failed: {user_message(exc)}"))
        self.event_list.versionSelected.connect(lambda v: self.set_cursor(v, source="list"))
        self.timeline.cursorMoved.connect(self._timeline_moved)
        self.timeline.cursorFinished.connect(self._timeline_finished)
        self.state_view.pathSelected.connect(self._path_selected)
        self.field_history.jumpTo.connect(lambda v: self.set_cursor(v, source="field"))
        self.snapshot_panel.createRequested.connect(self.create_snapshot)
        self.snapshot_panel.verifyRequested.connect(self.verify_snapshot)
        self.snapshot_panel.jumpTo.connect(self.set_cursor)
        # the arrow, Home/End and page keys scrub wherever the focus is, except in text fields
        for widget in (self.event_list, self.timeline, self.state_view.tree, self.detail, self.tabs):
            widget.installEventFilter(self)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Connect…", self.show_connect_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &embedded store file…", self._choose_embedded_file)
        self._action(file_menu, "Load &reducer file…", self._choose_reducer)
        file_menu.addSeparator()
        self._action(file_menu, "Export events as &NDJSON…", lambda: self._export_dialog("events", "NDJSON (*.ndjson)"))
        self._action(file_menu, "Export events as &CSV…", lambda: self._export_dialog("events", "CSV (*.csv)"))
        self._action(file_menu, "Export &state at cursor as JSON…", lambda: self._export_dialog("state", "JSON (*.json)"))
        self._action(file_menu, "Export &timeline image…", lambda: self._export_dialog("timeline", "PNG image (*.png)"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        stream_menu = self.menuBar().addMenu("&Stream")
        self._action(stream_menu, "&Reload", lambda: self.stream_id and self.open_stream(self.stream_id), QKeySequence.StandardKey.Refresh)
        self._action(stream_menu, "&Go to…", lambda: self.goto_edit.setFocus(), QKeySequence("Ctrl+G"))
        self._action(stream_menu, "Create &snapshot at cursor…", self.create_snapshot)

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # -- messages and progress ------------------------------------------------------------
    def show_message(self, text: str, kind: str = "error") -> None:
        """Show one line in the banner (errors) and the status bar."""
        self.banner.show_message(text, kind)
        self.statusBar().showMessage(text, 10_000)
        self.messageShown.emit(text)

    def _run(self, name: str, fn, *, result=None, error=None, partial=None, track: bool = False,
             cancellable: bool = True) -> Job:
        """Queue ``fn`` in the worker with its slots connected; ``track`` shows it in the status bar."""
        job = self.worker.create(name, fn)
        for signal, slot in ((job.result, result), (job.error, error), (job.partial, partial)):
            if slot is not None:
                signal.connect(slot)
        if track:
            self._track(job, cancellable)
        return self.worker.enqueue(job)

    def _track(self, job: Job, cancellable: bool = True) -> Job:
        """Show a job's progress in the status bar while it runs (call before enqueueing)."""
        self._long_jobs.append(job)
        job.progress.connect(self._progress)
        job.finished.connect(lambda: self._untrack(job))
        self.progress.setRange(0, 0)
        self.progress.setFormat(job.name)
        self.progress.show()
        self.cancel_button.setVisible(cancellable)
        return job

    def _untrack(self, job: Job) -> None:
        if job in self._long_jobs:
            self._long_jobs.remove(job)
        if not self._long_jobs:
            self.progress.hide()
            self.cancel_button.hide()

    def _progress(self, done: int, total: int, what: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(f"{what}: %p%")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(what)

    def cancel_work(self) -> None:
        """Cancel the long jobs (load, seed, verify, export) the status bar shows."""
        for job in list(self._long_jobs):
            job.cancel()

    # -- connecting ---------------------------------------------------------------------
    def show_connect_dialog(self) -> None:
        """Ask where to connect, then connect."""
        from ui.gui.connect_dialog import ConnectDialog

        dialog = ConnectDialog(self.settings, self, initial=self.connection)
        if dialog.exec():
            self.connect_to(dialog.connection())

    def _choose_embedded_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open embedded store", "", "EventLens store (*.sqlite *.db);;All files (*)")
        if path:
            self.connect_to(Connection(uri=path))

    def connect_to(self, connection: Connection, *, seed_demo_history: bool = False, layout=None) -> Job:
        """Open a store in the worker; on success show its streams, on failure say why.

        A MongoDB database named without a layout that is not in EventLens's own layout gets
        detection's proposal, which the user confirms or edits (``layout`` then carries it).
        """
        from store.connect import open_store, propose_layout

        label = connection.label()
        self._connecting = connection
        self.connection_label.setText(f"Connecting to {label}…")

        def work(job: Job):
            chosen = layout or connection.layout or None
            if chosen is None and connection.is_mongo:
                proposal = propose_layout(
                    connection.full_uri(), connection.db or None, timeout_s=connection.timeout_s,
                    tls_ca_file=connection.tls_ca_file or None, tls_cert_file=connection.tls_cert_file or None,
                    tls_allow_invalid_hostnames=connection.tls_allow_invalid_hostnames or None,
                )
                if proposal is not None:
                    return _Proposed(proposal)
            store = open_store(
                connection.full_uri() or None,
                connection.db or None,
                layout=chosen,
                read_only=connection.read_only,
                timeout_s=connection.timeout_s,
                tls_ca_file=connection.tls_ca_file or None,
                tls_cert_file=connection.tls_cert_file or None,
                tls_allow_invalid_hostnames=connection.tls_allow_invalid_hostnames or None,
            )
            try:
                if seed_demo_history and not store.read_only and store.count_streams() == 0:
                    seed_demo(store, job)
                return store, store.size(), store.stream_types(), store.describe()
            except BaseException:
                store.close()
                raise

        return self._run(f"connecting to {label}", work, track=True,
                         result=lambda value: (self._layout_proposed(connection, value.proposal)
                                               if isinstance(value, _Proposed) else self._connected(connection, *value)),
                         error=lambda exc: self._connect_failed(label, exc))

    def _layout_proposed(self, connection: Connection, proposal) -> None:
        if self._closing:
            return
        chosen = confirm_layout(self, proposal, connection.db or "the database")
        if chosen is None:
            text = f"Not connected to {connection.label()}: the detected layout was not confirmed."
            self.connection_label.setText("Not connected")
            self.show_message(text, "warning")
            self.connectFailed.emit(text)
            return
        self.connect_to(connection, layout=chosen)

    def _connected(self, connection: Connection, store, size, types, description: str) -> None:
        if self._closing:  # the window closed while connecting: nobody will use this store
            store.close()
            return
        self._close_stream()
        old, self.store, self.connection = self.store, store, connection
        if old is not None:
            self.worker.submit("closing the previous store", lambda job: old.close())
        self.banner.hide()
        ro = " · read-only" if store.read_only else ""
        self.connection_label.setText(description + ro)
        self.setWindowTitle(f"EventLens — {description}")
        self._show_size(size)
        if size.streams == 0 and connection.is_mongo:
            # an empty database is most often a misspelt name: say so instead of showing nothing
            self.show_message(f"{description} holds no streams: is the database name right?", "warning")
        self.streams.set_store(store, types)
        writable = not store.read_only  # a foreign store takes EventLens snapshots in eventlens_snapshots
        self.snapshot_panel.set_writable(writable, "" if writable else "Read-only connection: snapshots cannot be created.")
        try:
            self.settings.remember(connection)
        except Exception as error:  # settings are a convenience; never fail a connection on them
            log.warning("could not remember the connection: %s", error)
        self.connected.emit()

    def _connect_failed(self, label: str, exc: BaseException) -> None:
        text = _scrub(f"Cannot connect to {label}: {user_message(exc)}", self._connecting)
        if self.store is None:
            self.connection_label.setText("Not connected")
        else:
            self.connection_label.setText(self.store.describe())
        self.show_message(text)
        self.connectFailed.emit(text)

    def _show_size(self, size) -> None:
        disk = f" · {size.bytes / 1e6:,.1f} MB" if size.bytes else ""
        self.size_label.setText(f"{size.streams:,} streams · {size.events:,} events · {size.snapshots:,} snapshots{disk}")

    def refresh_size(self) -> None:
        """Ask the store for its size again."""
        if self.store is not None:
            store = self.store
            self._run("store size", lambda job: store.size(), result=self._show_size)

    # -- opening a stream -------------------------------------------------------------------
    def _close_stream(self) -> None:
        if self._load_job is not None:
            self._load_job.cancel()
        self.live_timer.stop()
        self._load_job = self._live_job = None
        self._flush_timer.stop()
        self._list_timer.stop()
        self._drag_timer.stop()
        self._incoming, self._staged, self._dragged_to = [], [], None
        self.history, self.stream_id = None, None
        self.cursor = self.loaded_version = 0
        self.load_complete = False
        self.event_list.event_model.clear()
        self.timeline.set_events(np.empty(0, np.int64), np.empty(0, np.float64), [])
        self.state_view.clear()
        self.detail.show_event(None)
        self.snapshot_panel.set_snapshots([])
        self.field_history.clear()

    def open_stream(self, stream_id: str) -> Job | None:
        """Load a stream in batches in the worker; the widgets fill as batches arrive."""
        if self.store is None:
            self.show_message("Not connected: connect to a store first")
            return None
        self._close_stream()
        store, reducer = self.store, self.reducer
        history = History(stream_id, reducer)
        self.history, self.stream_id = history, stream_id
        self._follow_end = True
        self.state_view.clear(f"Loading {stream_id}…")

        def load(job: Job):
            info = store.stream(stream_id)
            if info is None:
                raise StreamNotFound(stream_id)
            done = 0
            for batch in store.read(stream_id, batch_size=BATCH):
                job.check()
                kept = history.extend(batch)
                done += len(batch)
                if kept:
                    part = batch[:kept] if kept < len(batch) else batch
                    # the timeline's columns are built here: a Python pass over every event
                    # is ~10 ms per 15,000 that the UI thread no longer spends
                    job.post_partial((part, _arrays(part), info))
                job.report(done, info.events, f"loading {stream_id}")
                if history.error is not None:
                    break
            job.check()
            snapshots = store.snapshots(stream_id)
            # a history stops at a broken event; then check what the store holds, not what loaded
            events = history.events() if history.error is None else chain.from_iterable(store.read(stream_id, batch_size=BATCH))
            problems = check_stream(events, reducer)
            return info, snapshots, problems

        self._load_job = self._run(
            f"loading {stream_id}", load, track=True,
            partial=lambda part: self._batch_arrived(history, *part),
            result=lambda value: self._stream_loaded(history, *value),
            error=lambda exc: self._load_failed(history, exc),
        )
        return self._load_job

    def _batch_arrived(self, history: History, batch: list[Event], arrays, info: StreamInfo) -> None:
        if history is not self.history:
            return  # a stream closed meanwhile
        first = self.loaded_version == 0 and not self._staged and not self._incoming
        if first:
            times = (info.first_time.timestamp(), info.last_time.timestamp()) if info.first_time and info.last_time else None
            self.timeline.expect(info.events, (info.first_version, info.last_version), times)
        self._incoming.append((batch, arrays))
        # the first batch shows at once; later ones are gathered so the widgets redraw a few
        # times per second instead of once per batch
        if first:
            self._flush_in_turns()
        elif not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_batches(self) -> None:
        """Hand the gathered batches to the timeline, event list and cursor now."""
        self._flush_timeline()
        self._flush_list()

    def _flush_in_turns(self) -> None:
        self._flush_timeline()
        if self._staged:
            self._list_timer.start()

    def _flush_timeline(self) -> None:
        self._flush_timer.stop()
        if not self._incoming:
            return
        self._hold_worker()
        parts, self._incoming = self._incoming, []
        if len(parts) == 1:
            events, arrays = parts[0]
        else:
            events = [e for batch, _ in parts for e in batch]
            arrays = (np.concatenate([a[0] for _, a in parts]), np.concatenate([a[1] for _, a in parts]),
                      concat_types([a[2] for _, a in parts]))
        self.timeline.append_events(*arrays)
        self._staged.append(events)

    def _flush_list(self) -> None:
        self._list_timer.stop()
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        events = staged[0] if len(staged) == 1 else [e for batch in staged for e in batch]
        self.event_list.event_model.append(events)
        self.loaded_version = events[-1].version
        self.compare_spin.setMaximum(self.loaded_version)
        if self._follow_end or self.cursor == 0:
            self.set_cursor(self.loaded_version, source="load")

    def _stream_loaded(self, history: History, info, snapshots, problems) -> None:
        if history is not self.history:
            return
        self._flush_batches()
        self._load_job = None
        self.load_complete = history.error is None
        self._set_snapshots(snapshots)
        by_version: dict[int, list[str]] = {}
        for problem in problems:
            if isinstance(problem.version, int):
                by_version.setdefault(problem.version, []).append(f"{problem.category}: {problem.message}")
        self.event_list.event_model.set_problems(by_version)
        self.timeline.set_problems(sorted(by_version))
        self.streams.model.mark_problems(history.stream_id, len(problems))
        if history.error is not None:
            self.show_message(
                f"Stream {history.stream_id!r} loaded up to version {history.last_version} of {info.last_version}: {history.error}"
            )
        elif problems:
            self.show_message(
                f"{len(problems)} integrity problem(s) in {history.stream_id!r}, first: {problems[0].message}", "warning"
            )
        if self.loaded_version == 0:
            self.state_view.clear(f"{history.stream_id}: no events")
        elif self._follow_end:
            self.set_cursor(self.loaded_version, source="load")
        self._show_position()
        if self.live_box.isChecked():
            self.live_timer.start()
        self.streamLoaded.emit(history.stream_id)

    def _load_failed(self, history: History, exc: BaseException) -> None:
        if history is not self.history:
            return
        self._flush_batches()
        self._load_job = None
        self.load_complete = False
        partial = f" (partial: versions 1–{self.loaded_version} loaded, not the whole stream)" if self.loaded_version else ""
        if isinstance(exc, CancelledError):
            self.show_message(f"Loading {history.stream_id!r} cancelled{partial}", "warning")
        else:
            self.show_message(f"Loading {history.stream_id!r} failed: {user_message(exc)}{partial}")
        self._show_position()
        self.loadFailed.emit(user_message(exc))

    def _set_snapshots(self, snapshots) -> None:
        self.snapshot_panel.set_snapshots(snapshots)
        self.timeline.set_snapshots(sorted({s.version for s in snapshots}))

    # -- live follow ----------------------------------------------------------------------
    def _poll_live(self) -> None:
        history, store = self.history, self.store
        if history is None or store is None or not self.load_complete or not self.live_box.isChecked():
            return
        if self._live_job is not None or not self.worker.idle():
            return  # one poll at a time, and never ahead of user actions
        after = history.last_version

        def watch(job: Job):
            events = store.watch(history.stream_id, after, timeout=0.2)
            kept = history.extend(events) if events and history.last_version == after else 0
            return events[:kept]

        job = self.worker.create("following", watch)
        self._live_job = job
        job.result.connect(lambda events: self._live_arrived(history, job, events))
        job.error.connect(lambda exc: self._live_failed(history, job, exc))
        self.worker.enqueue(job)

    def _live_arrived(self, history: History, job: Job, events: list[Event]) -> None:
        if job is self._live_job:
            self._live_job = None
        if history is not self.history or not events:
            return
        if self._last_live_error:
            self._last_live_error = ""
            self.banner.hide()
        at_end = self.cursor == self.loaded_version
        self.event_list.event_model.append(events)
        self.timeline.append_events(*_arrays(events))
        self.loaded_version = events[-1].version
        self.compare_spin.setMaximum(self.loaded_version)
        if at_end:
            self.set_cursor(self.loaded_version, source="live")
        self._show_position()
        self.eventsAppended.emit(self.loaded_version)

    def _live_failed(self, history: History, job: Job, exc: BaseException) -> None:
        if job is self._live_job:
            self._live_job = None
        text = f"Following {history.stream_id!r} failed (will retry): {user_message(exc)}"
        if text != self._last_live_error:  # say it once, not every second
            self._last_live_error = text
            self.show_message(text)

    # -- the cursor -------------------------------------------------------------------------
    def set_cursor(self, version: int, source: str = "") -> None:
        """Move the cursor to ``version`` (clamped to what is loaded) and show its state."""
        if self.history is None or self.loaded_version == 0:
            return
        version = max(self.history.first_version, min(int(version), self.loaded_version))
        if source not in ("load", "live"):
            self._follow_end = version == self.loaded_version
        self.cursor = version
        if source != "timeline":
            self.timeline.set_cursor(version)
        if source != "list":
            self.event_list.select_version(version)
        self._show_cursor()
        if source != "field":
            self.field_history.select_version(version)
        self.cursorChanged.emit(version)

    def _timeline_moved(self, version: int) -> None:
        if not self.timeline.cursor.moving:  # a click or a programmatic move: show it now
            self.set_cursor(version, source="timeline")
            return
        self._dragged_to = version
        if not self._drag_timer.isActive():
            self._drag_timer.start()

    def _apply_drag(self) -> None:
        version, self._dragged_to = self._dragged_to, None
        if version is not None:
            self.set_cursor(version, source="timeline")

    def _timeline_finished(self, version: int) -> None:
        self._drag_timer.stop()
        self._dragged_to = None
        self.set_cursor(version, source="timeline")

    def step(self, delta: int) -> None:
        """Move the cursor ``delta`` events (negative = back)."""
        self.set_cursor(self.cursor + delta)

    def _show_cursor(self) -> None:
        history, version = self.history, self.cursor
        if history is None or version < 1:
            return
        try:
            event = history.event(version)
            base = min(self.compare_spin.value(), self.loaded_version) if self.compare_box.isChecked() else None
            shown = (history, version, base)
            # the same point again (a drag's end repeats its last move): the tree already shows it
            if shown != self._shown_point or self.state_view.shown_state() is not self._shown_state:
                if base is not None:
                    old, new = history.state_at(base), history.state_at(version)
                    title = f"Compare version {base} → {version}: highlighted is what changed between them"
                    self.state_view.show_state(new, diff(old, new), title)
                else:
                    title = f"State after version {version} · {event.type} · {event.time:%Y-%m-%d %H:%M:%S}"
                    # the change first: it folds up to version - 1 and steps one event on, so the
                    # state after it comes from the history's cache instead of a second fold
                    change = history.change_at(version)
                    self.state_view.show_state(history.state_at(version), change, title)
                self._shown_point, self._shown_state = shown, self.state_view.shown_state()
            self.detail.show_event(event, self.event_list.event_model.problems_of(version))
        except EventLensError as error:
            self.show_message(str(error))
        self._show_position()

    def _show_position(self) -> None:
        if self.history is None:
            self.position_label.setText("")
            return
        partial = "" if self.load_complete or self._load_job is not None else " (partial)"
        self.position_label.setText(f"version {self.cursor:,} of {self.loaded_version:,}{partial}")

    def goto(self, text: str) -> bool:
        """Jump to a version number or to the last event at or before an ISO date."""
        if self.history is None:
            return False
        text = text.strip()
        try:
            version = int(text)
        except ValueError:
            try:
                moment = parse_moment(text)
            except ValueError:
                self.show_message(f"Go to: {text!r} is neither a version nor an ISO date (2024-01-05T10:00)")
                return False
            version = self.history.version_at(moment)
            if version < 1:
                self.show_message(f"Go to: no event of {self.stream_id!r} at or before {moment.isoformat()}")
                return False
        if not 1 <= version <= self.loaded_version:
            self.show_message(f"Go to: version {version} is outside 1–{self.loaded_version}")
            return False
        self.set_cursor(version)
        return True

    def _goto_entered(self) -> None:
        if self.goto(self.goto_edit.text()):
            self.event_list.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and self._scrub_key(event.key()):
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event) -> None:
        if not self._scrub_key(event.key()):
            super().keyPressEvent(event)

    def _scrub_key(self, key: int) -> bool:
        if self.history is None or self.loaded_version == 0:
            return False
        moves = {
            Qt.Key.Key_Left: lambda: self.step(-1),
            Qt.Key.Key_Right: lambda: self.step(1),
            Qt.Key.Key_PageUp: lambda: self.step(-PAGE_STEP),
            Qt.Key.Key_PageDown: lambda: self.step(PAGE_STEP),
            Qt.Key.Key_Home: lambda: self.set_cursor(self.history.first_version),
            Qt.Key.Key_End: lambda: self.set_cursor(self.loaded_version),
        }
        move = moves.get(Qt.Key(key))
        if move is None:
            return False
        move()
        return True

    def _path_selected(self, path: tuple) -> None:
        """Find every loaded event that changed ``path``, in the worker (it walks the whole stream)."""
        history = self.history
        if history is None:
            return
        upto = self.loaded_version

        def work(job: Job):
            return field_history(history, path)

        def show(changes) -> None:
            if history is self.history:
                changes = [c for c in changes if c.version <= upto]
                self.field_history.set_changes(path, changes)
                self.field_history.select_version(self.cursor)
                self.fieldHistoryShown.emit(path)

        self._run("history of a field", work, result=show,
                  error=lambda exc: self.show_message(f"Field history failed: {user_message(exc)}"))

    # -- snapshots ------------------------------------------------------------------------
    def create_snapshot(self) -> Job | None:
        """Create a snapshot at the cursor after the user confirms where it is written."""
        if self.store is None or self.history is None or self.cursor < 1:
            self.show_message("Open a stream and place the cursor on an event first")
            return None
        store, stream_id, version, reducer = self.store, self.history.stream_id, self.cursor, self.reducer
        if store.read_only or not store.capabilities.writable:
            # refused here, before anything reaches the store
            self.show_message(str(ReadOnlyError(f"create a snapshot of {stream_id!r} at version {version}")))
            return None
        where = store.describe()
        if getattr(store, "layout", None) is not None and not store.capabilities.writable:
            where = f"the collection 'eventlens_snapshots' beside the tool's own, in {where}"
        text = (
            f"Create a snapshot of stream {stream_id!r} at version {version} "
            f"with reducer {reducer.name!r}?\n\nIt will be written to the snapshots of {where}. Events are never changed."
        )
        if not confirm(self, "Create snapshot", text):
            return None

        def work(job: Job):
            snapshot = take_snapshot(store, stream_id, reducer, version=version, created_by=CREATED_BY)
            job.check()
            saved = store.save_snapshot(snapshot)
            return saved, snapshot, store.snapshots(stream_id)

        return self._run(f"snapshot of {stream_id} at {version}", work, track=True, cancellable=False,
                         result=lambda value: self._snapshot_created(stream_id, *value),
                         error=lambda exc: self.show_message(f"Snapshot not created: {user_message(exc)}"))

    def _snapshot_created(self, stream_id: str, saved: bool, snapshot, snapshots) -> None:
        if stream_id != self.stream_id:
            return
        self._set_snapshots(snapshots)
        self.snapshot_panel.select_version(snapshot.version)
        if saved:
            self.snapshot_panel.show_message(f"Snapshot written at version {snapshot.version} to {self.store.describe()}")
        else:
            self.snapshot_panel.show_message(f"A snapshot at version {snapshot.version} by this reducer already exists; nothing written")
        self.refresh_size()
        self.snapshotsChanged.emit()

    def verify_snapshot(self, snapshot) -> Job | None:
        """Compare a snapshot with a full replay in the worker and show the verdict."""
        if self.store is None:
            return None
        store, reducer = self.store, self.reducer
        self.snapshot_panel.show_message(f"Verifying the snapshot at version {snapshot.version}…")
        return self._run(f"verifying snapshot at {snapshot.version}", lambda job: verify_snapshot(store, snapshot, reducer),
                         track=True, result=self._verified,
                         error=lambda exc: self.snapshot_panel.show_message(f"Could not verify: {user_message(exc)}"))

    def _verified(self, verification) -> None:
        self.snapshot_panel.show_verification(verification)
        self.verified.emit(verification)

    # -- reducer --------------------------------------------------------------------------
    def _choose_reducer(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load reducer", "", "Python (*.py)")
        if path:
            self.use_reducer_file(path)

    def use_reducer_file(self, path: str) -> Job:
        """Load a reducer the user named, then reload the open stream with it."""
        return self._run("loading reducer", lambda job: load_reducer(path), result=self._reducer_loaded,
                         error=lambda exc: self.show_message(f"Reducer not loaded: {user_message(exc)}"))

    def _reducer_loaded(self, reducer) -> None:
        self.reducer = reducer
        self.statusBar().showMessage(f"Reducer {reducer.name} loaded", 5000)
        if self.stream_id:
            self.open_stream(self.stream_id)

    # -- export ---------------------------------------------------------------------------
    def _export_dialog(self, what: str, filters: str) -> None:
        if self.history is None:
            self.show_message("Open a stream first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", filters)
        if not path:
            return
        if what == "events":
            self.export_events(path)
        elif what == "state":
            self.export_state(path)
        else:
            self.export_timeline(path)

    def export_events(self, path: str) -> Job | None:
        """Write the loaded events to ``path``: CSV when it ends in .csv, else NDJSON."""
        if self.history is None:
            return None
        events = self.history.events(1, self.loaded_version)
        as_csv = str(path).lower().endswith(".csv")

        def work(job: Job):
            from store.codec import dumps_json, to_jsonable

            with open(path, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out) if as_csv else None
                if writer:
                    writer.writerow(["stream_id", "version", "time", "type", "data", "metadata"])
                for i, e in enumerate(events):
                    if i % BATCH == 0:
                        job.check()
                        job.report(i, len(events), "exporting events")
                    if writer:
                        writer.writerow([e.stream_id, e.version, e.time.isoformat(), e.type,
                                         dumps_json(e.data).decode(), dumps_json(e.metadata).decode()])
                    else:
                        doc = {"stream_id": e.stream_id, "version": e.version, "type": e.type, "time": e.time,
                               "data": e.data, "metadata": e.metadata}
                        out.write(dumps_json(to_jsonable(doc)).decode() + "\n")
            return path

        return self._export_job("exporting events", work)

    def export_state(self, path: str) -> Job | None:
        """Write the state at the cursor to ``path`` as JSON."""
        if self.history is None or self.cursor < 1:
            return None
        state = self.history.state_at(self.cursor)

        def work(job: Job):
            from store.codec import dumps_json

            with open(path, "wb") as out:
                out.write(dumps_json(state, pretty=True))
            return path

        return self._export_job("exporting state", work)

    def export_timeline(self, path: str) -> None:
        """Save the timeline as an image (drawing is UI work, so it runs here)."""
        try:
            self.timeline.export_image(path)
        except Exception as error:
            self.show_message(f"Timeline not exported: {user_message(error)}")
            return
        self.statusBar().showMessage(f"Exported {path}", 5000)
        self.exported.emit(str(path))

    def _export_job(self, name: str, work) -> Job:
        return self._run(name, work, track=True, result=self._exported,
                         error=lambda exc: self.show_message(f"Export failed: {user_message(exc)}"))

    def _exported(self, path: str) -> None:
        self.statusBar().showMessage(f"Exported {path}", 5000)
        self.exported.emit(str(path))

    # -- layout and shutdown -------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.load_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            fm = self.fontMetrics()
            self.resize(fm.averageCharWidth() * 200, fm.height() * 50)
        width, height = self.width(), self.height()
        # first run: proportions that show every column; later runs restore what the user chose
        defaults = {"main": [width * 27 // 100, width * 73 // 100], "right": [height * 2 // 5, height * 3 // 5],
                    "lower": [width * 31 // 100, width * 42 // 100], "state": [height * 3 // 10, height * 3 // 10]}
        for name, splitter in self._splitters().items():
            state = self.settings.load_bytes(f"splitters/{name}")
            if state is None or not splitter.restoreState(state):
                splitter.setSizes(defaults[name])

    def _splitters(self) -> dict[str, QSplitter]:
        return {"main": self.main_split, "right": self.right_split, "lower": self.lower_split, "state": self.state_split}

    def save_layout(self) -> None:
        """Persist geometry and splitter positions."""
        self.settings.save_bytes("window/geometry", self.saveGeometry())
        for name, splitter in self._splitters().items():
            self.settings.save_bytes(f"splitters/{name}", splitter.saveState())
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop following, cancel work, close the store and end the worker thread."""
        self._closing = True
        self.live_timer.stop()
        self._flush_timer.stop()
        self._drag_timer.stop()
        self.streams._debounce.stop()
        self.worker.cancel_all()
        store, self.store = self.store, None
        if store is not None:
            self.worker.submit("closing", lambda job: store.close())
        self.worker.stop()

    # -- the worker stands aside while the window works -------------------------------------
    # The worker's Python and the UI thread's share one GIL: each of the hundreds of calls from
    # Qt into Python in a repaint (item data, paint events) otherwise waits for the worker to
    # give it up. So a batch handed to the widgets, a timeline redraw and a repaint hold the
    # worker at its next check until the window has painted.
    def _hold_worker(self) -> None:
        self.worker.hold()
        self._release_timer.start()  # when nothing gets painted (a hidden window), it ends anyway

    def _release_worker(self) -> None:
        self._release_timer.stop()
        self.worker.release()

    def event(self, event) -> bool:
        # events arrive while __init__ builds the window, before the release timer exists
        if event.type() != QEvent.Type.UpdateRequest or not hasattr(self, "_release_timer"):
            return super().event(event)
        self._hold_worker()
        try:
            return super().event(event)
        finally:
            if not self._list_timer.isActive():  # the cursor's move is still to come
                self._release_worker()

    def closeEvent(self, event) -> None:
        try:
            self.save_layout()
        finally:
            self.shutdown()
        super().closeEvent(event)


def _scrub(text: str, connection: Connection | None) -> str:
    """Remove a typed password from a message, whatever the driver put in it."""
    from store.uri import redact_text

    text = redact_text(text)
    if connection is None:
        return text
    from urllib.parse import unquote, urlsplit

    secrets = [connection.password]
    try:
        secrets.append(urlsplit(connection.uri).password or "")
    except ValueError:
        pass
    for secret in filter(None, secrets):
        text = text.replace(secret, "***").replace(unquote(secret), "***")
    return text
