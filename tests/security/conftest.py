"""Security fixtures: a FerretDB that enforces logins, a unique secret per test, and a GUI window."""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

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


@pytest.fixture
def window(qtbot, tmp_path):
    """A main window with its settings in a tmp ini file; stopped cleanly afterwards."""
    pytest.importorskip("PySide6")
    from ui.main_window import MainWindow
    from ui.settings import Settings

    settings = Settings(str(tmp_path / "settings" / "eventlens.ini"))
    w = MainWindow(settings, live_interval_ms=200)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    from ui.workers import live_workers

    assert not live_workers(), "a worker thread was left running"
