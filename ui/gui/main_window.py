"""The main window: widgets bound to the session's state; the session's jobs run in the worker.

Nothing here reads a store or folds a stream: ``ui.session`` holds every use case, and this
module only shows its state and forwards what the user does. The window holds the worker
while it paints (``PaintHold``), so loading never makes a repaint wait for the GIL.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from model.errors import EventLensError
from ui.gui.layout_proposal import confirm_layout
from ui.gui.menus import build_menus
from ui.gui.panes import Panes
from ui.gui.settings import Settings
from ui.gui.status import StatusBinding
from ui.gui.worker import Worker
from ui.session import reducers, snapshots
from ui.session.connection import Connection, Opened
from ui.session.session import Session
from ui.session.stream import PAGE_STEP, OpenStream
from ui.session.text import first_line, number

log = logging.getLogger(__name__)


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask yes/no; tests replace this function to answer for the user."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class MainWindow(QMainWindow):
    """The explorer window over one Session; ``connect_to`` and ``open_stream`` start everything."""

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
        self.session = Session(self.worker, self.settings)
        self._closing = False
        self.setWindowTitle("EventLens")
        self.panes = panes = Panes(self, self.session)
        self.setCentralWidget(panes)
        # the widgets, by the names the tests and the screenshot script use
        self.banner, self.streams, self.timeline, self.event_list = panes.banner, panes.streams, panes.timeline, panes.event_list
        self.state_view, self.detail, self.snapshot_panel = panes.state_view, panes.detail, panes.snapshot_panel
        self.field_history, self.tabs, self.goto_edit = panes.field_history, panes.tabs, panes.goto_edit
        self.status = StatusBinding(self.statusBar(), self.worker)
        self.status.cancel_button.clicked.connect(self.cancel_work)
        build_menus(self)
        self.live_timer = QTimer(self, interval=live_interval_ms)
        self.live_timer.timeout.connect(self._poll_live)
        # a mouse drag moves the timeline's cursor several times in one event-loop turn: the state
        # is shown once per turn, for the last position
        self._show_timer = QTimer(self, singleShot=True, interval=0)
        self._show_timer.timeout.connect(lambda: self.panes.show_cursor())
        session = self.session
        session.message.connect(self.show_message)
        session.connecting.connect(lambda label: self.status.connection.setText(f"Connecting to {label}…"))
        session.connected.connect(self._connected)
        session.connect_failed.connect(self._connect_failed)
        session.layout_needed.connect(self._layout_needed)
        session.file_needed.connect(self._file_needed)
        session.stream_opened.connect(self._stream_opened)
        session.size_changed.connect(self.status.show_size)
        session.reducer.changed.connect(self.panes.show_reducer)
        self.timeline.redrawing.connect(self.worker.hold.hold)
        self._restore_geometry()

    def _ask(self, view) -> None:
        self.panes.show_view(view)
        view.setFocus()  # its first field (the view's focus proxy)

    def trace_cursor(self) -> None:
        """Trace the event at the cursor: every event of its business transaction, in the Trace tab."""
        stream = self.session.stream
        if stream is None or stream.cursor.version < 1:
            self.show_message("Open a stream and place the cursor on an event to trace it", "warning")
            return
        self.panes.show_view(self.panes.trace_view)
        self.panes.trace_view.run(stream.stream_id, stream.cursor.version)

    # -- messages and work -------------------------------------------------------------------
    def show_message(self, text: str, severity: str = "error") -> None:
        """Show a message in the banner and the status bar; "clear" takes the banner away."""
        if severity == "clear":
            self.banner.clear()
            return
        self.banner.show_message(text, severity)
        self.statusBar().showMessage(text, 10_000)
        self.messageShown.emit(text)

    def cancel_work(self) -> None:
        """Cancel the jobs the status bar shows (load, seed, verify, export)."""
        for task in list(self.worker.shown):
            task.cancel()

    # -- connecting ----------------------------------------------------------------------------
    def show_connect_dialog(self) -> None:
        from ui.gui.connect_dialog import ConnectDialog

        dialog = ConnectDialog(self.settings, self, initial=self.session.connection)
        if dialog.exec():
            self.connect_to(dialog.connection())

    def _choose_embedded_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open embedded store", "", "EventLens store (*.sqlite *.db);;All files (*)")
        if path:
            self.connect_to(Connection(uri=path))

    def connect_to(self, connection: Connection, *, seed_demo_history: bool = False, layout=None, create: bool = False):
        """Open a store in the worker; on success show its streams, on failure say why."""
        return self.session.connect(connection, layout=layout, create=create, seed_demo=seed_demo_history)

    def _layout_needed(self, connection: Connection, proposal) -> None:
        if self._closing:
            return
        chosen = confirm_layout(self, proposal, connection.db or "the database")
        if chosen is None:
            text = f"Not connected to {connection.label()}: the detected layout was not confirmed."
            self.status.connection.setText(self.session.opened.description if self.session.opened else "Not connected")
            self.show_message(text, "warning")
            self.connectFailed.emit(text)
            return
        self.connect_to(connection, layout=chosen)

    def _file_needed(self, connection: Connection, path) -> None:
        if not self._closing and confirm(self, "Create store", f"There is no EventLens store at {path}.\n\n"
                                         "Create an empty one there?"):
            self.connect_to(connection, create=True)
        else:
            self._connect_failed(f"Not connected: no store at {path} (nothing was created)")

    def _connected(self, opened: Opened) -> None:
        if self._closing:  # the window closed while connecting: nobody will use this store
            self.session.close()
            return
        self.panes.clear_stream()
        ro = " · read-only" if opened.store.read_only else ""
        self.status.connection.setText(opened.description + ro)
        self.setWindowTitle(f"EventLens — {opened.description}")
        self.status.show_size(opened.size)
        self.streams.set_types(opened.stream_types)
        self.panes.clear_questions(opened.stream_types)
        target = snapshots.snapshot_target(opened.store)
        self.snapshot_panel.set_writable(target.allowed, target.reason)
        self.panes.show_reducer()
        try:
            self.settings.remember(self.session.connection)
        except Exception as error:  # settings are a convenience; never fail a connection on them
            log.warning("could not remember the connection: %s", error)
        self.connected.emit()

    def _connect_failed(self, text: str) -> None:
        opened = self.session.opened
        self.status.connection.setText(opened.description if opened else "Not connected")
        self.connectFailed.emit(text)

    # -- the open stream ----------------------------------------------------------------------------
    @property
    def stream(self) -> OpenStream | None:
        return self.session.stream

    @property
    def loaded(self):
        """The open stream's loaded events and states (model.loaded.LoadedStream), or None."""
        return self.session.stream.loaded if self.session.stream else None

    @property
    def stream_id(self) -> str | None:
        return self.session.stream.stream_id if self.session.stream else None

    @property
    def store(self):
        return self.session.store

    @property
    def reducer(self):
        return self.session.reducer.reducer

    @property
    def cursor(self) -> int:
        return self.session.stream.cursor.version if self.session.stream else 0

    @property
    def loaded_version(self) -> int:
        return self.session.stream.loaded_version if self.session.stream else 0

    def open_stream(self, stream_id: str) -> OpenStream | None:
        """Load a stream in the worker; the widgets fill as batches arrive."""
        return self.session.open_stream(stream_id)

    def _stream_opened(self, stream: OpenStream) -> None:
        self.live_timer.stop()
        self.panes.bind_stream(stream)
        stream.extended.connect(lambda first, last: self.worker.hold.hold())
        # once loaded, more events come only from following it live
        stream.extended.connect(lambda first, last: stream.complete and self.eventsAppended.emit(last))
        stream.cursor.moved.connect(self._cursor_moved)
        stream.finished.connect(lambda: self._stream_loaded(stream))
        stream.failed.connect(self.loadFailed.emit)
        stream.snapshots_changed.connect(self.snapshotsChanged.emit)

    def _stream_loaded(self, stream: OpenStream) -> None:
        self._show_timer.stop()
        self.panes.show_cursor()
        if self.panes.live_box.isChecked():
            self.live_timer.start()
        self.streamLoaded.emit(stream.stream_id)

    def _poll_live(self) -> None:
        stream = self.session.stream
        if stream is not None and self.panes.live_box.isChecked() and self.worker.idle():
            stream.poll_live()  # one poll at a time, and never ahead of the user's own work

    def _cursor_moved(self, version: int) -> None:
        stream = self.session.stream
        # a drag moves the cursor many times in one turn, and so does a loading stream's every batch:
        # those show once per turn; a key or a click shows at once
        if self.timeline.cursor.moving or (stream is not None and stream.loading):
            self._show_timer.start()
        else:
            self._show_timer.stop()
            self.panes.show_cursor()
        self.cursorChanged.emit(version)

    def set_cursor(self, version: int, source: str = "") -> None:
        """Move the cursor to ``version`` (clamped to what is loaded) and show its state now."""
        if self.session.stream is not None:
            self.session.stream.cursor.move(version)
            self._show_timer.stop()
            self.panes.show_cursor()

    def step(self, delta: int) -> None:
        """Move the cursor ``delta`` events (negative = back)."""
        self.set_cursor(self.cursor + delta)

    def goto(self, text: str) -> bool:
        """Jump to a version number or to the last event at or before an ISO date."""
        stream = self.session.stream
        if stream is None:
            return False
        try:
            stream.cursor.goto(text)
        except EventLensError as error:
            self.show_message(f"Go to: {error}")
            return False
        self.panes.show_cursor()
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.KeyPress and self._scrub_key(event.key()):
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if not self._scrub_key(event.key()):
            super().keyPressEvent(event)

    def _scrub_key(self, key: int) -> bool:
        stream = self.session.stream
        if stream is None or stream.loaded_version == 0:
            return False
        cursor = stream.cursor
        moves = {Qt.Key.Key_Left: lambda: cursor.step(-1), Qt.Key.Key_Right: lambda: cursor.step(1),
                 Qt.Key.Key_PageUp: lambda: cursor.step(-PAGE_STEP), Qt.Key.Key_PageDown: lambda: cursor.step(PAGE_STEP),
                 Qt.Key.Key_Home: cursor.home, Qt.Key.Key_End: cursor.end}
        move = moves.get(Qt.Key(key))
        if move is None:
            return False
        move()
        return True

    # -- snapshots, reducers, exports --------------------------------------------------------------------
    def create_snapshot(self):
        """Create a snapshot at the cursor after the user confirms where it is written."""
        stream, store = self.session.stream, self.session.store
        if stream is None or store is None or stream.cursor.version < 1:
            self.show_message("Open a stream and place the cursor on an event first")
            return None
        target = snapshots.snapshot_target(store)
        if not target.allowed:
            self.show_message(target.reason)
            return None
        text = snapshots.confirmation(store, stream.stream_id, stream.cursor.version, stream.reducer)
        if not confirm(self, "Create snapshot", text):
            return None
        return self.session.create_snapshot(on_result=self.panes.snapshot_created)

    def verify_snapshot(self, snapshot):
        """Compare a snapshot with a full replay in the worker and show the verdict."""
        self.snapshot_panel.show_message(f"Verifying the snapshot at version {number(snapshot.version)}…")
        return self.session.verify_snapshot(
            snapshot, on_result=lambda verdict: (self.snapshot_panel.show_verification(verdict), self.verified.emit(verdict)),
            on_error=lambda error: self.snapshot_panel.show_message(f"Could not verify: {first_line(error)}"))

    def _choose_reducer(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load reducer", str(reducers.SHIPPED_DIR), "Python (*.py)")
        if path:
            self.use_reducer_file(path)

    def use_reducer_file(self, path):
        """Load a reducer the user named; the open stream reloads with it."""
        return self.session.use_reducer_file(path)

    def _export_dialog(self, what: str, filters: str) -> None:
        if self.session.stream is None:
            self.show_message("Open a stream first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", filters)
        if path:
            {"events": self.export_events, "state": self.export_state, "timeline": self.export_timeline}[what](path)

    def export_events(self, path: str):
        """Write the loaded events to ``path``: CSV when it ends in .csv, else NDJSON (as ``events`` prints them)."""
        return self.session.export_events(path, on_result=self._exported)

    def export_state(self, path: str):
        """Write the state at the cursor to ``path`` as JSON (as ``state`` prints it)."""
        return self.session.export_state(path, on_result=self._exported)

    def export_timeline(self, path: str) -> None:
        """Save the timeline as an image (drawing is UI work, so it runs here)."""
        try:
            self.timeline.export_image(path)
        except Exception as error:
            self.show_message(f"Timeline not exported: {first_line(error)}")
            return
        self._exported(str(path))

    def _exported(self, path: str) -> None:
        self.statusBar().showMessage(f"Exported {path}", 5000)
        self.exported.emit(str(path))

    # -- geometry and shutdown ------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.load_bytes("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self.panes.first_run_size())
        self.panes.restore_splitters(self.settings)

    def save_geometry(self) -> None:
        """Persist geometry and splitter positions."""
        self.settings.save_bytes("window/geometry", self.saveGeometry())
        self.panes.save_splitters(self.settings)
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop following, cancel work, close the store and end the worker thread."""
        self._closing = True
        self.live_timer.stop()
        self._show_timer.stop()
        self.panes.stop_timers()
        self.worker.cancel_all()
        self.session.close()
        self.worker.stop()

    def event(self, event) -> bool:
        # every repaint holds the worker until it is done (see ui.gui.paint_hold)
        # events arrive while __init__ builds the window, before the worker exists
        if event.type() != QEvent.Type.UpdateRequest or not hasattr(self, "worker"):
            return super().event(event)
        self.worker.hold.hold()
        try:
            return super().event(event)
        finally:
            self.worker.hold.release()

    def closeEvent(self, event) -> None:  # noqa: N802
        try:
            self.save_geometry()
        finally:
            self.shutdown()
        super().closeEvent(event)
