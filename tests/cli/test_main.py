"""main.py's dispatch (GUI or CLI), the last-resort error handling, timeouts and progress."""
from __future__ import annotations

import io
import json

import pytest

import main as entry
from ui.cli import commands as cli_commands
from ui.cli.output import Progress


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


def test_usage_errors_exit_2_through_main(capsys):
    assert entry.main(["--timeout", "soon"]) == 2
    assert "usage:" in capsys.readouterr().err


def boom(args):
    raise RuntimeError("wires crossed\nsecond line")


def test_unexpected_errors_are_one_line(monkeypatch, cli):
    monkeypatch.setitem(cli_commands.COMMAND_FUNCTIONS, "streams", boom)
    monkeypatch.delenv("EVENTLENS_DEBUG", raising=False)
    result = cli("streams")
    assert result.code == 1
    assert result.err == ("eventlens: unexpected error: RuntimeError: wires crossed second line "
                          "(EVENTLENS_DEBUG=1 shows the traceback)\n")


def test_debug_lets_the_traceback_through(monkeypatch, cli):
    monkeypatch.setitem(cli_commands.COMMAND_FUNCTIONS, "streams", boom)
    monkeypatch.setenv("EVENTLENS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="wires crossed"):
        cli("streams")


def test_interrupt_is_one_line_and_130(monkeypatch, cli):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli_commands.COMMAND_FUNCTIONS, "streams", interrupted)
    result = cli("streams")
    assert (result.code, result.err) == (130, "eventlens: interrupted\n")


def test_a_server_that_never_answers_ends_in_one_line(silent_server, cli):
    result = cli("streams", "--uri", silent_server.uri, "--timeout", "1")
    assert result.code == 1
    assert result.err.startswith("eventlens: ") and result.err.count("\n") == 1
    assert "Traceback" not in result.err


def test_a_closed_port_ends_in_one_line(closed_port_uri, cli):
    result = cli("events", "user-1", "--uri", closed_port_uri, "--timeout", "1")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("eventlens: ") and result.err.count("\n") == 1


def test_progress_reports_on_stderr_only_when_due():
    stream = io.StringIO()
    quiet = Progress("events written", 100, stream=stream, every=3600)
    quiet.update(50)
    assert stream.getvalue() == ""
    chatty = Progress("events written", 100, stream=stream, every=0)
    chatty.update(50)
    chatty.finish()
    assert stream.getvalue().startswith("events written: 50/100 (")
    assert stream.getvalue().endswith("/s)\n")
