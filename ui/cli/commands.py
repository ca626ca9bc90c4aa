"""What each command does: turn the options into a session call and print what it returns.

Results go to stdout, progress and notes (which snapshot was used, how many events were
folded) to stderr, so that stdout can be piped into other tools. The use cases themselves
live in ``ui.session``; nothing here reads or folds on its own.
"""
from __future__ import annotations

import argparse
import sys
from itertools import chain
from typing import Any, Callable

from model.errors import EventLensError, ReadOnlyError, StreamNotFound, UsageError
from model.event import Snapshot, StreamInfo
from model.ports import EventSource
from ui.cli.output import Progress, table
from ui.session import export
from ui.session.connection import Connection, certain_layout, coverage_of, detected_note
from ui.session.streams import every_stream
from ui.session.text import iso, plural

CREATED_BY = "eventlens cli"
#: A stream list answered from a foreign store's cache says its age on stderr when older than this.
CACHE_AGE_NOTE_S = 60.0


class CommandError(EventLensError):
    """A request the CLI cannot honour (a version past the end of a stream, a wrong target)."""


# -- helpers -----------------------------------------------------------------------------


def out(text: str) -> None:
    """One piece of the result on stdout."""
    sys.stdout.write(text)


def note(text: str) -> None:
    """A remark for the person at the terminal, on stderr."""
    sys.stderr.write(text + "\n")


def connection_of(args: argparse.Namespace, *, read_only: bool | None = None) -> Connection:
    """The connection the options name (``--uri``, else ``$MONGODB_URI``, else the default embedded store)."""
    return Connection(uri=args.uri or "", db=args.db or "", layout=args.layout or "",
                      read_only=args.read_only if read_only is None else read_only, timeout_s=args.timeout)


def open_from(args: argparse.Namespace, *, read_only: bool | None = None, create: bool = False,
              reading: bool = True, detect: bool = True, note_coverage: bool = True) -> EventSource:
    """Open the store the options name, detecting a MongoDB database's layout when none is given.

    Only ``create`` makes an embedded store file that does not exist. For ``reading`` commands
    a store without events is an error naming the databases on the server that hold some. A
    store whose catalogue does not cover its events is noted once on stderr. A foreign store's
    stream list cache, when there is one, is first brought up to date as far as it is cheap
    (``update_catalogue(quick=True)``: the collections' counts, then only what was written since).
    """
    from store.connect import explain_empty

    connection = connection_of(args, read_only=read_only)
    # detection reports an unreachable server or a refused login in one line
    layout = certain_layout(connection) if detect else (connection.layout or None)
    store = connection.open(layout=layout, create=create)
    try:
        detected = detected_note(connection, layout)
        if detected:
            note(detected)
        if reading:
            uri = connection.full_uri() if connection.is_mongo else None
            empty = explain_empty(store, uri, timeout_s=args.timeout)
            if empty is not None:
                raise CommandError(empty)
        coverage = coverage_of(store)
        if coverage and note_coverage:
            note(coverage)
        catalogue = store.catalogue() if reading else None
        if catalogue is not None and catalogue.ready:
            catalogue = _with_progress(lambda report: store.update_catalogue(quick=True, progress=report),
                                       "new documents read for the stream list")
            if catalogue is not None and catalogue.note:
                note(catalogue.note)
    except BaseException:
        store.close()
        raise
    return store


def _with_progress(work, label: str):
    progress = Progress(label)

    def report(done: int, total: int, what: str = "") -> None:
        progress.total = total or None
        progress.update(done)

    try:
        return work(report)
    finally:
        progress.finish()


def prepare_stream_list(store: EventSource, *, refresh: bool = False) -> None:
    """A foreign store's stream list: its cache built once (or brought up to date: ``refresh``), with
    progress, and its age said when it is old."""
    catalogue = store.catalogue()
    if catalogue is None:
        return
    if refresh or not catalogue.ready:
        catalogue = _with_progress(lambda report: store.update_catalogue(progress=report),
                                   "documents read for the stream list")
        if catalogue is not None and catalogue.note:
            note(catalogue.note)
    age = catalogue.age() if catalogue is not None else None
    if age is not None and age > CACHE_AGE_NOTE_S:
        note(f"{catalogue.describe()}; --refresh reads what changed since")


def reducer_from(args: argparse.Namespace):
    """The reducer the user named with --reducer, or the generic one; loading is always explicit."""
    from model.reducer import default_reducer, load_reducer

    path = getattr(args, "reducer", None)
    return load_reducer(path) if path else default_reducer()


def require_stream(store: EventSource, stream_id: str) -> StreamInfo:
    """The stream's summary; StreamNotFound (exit 1) when it does not exist."""
    info = store.stream(stream_id)
    if info is None:
        raise StreamNotFound(stream_id)
    return info


