"""What each CLI command does: open the store, call the model, print the result.

Results go to stdout, progress and notes (which snapshot was used, how many events were
folded) to stderr, so that stdout can be piped into other tools.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from itertools import chain, islice
from typing import Any, Callable, Iterator, Sequence

from model.errors import ConflictError, EventLensError, ReadOnlyError, StreamNotFound
from model.event import Snapshot, StreamInfo
from store.codec import dumps_json, to_jsonable
from ui.cli.output import Progress, event_record, iso, table

#: Events per append in ``demo``: large enough to be fast, small enough to bound memory.
DEMO_CHUNK = 5000
#: Streams per page when listing or checking every stream.
PAGE = 1000
CREATED_BY = "eventlens cli"


class CommandError(EventLensError):
    """A request the CLI cannot honour (a version past the end of a stream, a wrong target)."""


# -- helpers -----------------------------------------------------------------------------


def out(text: str) -> None:
    """One piece of the result on stdout."""
    sys.stdout.write(text)


def note(text: str) -> None:
    """A remark for the person at the terminal, on stderr."""
    sys.stderr.write(text + "\n")


def server_uri(args: argparse.Namespace) -> str | None:
    """The MongoDB URI the options name (``--uri``, else ``$MONGODB_URI``), or None for an embedded store."""
    from store.uri import is_mongodb_uri

    uri = args.uri if args.uri is not None else os.environ.get("MONGODB_URI")
    return uri if uri and is_mongodb_uri(uri) else None


def database_name(args: argparse.Namespace, uri: str) -> str:
    from store.connect import DEFAULT_DB
    from store.uri import database

    return args.db or database(uri) or DEFAULT_DB


@contextlib.contextmanager
def raw_database(uri: str, name: str, timeout_s: float) -> Iterator[Any]:
    """A pymongo Database for detection (which samples any collection), closed afterwards."""
    from pymongo import MongoClient

    from store.codec import CODEC_OPTIONS

    ms = max(1, int(timeout_s * 1000))
    client = MongoClient(uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms,
                         tz_aware=True, uuidRepresentation="standard", appname="EventLens CLI")
    try:
        yield client.get_database(name, codec_options=CODEC_OPTIONS)
    finally:
        client.close()


def detected_layout(args: argparse.Namespace, uri: str) -> Any:
    """The layout for a database when --layout is not given: None for the native layout.

    A database with EventLens's stream catalogue, or with no collections yet, is native (so
    ``demo`` can fill a new one). Otherwise detection decides; when it is not certain the
    command stops and names the fields it could not decide, instead of guessing.
    """
    from model.errors import LayoutError
    from store.connect import propose_layout

    name = database_name(args, uri)
    proposal = propose_layout(uri, name, timeout_s=args.timeout)
    if proposal is None:
        return None
    if not proposal.certain or proposal.layout is None:
        undecided = ", ".join(proposal.undecided_fields) or "unknown"
        raise LayoutError(f"database {name!r} is not in EventLens's layout and detection is not certain "
                          f"(undecided: {undecided}); give --layout NAME|FILE (see `eventlens layout detect`)")
    note(f"using the detected layout {proposal.preset or proposal.layout.name!r} for database {name!r}")
    return proposal.preset or proposal.layout


def open_from(args: argparse.Namespace, *, read_only: bool | None = None, detect: bool = True,
              create: bool = False, reading: bool = True, note_coverage: bool = True):
    """Open the store the connection options name, detecting a MongoDB database's layout if none is given.

    Only ``create`` makes an embedded store file that does not exist. For ``reading``
    commands, a store without events is an error naming the databases on the server that hold
    some. A store whose catalogue does not cover its events is noted once on stderr.
    """
    from store.connect import explain_empty, open_store

    layout = args.layout
    uri = server_uri(args)
    if layout is None and uri is not None and detect:
        layout = detected_layout(args, uri)  # reports an unreachable server or a refused login in one line
    store = open_store(
        args.uri,
        args.db,
        layout=layout,
        read_only=args.read_only if read_only is None else read_only,
        timeout_s=args.timeout,
        create=create,
    )
    try:
        if reading:
            empty = explain_empty(store, uri, timeout_s=args.timeout)
            if empty is not None:
                raise CommandError(empty)
        coverage = store.coverage()
        if not coverage.complete and note_coverage:
            note(coverage.message)
    except BaseException:
        store.close()
        raise
    return store


def reducer_from(args: argparse.Namespace):
    """The reducer the user named with --reducer, or the generic one; loading is always explicit."""
    from model.reducer import default_reducer, load_reducer

    path = getattr(args, "reducer", None)
    return load_reducer(path) if path else default_reducer()


def require_stream(store, stream_id: str) -> StreamInfo:
    """The stream's summary; StreamNotFound (exit 1) when it does not exist."""
    info = store.stream(stream_id)
    if info is None:
        raise StreamNotFound(stream_id)
    return info


