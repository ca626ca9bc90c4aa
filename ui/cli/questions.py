"""The questions across streams on the command line: find, as-of, trace, stats.

Each turns its options into the session's question and prints the answer: results on stdout,
notes and progress (on a terminal only) on stderr, as every command does.
"""
from __future__ import annotations

import argparse
import sys

from ui.cli.commands import CommandError, connection_of, note, open_from, out, reducer_from
from ui.cli.output import Progress, table
from ui.session import export
from ui.session.text import iso, plural


def _moment_of(text: str | None, what: str):
    from model.query import parse_moment

    return None if text is None else parse_moment(text, what)


def _progress_on_terminal(label: str):
    """Progress on stderr while a long question runs, when stderr is a terminal (scripts see only results)."""
    if not getattr(sys.stderr, "isatty", lambda: False)():
        return None, None
    progress = Progress(label)

    def report(done: int, total: int, what: str) -> None:
        progress.total = total or None
        progress.update(done)

    return progress, report


def cmd_find(args: argparse.Namespace) -> int:
    """Search events across streams; NDJSON lines are the records ``events`` prints."""
    from model.query import parse_where
    from model.search import Search
    from ui.session.jobs import Task
    from ui.session.search import pages

    where = parse_where(args.where) if args.where is not None else {}
    search = Search(stream_type=args.stream_type, types=tuple(args.types), stream=args.stream,
                    since=_moment_of(args.since, "--since"), until=_moment_of(args.until, "--until"),
                    where=where, sort=args.sort)
    with open_from(args) as store:
        plan = store.search_plan(search.query())
        if plan.note:
            note(plan.note)
        if plan.index:
            note(f"no index serves this search; an index on {plan.index} would")
        progress, report = _progress_on_terminal("documents scanned")
        task = Task("find", progress=report)
        found = 0
        if args.format == "table":
            rows = []
            for batch in pages(store, search, limit=args.limit, task=task):
                rows += [(e.time and iso(e.time), e.stream_id, f"{e.version:,}", e.type, export.compact(e.data))
                         for e in batch]
            out(table(("TIME", "STREAM", "VERSION", "TYPE", "DATA"), [r[:4] + (_cut(r[4]),) for r in rows],
                      right=(2,)) + "\n")
            found = len(rows)
        else:
            found = export.write_events(pages(store, search, limit=args.limit, task=task), sys.stdout, args.format)
        if progress is not None:
            progress.finish()
        if args.limit and found == args.limit:
            total = store.count_events(search.query())
            if total > found:
                note(f"showing {found:,} of {plural(total, 'event')}")
        elif args.format == "table":
            note(plural(found, "event") + " found")
    return 0


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_as_of(args: argparse.Namespace) -> int:
    """The state of every selected stream at a moment (or its end), in parallel, with a foot of the numbers."""
    from ui.session.asof import (AsOf, AsOfResults, InlineExecutor, Source, cell_text, foot, foot_text, process_pool,
                                 write_rows)

    moment = None if args.moment.strip().lower() == "latest" else _moment_of(args.moment, "moment")
    if args.stream:
        from model.patterns import parse_pattern

        parse_pattern(args.stream)
    reducer = reducer_from(args)  # a reducer that does not load fails here, before any process starts
    connection = connection_of(args, read_only=True)
    with open_from(args, read_only=True) as store:
        request = AsOf(moment, args.stream_type, args.stream, str(args.reducer) if args.reducer else None,
                       not args.no_snapshots)
        source = Source(connection, getattr(store, "layout", None))
        total = store.count_streams(type=args.stream_type, match=args.stream)
        executor = (InlineExecutor() if (args.workers == 1 or total <= 500) else process_pool(args.workers))
        progress, report = _progress_on_terminal("streams folded")
        results = AsOfResults(store, source, request, executor=executor)
        results._run = lambda job: _run_job(job, report)
        try:
            results.start()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            if progress is not None:
                progress.finish()
        if results.error:
            raise CommandError(f"as-of stopped: {results.error}")
        rows, columns = results.rows, results.columns
        if args.format == "table":
            numbers = foot(rows, columns)
            shown = columns[:8]
            body = [(r.stream_id, f"{r.version:,}", iso(r.time) or "",
                     *(cell_text(r.state.get(c)) for c in shown), r.error and f"ERROR {r.error}") for r in rows]
            headers = ("STREAM", "VERSION", "TIME", *(c.upper() for c in shown), "")
            text = table(headers, body, right=(1,))
            out(text + "\n")
            out("".join(line + "\n" for line in foot_text(numbers)))
        else:
            write_rows(rows, sys.stdout, args.format, columns)
        failed = sum(1 for r in rows if r.error)
        when = "at its end" if moment is None else f"at {iso(moment)}"
        note(f"{plural(len(rows), 'stream')} {when} (reducer {reducer.name})"
             + (f"; {plural(results.skipped, 'stream')} had no event by then and are left out" if results.skipped else "")
             + (f"; the reducer failed on {plural(failed, 'stream')}" if failed else ""))
    return 1 if failed else 0


def _run_job(job, report):
    from ui.session.jobs import run_now

    return run_now(job, progress=report)


def cmd_trace(args: argparse.Namespace) -> int:
    """Every event sharing the event's correlation id, as a tree (each under the event that caused it)."""
    from ui.session.trace import record, trace

    with open_from(args) as store:
        found = trace(store, args.stream, args.version)
        if found.note:
            note(found.note)
        if args.format == "ndjson":
            out("".join(export.compact(record(n)) + "\n" for n in found.in_time_order()))
        else:
            origin = (args.stream, args.version)
            for depth, node in found.nodes():
                e = node.event
                mark = "*" if (e.stream_id, e.version) == origin else " "
                out(f"{mark} {'  ' * depth}{iso(e.time) or '-'}  {e.stream_id} v{e.version:,}  {e.type}\n")
        count = len(found.nodes())
        note(f"{plural(count, 'event')} with correlation id {found.correlation_id}" if found.correlation_id is not None
             else f"{args.stream} version {args.version:,} has no correlation id")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Statistics per stream type: computed once per connection and kept (their age is shown)."""
    from ui.session.stats import age_text, statistics

    connection = connection_of(args)
    with open_from(args) as store:
        stats = statistics(store, connection=connection, refresh=args.refresh)
    if args.json:
        out(export.pretty(stats.to_json()))
    else:
        for t in stats.stream_types:
            out(f"{t.stream_type or '(no type)'}: {plural(t.streams, 'stream')}, {plural(t.events, 'event')}, "
                f"{iso(t.first_time)} .. {iso(t.last_time)}\n")
            rows = [(event_type, f"{n:,}") for event_type, n in sorted(t.event_types.items(), key=lambda kv: (-kv[1], kv[0]))]
            out("  " + table(("EVENT TYPE", "EVENTS"), rows, right=(1,)).replace("\n", "\n  ") + "\n")
            out("  longest: " + ", ".join(f"{s} ({n:,})" for s, n in t.longest) + "\n")
            if t.per_day:
                days = list(t.per_day.items())
                out(f"  events per day: {len(days):,} days, busiest {max(days, key=lambda d: d[1])[0]} "
                    f"({max(n for _, n in days):,})\n")
    note(("kept statistics from " if stats.cached else "computed ") + age_text(stats.age_s())
         + ("; --refresh computes them again" if stats.cached else ""))
    return 0
