"""The timeline: a stream's events by time or version, one row per event type, with a scrub cursor.

Layout follows pyqtgraph's crosshair example: a detail plot on top and a small overview below
whose ``LinearRegionItem`` chooses what the detail plot shows. Only what is visible is drawn:
beyond ``MAX_EXACT_POINTS`` visible events, each type row shows one bar per pixel bucket (its
size grows with the bucket's count), recomputed by one numpy pass when the range changes.
"""
from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import numpy.ma  # noqa: F401  (np.unique imports it on its first call: 36 ms on the UI thread mid-load)
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainterPath, QPalette
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from model.errors import EventLensError

AXIS_MODES = ("time", "version")
#: Up to this many visible events are drawn one by one; more are bucketed per pixel column.
MAX_EXACT_POINTS = 4000
PIXELS_PER_BUCKET = 2
OVERVIEW_BUCKETS = 400
#: Loading appends batch after batch: redraw at most this often meanwhile (a range change: at once).
APPEND_REDRAW_MS = 50
MAX_MARKERS = 2000  # snapshot and problem markers drawn at most, per visible range
#: Dashed lines are slow to paint: up to this many visible snapshots get one, all get a triangle.
MAX_SNAPSHOT_LINES = 60

#: Colours that read on light and dark backgrounds; a type keeps its colour across streams.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#bcbd22", "#e377c2", "#8c564b",
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
)
PROBLEM_COLOUR = "#e02020"
CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache


def type_colour(name: str, taken: set[str] | None = None) -> str:
    """A stable colour for an event type: a hash of its name, moved on when ``taken`` has it."""
    start = zlib.crc32(name.encode("utf-8", "replace")) % len(PALETTE)
    for step in range(len(PALETTE)):
        colour = PALETTE[(start + step) % len(PALETTE)]
        if taken is None or colour not in taken:
            return colour
    return PALETTE[start]  # more types than colours: rows still tell them apart


def _bar_symbol() -> QPainterPath:
    # A tall thin bar: dense rows read as a barcode whose bar height shows the bucket's count.
    path = QPainterPath()
    path.addRect(QRectF(-0.2, -0.5, 0.4, 1.0))
    return path


BAR = _bar_symbol()


