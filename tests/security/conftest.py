"""Security fixtures: a FerretDB that enforces logins, a unique secret per test, and a GUI window."""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from tests.reliability.conftest import window  # noqa: F401  (the same GUI window fixture)
from tests.reliability.servers import auth_ferretdb


@pytest.fixture
def auth_server(tmp_path: Path):
    """A private FerretDB that refuses wrong passwords (FerretDB v1.24 --test-enable-new-auth)."""
    server = auth_ferretdb(tmp_path / "auth-ferretdb")
    yield server
    server.stop()


@pytest.fixture
def secret() -> str:
    """A password nobody else uses, so any hit in any output is a leak."""
    return f"Sekr3t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def all_logs(caplog):
    """Every log record of every logger, down to DEBUG (pymongo's command logging included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("pymongo", "pymongo.command", "pymongo.connection", "pymongo.serverSelection", "ui", "store", "model"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog
