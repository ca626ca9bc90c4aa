"""Reliability fixtures: a GUI window with its settings in a tmp dir, stopped cleanly afterwards."""
from __future__ import annotations

import pytest


@pytest.fixture
def window(qtbot, tmp_path):
    """A main window with its settings in a tmp ini file; fails the test if a worker thread is left running."""
    pytest.importorskip("PySide6")
    from ui.gui.main_window import MainWindow
    from ui.gui.settings import Settings

    settings = Settings(str(tmp_path / "settings" / "eventlens.ini"))
    w = MainWindow(settings, live_interval_ms=200)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    from ui.gui.worker import live_workers

    assert not live_workers(), "a worker thread was left running"
