"""GUI fixtures: a window with its settings in a tmp dir, demo stores on both backends, and a
guard that fails any test leaving worker threads or thread-pool work behind."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QThreadPool  # noqa: E402

from model.demo import demo_streams  # noqa: E402
from model.reducer import default_reducer  # noqa: E402
from model.snapshot import take_snapshot  # noqa: E402

DEMO_STREAMS, DEMO_EVENTS = 6, 240
LOAD_TIMEOUT_MS = 30_000
#: threads that live once per process by design (model.watchdog's reducer timer)
PROCESS_THREADS = {"eventlens-reducer-watchdog"}


def fill_demo(store, streams: int = DEMO_STREAMS, events_per_stream: int = DEMO_EVENTS) -> list[str]:
    """Write demo streams (and their snapshots) through the store API; return the stream ids."""
    reducer, ids = default_reducer(), []
    for demo in demo_streams(streams, events_per_stream, seed=7):
        store.append(demo.stream_id, list(demo.events), 0, stream_type=demo.stream_type)
        for version in demo.snapshot_at:
            store.save_snapshot(take_snapshot(store, demo.stream_id, reducer, version=version, created_by="test"))
        ids.append(demo.stream_id)
    return ids


@pytest.fixture(autouse=True)
def no_leftover_work(request):
    """Fail a test that leaves a worker thread, QThreadPool work or a new Python thread running."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("store") == "mongo":
        request.getfixturevalue("mongo_client")  # the session's client lives on; start it before counting
    before = {t.ident for t in threading.enumerate()}
    yield
    from ui.gui.worker import live_workers

    app = QCoreApplication.instance()
    if app is not None:
        app.processEvents()
    leftovers = live_workers()
    pool_busy = QThreadPool.globalInstance().activeThreadCount()
    # driver monitor threads end shortly after their client closes: allow them a bounded moment
    deadline = time.monotonic() + 5.0
    threads = []
    for thread in threading.enumerate():
        if (thread.ident in before or thread.name in PROCESS_THREADS
                # Qt's threads show up as dummies that never end; live_workers() covers them
                or isinstance(thread, threading._DummyThread)):
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            threads.append(thread)
    assert not leftovers, f"worker threads still running after the test: {leftovers}"
    assert pool_busy == 0, f"{pool_busy} QThreadPool task(s) still running after the test"
    assert not threads, f"threads still running after the test: {[t.name for t in threads]}"


@pytest.fixture(autouse=True)
def no_unexpected_questions(monkeypatch):
    """A question the test did not expect fails it at once instead of waiting on a modal box forever."""
    def unexpected(parent, title, text):
        raise AssertionError(f"the window asked {title!r} unexpectedly: {text}")

    monkeypatch.setattr("ui.gui.main_window.confirm", unexpected)


@pytest.fixture
def settings(tmp_path: Path):
    """Settings in a tmp ini file, never the user's."""
    from ui.gui.settings import Settings

    return Settings(str(tmp_path / "settings" / "eventlens.ini"))


@pytest.fixture
def window(qtbot, settings):
    """A shown main window following live changes every 100 ms."""
    from ui.gui.main_window import MainWindow

    w = MainWindow(settings, live_interval_ms=100)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.fixture
def demo_store(store, backend):
    """The parametrized store (mongo / embedded) filled with the demo history."""
    fill_demo(store)
    return store


@pytest.fixture
def demo_connection(demo_store, backend, request):
    """A Connection to the demo store the window opens with its own client."""
    from ui.session.connection import Connection

    if backend == "embedded":
        return Connection(uri=str(demo_store.path))
    return Connection(uri=request.getfixturevalue("mongo_uri"), db=request.getfixturevalue("mongo_db_name"))


def connect(qtbot, window, connection, timeout: int = LOAD_TIMEOUT_MS):
    """Connect the window and wait until its stream list shows the first page."""
    with qtbot.waitSignal(window.streams.model.pageLoaded, timeout=timeout):
        with qtbot.waitSignal(window.connected, timeout=timeout):
            window.connect_to(connection)


def open_stream(qtbot, window, stream_id: str, timeout: int = LOAD_TIMEOUT_MS):
    """Open a stream and wait until it is loaded and checked."""
    with qtbot.waitSignal(window.streamLoaded, timeout=timeout):
        window.open_stream(stream_id)


def list_events(model, events, loaded=None):
    """Show ``events`` in an EventTableModel, as the window does with a loading stream; return its loaded stream."""
    from model.loaded import LoadedStream
    from model.reducer import default_reducer

    if loaded is None:
        loaded = LoadedStream(events[0].stream_id, default_reducer(), initial_version=events[0].version - 1)
        model.set_stream(loaded)
    loaded.extend(events)
    model.grow(loaded.last_version)
    model.filled()
    return loaded
