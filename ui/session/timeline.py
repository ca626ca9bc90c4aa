"""The timeline's model: a stream's events as columns, what to draw for a range, the view.

Plain Python and numpy, no Qt: the window's pyqtgraph view (``ui.gui.timeline``) only draws
what this model computes, and the worker builds the columns of each batch
(``ui.session.timeline_columns.columns_of``), so the UI thread never walks the events. The
axis ticks are ``ui.session.ticks``.

What is drawn is always computed for the range shown: few visible events come back one by
one; more are counted per pixel column and type (``Drawing.density``), so a burst and a lull
look different and no column that holds events is ever left empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from model.errors import EventLensError
from ui.session.ticks import format_time
from ui.session.timeline_columns import MAX_TYPES, CodedTypes, Columns, Growable

AXES = ("version", "time")
#: Up to this many visible events are drawn one by one; more are drawn as counts per pixel column.
MAX_EXACT_POINTS = 4000
#: The most rows the timeline shows; rarer types share an "other" row beyond it.
OTHER = "other"


class _Row:
    """One type's events in stream order: their positions in the columns."""

    def __init__(self) -> None:
        self.index = Growable(np.int64)


# -- what to draw ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawing:
    """What the view draws for ``x0..x1``: points one by one, or counts per pixel column.

    ``rows`` are the display rows (type names, the last maybe "other"). Exact: ``points[r]`` is
    (x, versions) of row r. Dense: ``density[r, c]`` counts row r's events in column c of
    ``columns`` equal columns between x0 and x1 (``versions[r, c]`` the first of them, for clicks).
    """

    x0: float
    x1: float
    rows: tuple[str, ...]
    exact: bool
    points: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    density: np.ndarray | None = None
    versions: np.ndarray | None = None

    @property
    def columns(self) -> int:
        return 0 if self.density is None else self.density.shape[1]

    def drawn_events(self) -> int:
        """How many events the drawing stands for."""
        if self.exact:
            return sum(len(x) for x, _ in self.points)
        return int(self.density.sum()) if self.density is not None else 0


