"""The session: one connection, its stream list, the open stream, the reducer, and the use cases on them.

The window binds its widgets to this object's state and signals and runs its jobs in the
worker; scripts and tests drive it directly with ``run_now``. It never knows a thread exists:
every state change happens in a callback the runner calls on the session's own thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from model.errors import CancelledError, EventLensError
from model.field_history import field_history
from model.ports import CatalogueState, EventSource
from ui.session import export, snapshots
from ui.session.connection import Connection, NeedsFile, NeedsLayout, Opened, coverage_of
from ui.session.demo import write_demo
from ui.session.jobs import Job, Runner, Task, run_now
from ui.session.reducers import GENERIC, ReducerChoice
from ui.session.secrets import scrub
from ui.session.signals import Signal
from ui.session.stream import OpenStream
from ui.session.streams import StreamList
from ui.session.text import first_line

CREATED_BY = "eventlens gui"


class Preferences(Protocol):
    """Where remembered choices live (the window's settings); text keys and values."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryPreferences:
    """Preferences kept for the life of the process (scripts, tests, the command line)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        self._values[key] = value


class Session:
    """Everything a person does with EventLens, without a window.

    ``background`` runs the long work nobody waits for (building and refreshing a foreign
    store's stream list cache): a second worker in the window, so that opening a stream does
    not wait behind it. Without one it goes through ``run`` like everything else.
    """

    def __init__(self, run: Runner = run_now, preferences: Preferences | None = None, *, created_by: str = CREATED_BY,
                 background: Runner | None = None):
        self.run = run
        self.background = background or run
        self.preferences: Preferences = preferences or MemoryPreferences()
        self.created_by = created_by
        self.connection: Connection | None = None
        self.opened: Opened | None = None
        self.streams = StreamList(run)
        self.stream: OpenStream | None = None
        self.reducer = ReducerChoice()
        self.connecting = Signal()  # (label)
        self.connected = Signal()  # (Opened)
        self.connect_failed = Signal()  # (text)
        self.layout_needed = Signal()  # (connection, proposal): confirm or edit, then connect(layout=...)
        self.file_needed = Signal()  # (connection, path): ask, then connect(create=True)
        self.stream_opened = Signal()  # (OpenStream)
        self.stream_closed = Signal()
        self.size_changed = Signal()  # (StoreSize)
        self.types_changed = Signal()  # (list[str]): the stream types, once a stream list cache is built or changed
        #: the local cache of a foreign store's stream list (None: the store's own index, nothing to show);
        #: ``catalogue.describe()`` is the line to show beside the list ("... refreshed 3 minutes ago")
        self.catalogue: CatalogueState | None = None
        self.catalogue_changed = Signal()  # (CatalogueState): built, refreshed, or being built
        self._catalogue_task: Task | None = None
        #: (text, severity): "error", "warning", "info", or "clear" to take a shown message away
        self.message = Signal()
        self.reducer.changed.connect(self._reducer_changed)
        self._reopen_after_reducer = True

    @property
    def store(self) -> EventSource | None:
        return self.opened.store if self.opened is not None else None

    # -- messages ----------------------------------------------------------------------------
    def notify(self, text: str, severity: str = "error") -> None:
        """Say something to the person (the window's banner and status bar); passwords are scrubbed."""
        connection = self.connection
        if connection is not None:
            text = scrub(text, connection.full_uri(), connection.password)
        self.message.emit(text, severity)

    # -- connecting -----------------------------------------------------------------------------
    def connect(self, connection: Connection, *, layout: Any = None, create: bool = False,
                seed_demo: bool = False) -> Task:
        """Open a store through the runner; ``connected``, ``layout_needed``, ``file_needed`` or ``connect_failed`` follows.

        A MongoDB database named without a layout that is not in EventLens's own layout gets
        detection's proposal (``layout_needed``); a missing embedded file is created only when
        ``create`` (``file_needed`` asks first), or on a first run (``seed_demo``: the default
        store, filled with the demo history).
        """
        label = connection.label()
        self.connecting.emit(label)

        def work(task: Task) -> Opened | NeedsLayout | NeedsFile:
            chosen = layout
            if chosen is None and not connection.layout:
                proposal = connection.propose_layout()
                if proposal is not None:
                    return NeedsLayout(proposal)
            path = connection.embedded_path()
            if path is not None and not path.exists() and not (create or seed_demo):
                return NeedsFile(path)
            store = connection.open(layout=chosen, create=create or seed_demo)
            try:
                catalogue = store.catalogue()
                if catalogue is not None and not catalogue.ready:
                    # built in the background once connected: size and types come with it
                    return Opened(store, None, [], store.describe(), coverage_of(store), 0, catalogue)
                seeded = 0
                if seed_demo and not store.read_only and store.count_streams() == 0:
                    seeded = write_demo(store, task=task, reducer=self._demo_reducer(),
                                        created_by=self.created_by).events
                return Opened(store, store.size(), store.stream_types(), store.describe(), coverage_of(store), seeded,
                              catalogue)
            except BaseException:
                store.close()
                raise

        def done(value: Opened | NeedsLayout | NeedsFile) -> None:
            if isinstance(value, NeedsLayout):
                self.layout_needed.emit(connection, value.proposal)
            elif isinstance(value, NeedsFile):
                self.file_needed.emit(connection, value.path)
            else:
                self._connected(connection, value)

        def failed(error: BaseException) -> None:
            text = scrub(f"Cannot connect to {label}: {first_line(error)}", connection.full_uri(), connection.password)
            self.message.emit(text, "error")
            self.connect_failed.emit(text)

        return self.run(Job(f"connecting to {label}", work, on_result=done, on_error=failed, shown=True))

    def _connected(self, connection: Connection, opened: Opened) -> None:
        self.close_stream()
        self._stop_catalogue()
        old = self.opened
        self.connection, self.opened = connection, opened
        self.catalogue = opened.catalogue
        if old is not None:
            self.run(Job("closing the previous store", lambda task: old.store.close()))
        self.message.emit("", "clear")
        if opened.coverage:
            self.message.emit(opened.coverage, "warning")
        elif opened.size is not None and opened.size.streams == 0:
            self.message.emit(f"{opened.description} holds no streams: is the database name right?", "warning")
        if opened.seeded:
            # the first run's demo store opens with the reducer its streams were written for
            demo = self._demo_reducer_path()
            if demo is not None:
                self.remember_reducer(connection, demo)
        self._restore_reducer(connection)
        self.streams.set_store(opened.store)
        self.connected.emit(opened)
        if opened.catalogue is not None:
            self.catalogue_changed.emit(opened.catalogue)
            self.refresh_catalogue()

    # -- a foreign store's stream list cache -----------------------------------------------------
    def refresh_catalogue(self, full: bool = False) -> Task | None:
        """Build the stream list cache, or bring it up to date ("refresh now"; ``full``: read everything again).

        Runs on the background runner with progress; when it is done ``catalogue_changed`` fires
        and, if the list changed, the stream list is shown again with the new size and types.
        None for a store without a cache.
        """
        store = self.store
        if store is None or self.catalogue is None:
            return None
        self._stop_catalogue()
        building = not self.catalogue.ready
        what = "building the stream list" if building or full else "refreshing the stream list"

        def work(task: Task):
            return store.update_catalogue(full=full, progress=task.progress, check=task.between_batches)

        def done(state) -> None:
            if store is not self.store or state is None:
                return
            self.catalogue = state
            self.catalogue_changed.emit(state)
            if state.note:
                self.notify(state.note, "info")
            if state.changed or building or not self.streams.rows:
                self.streams.refresh()
                self.run(Job("store size", lambda task: (store.size(), store.stream_types()),
                             on_result=lambda value: self._counted(store, *value)))

        def failed(error: BaseException) -> None:
            if store is self.store and not isinstance(error, CancelledError):
                self.notify(f"The stream list could not be brought up to date: {first_line(error)}", "warning")

        self._catalogue_task = self.background(Job(what, work, on_result=done, on_error=failed, shown=True))
        return self._catalogue_task

    def _counted(self, store: EventSource, size, types: list[str]) -> None:
        if store is self.store:
            self.size_changed.emit(size)
            self.types_changed.emit(types)

    def _stop_catalogue(self) -> None:
        task, self._catalogue_task = self._catalogue_task, None
        if task is not None:
            task.cancel()

    def refresh_size(self) -> None:
        store = self.store
        if store is not None:
            self.run(Job("store size", lambda task: store.size(), on_result=self.size_changed.emit))

    # -- the reducer -------------------------------------------------------------------------------
    def _key(self, connection: Connection | None = None) -> str:
        connection = connection or self.connection
        return f"reducer/{connection.key()}" if connection is not None else "reducer/"

    @staticmethod
    def _demo_reducer_path() -> Path | None:
        from ui.session.reducers import SHIPPED_DIR

        path = SHIPPED_DIR / "demo.py"
        return path if path.is_file() else None

    def _demo_reducer(self):
        from model.reducer import load_reducer

        path = self._demo_reducer_path()
        return load_reducer(path) if path is not None else None

    def _restore_reducer(self, connection: Connection) -> None:
        """Use the reducer remembered for this store (the demo store remembers the demo reducer)."""
        remembered = self.preferences.get(self._key(connection))
        self._reopen_after_reducer = False
        try:
            if not remembered or remembered == GENERIC:
                self.reducer.use_generic()
            else:
                from model.reducer import load_reducer

                try:
                    self.reducer.use(load_reducer(remembered), Path(remembered))
                except EventLensError as error:
                    self.reducer.use_generic()
                    self.notify(f"The reducer remembered for this store was not loaded: {first_line(error)}", "warning")
        finally:
            self._reopen_after_reducer = True

    def remember_reducer(self, connection: Connection, path: Path | None) -> None:
        """Remember the reducer for a store (the first run's demo store, or the user's choice)."""
        self.preferences.set(self._key(connection), str(path) if path is not None else GENERIC)

    def use_reducer_file(self, path: str | Path) -> Task:
        """Load a reducer file in the runner; on success it is in use (and the open stream reloads)."""
        job = self.reducer.load_job(path)
        job.on_error = lambda error: self.notify(f"Reducer not loaded: {first_line(error)}")
        return self.run(job)

    def use_generic_reducer(self) -> None:
        self.reducer.use_generic()

    def _reducer_changed(self) -> None:
        if self.connection is not None:
            self.remember_reducer(self.connection, self.reducer.path)
        if self._reopen_after_reducer and self.stream is not None:
            self.open_stream(self.stream.stream_id)

    # -- the open stream -----------------------------------------------------------------------------
    def open_stream(self, stream_id: str) -> OpenStream | None:
        """Open a stream (closing the one open) and start loading it."""
        store = self.store
        if store is None:
            self.notify("Not connected: connect to a store first")
            return None
        self.close_stream()
        self.message.emit("", "clear")  # what was said of the last stream does not stay over this one
        stream = OpenStream(store, stream_id, self.reducer.reducer, self.run, self.notify)
        self.stream = stream
        stream.finished.connect(lambda: self.streams.mark_problems(stream_id, len(stream.problems)))
        self.stream_opened.emit(stream)
        stream.load()
        return stream

    def reload(self) -> None:
        if self.stream is not None:
            self.open_stream(self.stream.stream_id)

    def close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()
            self.stream_closed.emit()

    def field_history(self, path: tuple, on_result=None) -> Task | None:
        """Every loaded event that changed ``path``; ``on_result((path, changes))``. Progress shows while it works."""
        stream = self.stream
        if stream is None:
            return None
        loaded, upto = stream.loaded, stream.folded_version

        def work(task: Task):
            changes = field_history(loaded, path, to_version=upto, cancel=lambda: task.cancelled,
                                    progress=lambda done, total: task.progress(done, total, "history of a field"))
            return path, changes

        def done(value) -> None:
            if stream is self.stream and on_result is not None:
                on_result(value)

        return self.run(Job("history of a field", work, on_result=done, shown=True,
                            on_error=lambda error: self.notify(f"Field history failed: {first_line(error)}")))

    # -- snapshots ------------------------------------------------------------------------------------
    def snapshot_target(self) -> snapshots.SnapshotTarget | None:
        return snapshots.snapshot_target(self.store) if self.store is not None else None

    def create_snapshot(self, version: int | None = None, on_result=None) -> Task | None:
        """Create a snapshot of the open stream at ``version`` (default: the cursor); the caller confirmed."""
        stream, store = self.stream, self.store
        if store is None or stream is None or (version or stream.cursor.version) < 1:
            self.notify("Open a stream and place the cursor on an event first")
            return None
        version = version or stream.cursor.version
        target = snapshots.snapshot_target(store)
        if not target.allowed:
            self.notify(target.reason)
            return None
        job = snapshots.create_job(store, stream.stream_id, stream.reducer, version, self.created_by)

        def done(created: snapshots.Created) -> None:
            if stream is self.stream:
                stream.set_snapshots(created.snapshots)
            self.refresh_size()
            if on_result is not None:
                on_result(created)

        job.on_result = done
        job.on_error = lambda error: self.notify(f"Snapshot not created: {first_line(error)}")
        return self.run(job)

    def verify_snapshot(self, snapshot, on_result=None, on_error=None) -> Task | None:
        store, stream = self.store, self.stream
        if store is None or stream is None:
            return None
        job = snapshots.verify_job(store, snapshot, stream.reducer)
        job.on_result = on_result
        job.on_error = on_error or (lambda error: self.notify(f"Could not verify: {first_line(error)}"))
        return self.run(job)

    # -- exports ---------------------------------------------------------------------------------------
    def export_events(self, path: str | Path, on_result=None) -> Task | None:
        """Write the open stream's loaded events to ``path`` (CSV for .csv, else NDJSON), as the CLI prints them."""
        stream = self.stream
        if stream is None or self.store is None:
            self.notify("Open a stream first")
            return None
        job = export.export_events_job(self.store, stream.stream_id, path, to_version=stream.loaded_version)
        return self._export(job, on_result)

    def export_state(self, path: str | Path, on_result=None) -> Task | None:
        """Write the state at the cursor to ``path`` as JSON, as ``state`` prints it."""
        stream = self.stream
        if stream is None or stream.cursor.version < 1:
            self.notify("Open a stream and place the cursor on an event first")
            return None
        if stream.cursor.version > stream.folded_version:
            self.notify("The state at the cursor is not built yet (or the reducer failed before it)")
            return None
        return self._export(export.export_state_job(stream.loaded.state_at(stream.cursor.version), path), on_result)

    def export_as_of(self, results, path: str | Path, on_result=None) -> Task:
        """Write an as-of's rows (those in so far) to ``path``, as the ``as-of`` command prints them."""
        return self._export(export.export_as_of_job(results.rows, results.columns, path), on_result)

    def _export(self, job: Job, on_result) -> Task:
        job.on_result = on_result
        job.on_error = lambda error: self.notify(f"Export failed: {first_line(error)}")
        return self.run(job)

    # -- questions across streams (issue 14) ---------------------------------------------------------------
    def search(self, search) -> "Any":
        """Start a search (a ``model.search.Search``); returns its ``SearchResults`` (None when not connected)."""
        from ui.session.search import SearchResults

        if self.store is None:
            self.notify("Not connected: connect to a store first")
            return None
        results = SearchResults(self.store, search, self.run)
        results.failed.connect(lambda text: self.notify(f"Search failed: {text}"))
        results.planned.connect(lambda plan: plan.note and self.notify(plan.note, "info"))
        results.start()
        return results

    def as_of(self, request, *, executor=None) -> "Any":
        """Start the states of many streams at a moment (a ``ui.session.asof.AsOf``); returns its ``AsOfResults``."""
        from ui.session.asof import AsOfResults, Source

        if self.store is None or self.connection is None:
            self.notify("Not connected: connect to a store first")
            return None
        source = Source(self.connection, getattr(self.store, "layout", None))
        results = AsOfResults(self.store, source, request, self.run, executor=executor)
        results.failed.connect(lambda text: self.notify(f"As of: {text}", "warning"))
        results.start()
        return results

    def trace(self, stream_id: str, version: int, on_result=None, on_error=None) -> Task | None:
        """The causation trace of an event (``ui.session.trace.Trace`` to ``on_result``; its error's text to ``on_error``)."""
        from ui.session.trace import trace_job

        return self._question(trace_job(self.store, stream_id, version) if self.store else None, "Trace failed",
                              on_result, on_error)

    def statistics(self, *, refresh: bool = False, on_result=None, on_error=None) -> Task | None:
        """The store's statistics (``ui.session.stats.Statistics``, cached per connection) to ``on_result``."""
        from ui.session.stats import statistics_job

        job = statistics_job(self.store, connection=self.connection, refresh=refresh) if self.store else None
        return self._question(job, "Statistics failed", on_result, on_error)

    def _question(self, job: Job | None, failure: str, on_result, on_error) -> Task | None:
        if job is None:
            text = "Not connected: connect to a store first"
            self.notify(text)
            if on_error is not None:
                on_error(text)
            return None

        def failed(error: BaseException) -> None:
            text = first_line(error)
            self.notify(f"{failure}: {text}")
            if on_error is not None:
                on_error(text)

        job.on_result, job.on_error = on_result, failed
        return self.run(job)

    def open_at(self, stream_id: str, version: int) -> OpenStream | None:
        """Open a stream with the cursor on ``version`` once that far is loaded (a search, as-of or trace row)."""
        stream = self.open_stream(stream_id)
        if stream is None:
            return None

        def place(*_: Any) -> None:
            if stream.loaded_version >= version or not stream.loading:
                for signal in (stream.extended, stream.finished, stream.failed):
                    signal.disconnect(place)
                stream.cursor.move(version)  # the nearest loaded version when the load stopped short

        for signal in (stream.extended, stream.finished, stream.failed):
            signal.connect(place)
        if stream.loaded_version >= version:
            place()
        return stream

    # -- the end --------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the open stream and the store."""
        self.close_stream()
        self._stop_catalogue()
        opened, self.opened = self.opened, None
        if opened is not None:
            self.run(Job("closing", lambda task: opened.store.close()))