def refuse_if_read_only(args: argparse.Namespace, what: str) -> None:
    """Refuse a write before any connection is made, so nothing reaches the server."""
    if args.read_only:
        raise ReadOnlyError(what)


# -- commands ----------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo history into an empty store (``ui.session.demo.write_demo``)."""
    refuse_if_read_only(args, "write demo data")
    from ui.session.demo import write_demo
    from ui.session.jobs import Task

    progress = Progress("demo events written", args.streams * args.events_per_stream)
    task = Task("demo", progress=lambda done, total, what: progress.update(done))
    with open_from(args, create=True, reading=False) as store:
        written = write_demo(store, streams=args.streams, events_per_stream=args.events_per_stream, seed=args.seed,
                             reducer=reducer_from(args), task=task)
        progress.finish()
        out(f"wrote {plural(written.streams, 'stream')}, {plural(written.events, 'event')}, "
            f"{plural(written.snapshots, 'snapshot')} (seed {args.seed}) to {store.describe()}\n")
    return 0


def stream_record(info: StreamInfo) -> dict[str, Any]:
    """A stream as one JSON object (times as ISO-8601)."""
    return {
        "stream_id": info.stream_id,
        "stream_type": info.stream_type,
        "events": info.events,
        "first_version": info.first_version,
        "last_version": info.last_version,
        "first_time": iso(info.first_time),
        "last_time": iso(info.last_time),
    }