def bucket_events(
    xs: np.ndarray, codes: np.ndarray, versions: np.ndarray, x0: float, x1: float, buckets: int, types: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The events to draw between x0 and x1: (x, type code, version, count), at most buckets*types.

    ``xs`` is sorted. Few visible events come back one by one (count 1); many are reduced to
    the first event of each type in each of ``buckets`` equal columns, with how many it stands for.
    """
    i0 = int(np.searchsorted(xs, x0, "left"))
    i1 = int(np.searchsorted(xs, x1, "right"))
    n = i1 - i0
    if n <= max(MAX_EXACT_POINTS, 0) or buckets <= 0 or types <= 0 or x1 <= x0:
        return xs[i0:i1], codes[i0:i1], versions[i0:i1], np.ones(n, np.int64)
    column = ((xs[i0:i1] - x0) * (buckets / (x1 - x0))).astype(np.int64)
    np.clip(column, 0, buckets - 1, out=column)
    key = column * types + codes[i0:i1]
    counts = np.bincount(key, minlength=buckets * types)
    present = np.flatnonzero(counts)
    # Reversed assignment keeps the earliest event per key, so a click lands on a real event.
    first = np.empty(buckets * types, np.int64)
    first[key[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)
    index = first[present] + i0
    return xs[index], codes[index], versions[index], counts[present]


def bucket_rows(rows: list[np.ndarray], x0: float, x1: float, buckets: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row (one type's x, ascending): (indexes into the row to draw, how many events each stands for).

    Few visible events in all rows come back one by one (count 1); many are reduced to the first
    event of each row in each of ``buckets`` equal columns between x0 and x1, found by binary
    search, so the cost does not grow with the number of events in view.
    """
    spans = [(int(np.searchsorted(xs, x0, "left")), int(np.searchsorted(xs, x1, "right"))) for xs in rows]
    if sum(i1 - i0 for i0, i1 in spans) <= MAX_EXACT_POINTS or buckets <= 0 or x1 <= x0:
        return [(np.arange(i0, i1), np.ones(i1 - i0, np.int64)) for i0, i1 in spans]
    edges = np.linspace(x0, x1, buckets + 1)[:-1]
    drawn = []
    for xs, (i0, i1) in zip(rows, spans):
        starts = np.searchsorted(xs, edges, "left")  # starts[0] == i0: the first edge is x0
        counts = np.diff(np.append(starts, i1))
        full = counts > 0
        drawn.append((starts[full], counts[full]))
    return drawn


class _Scatter(pg.ScatterPlotItem):
    """A scatter that computes its bounding rect once per data or view change.

    Qt asks every item under a repainted strip for its bounding rect a dozen times per paint;
    pyqtgraph's answer maps pixel sizes through the device transform each time (~0.1 ms), which
    made half the cost of a cursor move. The rect is dropped after each call that changes it.
    """

    _rect: QRectF | None = None

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            self._rect = super().boundingRect()
        return QRectF(self._rect)

    # Dropped after the base call: the base may ask for the (old) rect while it runs.
    def prepareGeometryChange(self) -> None:
        super().prepareGeometryChange()
        self._rect = None

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self._rect = None

    def updateSpots(self, dataSet=None) -> None:  # noqa: N803 (pyqtgraph's name)
        if not self._update_sizes_only(self.data if dataSet is None else dataSet):
            super().updateSpots(dataSet)
        self._rect = None  # spot sizes set the pixel padding

    def _update_sizes_only(self, points: np.ndarray) -> bool:
        # pyqtgraph looks each new point's symbol up in its atlas with a few Python calls per
        # point (~10 ms for a redraw's 3000 bars). The timeline's points differ only in size:
        # one look-up per distinct size does the same. False: not that case, use pyqtgraph's.
        opts = self.opts
        if not (opts["pxMode"] and opts["useCache"]) or opts["hoverable"] or len(points) == 0:
            return False
        new = points["sourceRect"]["w"] == 0
        if not new.any():
            return False
        if any(np.not_equal(points[column][new], None).any() for column in ("symbol", "pen", "brush")):
            return False  # a per-point style: not ours
        sizes = points["size"][new].astype(np.float64)
        sizes[sizes == -1] = opts["size"]  # -1: the item's size
        distinct, which = np.unique(sizes, return_inverse=True)
        rects = self.fragmentAtlas[[(opts["symbol"], size, opts["pen"], opts["brush"]) for size in distinct.tolist()]]
        points["sourceRect"][new] = np.array(rects, dtype=points["sourceRect"].dtype)[which]
        self._maybeRebuildAtlas()
        self._updateMaxSpotSizes(data=points)
        self.invalidate()
        return True

    def clear(self) -> None:
        super().clear()
        self._rect = None


class UtcDateAxis(pg.DateAxisItem):
    """UTC dates where finer labels make room for coarser ones ("Feb" and "02" collided)."""

    MIN_GAP_PX = 36

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = super().tickValues(minVal, maxVal, size)
        room = self.MIN_GAP_PX * (maxVal - minVal) / max(size, 1.0)
        kept = np.empty(0)
        result = []
        for spacing, values in levels:
            values = np.asarray(values, dtype=np.float64)
            if len(kept) and len(values):
                near = np.min(np.abs(values[:, None] - kept[None, :]), axis=1) < room
                values = values[~near]
            result.append((spacing, values.tolist()))
            kept = np.concatenate([kept, values])
        return result


def _ascending(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))


class _Growable:
    """A numpy array that grows in place: appending costs amortised O(appended)."""

    def __init__(self, dtype: type) -> None:
        self._array = np.empty(0, dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self._array):
            grown = np.empty(max(need, 2 * len(self._array), 256), self._array.dtype)
            grown[: self.n] = self._array[: self.n]
            self._array = grown
        self._array[self.n : need] = values
        self.n = need

    @property
    def values(self) -> np.ndarray:
        return self._array[: self.n]


class _Row:
    """One type's events, x ascending (a subsequence of the columns): version and time as float."""

    def __init__(self) -> None:
        self.xversions = _Growable(np.float64)
        self.times = _Growable(np.float64)