def refuse_if_read_only(args: argparse.Namespace, what: str) -> None:
    """Refuse a write before any connection is made, so nothing reaches the server."""
    if args.read_only:
        raise ReadOnlyError(what)


def plural(count: int, noun: str) -> str:
    """``1 stream``, ``2 streams``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def pretty(value: Any) -> str:
    """Indented JSON text (BSON values in the codec's lossless form), ending in a newline."""
    return dumps_json(to_jsonable(value), pretty=True).decode("utf-8") + "\n"


def compact(value: Any) -> str:
    """One-line JSON text (BSON values in the codec's lossless form)."""
    return dumps_json(to_jsonable(value)).decode("utf-8")


def all_streams(store, *, page_size: int = PAGE, **filters: Any) -> Iterator[StreamInfo]:
    """Every stream the filter gives, a page at a time."""
    offset = 0
    while True:
        page = store.streams(offset=offset, limit=page_size, **filters)
        yield from page
        if len(page) < page_size:
            return
        offset += len(page)


# -- commands ----------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo history through ``append`` (expected versions, chunks), then its snapshots.

    The store must not hold the demo's streams already: each stream's first append expects
    version 0, so a second run into the same store stops at its first stream with a one-line
    error and writes nothing. An interrupted run keeps the chunks already appended.
    """
    refuse_if_read_only(args, "write demo data")
    from model.demo import demo_streams
    from model.snapshot import take_snapshot

    reducer = reducer_from(args)
    total = args.streams * args.events_per_stream
    progress = Progress("demo events written", total)
    written_events = written_streams = written_snapshots = 0
    with open_from(args, create=True, reading=False) as store:
        plans = []
        for demo in demo_streams(args.streams, args.events_per_stream, args.seed):
            stream_id, stream_type, events = demo.stream_id, demo.stream_type, demo.events
            plans.append((stream_id, demo.snapshot_at))
            version = 0
            while chunk := list(islice(events, DEMO_CHUNK)):
                try:
                    version = store.append(stream_id, chunk, version, stream_type=stream_type)
                except ConflictError as conflict:
                    if conflict.expected == 0:
                        raise CommandError(
                            f"the store already holds stream {stream_id!r}; demo writes into an empty store "
                            "(choose another --db or file)"
                        ) from None
                    raise
                written_events += len(chunk)
                progress.update(written_events)
            written_streams += 1
        for stream_id, versions in plans:
            for snapshot_version in versions:
                snapshot = take_snapshot(store, stream_id, reducer, version=snapshot_version,
                                         created_by="eventlens demo")
                written_snapshots += bool(store.save_snapshot(snapshot))
        progress.finish()
        out(f"wrote {written_streams} streams, {written_events} events, {written_snapshots} snapshots "
            f"(seed {args.seed}) to {store.describe()}\n")
    return 0


STREAM_FIELDS = ("stream_id", "stream_type", "events", "first_version", "last_version", "first_time", "last_time")


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
        page_size = min(PAGE, args.limit) if args.limit else PAGE
        listing = all_streams(store, page_size=page_size, sort=args.sort, descending=args.descending, **filters)
        infos = [info for _, info in zip(range(args.limit), listing)] if args.limit else list(listing)
        if args.json:
            out(pretty([stream_record(i) for i in infos]))
        else:
            headers = ("STREAM", "TYPE", "EVENTS", "FIRST", "LAST", "FIRST TIME", "LAST TIME")
            rows = [(i.stream_id, i.stream_type, i.events, i.first_version, i.last_version,
                     iso(i.first_time), iso(i.last_time)) for i in infos]
            out(table(headers, rows, right=(2, 3, 4)) + "\n")
        if args.limit and len(infos) == args.limit:
            total = store.count_streams(**filters)
            if total > len(infos):
                note(f"showing {len(infos)} of {total} streams")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Stream a stream's events to stdout batch by batch; the whole stream is never held at once.

    ndjson: one object per line with stream_id, version, type, time, data, metadata (and
    ``problems`` when the store could not decode something). csv: the same columns, data and
    metadata as JSON text; BSON values use the codec's lossless JSON form in both.
    """
    with open_from(args) as store:
        require_stream(store, args.stream)
        batches = store.read(args.stream, from_version=args.from_version, to_version=args.to_version)
        if args.format == "csv":
            # RFC 4180 line ends: with "\n" alone the csv module leaves a lone "\r" in a
            # field unquoted, and readers split the row there.
            writer = csv.writer(sys.stdout, lineterminator="\r\n")
            writer.writerow(("stream_id", "version", "type", "time", "data", "metadata"))
            for batch in batches:
                writer.writerows(
                    (e.stream_id, e.version, e.type, iso(e.time),
                     compact(e.data), compact(e.metadata))
                    for e in batch
                )
        else:
            for batch in batches:
                out("".join(compact(event_record(e, to_jsonable)) + "\n" for e in batch))
    return 0


def describe_reconstruction(stream_id: str, result) -> str:
    start = (f"snapshot at version {result.snapshot.version}" if result.snapshot is not None
             else "the first event (no snapshot used)")
    return f"{stream_id}: state at version {result.version}, from {start}, folded {result.folded} events"


def cmd_state(args: argparse.Namespace) -> int:
    """Print the state as JSON; --at means the state after the last event recorded at or before it.

    A moment before the first event gives the empty initial state (version 0). The note on
    stderr says which snapshot was used and how many events were folded.
    """
    from model.reconstruct import reconstruct

    reducer = reducer_from(args)
    with open_from(args) as store:
        require_stream(store, args.stream)
        result = reconstruct(store, args.stream, reducer, version=args.version, at=args.at,
                             use_snapshots=not args.no_snapshots)
        out(pretty(result.state))
        note(describe_reconstruction(args.stream, result))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the structural diff (added, removed, changed paths) from the state after V1 to after V2."""
    from model.diff import diff
    from model.reconstruct import reconstruct

    reducer = reducer_from(args)
    with open_from(args) as store:
        require_stream(store, args.stream)
        old = reconstruct(store, args.stream, reducer, version=args.v1)
        new = reconstruct(store, args.stream, reducer, version=args.v2)
        out(pretty(diff(old.state, new.state).to_dict(to_jsonable)))
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
    """Take a snapshot with the chosen reducer and save it; refused before connecting when read-only."""
    refuse_if_read_only(args, "create a snapshot")
    from model.snapshot import take_snapshot

    reducer = reducer_from(args)
    with open_from(args) as store:
        require_stream(store, args.stream)
        snapshot = take_snapshot(store, args.stream, reducer, version=args.version, created_by=CREATED_BY)
        saved = store.save_snapshot(snapshot)
        what = "created" if saved else "already existed:"
        out(f"{what} snapshot of {args.stream} at version {snapshot.version} "
            f"(reducer {snapshot.reducer.name} {snapshot.reducer.fingerprint[:12]})\n")
    return 0


def snapshot_list(args: argparse.Namespace) -> int:
    """A stream's snapshots, by version."""
    with open_from(args) as store:
        require_stream(store, args.stream)
        snapshots = store.snapshots(args.stream)
        if args.json:
            out(pretty([snapshot_record(s) for s in snapshots]))
        else:
            rows = [(s.version, s.reducer.name, s.reducer.fingerprint[:12], iso(s.created_at), s.created_by,
                     "yes" if s.foreign else "") for s in snapshots]
            out(table(("VERSION", "REDUCER", "FINGERPRINT", "CREATED", "BY", "FOREIGN"), rows, right=(0,)) + "\n")
    return 0


def snapshot_verify(args: argparse.Namespace) -> int:
    """Compare every snapshot with a full replay by the chosen reducer; exit 1 when any differs.

    Each verdict is one line; a differing snapshot is followed by its diff as JSON (from the
    snapshot's state to the replayed state). A snapshot that cannot be checked counts as a problem.
    """
    from model.snapshot import verify_snapshot

    reducer = reducer_from(args)
    bad = 0
    with open_from(args) as store:
        require_stream(store, args.stream)
        snapshots = store.snapshots(args.stream)
        for snapshot in snapshots:
            verdict = verify_snapshot(store, snapshot, reducer)
            label = f"{snapshot.stream_id} version {snapshot.version} ({snapshot.reducer.name})"
            if verdict.error:
                bad += 1
                out(f"{label}: ERROR {verdict.error}\n")
            elif not verdict.ok:
                bad += 1
                out(f"{label}: DIFFERS\n")
                if verdict.diff is not None:
                    out(pretty(verdict.diff.to_dict(to_jsonable)))
            else:
                out(f"{label}: ok\n")
        note(f"{len(snapshots)} snapshots checked, {bad} differ" if snapshots else f"{args.stream}: no snapshots")
    return 1 if bad else 0


def check_one(store, stream_id: str, reducer) -> list:
    """The stream's problems: its events in order, then where EventLens's catalogue disagrees with them."""
    from model.integrity import catalogue_problem, check_stream

    events = chain.from_iterable(store.read(stream_id))
    problems = check_stream(events, reducer)
    disagreement = catalogue_problem(store.stream(stream_id))
    return problems + ([disagreement] if disagreement is not None else [])


def cmd_check(args: argparse.Namespace) -> int:
    """Integrity report: one line per problem, then a summary; exit 1 when any is found."""
    reducer = reducer_from(args)
    problems = []
    with open_from(args) as store:
        if args.stream is not None:
            require_stream(store, args.stream)
            stream_ids: Sequence[str] | Iterator[str] = [args.stream]
            total = 1
        else:
            total = store.count_streams()
            stream_ids = (info.stream_id for info in all_streams(store))
        progress = Progress("streams checked", total)
        checked = 0
        for stream_id in stream_ids:
            found = check_one(store, stream_id, reducer)
            for problem in found:
                out(f"{problem.stream_id} version {problem.version}: {problem.kind}: {problem.message}\n")
            problems.extend(found)
            checked += 1
            progress.update(checked)
        progress.finish()
    note(f"checked {checked} stream{'s' if checked != 1 else ''}: "
         f"{len(problems) or 'no'} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


def cmd_copy(args: argparse.Namespace) -> int:
    """Copy streams with their snapshots into an embedded store file (the source is only read).

    Copying into a file that already holds a stream continues it, so a second copy brings
    the file up to date.
    """
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
            out(f"copied {result.streams} streams, {result.events} events, {result.snapshots} snapshots "
                f"to {target.describe()}\n")
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    return {"rebuild": catalogue_rebuild}[args.catalogue_command](args)


def catalogue_rebuild(args: argparse.Namespace) -> int:
    """Bring EventLens's stream catalogue up to date from the events; refused before connecting when read-only."""
    refuse_if_read_only(args, "rebuild the stream catalogue")
    if args.layout is not None and str(args.layout) != "eventlens":
        raise CommandError("catalogue rebuild works on EventLens's own layout; a foreign layout has no catalogue")
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
            f"({result.added} added, {result.updated} updated, {result.removed} removed) in {store.describe()}\n")
    return 0


def cmd_layout(args: argparse.Namespace) -> int:
    return {"detect": layout_detect, "show": layout_show}[args.layout_command](args)


def layout_detect(args: argparse.Namespace) -> int:
    """Print the proposed layout as TOML, with a confidence and reason per field.

    Exit 1 when detection is not certain, naming the undecided fields on stderr.
    """
    from store.connect import open_store
    from store.detect import detect_layout

    uri = server_uri(args)
    if uri is None:
        raise CommandError("layout detect reads a MongoDB database: give --uri mongodb://... "
                           "(an embedded store file always has EventLens's own layout)")
    # The native store reports an unreachable server or a refused login in one line.
    open_store(uri, args.db, read_only=True, timeout_s=args.timeout).close()
    with raw_database(uri, database_name(args, uri), args.timeout) as db:
        proposal = detect_layout(db)
    out(proposal.to_toml().rstrip("\n") + "\n")
    if not proposal.certain:
        undecided = ", ".join(proposal.undecided_fields) or "unknown"
        note(f"detection is not certain; undecided fields: {undecided}")
        return 1
    return 0


def layout_show(args: argparse.Namespace) -> int:
    """Print a preset (or a layout file) as TOML."""
    from store.layout import load_layout

    layout = load_layout(args.name)
    to_toml = getattr(layout, "to_toml", None)
    if to_toml is None:
        raise CommandError("this layout cannot be shown as TOML")
    out(to_toml().rstrip("\n") + "\n")
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


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; EventLensError and friends are turned into one line by the caller."""
    result = COMMAND_FUNCTIONS[args.command](args)
    sys.stdout.flush()
    return result
