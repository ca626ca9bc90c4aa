"""main.py's dispatch to the CLI, the last-resort error handling, timeouts and progress."""
from __future__ import annotations

import io

import pytest

import main as entry
from ui.cli import commands as cli_commands
from ui.cli.output import Progress


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
