"""Argument parsing, usage errors and secret scrubbing: no store is opened here."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ui import cli
from ui.cli.output import table
from ui.session.secrets import scrub, secrets_of
from ui.session.text import iso, one_line, parse_moment


def test_connection_options_work_before_and_after_the_command():
    before = cli.parse_args(["--uri", "a.sqlite", "--db", "x", "--read-only", "streams", "--json"])
    after = cli.parse_args(["streams", "--json", "--uri", "a.sqlite", "--db", "x", "--read-only"])
    for args in (before, after):
        assert (args.uri, args.db, args.read_only, args.timeout, args.json) == ("a.sqlite", "x", True, 10.0, True)


def test_nested_commands_take_the_connection_options():
    args = cli.parse_args(["snapshot", "create", "user-1", "--version", "3", "--uri", "f.sqlite", "--timeout", "2.5"])
    assert (args.command, args.snapshot_command, args.stream, args.version) == ("snapshot", "create", "user-1", 3)
    assert (args.uri, args.timeout) == ("f.sqlite", 2.5)
    args = cli.parse_args(["layout", "show", "axon", "--layout", "seed"])
    assert (args.layout_command, args.name, args.layout) == ("show", "axon", "seed")


def test_no_command_means_the_gui():
    args = cli.parse_args(["--uri", "mongodb://h/db", "--layout", "axon"])
    assert args.command is None and args.layout == "axon"


def test_state_at_is_parsed_as_utc():
    args = cli.parse_args(["state", "s", "--at", "2024-03-01T12:00:00"])
    assert args.at == datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    args = cli.parse_args(["state", "s", "--at", "2024-03-01T14:00:00+02:00"])
    assert args.at == datetime(2024, 3, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "argv",
    [
        ["streams", "--bogus"],
        ["state", "s", "--version", "3", "--at", "2024-01-01"],
        ["state", "s", "--at", "yesterday"],
        ["events"],
        ["events", "s", "--format", "xml"],
        ["events", "s", "--from", "0"],
        ["diff", "s", "1"],
        ["snapshot"],
        ["snapshot", "create"],
        ["copy", "s1"],
        ["demo", "--streams", "-3"],
        ["streams", "--timeout", "0"],
        ["streams", "--sort", "colour"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_usage_exits_2_with_usage_on_stderr(argv, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage:" in captured.err and "Traceback" not in captured.err


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "snapshot" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "what"),
    [(["demo"], "write demo data"), (["snapshot", "create", "user-1"], "create a snapshot")],
)
def test_read_only_refuses_writes_before_connecting(argv, what, capsys):
    # An address nothing listens on: a refusal that tried to connect would report the server instead.
    code = cli.main([*argv, "--read-only", "--uri", "mongodb://127.0.0.1:1/x", "--timeout", "0.5"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == f"eventlens: read-only connection: refused to {what}\n"
    assert captured.out == ""


def test_passwords_are_scrubbed_from_messages():
    uri = "mongodb://alice:s3cr%40t@db.example:27017/prod"
    assert secrets_of(uri) == ["s3cr%40t", "s3cr@t"]
    text = scrub(f"cannot reach {uri}; password s3cr@t was refused", uri)
    assert "s3cr" not in text
    assert secrets_of("mongodb://db.example/prod") == []
    assert secrets_of(None) == []


def test_output_helpers():
    assert iso(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2024-01-02T03:04:05Z"
    assert iso(None) is None
    assert parse_moment("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert one_line("a\n  b\tc") == "a b c"
    assert len(one_line("x" * 1000, limit=50)) == 50
    assert table(("ID", "N"), [("a", 1), ("bbb", 22)], right=(1,)).splitlines() == ["ID    N", "a     1", "bbb  22"]