class _Columns:
    """Growable numpy columns: appending a batch costs amortised O(batch), never O(stream).

    Each type also keeps its own row of x values, so that bucketing a view costs a few binary
    searches per type and pixel column instead of a pass over every visible event.
    """

    _NAMES = ("_versions", "_xversions", "_times", "_codes")

    def __init__(self) -> None:
        self.n = 0
        self._versions = np.empty(0, np.int64)
        # Versions again as float64, the x of the version axis: searchsorted with a float
        # on an int64 array converts the whole array on every call.
        self._xversions = np.empty(0, np.float64)
        self._times = np.empty(0, np.float64)
        self._codes = np.empty(0, np.int16)
        self.times_ascending = True
        self.rows: list[_Row] = []

    def replace(self, versions: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        self._versions, self._times, self._codes = versions, times, codes
        self._xversions = versions.astype(np.float64)
        self.n = len(versions)
        self.times_ascending = _ascending(times)
        self.rows = []
        self._add_to_rows(0)

    def _add_to_rows(self, start: int) -> None:
        # One stable sort of the new codes splits them into rows, positions still ascending.
        codes = self._codes[start : self.n]
        if len(codes) == 0:
            return
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        present = ordered[np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]]
        bounds = np.searchsorted(ordered, np.r_[present, present[-1] + 1])
        while len(self.rows) <= int(present[-1]):
            self.rows.append(_Row())
        for code, lo, hi in zip(present.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
            pick = order[lo:hi] + start
            row = self.rows[code]
            row.xversions.extend(self._xversions[pick])
            row.times.extend(self._times[pick])

    def reserve(self, size: int) -> None:
        """Room for ``size`` events without copying: growing a million-event column took ~20 ms."""
        if size <= len(self._versions):
            return
        for name in self._NAMES:
            old = getattr(self, name)
            grown = np.empty(size, old.dtype)
            grown[: self.n] = old[: self.n]
            setattr(self, name, grown)

    def append(self, versions: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        need = self.n + len(versions)
        if need > len(self._versions):
            self.reserve(max(need, 2 * len(self._versions), 1024))
        if self.times_ascending and len(times):
            self.times_ascending = _ascending(times) and (self.n == 0 or times[0] >= self._times[self.n - 1])
        self._versions[self.n : need] = versions
        self._xversions[self.n : need] = versions
        self._times[self.n : need] = times
        self._codes[self.n : need] = codes
        start, self.n = self.n, need
        self._add_to_rows(start)

    @property
    def xversions(self) -> np.ndarray:
        return self._xversions[: self.n]

    @property
    def versions(self) -> np.ndarray:
        return self._versions[: self.n]

    @property
    def times(self) -> np.ndarray:
        return self._times[: self.n]

    @property
    def codes(self) -> np.ndarray:
        return self._codes[: self.n]


@dataclass(frozen=True)
class CodedTypes:
    """Event types as small integers, ``names[codes[i]]`` being event i's type.

    Built by the loading worker (a Python pass over every event), so the UI thread only maps a
    batch's few names to its rows instead of looking up a type name per event.
    """

    names: tuple[str, ...]
    codes: np.ndarray  # int16

    def __len__(self) -> int:
        return len(self.codes)


def code_types(types: Sequence[str]) -> CodedTypes:
    """The types coded in order of first appearance."""
    names = tuple(dict.fromkeys(types))
    lookup = {name: i for i, name in enumerate(names)}
    if len(names) > np.iinfo(np.int16).max:
        raise EventLensError(f"timeline: more than {np.iinfo(np.int16).max} event types")
    return CodedTypes(names, np.fromiter(map(lookup.__getitem__, types), dtype=np.int16, count=len(types)))


def concat_types(parts: Sequence[CodedTypes]) -> CodedTypes:
    """Several batches' coded types as one (their names merged in order of first appearance)."""
    names = tuple(dict.fromkeys(name for part in parts for name in part.names))
    lookup = {name: i for i, name in enumerate(names)}
    codes = [np.array([lookup[n] for n in part.names], dtype=np.int16)[part.codes] for part in parts]
    return CodedTypes(names, np.concatenate(codes) if codes else np.empty(0, np.int16))


def _columns(versions: np.ndarray, times: np.ndarray, types: Sequence[str] | CodedTypes) -> tuple[np.ndarray, np.ndarray]:
    versions = np.ascontiguousarray(versions, dtype=np.int64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    if not (len(versions) == len(times) == len(types)):
        raise EventLensError(
            f"timeline: {len(versions)} versions, {len(times)} times and {len(types)} types do not match"
        )
    return versions, times


def format_time(seconds: float) -> str:
    """Epoch seconds as a UTC time for labels."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "?"


class TimelineWidget(QWidget):
    """Events over time or version, coloured by type, with snapshots, problems and a scrub cursor."""

    cursorMoved = Signal(int)  # while dragging or on a click, snapped to an event's version
    cursorFinished = Signal(int)  # the drag ended (or a click chose an event)
    redrawing = Signal()  # a redraw starts: a few ms to tens of ms of work on the UI thread

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._events = _Columns()
        self._names: list[str] = []
        self._codes_by_name: dict[str, int] = {}
        self._colours: list[str] = []
        self._snapshots = np.empty(0, np.int64)
        self._problems = np.empty(0, np.int64)
        self._mode = "version"
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # x, code, version by x
        self._cursor_version = 0
        self._quiet = False  # set while the widget itself moves the cursor or the range
        self._overview_dirty = True
        self._pending_show_all = False  # appended while empty: show everything at the next redraw
        self._pending_follow = False  # appended while the end was in view: keep it in view
        self._redraw_seconds = 0.0  # how long the last redraw took
        # x extent per axis the stream will have once loaded: loading fills a fixed view instead
        # of rescaling it (and re-laying both date axes) on every batch
        self._extent: dict[str, tuple[float, float]] = {}

        palette = self.palette()
        self._fg = palette.color(QPalette.ColorRole.WindowText)
        self._bg = palette.color(QPalette.ColorRole.Base)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(self._bg)
        self.view.ci.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.legend = pg.LegendItem(colCount=6, labelTextColor=self._fg, labelTextSize="9pt",
                                    brush=None, pen=None, horSpacing=12)
        self.view.addItem(self.legend, row=0, col=0)
        self.detail = self.view.addPlot(row=1, col=0)
        self.overview = self.view.addPlot(row=2, col=0)
        self.view.ci.layout.setRowStretchFactor(1, 5)
        self.view.ci.layout.setRowStretchFactor(2, 1)
        self.overview.setMaximumHeight(90)
        self.overview.setMinimumHeight(60)
        self._set_axes("version")

        self.detail.setMouseEnabled(x=True, y=False)
        self.detail.hideButtons()
        self.detail.setMenuEnabled(False)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.hideButtons()
        self.overview.setMenuEnabled(False)
        self.overview.getAxis("left").setStyle(showValues=False)
        self.overview.getAxis("left").setTicks([[]])

        self._scatters: list[pg.ScatterPlotItem] = []
        self._problem_marks = _Scatter(
            symbol="o", size=14, pen=pg.mkPen(PROBLEM_COLOUR, width=2), brush=None, pxMode=True
        )
        self._problem_marks.setZValue(5)
        self.detail.addItem(self._problem_marks)
        snapshot_colour = QColor(self._fg)
        snapshot_colour.setAlpha(170)
        self._snapshot_lines = pg.PlotDataItem(
            pen=pg.mkPen(snapshot_colour, width=1.5, style=Qt.PenStyle.DashLine), connect="pairs"
        )
        self._snapshot_lines.setZValue(-1)
        self.detail.addItem(self._snapshot_lines)
        self._snapshot_marks = _Scatter(symbol="t", size=11, pen=None, brush=pg.mkBrush(snapshot_colour))
        self.detail.addItem(self._snapshot_marks)
        for item in (self._problem_marks, self._snapshot_lines.curve, self._snapshot_marks):
            item.setCacheMode(CACHE)
        self._density = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=pg.mkPen(self._fg, width=1),
                                        brush=pg.mkBrush(QColor(self._fg.red(), self._fg.green(), self._fg.blue(), 60)))
        self._density.curve.setCacheMode(CACHE)
        self.overview.addItem(self._density)

        self.region = pg.LinearRegionItem(brush=pg.mkBrush(90, 140, 255, 50))
        self.region.setZValue(10)
        self.overview.addItem(self.region, ignoreBounds=True)
        self.region.sigRegionChanged.connect(self._region_changed)
        self.detail.sigXRangeChanged.connect(self._detail_range_changed)

        self.cursor = pg.InfiniteLine(
            pos=0, angle=90, movable=True, pen=pg.mkPen("#d62728", width=2),
            hoverPen=pg.mkPen("#ff5050", width=3), label="",
            # At the bottom: the lowest row is the first type seen (a creation, usually rare), and
            # the top holds the snapshot marks the label would hide.
            labelOpts={"position": 0.04, "color": self._fg, "fill": pg.mkBrush(self._bg),
                       "anchors": [(0, 1), (0, 1)]},
        )
        self.cursor.setZValue(20)
        self.detail.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._cursor_dragged)
        self.cursor.sigPositionChangeFinished.connect(self._cursor_released)
        self._overview_cursor = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=pg.mkPen("#d62728", width=1))
        self.overview.addItem(self._overview_cursor, ignoreBounds=True)
        self.legend.addItem(self._snapshot_marks, "snapshot")
        self.legend.addItem(self._problem_marks, "problem")

        self.view.scene().sigMouseClicked.connect(self._scene_clicked)
        # Range changes arrive in bursts while the user drags or zooms: redraw once per pass.
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self.redraw)

    # -- data ---------------------------------------------------------------------------------
    def set_events(self, versions: np.ndarray, times: np.ndarray, types: Sequence[str] | CodedTypes) -> None:
        """Show these events (versions ascending, times in epoch seconds, one type name each)."""
        versions, times = _columns(versions, times, types)
        self._extent = {}
        self._clear_types()
        codes = self._encode(types)
        self._events.replace(versions.copy(), times.copy(), codes)
        self._data_changed(reset_view=True)

    def append_events(self, versions: np.ndarray, times: np.ndarray, types: Sequence[str] | CodedTypes) -> None:
        """Add live events after the loaded ones; the view follows when it showed the end."""
        versions, times = _columns(versions, times, types)
        if len(versions) == 0:
            return
        # Only store here: limits, view range and drawing catch up in the next (throttled)
        # redraw, so a stream loading in a thousand batches is not redrawn a thousand times.
        self._pending_show_all = self._pending_show_all or self._events.n == 0
        self._pending_follow = self._pending_follow or self._showing_end()
        self._events.append(versions, times, self._encode(types))
        self._sorted = None
        self._overview_dirty = True
        # Throttle by the measured cost too, so redraws take at most a fifth of the main thread.
        self._schedule_redraw(max(APPEND_REDRAW_MS, int(5000 * self._redraw_seconds)))

    def expect(self, events: int, versions: tuple[int, int], times: tuple[float, float] | None = None) -> None:
        """Prepare for a stream of this many events spanning these versions and times (epoch seconds).

        Only a hint, from the stream's catalogue entry: room is made for the columns, and the view
        spans the whole stream from the first batch on. Events outside the span still show.
        """
        self._events.reserve(max(int(events), 0))
        self._extent = {"version": (float(versions[0]), float(versions[1]))}
        if times is not None:
            self._extent["time"] = (float(times[0]), float(times[1]))

    def set_snapshots(self, versions: list[int]) -> None:
        """Mark these versions as snapshots (dashed lines)."""
        self._snapshots = np.unique(np.asarray(versions, dtype=np.int64))
        self._schedule_redraw()

    def set_problems(self, versions: list[int]) -> None:
        """Mark these versions as having problems (red rings on their events)."""
        self._problems = np.unique(np.asarray(versions, dtype=np.int64))
        self._schedule_redraw()

    def type_names(self) -> list[str]:
        """The event types, in row order (row i is type code i)."""
        return list(self._names)

    def _encode(self, types: Sequence[str] | CodedTypes) -> np.ndarray:
        coded = types if isinstance(types, CodedTypes) else code_types(types)
        lookup = self._codes_by_name
        new = [name for name in coded.names if name not in lookup]
        if new:
            self._add_types(new)
        return np.array([lookup[name] for name in coded.names], dtype=np.int16)[coded.codes]

    def _add_types(self, names: list[str]) -> None:
        if len(self._names) + len(names) > np.iinfo(np.int16).max:
            raise EventLensError(f"timeline: more than {np.iinfo(np.int16).max} event types")
        # Types first, then the marker entries, so the legend reads in row order; the markers
        # move once per batch of new types (legend entries cost a few ms each).
        for marker in (self._snapshot_marks, self._problem_marks):
            self.legend.removeItem(marker)
        for name in names:
            self._codes_by_name[name] = len(self._names)
            self._names.append(name)
            colour = type_colour(name, set(self._colours))
            self._colours.append(colour)
            scatter = _Scatter(pen=None, brush=pg.mkBrush(colour), size=8, pxMode=True, name=name)
            scatter.setCacheMode(CACHE)
            scatter.sigClicked.connect(self._point_clicked)
            self.detail.addItem(scatter)
            self._scatters.append(scatter)
            self.legend.addItem(scatter, name)
        self.legend.addItem(self._snapshot_marks, "snapshot")
        self.legend.addItem(self._problem_marks, "problem")
        self.legend.setColumnCount(min(len(self._names) + 2, 8))
        self._update_rows()

    def _clear_types(self) -> None:
        for scatter in self._scatters:
            self.detail.removeItem(scatter)
            self.legend.removeItem(scatter)
        self._scatters.clear()
        self._names.clear()
        self._codes_by_name.clear()
        self._colours.clear()
        self._update_rows()

    def _update_rows(self) -> None:
        rows = max(len(self._names), 1)
        ticks = [(i, name) for i, name in enumerate(self._names)]
        left = self.detail.getAxis("left")
        left.setTicks([ticks, []])
        metrics = QFontMetrics(left.font() if hasattr(left, "font") else self.font())
        width = max([metrics.horizontalAdvance(name) for name in self._names] + [40]) + 16
        left.setWidth(width)
        self.overview.getAxis("left").setWidth(width)
        self.detail.setYRange(-0.6, rows - 0.1, padding=0)  # room above the rows for snapshot marks

    # -- x coordinates --------------------------------------------------------------------------
    def _x(self) -> np.ndarray:
        return self._events.xversions if self._mode == "version" else self._events.times

    def _by_x(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, code, version) in x order: views of the columns, sorted copies only for bad times."""
        events = self._events
        if self._mode == "version" or events.times_ascending:
            return self._x(), events.codes, events.versions
        # Times go back somewhere (bad data): sort once, until the data changes.
        if self._sorted is None:
            order = np.argsort(events.times, kind="stable")
            self._sorted = (events.times[order], events.codes[order], events.versions[order])
        return self._sorted

    def _index_of(self, version: int) -> int:
        versions = self._events.versions
        i = int(np.searchsorted(versions, version))
        if i >= len(versions) or (i > 0 and versions[i] != version and version - versions[i - 1] < versions[i] - version):
            i = max(i - 1, 0)
        return min(i, len(versions) - 1)

    def x_of(self, version: int) -> float:
        """The x coordinate of an event's version in the current axis mode."""
        if self._events.n == 0:
            return 0.0
        return float(self._x()[self._index_of(version)])

    def version_near(self, x: float) -> int:
        """The version of the event nearest to ``x`` (0 when no events are loaded)."""
        xs, _, versions = self._by_x()
        if len(xs) == 0:
            return 0
        i = int(np.searchsorted(xs, x))
        if i >= len(xs):
            i = len(xs) - 1
        elif i > 0 and x - xs[i - 1] <= xs[i] - x:
            i -= 1
        return int(versions[i])

    def _bounds(self) -> tuple[float, float]:
        xs = self._by_x()[0]
        if len(xs) == 0:
            return 0.0, 1.0
        lo, hi = float(xs[0]), float(xs[-1])
        if self._mode in self._extent:
            first, last = self._extent[self._mode]
            lo, hi = min(lo, first), max(hi, last)
        pad = max((hi - lo) * 0.01, 1.0 if self._mode == "time" else 0.5)
        return lo - pad, hi + pad

    # -- axis -----------------------------------------------------------------------------------
    def axis(self) -> str:
        return self._mode

    def set_axis(self, mode: str) -> None:
        """Show x as "time" (UTC dates) or "version"; the same events stay in view."""
        if mode not in AXIS_MODES:
            raise EventLensError(f"timeline: unknown axis {mode!r}; use one of {', '.join(AXIS_MODES)}")
        if mode == self._mode:
            return
        x0, x1 = self.detail.viewRange()[0]
        v0, v1 = self.version_near(x0), self.version_near(x1)
        self._mode = mode
        self._sorted = None
        self._set_axes(mode)
        self._overview_dirty = True
        self._apply_limits()
        if self._events.n:
            a, b = self.x_of(v0), self.x_of(v1)
            if b <= a:
                b = a + (1.0 if mode == "time" else 0.5)
            self._set_detail_range(a, b)
        self._place_cursor(self._cursor_version)
        self.redraw()

    def _set_axes(self, mode: str) -> None:
        for plot in (self.detail, self.overview):
            if mode == "time":
                axis = UtcDateAxis(orientation="bottom", utcOffset=0)
            else:
                axis = pg.AxisItem("bottom")
            axis.setPen(self._fg)
            axis.setTextPen(self._fg)
            plot.setAxisItems({"bottom": axis})
        for name in ("left", "bottom"):
            for plot in (self.detail, self.overview):
                plot.getAxis(name).setPen(self._fg)
                plot.getAxis(name).setTextPen(self._fg)
                # their inward ticks reach into the plot, so each cursor move would repaint them
                plot.getAxis(name).setCacheMode(CACHE)
        self.detail.setLabel("bottom", "time (UTC)" if mode == "time" else "version")

    # -- view range -------------------------------------------------------------------------------
    def _apply_limits(self) -> None:
        lo, hi = self._bounds()
        self.detail.setLimits(xMin=lo, xMax=hi)
        self.overview.setXRange(lo, hi, padding=0)
        self.region.setBounds((lo, hi))

    def _set_detail_range(self, x0: float, x1: float) -> None:
        self._quiet = True
        try:
            self.detail.setXRange(x0, x1, padding=0)
            self.region.setRegion(self.detail.viewRange()[0])
        finally:
            self._quiet = False

    def _region_changed(self) -> None:
        if self._quiet:
            return
        x0, x1 = self.region.getRegion()
        self._quiet = True
        try:
            self.detail.setXRange(x0, x1, padding=0)
        finally:
            self._quiet = False
        self._schedule_redraw()

    def _detail_range_changed(self, *_: object) -> None:
        if self._quiet:
            return  # the widget moved the range itself and redraws when it is done
        self._quiet = True
        try:
            self.region.setRegion(self.detail.viewRange()[0])
        finally:
            self._quiet = False
        self._schedule_redraw()

    def _showing_end(self) -> bool:
        if self._events.n == 0 or self._pending_show_all or self._pending_follow:
            return True
        return self.detail.viewRange()[0][1] >= float(self._by_x()[0][-1])

    def _data_changed(self, *, reset_view: bool) -> None:
        self._sorted = None
        self._overview_dirty = True
        self._pending_show_all = self._pending_follow = False
        self._apply_limits()
        if reset_view:
            self._set_detail_range(*self._bounds())
            self._cursor_version = int(self._events.versions[-1]) if self._events.n else 0
            self._place_cursor(self._cursor_version)
        self.redraw()

    def _catch_up(self) -> None:
        # Apply what appends left pending: new limits, and the view on the new events.
        show_all, follow = self._pending_show_all, self._pending_follow
        self._pending_show_all = self._pending_follow = False
        old = self.detail.viewRange()[0]
        self._apply_limits()
        if show_all:
            self._set_detail_range(*self._bounds())
        elif follow:
            lo, hi = self._bounds()
            start = float(self._by_x()[0][0])
            if old[0] <= start:
                self._set_detail_range(old[0], hi)  # the whole stream was in view: it stays so
            else:
                self._set_detail_range(max(lo, hi - (old[1] - old[0])), hi)  # slide, same width

    # -- drawing ----------------------------------------------------------------------------------
    def _schedule_redraw(self, delay_ms: int = 0) -> None:
        timer = self._redraw_timer
        if timer.isActive() and timer.remainingTime() <= delay_ms:
            return
        timer.start(delay_ms)

    def _buckets(self) -> int:
        width = self.detail.getViewBox().width()
        return max(int(width / PIXELS_PER_BUCKET), 50)

    def redraw(self) -> None:
        """Recompute what is drawn for the visible range (called after range and data changes)."""
        self._redraw_timer.stop()
        self.redrawing.emit()
        started = time.perf_counter()
        try:
            self._redraw()
        finally:
            self._redraw_seconds = time.perf_counter() - started

    def _redraw(self) -> None:
        if self._overview_dirty:
            self._catch_up()
        x0, x1 = self.detail.viewRange()[0]
        drawn = self._visible_by_type(x0, x1)
        counts = [c for _, _, c in drawn if len(c)]
        most = max((int(c.max()) for c in counts), default=1)
        exact = most == 1 and sum(len(c) for c in counts) <= MAX_EXACT_POINTS
        for code, scatter in enumerate(self._scatters):
            x, versions, count = drawn[code] if code < len(drawn) else (np.empty(0), np.empty(0, np.int64), np.empty(0))
            if exact:
                size, symbol = 8.0, "o"
            else:
                # Whole pixels: each distinct size is a symbol pyqtgraph renders into its atlas, and a
                # continuous scale rendered hundreds per redraw (most of a redraw while loading).
                size, symbol = np.rint(7.0 + 11.0 * np.log1p(count) / np.log1p(most)), BAR
            scatter.setData(x=x, y=np.full(len(x), float(code)), data=versions, size=size, symbol=symbol)
        self._draw_markers(x0, x1)
        if self._overview_dirty:
            self._draw_overview()

    def _visible_by_type(self, x0: float, x1: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per type code: (x, version, count) of the points to draw between x0 and x1."""
        events = self._events
        if self._mode == "version" or events.times_ascending:
            rows = [row.xversions.values if self._mode == "version" else row.times.values for row in events.rows]
            picked = bucket_rows(rows, x0, x1, self._buckets())
            return [(xs[index], row.xversions.values[index].astype(np.int64), counts)
                    for row, xs, (index, counts) in zip(events.rows, rows, picked)]
        # Times go back somewhere (bad data): the rows are not in x order; one pass over the sorted copy.
        xs, codes, versions = self._by_x()
        px, pc, pv, counts = bucket_events(xs, codes, versions, x0, x1, self._buckets(), len(self._names))
        order = np.argsort(pc, kind="stable")
        splits = np.searchsorted(pc[order], np.arange(len(self._names) + 1))
        return [(px[pick], pv[pick], counts[pick]) for pick in (order[a:b] for a, b in zip(splits[:-1], splits[1:]))]

    def _visible_marks(self, marks: np.ndarray, x0: float, x1: float) -> tuple[np.ndarray, np.ndarray]:
        # (x, index) of the marked versions that are loaded and visible, one per few pixels.
        versions = self._events.versions
        if len(marks) == 0 or len(versions) == 0:
            return np.empty(0), np.empty(0, np.int64)
        index = np.searchsorted(versions, marks)
        loaded = index < len(versions)
        index = index[loaded]
        index = index[versions[index] == marks[loaded]]  # only versions that are loaded
        x = self._x()[index]
        keep = (x >= x0) & (x <= x1)
        x, index = x[keep], index[keep]
        room = min(MAX_MARKERS, max(int(self.detail.getViewBox().width() / 6), 10))
        if len(x) > room:
            columns = ((x - x0) * (room / max(x1 - x0, 1e-9))).astype(np.int64)
            _, first = np.unique(columns, return_index=True)
            x, index = x[first], index[first]
        return x, index

    def _draw_markers(self, x0: float, x1: float) -> None:
        x, _ = self._visible_marks(self._snapshots, x0, x1)
        top = max(len(self._names), 1) - 0.35
        self._snapshot_marks.setData(x=x, y=np.full(len(x), top))
        lines = x if len(x) <= MAX_SNAPSHOT_LINES else x[:0]
        self._snapshot_lines.setData(x=np.repeat(lines, 2), y=np.tile([-0.6, top], len(lines)))
        x, index = self._visible_marks(self._problems, x0, x1)
        self._problem_marks.setData(x=x, y=self._events.codes[index].astype(float), data=self._events.versions[index])

    def _draw_overview(self) -> None:
        self._overview_dirty = False
        xs = self._by_x()[0]
        if len(xs) == 0:
            self._density.setData(x=np.array([0.0, 1.0]), y=np.array([0.0]))
            return
        lo, hi = self._bounds()
        edges = np.linspace(lo, hi, OVERVIEW_BUCKETS + 1)
        # xs is sorted: counts from binary searches, not a pass over a million events per append
        counts = np.diff(np.append(np.searchsorted(xs, edges[:-1], "left"), len(xs))).astype(float)
        self._density.setData(x=edges, y=np.log1p(counts))  # log: a burst does not flatten the rest
        top = float(np.log1p(counts.max())) * 1.1 or 1.0
        if self.overview.viewRange()[1] != [0.0, top]:
            self.overview.setYRange(0, top, padding=0)

    # -- the cursor ---------------------------------------------------------------------------------
    def cursor_version(self) -> int:
        """The version under the cursor (0 when no events are loaded)."""
        return self._cursor_version

    def set_cursor(self, version: int) -> None:
        """Move the cursor to ``version`` (scrolling it into view); emits nothing."""
        if self._events.n == 0:
            return
        self._cursor_version = int(self._events.versions[self._index_of(int(version))])
        self._place_cursor(self._cursor_version)
        x = self.x_of(self._cursor_version)
        x0, x1 = self.detail.viewRange()[0]
        if not x0 <= x <= x1:
            half = (x1 - x0) / 2
            lo, hi = self._bounds()
            centre = min(max(x, lo + half), hi - half)
            self._set_detail_range(centre - half, centre + half)
            self._schedule_redraw()

    def _place_cursor(self, version: int) -> None:
        x = self.x_of(version)
        self._quiet = True
        try:
            self.cursor.setPos(x)
        finally:
            self._quiet = False
        self._overview_cursor.setPos(x)
        self._label_cursor(version)

    def _label_cursor(self, version: int) -> None:
        if self._events.n == 0:
            self.cursor.label.setFormat("")
        else:
            t = float(self._events.times[self._index_of(version)])
            self.cursor.label.setFormat(f" v{version}  {format_time(t)} ")
        self.cursor.label.valueChanged()

    def _cursor_dragged(self) -> None:
        if self._quiet or self._events.n == 0:
            return
        version = self.version_near(self.cursor.value())
        self._place_cursor(version)  # snap to the event
        if version != self._cursor_version:
            self._cursor_version = version
            self.cursorMoved.emit(version)

    def _cursor_released(self) -> None:
        if self._events.n:
            self.cursorFinished.emit(self._cursor_version)

    def _choose(self, version: int) -> None:
        self._cursor_version = version
        self._place_cursor(version)
        self.cursorMoved.emit(version)
        self.cursorFinished.emit(version)

    def _point_clicked(self, _item: object, points: list, ev: object) -> None:
        if len(points):
            self._choose(int(points[0].data()))

    def _scene_clicked(self, ev) -> None:
        # A click on empty plot area picks the nearest event; points and the line handle their own.
        if ev.isAccepted() or ev.button() != Qt.MouseButton.LeftButton or self._events.n == 0:
            return
        box = self.detail.getViewBox()
        if not box.sceneBoundingRect().contains(ev.scenePos()):
            return
        x = box.mapSceneToView(ev.scenePos()).x()
        self._choose(self.version_near(x))

    # -- export ---------------------------------------------------------------------------------------
    def export_image(self, path: str | Path) -> None:
        """Save the timeline as it is shown (PNG by the file's suffix)."""
        self.redraw()
        image = self.grab()
        if image.isNull() or not image.save(str(path)):
            raise EventLensError(f"could not write the timeline image to {str(path)!r}")

    # -- helpers for tests and callers ------------------------------------------------------------------
    def drawn_points(self) -> int:
        """How many event points the detail plot holds now (bounded however long the stream)."""
        return sum(len(scatter.data) for scatter in self._scatters)

    def cursor_scene_pos(self) -> QPointF:
        """Where the cursor line crosses the middle of the detail plot, in scene coordinates."""
        box = self.detail.getViewBox()
        y = sum(self.detail.viewRange()[1]) / 2
        return box.mapViewToScene(QPointF(self.cursor.value(), y))