def cmd_streams(args: argparse.Namespace) -> int:
    """List streams, filtered and sorted by the store (index-backed), all of them unless --limit."""
    filters = {"type": args.type, "match": args.match}
    with open_from(args) as store:
        prepare_stream_list(store, refresh=getattr(args, "refresh", False))
        page_size = min(1000, args.limit) if args.limit else 1000
        listing = every_stream(store, page_size=page_size, sort=args.sort, descending=args.descending, **filters)
        infos = [info for _, info in zip(range(args.limit), listing)] if args.limit else list(listing)
        if args.json:
            out(export.pretty([stream_record(i) for i in infos]))
        else:
            headers = ("STREAM", "TYPE", "EVENTS", "FIRST", "LAST", "FIRST TIME", "LAST TIME")
            rows = [(i.stream_id, i.stream_type, f"{i.events:,}", f"{i.first_version:,}", f"{i.last_version:,}",
                     iso(i.first_time), iso(i.last_time)) for i in infos]
            out(table(headers, rows, right=(2, 3, 4)) + "\n")
        if args.limit and len(infos) == args.limit:
            total = store.count_streams(**filters)
            if total > len(infos):
                note(f"showing {len(infos):,} of {plural(total, 'stream')}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Stream a stream's events to stdout batch by batch, exactly as the window exports them."""
    if args.to_version is not None and args.to_version < args.from_version:
        raise UsageError(f"--from {args.from_version} is after --to {args.to_version}")
    with open_from(args) as store:
        require_stream(store, args.stream)
        batches = store.read(args.stream, from_version=args.from_version, to_version=args.to_version)
        export.write_events(batches, sys.stdout, args.format)
    return 0


def describe_reconstruction(stream_id: str, result) -> str:
    start = (f"snapshot at version {result.snapshot.version:,}" if result.snapshot is not None
             else "the first event (no snapshot used)")
    return f"{stream_id}: state at version {result.version:,}, from {start}, folded {plural(result.folded, 'event')}"


def cmd_state(args: argparse.Namespace) -> int:
    """Print the state as JSON; --at means the state after the last event recorded at or before it.

    A moment before the first event is an error, as the window treats it: there is no state then.
    """
    from model.reconstruct import reconstruct

    reducer = reducer_from(args)
    with open_from(args) as store:
        info = require_stream(store, args.stream)
        if args.at is not None:
            version = store.version_at(args.stream, args.at)
            if version < 1:
                first = f" (its first event is at {iso(info.first_time)})" if info.first_time else ""
                raise CommandError(f"stream {args.stream!r} has no event at or before {iso(args.at)}{first}")
        result = reconstruct(store, args.stream, reducer, version=args.version, at=args.at,
                             use_snapshots=not args.no_snapshots)
        out(export.state_text(result.state))
        note(describe_reconstruction(args.stream, result))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the structural diff (added, removed, changed paths) from the state after V1 to after V2."""
    from model.diff import diff
    from model.reconstruct import reconstruct
    from store.codec import to_jsonable

    reducer = reducer_from(args)
    with open_from(args) as store:
        require_stream(store, args.stream)
        old = reconstruct(store, args.stream, reducer, version=args.v1)
        new = reconstruct(store, args.stream, reducer, version=args.v2)
        out(export.pretty(diff(old.state, new.state).to_dict(to_jsonable)))
    return 0


def snapshot_record(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "stream_id": snapshot.stream_id,
        "version": snapshot.version,
        "reducer": {"name": snapshot.reducer.name, "fingerprint": snapshot.reducer.fingerprint},
        "created_at": iso(snapshot.created_at),
        "created_by": snapshot.created_by,
        "foreign": snapshot.foreign,
    }


def cmd_snapshot(args: argparse.Namespace) -> int:
    return {"create": snapshot_create, "list": snapshot_list, "verify": snapshot_verify}[args.snapshot_command](args)


def snapshot_create(args: argparse.Namespace) -> int:
    """Take a snapshot with the chosen reducer and save it where the store keeps EventLens's snapshots."""
    refuse_if_read_only(args, "create a snapshot")
    from ui.session.snapshots import create_snapshot, snapshot_target

    reducer = reducer_from(args)
    with open_from(args) as store:
        require_stream(store, args.stream)
        created = create_snapshot(store, args.stream, reducer, version=args.version, created_by=CREATED_BY)
        snapshot = created.snapshot
        what = "created" if created.saved else "already existed:"
        out(f"{what} snapshot of {args.stream} at version {snapshot.version:,} "
            f"(reducer {snapshot.reducer.name} {snapshot.reducer.fingerprint[:12]}) in {snapshot_target(store).where}\n")
    return 0


def snapshot_list(args: argparse.Namespace) -> int:
    """A stream's snapshots, by version."""
    with open_from(args) as store:
        require_stream(store, args.stream)
        snapshots = store.snapshots(args.stream)
        if args.json:
            out(export.pretty([snapshot_record(s) for s in snapshots]))
        else:
            rows = [(f"{s.version:,}", s.reducer.name, s.reducer.fingerprint[:12], iso(s.created_at), s.created_by,
                     "yes" if s.foreign else "") for s in snapshots]
            out(table(("VERSION", "REDUCER", "FINGERPRINT", "CREATED", "BY", "FOREIGN"), rows, right=(0,)) + "\n")
    return 0


def snapshot_verify(args: argparse.Namespace) -> int:
    """Compare every snapshot with a full replay by the chosen reducer; exit 1 when any differs."""
    from model.snapshot import verify_snapshot
    from store.codec import to_jsonable

    reducer = reducer_from(args)
    bad = 0
    with open_from(args) as store:
        require_stream(store, args.stream)
        snapshots = store.snapshots(args.stream)
        for snapshot in snapshots:
            verdict = verify_snapshot(store, snapshot, reducer)
            label = f"{snapshot.stream_id} version {snapshot.version:,} ({snapshot.reducer.name})"
            if verdict.error:
                bad += 1
                out(f"{label}: ERROR {verdict.error}\n")
            elif not verdict.ok:
                bad += 1
                out(f"{label}: DIFFERS\n")
                if verdict.diff is not None:
                    out(export.pretty(verdict.diff.to_dict(to_jsonable)))
            else:
                out(f"{label}: ok\n")
        note(f"{plural(len(snapshots), 'snapshot')} checked, {bad:,} differ" if snapshots
             else f"{args.stream}: no snapshots")
    return 1 if bad else 0


def check_one(store: EventSource, stream_id: str, reducer) -> list:
    """The stream's problems: its events in order, then where EventLens's catalogue disagrees with them."""
    from model.integrity import catalogue_problem, check_stream

    problems = check_stream(chain.from_iterable(store.read(stream_id)), reducer)
    disagreement = catalogue_problem(store.stream(stream_id))
    return problems + ([disagreement] if disagreement is not None else [])


def cmd_check(args: argparse.Namespace) -> int:
    """Integrity report: one line per problem, then a summary; exit 1 when any is found."""
    reducer = reducer_from(args)
    problems = []
    with open_from(args) as store:
        if args.stream is not None:
            require_stream(store, args.stream)
            stream_ids: Any = [args.stream]
            total = 1
        else:
            prepare_stream_list(store)
            total = store.count_streams()
            stream_ids = (info.stream_id for info in every_stream(store))
        progress = Progress("streams checked", total)
        checked = 0
        for stream_id in stream_ids:
            found = check_one(store, stream_id, reducer)
            for problem in found:
                out(f"{problem.stream_id} version {problem.version}: {problem.category}: {problem.message}\n")
            problems.extend(found)
            checked += 1
            progress.update(checked)
        progress.finish()
    note(f"checked {plural(checked, 'stream')}: {plural(len(problems), 'problem') if problems else 'no problems'}")
    return 1 if problems else 0


def cmd_copy(args: argparse.Namespace) -> int:
    """Copy streams with their snapshots into an embedded store file (the source is only read)."""
    from store.connect import open_store
    from store.copy import copy_streams

    if "://" in args.target:
        raise CommandError("copy --to takes an embedded store file path, not a server URI")
    with open_from(args) as source:
        for stream_id in args.streams:
            require_stream(source, stream_id)
        with open_store(args.target, timeout_s=args.timeout, create=True) as target:
            progress = Progress("events copied")

            def report(copied: int, total: int) -> None:
                progress.total = total
                progress.update(copied)

            result = copy_streams(source, target, args.streams or None, progress=report)
            progress.finish()
            out(f"copied {plural(result.streams, 'stream')}, {plural(result.events, 'event')}, "
                f"{plural(result.snapshots, 'snapshot')} to {target.describe()}\n")
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    return {"rebuild": catalogue_rebuild}[args.catalogue_command](args)


def catalogue_rebuild(args: argparse.Namespace) -> int:
    """Bring EventLens's stream catalogue up to date from the events; refused before connecting when read-only.

    With a foreign layout it reads the stream list again into EventLens's local cache of it (the
    tool's database is only read, so a read-only connection may do it too).
    """
    if args.layout is not None and str(args.layout) != "eventlens":
        return cache_rebuild(args)
    refuse_if_read_only(args, "rebuild the stream catalogue")
    with open_from(args, detect=False, reading=False, note_coverage=False) as store:
        rebuild = getattr(store, "rebuild_catalogue", None)
        if rebuild is None:
            raise CommandError(f"{store.describe()} has no stream catalogue to rebuild")
        progress = Progress("streams catalogued")

        def report(done: int, total: int) -> None:
            progress.total = total
            progress.update(done)

        result = rebuild(progress=report)
        progress.finish()
        out(f"catalogued {plural(result.streams, 'stream')}, {plural(result.events, 'event')} "
            f"({result.added:,} added, {result.updated:,} updated, {result.removed:,} removed) in {store.describe()}\n")
    return 0


def cache_rebuild(args: argparse.Namespace) -> int:
    """Read a foreign store's stream list again, into its local cache file."""
    with open_from(args, detect=False, reading=False, note_coverage=False) as store:
        if store.catalogue() is None:
            raise CommandError(f"{store.describe()} keeps no stream list cache to rebuild")
        catalogue = _with_progress(lambda report: store.update_catalogue(full=True, progress=report),
                                   "documents read for the stream list")
        if catalogue is None or not catalogue.ready:
            raise CommandError(catalogue.note if catalogue is not None and catalogue.note
                               else "the stream list cache could not be written")
        out(f"read the stream list again: {plural(catalogue.streams or 0, 'stream')} in {store.describe()}, "
            f"cached in {catalogue.path}\n")
    return 0


def cmd_layout(args: argparse.Namespace) -> int:
    return {"detect": layout_detect, "show": layout_show}[args.layout_command](args)


def layout_detect(args: argparse.Namespace) -> int:
    """Print the proposed layout as TOML, with a confidence and reason per field; exit 1 when not certain."""
    from store.connect import detect_proposal

    connection = connection_of(args, read_only=True)
    if not connection.is_mongo and not (not connection.uri and connection.embedded_path() is None):
        raise CommandError("layout detect reads a MongoDB database: give --uri mongodb://... "
                           "(an embedded store file always has EventLens's own layout)")
    proposal = detect_proposal(connection.full_uri() or None, connection.db or None, timeout_s=connection.timeout_s)
    out(proposal.to_toml().rstrip("\n") + "\n")
    if not proposal.certain:
        undecided = ", ".join(proposal.undecided_fields) or "unknown"
        note(f"detection is not certain; undecided fields: {undecided}")
        return 1
    return 0


def layout_show(args: argparse.Namespace) -> int:
    """Print a preset (or a layout file) as TOML."""
    from store.layout import load_layout

    out(load_layout(args.name).to_toml().rstrip("\n") + "\n")
    return 0


COMMAND_FUNCTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "streams": cmd_streams,
    "events": cmd_events,
    "state": cmd_state,
    "diff": cmd_diff,
    "snapshot": cmd_snapshot,
    "check": cmd_check,
    "copy": cmd_copy,
    "catalogue": cmd_catalogue,
    "layout": cmd_layout,
}


def _questions() -> dict[str, Callable[[argparse.Namespace], int]]:
    from ui.cli import questions

    return {"find": questions.cmd_find, "as-of": questions.cmd_as_of, "trace": questions.cmd_trace,
            "stats": questions.cmd_stats}


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; EventLensError and friends are turned into one line by the caller."""
    command = COMMAND_FUNCTIONS.get(args.command) or _questions()[args.command]
    result = command(args)
    sys.stdout.flush()
    return result
