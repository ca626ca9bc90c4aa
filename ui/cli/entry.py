"""The command line: the same store and model functions the GUI uses, for scripts (no Qt here).

Exit codes: 0 success; 1 a problem was found, the stream does not exist, or an expected
failure (server unreachable, login refused, read-only refusal); 2 a usage error (argparse's, or
a UsageError such as a server address without its scheme); 130 when
interrupted (Ctrl-C), as shells expect. Every expected failure is one line on stderr,
``eventlens: <message>``, without a traceback; unexpected errors are one line too unless
``EVENTLENS_DEBUG=1`` asks for the traceback. URIs are shown only through ``redact``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from model.errors import EventLensError, UsageError

PROG = "eventlens"
#: The sub-commands; main.py opens the GUI when none is given.
COMMANDS = ("demo", "streams", "events", "state", "diff", "snapshot", "check", "copy", "catalogue", "layout",
            "find", "as-of", "trace", "stats")
STREAM_SORT_KEYS = ("stream_id", "stream_type", "events", "first_time", "last_time")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _moment(text: str):
    from model.errors import UsageError
    from ui.session.text import parse_moment

    try:
        return parse_moment(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes. Sub-parsers use SUPPRESS so they only override when given.

    That lets ``eventlens --uri X streams`` and ``eventlens streams --uri X`` mean the same.
    """

    def default(value):
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection")
    group.add_argument(
        "--uri",
        default=default(None),
        help="mongodb:// or mongodb+srv:// URI, or an embedded store file path "
        "(default: $MONGODB_URI, else the embedded store at its default path)",
    )
    group.add_argument("--db", default=default(None), help="database (default: the URI's database, else eventlens)")
    group.add_argument("--layout", default=default(None), metavar="NAME|FILE", help="layout preset name or TOML file")
    group.add_argument(
        "--read-only", action="store_true", default=default(False), help="refuse every write, snapshots included"
    )
    group.add_argument(
        "--timeout", type=_seconds, default=default(10.0), metavar="SECONDS", help="server timeout (default 10)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command; no sub-command means the GUI (main.py)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Explore event-sourced histories kept in MongoDB.")
    _add_connection_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_connection_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, sub=commands) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common])

    def reducer_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--reducer", metavar="FILE", help="Python file defining evolve(state, event) (default: generic)")

    p = command("demo", "write a deterministic demo history (users and bank accounts, with snapshots)")
    p.add_argument("--streams", type=_positive_int, default=20, metavar="N", help="number of streams (default 20)")
    p.add_argument(
        "--events-per-stream", type=_positive_int, default=50, metavar="M", help="events per stream (default 50)"
    )
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")

    p = command("streams", "list streams")
    p.add_argument("--type", metavar="T", help="only streams of this exact type")
    p.add_argument("--match", metavar="PATTERN",
                   help="only stream ids containing TEXT (case-insensitive), matching a glob (account-*) "
                        "or a regular expression (/^acc-[0-9]+$/ or re:^acc)")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="at most N streams (default: all)")
    p.add_argument("--sort", choices=STREAM_SORT_KEYS, default="stream_id", metavar="KEY",
                   help="sort key: " + ", ".join(STREAM_SORT_KEYS))
    p.add_argument("--descending", action="store_true", help="sort in descending order")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--refresh", action="store_true",
                   help="a foreign store: bring its stream list cache up to date first (reads what changed)")

    p = command("events", "print a stream's events")
    p.add_argument("stream", metavar="STREAM")
    p.add_argument("--from", dest="from_version", type=_positive_int, default=1, metavar="V")
    p.add_argument("--to", dest="to_version", type=_positive_int, metavar="V")
    p.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")

    p = command("state", "print a stream's state as JSON")
    p.add_argument("stream", metavar="STREAM")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--version", type=_non_negative_int, metavar="V", help="state after event V (default: last)")
    when.add_argument("--at", type=_moment, metavar="ISO-8601",
                      help="state after the last event recorded at or before this moment (UTC if no zone)")
    reducer_option(p)
    p.add_argument("--no-snapshots", action="store_true", help="replay from the first event, ignore snapshots")

    p = command("diff", "structural diff between the states after two versions")
    p.add_argument("stream", metavar="STREAM")
    p.add_argument("v1", type=_non_negative_int, metavar="V1")
    p.add_argument("v2", type=_non_negative_int, metavar="V2")
    reducer_option(p)

    snap = command("snapshot", "create, list and verify snapshots")
    snap_commands = snap.add_subparsers(dest="snapshot_command", metavar="ACTION", required=True)
    p = command("create", "create a snapshot (never changes events)", snap_commands)
    p.add_argument("stream", metavar="STREAM")
    p.add_argument("--version", type=_positive_int, metavar="V", help="snapshot after event V (default: last)")
    reducer_option(p)
    p = command("list", "list a stream's snapshots", snap_commands)
    p.add_argument("stream", metavar="STREAM")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p = command("verify", "verify each snapshot against a full replay (exit 1 when one differs)", snap_commands)
    p.add_argument("stream", metavar="STREAM")
    reducer_option(p)

    p = command("check", "integrity report (exit 1 when a problem is found)")
    p.add_argument("stream", nargs="?", metavar="STREAM", help="one stream (default: every stream)")
    reducer_option(p)

    p = command("copy", "copy streams with their snapshots into an embedded store file")
    p.add_argument("--to", dest="target", required=True, metavar="FILE")
    p.add_argument("streams", nargs="*", metavar="STREAM", help="streams to copy (default: all)")

    cat = command("catalogue", "EventLens's stream catalogue (the index of its own appends), or with --layout "
                  "a foreign store's stream list cache")
    cat_commands = cat.add_subparsers(dest="catalogue_command", metavar="ACTION", required=True)
    command("rebuild", "bring the stream catalogue up to date from the events (writes only EventLens's own "
            "collections); with a foreign --layout, read its stream list again into the local cache", cat_commands)

    lay = command("layout", "detect or show layouts")
    lay_commands = lay.add_subparsers(dest="layout_command", metavar="ACTION", required=True)
    command("detect", "propose a layout for the database (exit 1 when not certain)", lay_commands)
    p = command("show", "print a layout preset or file", lay_commands)
    p.add_argument("name", metavar="NAME|FILE")
    # Questions across streams (issue 14). Moments, patterns and conditions are read by the command
    # itself, so a bad one is one line on stderr (exit 2), not argparse's usage text.
    p = command("find", "search events across all streams")
    p.add_argument("--stream-type", metavar="T", help="only streams of this exact type")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="T",
                   help="event type (repeat for several; /regex/ or re:regex for a regular expression)")
    p.add_argument("--stream", metavar="PATTERN", help="stream id: text, glob (account-*) or /regex/")
    p.add_argument("--since", metavar="ISO", help="events recorded at or after this moment (UTC if no zone)")
    p.add_argument("--until", metavar="ISO", help="events recorded at or before this moment")
    p.add_argument("--where", metavar="JSON",
                   help='conditions in MongoDB query syntax over stream_id, stream_type, version, type, time, '
                        'data.*, metadata.* (e.g. \'{"data.amount": {"$gt": 10000}}\')')
    p.add_argument("--sort", choices=("time", "stream"), default="time", help="by time (default) or by stream and version")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="at most N events (default: all)")
    p.add_argument("--format", choices=("table", "ndjson", "csv"), default="table")

    p = command("as-of", "the state of every stream (of a type or pattern) at a moment, or at its end")
    p.add_argument("moment", metavar="ISO|latest")
    p.add_argument("--stream-type", metavar="T")
    p.add_argument("--stream", metavar="PATTERN", help="stream id: text, glob or /regex/")
    reducer_option(p)
    p.add_argument("--no-snapshots", action="store_true", help="fold from the first event, ignore snapshots")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="processes (default: one per core)")
    p.add_argument("--format", choices=("table", "csv", "ndjson"), default="table")

    p = command("trace", "every event sharing an event's correlation id, as a causation tree")
    p.add_argument("stream", metavar="STREAM")
    p.add_argument("version", type=_positive_int, metavar="VERSION")
    p.add_argument("--format", choices=("tree", "ndjson"), default="tree")

    p = command("stats", "statistics per stream type (kept per connection; --refresh computes them again)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--refresh", action="store_true", help="compute again instead of using the kept figures")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; exits 2 on usage errors, as argparse does."""
    return build_parser().parse_args(list(argv))


# -- running -----------------------------------------------------------------------


def _fail(message: str, uri: str | None) -> None:
    from ui.session.secrets import scrub
    from ui.session.text import one_line

    sys.stderr.write(f"{PROG}: {one_line(scrub(message, uri))}\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def _driver_message(error: Exception) -> str | None:
    """A one-line meaning for a pymongo error that reached us unwrapped; None for other errors."""
    module = type(error).__module__ or ""
    if not module.startswith(("pymongo", "bson")):
        return None
    name = type(error).__name__
    if name in ("ServerSelectionTimeoutError", "AutoReconnect", "NetworkTimeout", "ConnectionFailure"):
        return f"server unreachable: {error}"
    if name == "OperationFailure" and getattr(error, "code", None) in (13, 18):
        return f"login refused or not permitted: {error}"
    return f"database error ({name}): {error}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code (usage errors 2, problems and failures 1)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # --help (0) and usage errors (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command is None:
        build_parser().print_usage(sys.stderr)
        sys.stderr.write(f"{PROG}: error: a command is required here (main.py opens the GUI without one)\n")
        return 2
    uri = args.uri
    try:
        from ui.cli.commands import run_command

        return run_command(args)
    except UsageError as error:
        _fail(str(error), uri)
        return 2
    except EventLensError as error:
        _fail(str(error), uri)
        return 1
    except KeyboardInterrupt:
        _fail("interrupted", uri)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        _fail("output closed before the command finished (broken pipe)", uri)
        return 1
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("EVENTLENS_DEBUG") == "1":
            raise
        known = _driver_message(error)
        if known is not None:
            _fail(known, uri)
        else:
            _fail(f"unexpected error: {type(error).__name__}: {error} (EVENTLENS_DEBUG=1 shows the traceback)", uri)
        return 1


if __name__ == "__main__":
    sys.exit(main())
