"""Fixtures for CLI tests: a connection to each backend, a known history, and ways to run the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


@dataclass
class Connection:
    """Where the CLI under test reads: ``args`` are the connection options for the command line."""

    backend: str
    uri: str
    db: str | None
    args: list[str] = field(default_factory=list)

    def open(self, **options):
        """Open the same store from Python, to set data up or inspect it directly."""
        from store.connect import open_store

        return open_store(self.uri, self.db, **{"create": True, **options})


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(params=["embedded", "mongo"])
def connection(request: pytest.FixtureRequest, tmp_path: Path) -> Connection:
    """An empty store of each backend, as CLI options: every CLI test runs on both."""
    if request.param == "embedded":
        path = str(tmp_path / "cli-store.sqlite")
        return Connection("embedded", path, None, ["--uri", path])
    uri = request.getfixturevalue("mongo_uri")
    db = request.getfixturevalue("mongo_db_name")
    return Connection("mongo", uri, db, ["--uri", uri, "--db", db])


@pytest.fixture
def other_connection(connection: Connection, tmp_path: Path, mongo_client_factory) -> Connection:
    """A second empty store of the same backend."""
    if connection.backend == "embedded":
        path = str(tmp_path / "other-store.sqlite")
        return Connection("embedded", path, None, ["--uri", path])
    db = mongo_client_factory()
    return Connection("mongo", connection.uri, db, ["--uri", connection.uri, "--db", db])


@pytest.fixture
def mongo_client_factory(request: pytest.FixtureRequest):
    """Extra fresh database names on the test server, dropped at the end of the test."""
    names: list[str] = []

    def make() -> str:
        names.append(f"test_cli_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    if names:
        client = request.getfixturevalue("mongo_client")
        for name in names:
            client.drop_database(name)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Callable[..., Result]:
    """Run ``ui.cli.main()`` in this process; return its exit code and what it wrote."""
    from ui.cli import main

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_process(*argv: str, env: dict | None = None, timeout: float = 120) -> Result:
    """Run ``python main.py ...`` as a real process, as a user would."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    environment.pop("EVENTLENS_DEBUG", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, argv)],
        capture_output=True, text=True, cwd=ROOT, env=environment, timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def user_events():
    """user-1's history: created, renamed, updated, deleted, an hour apart."""
    from model.event import NewEvent

    return [
        NewEvent("UserCreated", {"id": 1, "name": "Ada"}, {"user": "admin"}, T0),
        NewEvent("UserRenamed", {"name": "Ada L."}, {"user": "admin"}, T0 + timedelta(hours=1)),
        NewEvent("UserUpdated", {"email": "ada@example.org", "tags": ["math", "engines"]}, {}, T0 + timedelta(hours=2)),
        NewEvent("UserDeleted", {}, {"reason": "request"}, T0 + timedelta(hours=3)),
    ]


def bson_payload(backend: str = "embedded") -> dict:
    """One value of each BSON type the codec must carry losslessly.

    FerretDB v1 cannot store Decimal128 (the MongoStore refuses it with a located error), so
    the MongoDB backend gets it only in the embedded case's payload.
    """
    from bson import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp
    from bson.binary import UuidRepresentation

    payload = {
        "oid": ObjectId("65e1a2b3c4d5e6f708192a3b"),
        "amount": Decimal128("1234.5600"),
        "big": Int64(2**40),
        "when": datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=timezone.utc),
        "uuid": Binary.from_uuid(uuid.UUID("12345678-1234-5678-1234-567812345678"), UuidRepresentation.STANDARD),
        "bytes": Binary(b"\x00\x01\xfe\xff"),
        "pattern": Regex("^ada", "i"),
        "ts": Timestamp(1700000000, 7),
        "nested": {"list": [1, 2.5, "three", None, True]},
        "text": 'comma, "quote"\nnewline',
    }
    if backend != "embedded":
        del payload["amount"]
    return payload


@pytest.fixture
def seeded(connection: Connection) -> Connection:
    """The connection's store holding user-1 (4 events), user-2 (1) and blob-1 (BSON types)."""
    from model.event import NewEvent

    with connection.open() as store:
        store.append("user-1", user_events(), 0, stream_type="user")
        store.append("user-2", [NewEvent("UserCreated", {"id": 2, "name": "Grace"}, {}, T0 + timedelta(minutes=10))],
                     0, stream_type="user")
        store.append("blob-1", [NewEvent("ThingRecorded", bson_payload(connection.backend), {"correlation": bson_payload()["uuid"]},
                                         T0 + timedelta(minutes=20))], 0, stream_type="blob")
    return connection
