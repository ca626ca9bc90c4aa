"""How the command line writes: aligned tables and progress on stderr (formats: ``ui.session.text``)."""
from __future__ import annotations

import sys
import time
from typing import Any, Sequence, TextIO


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
        of = f"/{self.total:,}" if self.total is not None else ""
        text = f"{self.label}: {done:,}{of} ({rate:,.0f}/s)"
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r" + text) if tty else (text + "\n"))
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """End an in-place progress line so that what follows starts on a fresh line."""
        if self.shown and getattr(self.stream, "isatty", lambda: False)():
            self.stream.write("\n")
            self.stream.flush()
