"""One exporter for the window and the command line: events as NDJSON or CSV, a state as JSON.

The command line's ``events`` and ``state`` print exactly what the window's exports write, so
a file exported from either is byte for byte the same.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Mapping, TextIO

from model.errors import UsageError
from model.event import Event
from model.ports import EventSource
from store.codec import dumps_json, to_jsonable
from ui.session.jobs import Job, Task
from ui.session.text import iso

FORMATS = ("ndjson", "csv")
CSV_COLUMNS = ("stream_id", "version", "type", "time", "data", "metadata")


def compact(value: Any) -> str:
    """One-line JSON text (BSON values in the codec's lossless form)."""
    return dumps_json(to_jsonable(value)).decode("utf-8")


def pretty(value: Any) -> str:
    """Indented JSON text (BSON values in the codec's lossless form), ending in a newline."""
    return dumps_json(to_jsonable(value), pretty=True).decode("utf-8") + "\n"


def event_record(event: Event) -> dict[str, Any]:
    """One event as an NDJSON line shows it; ``problems`` only when the store reported some."""
    record: dict[str, Any] = {
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        "time": iso(event.time),
        "data": to_jsonable(event.data),
        "metadata": to_jsonable(event.metadata),
    }
    if event.problems:
        record["problems"] = list(event.problems)
    return record


def format_of(path: str | Path) -> str:
    """The export format a file name asks for: CSV for ``.csv``, else NDJSON."""
    return "csv" if str(path).lower().endswith(".csv") else "ndjson"


def write_events(batches: Iterable[list[Event]], out: TextIO, fmt: str = "ndjson", task: Task | None = None) -> int:
    """Write events batch by batch (the whole stream is never held); return how many were written."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    written = 0
    # RFC 4180 line ends: with "\n" alone the csv module leaves a lone "\r" in a field unquoted.
    writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for batch in batches:
        if task is not None:
            task.between_batches()
        if writer is not None:
            writer.writerows((e.stream_id, e.version, e.type, iso(e.time), compact(e.data), compact(e.metadata))
                             for e in batch)
        else:
            out.write("".join(compact(event_record(e)) + "\n" for e in batch))
        written += len(batch)
        if task is not None:
            task.progress(written, 0, "exporting events")
    return written


def state_text(state: Mapping[str, Any]) -> str:
    """A state as ``state`` prints it and the window exports it."""
    return pretty(state)


def export_events_job(store: EventSource, stream_id: str, path: str | Path, *, to_version: int | None = None) -> Job[str]:
    """Write a stream's events (up to ``to_version``) to ``path``, in the format its name asks for."""
    fmt = format_of(path)

    def work(task: Task) -> str:
        with open(path, "w", encoding="utf-8", newline="") as out:
            write_events(store.read(stream_id, to_version=to_version), out, fmt, task)
        return str(path)

    return Job("exporting events", work, shown=True)


def export_state_job(state: Mapping[str, Any], path: str | Path) -> Job[str]:
    def work(task: Task) -> str:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(state_text(state))
        return str(path)

    return Job("exporting state", work, shown=True)


def export_as_of_job(rows: list, columns: list[str], path: str | Path) -> Job[str]:
    """Write as-of rows (``ui.session.asof.AsOfRow``) to ``path``: CSV for .csv, else NDJSON, as ``as-of`` prints them."""
    from ui.session.asof import write_rows

    fmt = format_of(path)
    rows, columns = list(rows), list(columns)  # the rows shown now: later arrivals do not change the file

    def work(task: Task) -> str:
        with open(path, "w", encoding="utf-8", newline="") as out:
            write_rows(rows, out, fmt, columns)
        return str(path)

    return Job("exporting states", work, shown=True)