class TimelineModel:
    """A stream's events by version or time, its view range, cursor and rows.

    ``append`` adds batches (the view follows the end when it showed the end, and shows
    everything when it was empty); ``drawing(columns)`` is what to draw for the current view.
    """

    def __init__(self, max_rows: int = 24) -> None:
        self.max_rows = max_rows
        self.clear()

    # -- data --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every event (a new stream opens)."""
        self.axis = "version"
        self.names: list[str] = []
        self._lookup: dict[str, int] = {}
        self._versions = Growable(np.int64)
        self._xversions = Growable(np.float64)  # versions as float: no int-to-float conversion per search
        self._times = Growable(np.float64)
        self._codes = Growable(np.int16)
        self._rows: list[_Row] = []
        self._times_ascending = True
        self._all_times = True  # every event so far has a finite time
        self._any_time = False
        self._by_time: list[tuple[np.ndarray, np.ndarray]] | None = None  # per row: (times sorted, index)
        self._sorted: tuple[str, np.ndarray, np.ndarray] | None = None  # (axis, x ascending, positions)
        self._time_span = (math.inf, -math.inf)  # the earliest and latest finite time
        self._last_time = -math.inf  # the latest finite time so far, in stream order
        self._extent: dict[str, tuple[float, float]] = {}
        self.view: tuple[float, float] = (0.0, 1.0)
        self.cursor = 0
        self._display: tuple[tuple[str, ...], np.ndarray] | None = None

    def expect(self, events: int, versions: tuple[int, int], times: tuple[float, float] | None = None) -> None:
        """A hint from the stream's summary: room for the columns, and the view spans the whole stream at once."""
        for column in (self._versions, self._xversions, self._times, self._codes):
            column.reserve(max(int(events), 0))
        self._extent = {"version": (float(versions[0]), float(versions[1]))}
        if times is not None and all(map(math.isfinite, times)):
            self._extent["time"] = (float(times[0]), float(times[1]))
        self.view = self.bounds()

    def append(self, columns: Columns) -> None:
        """Add a batch after the loaded events."""
        if len(columns) == 0:
            return
        was_empty = self.n == 0
        follow = not was_empty and self.view[1] >= self._last_x()
        codes = self._encode(columns.types)
        start = self.n
        times = columns.times
        finite = times[np.isfinite(times)]
        if len(finite):
            self._any_time = True
            self._time_span = (min(self._time_span[0], float(finite.min())), max(self._time_span[1], float(finite.max())))
        self._all_times = self._all_times and len(finite) == len(times)
        if self._times_ascending and len(finite):
            self._times_ascending = bool(np.all(finite[1:] >= finite[:-1])) and finite[0] >= self._last_time
            self._last_time = float(finite[-1])
        self._versions.extend(columns.versions)
        self._xversions.extend(columns.versions)
        self._times.extend(times)
        self._codes.extend(codes)
        self._add_to_rows(start, codes)
        self._by_time = self._sorted = None
        self._display = None
        if self.axis == "time" and not self.has_times:
            self.axis = "version"
        if was_empty:
            self.view = self.bounds()  # the expected extent when known: a fixed view while it loads
        elif follow:
            self._follow_end()
        else:
            self.view = self._clamped(*self.view)

    def _encode(self, coded: CodedTypes) -> np.ndarray:
        new = [name for name in coded.names if name not in self._lookup]
        if len(self.names) + len(new) > MAX_TYPES:
            raise EventLensError(f"timeline: more than {MAX_TYPES} event types")
        for name in new:
            self._lookup[name] = len(self.names)
            self.names.append(name)
            self._rows.append(_Row())
        return np.array([self._lookup[name] for name in coded.names], dtype=np.int16)[coded.codes]

    def _add_to_rows(self, start: int, codes: np.ndarray) -> None:
        # One stable sort of the new codes splits them into rows, positions still ascending.
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        present = ordered[np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]]
        bounds = np.searchsorted(ordered, np.r_[present, present[-1] + 1])
        for code, lo, hi in zip(present.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
            self._rows[code].index.extend(order[lo:hi] + start)

    @property
    def n(self) -> int:
        return self._versions.n

    @property
    def versions(self) -> np.ndarray:
        return self._versions.values

    @property
    def times(self) -> np.ndarray:
        return self._times.values

    @property
    def codes(self) -> np.ndarray:
        return self._codes.values

    @property
    def has_times(self) -> bool:
        """False when no loaded event has a time (a layout that keeps none): only the version axis makes sense."""
        return self._any_time or ("time" in self._extent and self.n == 0)

    def counts(self) -> np.ndarray:
        """Events per type code."""
        return np.array([row.index.n for row in self._rows], dtype=np.int64)

    # -- rows ----------------------------------------------------------------------------------
    def set_max_rows(self, rows: int) -> None:
        """How many rows fit the view (the rest share "other")."""
        rows = max(int(rows), 2)
        if rows != self.max_rows:
            self.max_rows = rows
            self._display = None

    def display_rows(self) -> tuple[tuple[str, ...], np.ndarray]:
        """The rows shown (type names, the rarest grouped into "other" beyond ``max_rows``) and each code's row."""
        if self._display is None:
            counts = self.counts()
            if len(self.names) <= self.max_rows:
                self._display = (tuple(self.names), np.arange(len(self.names), dtype=np.int64))
            else:
                keep = sorted(np.argsort(-counts, kind="stable")[: self.max_rows - 1].tolist())
                row_of = np.full(len(self.names), len(keep), dtype=np.int64)
                row_of[keep] = np.arange(len(keep))
                self._display = (tuple(self.names[k] for k in keep) + (OTHER,), row_of)
        return self._display

    # -- x ----------------------------------------------------------------------------------------
    def set_axis(self, axis: str) -> None:
        """Show x as "version" or "time" (UTC); the same events stay in view."""
        if axis not in AXES:
            raise EventLensError(f"timeline: unknown axis {axis!r}; use one of {', '.join(AXES)}")
        if axis == "time" and not self.has_times:
            raise EventLensError("timeline: these events carry no time; only the version axis can show them")
        if axis == self.axis:
            return
        v0, v1 = self.version_near(self.view[0]), self.version_near(self.view[1])
        self.axis = axis
        if self.n:
            a, b = self.x_of(v0), self.x_of(v1)
            self.view = self._clamped(a, b if b > a else a + (1.0 if axis == "time" else 0.5))
        else:
            self.view = self.bounds()

    def _x(self) -> np.ndarray:
        return self._xversions.values if self.axis == "version" else self._times.values

    def _row_xs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per type code: (x ascending, position in the columns), for the current axis."""
        if self.axis == "version" or self._times_ascending:
            x = self._x()
            out = []
            for row in self._rows:
                index = row.index.values
                xs = x[index]
                if self.axis == "time" and len(xs) and not np.isfinite(xs).all():
                    keep = np.isfinite(xs)
                    xs, index = xs[keep], index[keep]
                out.append((xs, index))
            return out
        if self._by_time is None:  # times go back somewhere (bad data): sort each row once, until it changes
            self._by_time = []
            for row in self._rows:
                index = row.index.values
                xs = self._times.values[index]
                keep = np.isfinite(xs)
                index, xs = index[keep], xs[keep]
                order = np.argsort(xs, kind="stable")
                self._by_time.append((xs[order], index[order]))
        return self._by_time

    def _sorted_x(self) -> tuple[np.ndarray, np.ndarray]:
        """All events' x ascending with their positions (nearest-event look-ups), kept until the data changes."""
        if self._sorted is not None and self._sorted[0] == self.axis:
            return self._sorted[1], self._sorted[2]
        x = self._x()
        if self.axis == "version" or (self._times_ascending and self._all_times):
            xs, positions = x, np.arange(self.n)
        else:
            finite = np.flatnonzero(np.isfinite(x))
            if self._times_ascending:
                xs, positions = x[finite], finite
            else:
                positions = finite[np.argsort(x[finite], kind="stable")]
                xs = x[positions]
        self._sorted = (self.axis, xs, positions)
        return xs, positions

    def _span(self) -> tuple[float, float] | None:
        """The first and last x of the loaded events, without a pass over them."""
        if self.n == 0:
            return None
        if self.axis == "version":
            return float(self._xversions.values[0]), float(self._xversions.values[-1])
        return self._time_span if self._time_span[0] <= self._time_span[1] else None

    def _last_x(self) -> float:
        span = self._span()
        return span[1] if span else 0.0

    def index_of(self, version: int) -> int:
        """The position of ``version`` in the columns (the nearest loaded one)."""
        versions = self.versions
        i = int(np.searchsorted(versions, version))
        if i >= len(versions) or (i > 0 and versions[i] != version and version - versions[i - 1] < versions[i] - version):
            i = max(i - 1, 0)
        return min(i, len(versions) - 1)

    def x_of(self, version: int) -> float:
        """The x of an event's version on the current axis (an event without a time: its neighbour's)."""
        if self.n == 0:
            return 0.0
        i = self.index_of(version)
        x = float(self._x()[i])
        if math.isfinite(x):
            return x
        xs, positions = self._sorted_x()
        if len(xs) == 0:
            return 0.0
        j = min(int(np.searchsorted(positions, i)), len(xs) - 1)
        return float(xs[j])

    def version_near(self, x: float) -> int:
        """The version of the event nearest to ``x`` (0 when none is loaded)."""
        xs, positions = self._sorted_x()
        if len(xs) == 0:
            return 0
        i = int(np.searchsorted(xs, x))
        if i >= len(xs):
            i = len(xs) - 1
        elif i > 0 and x - xs[i - 1] <= xs[i] - x:
            i -= 1
        return int(self.versions[positions[i]])

    def bounds(self) -> tuple[float, float]:
        """The x range the stream spans (what it will span, while it loads), a little padded."""
        spans = []
        loaded = self._span()
        if loaded is not None:
            spans.append(loaded)
        if self.axis in self._extent:
            spans.append(self._extent[self.axis])
        if not spans:
            return (0.5, 1.5) if self.axis == "version" else (0.0, 86_400.0)  # an empty axis: one version, one day
        lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
        pad = max((hi - lo) * 0.01, 1.0 if self.axis == "time" else 0.5)
        return lo - pad, hi + pad

    def _clamped(self, x0: float, x1: float) -> tuple[float, float]:
        lo, hi = self.bounds()
        width = min(max(x1 - x0, 1e-9), hi - lo)
        x0 = min(max(x0, lo), hi - width)
        return x0, x0 + width

    def set_view(self, x0: float, x1: float) -> tuple[float, float]:
        """The user zoomed or panned: keep the range (within the bounds) and return it."""
        self.view = self._clamped(float(x0), float(x1))
        return self.view

    def show_all(self) -> None:
        self.view = self.bounds()

    def _follow_end(self) -> None:
        lo, hi = self.bounds()
        x0, x1 = self.view
        loaded = self._span()
        if loaded is not None and x0 <= loaded[0]:
            self.view = (x0, hi)  # the whole stream was in view: it stays so
        else:
            width = x1 - x0
            self.view = (max(lo, hi - width), hi)  # slide, same width

    # -- the cursor --------------------------------------------------------------------------------
    def set_cursor(self, version: int) -> bool:
        """Put the cursor on the loaded version nearest ``version``, scrolling it into view; True when the view moved."""
        if self.n == 0:
            self.cursor = 0
            return False
        self.cursor = int(self.versions[self.index_of(int(version))])
        x = self.x_of(self.cursor)
        x0, x1 = self.view
        if x0 <= x <= x1:
            return False
        half = (x1 - x0) / 2
        self.view = self._clamped(x - half, x + half)
        return True

    def label(self, version: int) -> str:
        """The cursor's label: its version and time."""
        if self.n == 0:
            return ""
        seconds = float(self.times[self.index_of(version)])
        return f"v{version:,}  {format_time(seconds)}" if math.isfinite(seconds) else f"v{version:,}"

    # -- drawing -----------------------------------------------------------------------------------
    def drawing(self, columns: int) -> Drawing:
        """What to draw for the current view across ``columns`` pixel columns."""
        x0, x1 = self.view
        rows, row_of = self.display_rows()
        per_code = self._row_xs()
        spans = [(int(np.searchsorted(xs, x0, "left")), int(np.searchsorted(xs, x1, "right"))) for xs, _ in per_code]
        visible = sum(b - a for a, b in spans)
        if visible <= MAX_EXACT_POINTS or columns <= 0 or x1 <= x0:
            points: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in rows]
            for code, ((xs, index), (a, b)) in enumerate(zip(per_code, spans)):
                if b > a:
                    points[row_of[code]].append((xs[a:b], self.versions[index[a:b]]))
            joined = []
            for parts in points:
                if not parts:
                    joined.append((np.empty(0), np.empty(0, np.int64)))
                elif len(parts) == 1:
                    joined.append(parts[0])
                else:
                    x = np.concatenate([p[0] for p in parts])
                    order = np.argsort(x, kind="stable")
                    joined.append((x[order], np.concatenate([p[1] for p in parts])[order]))
            return Drawing(x0, x1, tuple(rows), True, tuple(joined))
        # Counts per pixel column from binary searches per type: the cost does not grow with the events in view.
        edges = np.linspace(x0, x1, columns + 1)
        density = np.zeros((len(rows), columns), dtype=np.int64)
        first = np.zeros((len(rows), columns), dtype=np.int64)
        for code, ((xs, index), (a, b)) in enumerate(zip(per_code, spans)):
            if b <= a:
                continue
            starts = np.searchsorted(xs, edges[:-1], "left")
            ends = np.searchsorted(xs, edges[1:], "left")
            ends[-1] = b  # the last column includes x1
            starts[0] = a
            counts = np.maximum(ends - starts, 0)
            row = row_of[code]
            full = counts > 0
            # the first event of each column, for a click; a shared row keeps the earliest version
            candidates = self.versions[index[np.minimum(starts, len(index) - 1)]]
            take = full & ((density[row] == 0) | (candidates < first[row]))
            first[row][take] = candidates[take]
            density[row] += counts
        return Drawing(x0, x1, tuple(rows), False, density=density, versions=first)

    def overview(self, buckets: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) of every event over the whole bounds: the overview strip's density."""
        lo, hi = self.bounds()
        edges = np.linspace(lo, hi, buckets + 1)
        # the columns themselves when they are already in x order: no sorted copy per batch while loading
        in_order = self.axis == "version" or (self._times_ascending and self._all_times)
        xs = self._x() if in_order else self._sorted_x()[0]
        if len(xs) == 0:
            return edges, np.zeros(buckets)
        counts = np.diff(np.append(np.searchsorted(xs, edges[:-1], "left"), np.searchsorted(xs, hi, "right")))
        return edges, counts.astype(np.float64)

    def marks(self, marked: Sequence[int] | np.ndarray, room: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, version, display row) of the marked versions that are loaded and in view, at most ``room`` of them."""
        marked = np.unique(np.asarray(marked, dtype=np.int64))
        if len(marked) == 0 or self.n == 0:
            return np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
        index = np.searchsorted(self.versions, marked)
        loaded = index < self.n
        index = index[loaded]
        index = index[self.versions[index] == marked[loaded]]
        x = self._x()[index]
        x0, x1 = self.view
        keep = np.isfinite(x) & (x >= x0) & (x <= x1)
        x, index = x[keep], index[keep]
        if len(x) > room > 0:
            column = ((x - x0) * (room / max(x1 - x0, 1e-9))).astype(np.int64)
            _, first = np.unique(column, return_index=True)
            x, index = x[first], index[first]
        _, row_of = self.display_rows()
        return x, self.versions[index], row_of[self.codes[index].astype(np.int64)]
