"""main.py: no command opens the window with the connection options, a command runs the CLI instead."""
from __future__ import annotations

import json

import pytest

import main as entry


def test_no_command_opens_the_gui_with_the_connection_options(monkeypatch):
    import ui.gui.app

    calls = []
    monkeypatch.setattr(ui.gui.app, "run", lambda **options: calls.append(options) or 7)
    code = entry.main(["--uri", "mongodb://h/x", "--db", "d", "--layout", "axon", "--read-only", "--timeout", "3"])
    assert code == 7
    assert calls == [{"uri": "mongodb://h/x", "db": "d", "layout": "axon", "read_only": True, "timeout_s": 3.0}]


def test_a_command_runs_the_cli_not_the_gui(monkeypatch, tmp_path, capsys):
    import ui.gui.app

    monkeypatch.setattr(ui.gui.app, "run", lambda **options: pytest.fail("the GUI was opened"))
    path = tmp_path / "s.sqlite"
    assert entry.main(["demo", "--streams", "2", "--events-per-stream", "4", "--uri", str(path)]) == 0
    capsys.readouterr()
    assert entry.main(["streams", "--json", "--uri", str(path)]) == 0
    assert [s["events"] for s in json.loads(capsys.readouterr().out)] == [4, 4]
