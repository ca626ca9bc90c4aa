"""Shared fixtures: a real FerretDB per test session (or ``$MONGODB_URI``), and stores of each backend."""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.servers import FerretDB, SilentServer

if os.environ.get("EVENTLENS_WITHOUT_QT") == "1":
    # A CI step runs the session's and the command line's tests with Qt unimportable (and pytest-qt
    # off): any import of it, however indirect, fails the test that made it.
    for _name in ("PySide6", "shiboken6", "pyqtgraph"):
        sys.modules[_name] = None  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def eventlens_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """EventLens's own files (its default store, kept statistics, caches) in a fresh folder, never the user's."""
    home = tmp_path_factory.mktemp("eventlens-home")
    monkeypatch.setenv("EVENTLENS_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _eventlens_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own EventLens home (where foreign stores' stream list caches go), never the user's."""
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path_factory.mktemp("eventlens-home")))


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The MongoDB server the tests use: ``$MONGODB_URI``, else a FerretDB started for this session."""
    explicit = os.environ.get("MONGODB_URI")
    if explicit:
        yield explicit
        return
    try:
        server = FerretDB(tmp_path_factory.mktemp("ferretdb")).start()
    except RuntimeError as error:
        # Never skip: a missing server would silently turn the MongoDB half of the suite off.
        pytest.fail(str(error), pytrace=False)
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str):
    """One pymongo client for fixtures that set up or inspect databases directly."""
    from pymongo import MongoClient

    client = MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()


@pytest.fixture
def mongo_db_name(mongo_client) -> Iterator[str]:
    """A fresh database name for one test; the database is dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    mongo_client.drop_database(name)


@pytest.fixture
def mongo_store(mongo_uri: str, mongo_db_name: str):
    """An open, empty MongoStore on a fresh database."""
    from store.mongo import MongoStore

    store = MongoStore(mongo_uri, mongo_db_name)
    yield store
    store.close()


@pytest.fixture
def embedded_store(tmp_path: Path):
    """An open, empty EmbeddedStore in a temporary file."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "events.sqlite")
    yield store
    store.close()


@pytest.fixture(params=["mongo", "embedded"])
def store(request: pytest.FixtureRequest):
    """An open, empty store of each backend: one conformance suite, two backends."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def backend(store) -> str:
    """The name of the backend the parametrized ``store`` is: "mongo" or "embedded"."""
    from store.embedded import EmbeddedStore

    return "embedded" if isinstance(store, EmbeddedStore) else "mongo"


class FerretDBFactory:
    """Starts private FerretDB processes for fault tests; the first one is also reachable directly.

    ``factory()`` starts a new server and returns it (``.uri``, ``.stop()``, ``.start()``,
    ``.kill()``); ``factory.uri`` / ``.stop()`` / ``.start()`` / ``.kill()`` act on the first.
    """

    def __init__(self, root: Path):
        self._root = root
        self.servers: list[FerretDB] = []

    def __call__(self) -> FerretDB:
        server = FerretDB(self._root / f"ferretdb-{len(self.servers)}")
        self.servers.append(server)
        return server.start()

    @property
    def server(self) -> FerretDB:
        return self.servers[0] if self.servers else self()

    @property
    def uri(self) -> str:
        return self.server.uri

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> FerretDB:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def kill(self) -> None:
        self.server.kill()

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def ferretdb_factory(tmp_path: Path) -> Iterator[FerretDBFactory]:
    """Private FerretDB processes a test may stop and restart (same port, same data)."""
    factory = FerretDBFactory(tmp_path)
    try:
        factory.server  # fail here, clearly, when the binary is missing
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield factory
    factory.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A TCP server that accepts connections and never answers."""
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def closed_port_uri() -> str:
    """A MongoDB URI on a loopback port nobody listens on."""
    from tests.servers import free_port

    return f"mongodb://127.0.0.1:{free_port()}/"


@pytest.fixture
def make_events() -> Callable[..., list]:
    """``make_events(n, type="Happened")``: n NewEvents with simple numbered payloads."""
    from model.event import NewEvent

    def make(n: int, type: str = "Happened", start: int = 1) -> list:
        return [NewEvent(type, {"n": i}) for i in range(start, start + n)]

    return make
