"""How the command line writes: aligned tables, event rows, ISO times and progress on stderr."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, TextIO

from model.event import Event


def iso(moment: datetime | None) -> str | None:
    """A datetime as ISO-8601 in UTC with a ``Z``, or None; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_moment(text: str) -> datetime:
    """An ISO-8601 moment; without a zone it means UTC, because stores keep UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def event_record(event: Event, encode: Callable[[Any], Any]) -> dict[str, Any]:
    """One event as the ndjson line shows it; ``problems`` only when the store reported some."""
    record: dict[str, Any] = {
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        "time": iso(event.time),
        "data": encode(event.data),
        "metadata": encode(event.metadata),
    }
    if event.problems:
        record["problems"] = list(event.problems)
    return record


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """Rows as aligned text columns; columns whose index is in ``right`` align right (numbers)."""
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def one_line(text: str, limit: int = 400) -> str:
    """A message squeezed onto one line: driver errors can span many lines and whole topologies."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Progress:
    """Progress on stderr, at most once a second, and only once a run has lasted a second.

    Short runs stay silent so that scripts and tests see only the result; on a terminal the
    line is rewritten in place, elsewhere each report is its own line (log files).
    """

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None, every: float = 1.0):
        self.label, self.total, self.every = label, total, every
        self.stream = stream if stream is not None else sys.stderr
        self.started = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int) -> None:
        """Report ``done`` units if the last report is old enough."""
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        text = f"{self.label}: {done}{of} ({rate:,.0f}/s)"
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r" + text) if tty else (text + "\n"))
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """End an in-place progress line so that what follows starts on a fresh line."""
        if self.shown and getattr(self.stream, "isatty", lambda: False)():
            self.stream.write("\n")
            self.stream.flush()
