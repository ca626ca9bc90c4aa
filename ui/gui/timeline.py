"""The timeline's view: draws what ``ui.session.timeline.TimelineModel`` computes, with pyqtgraph.

A detail plot with one row per event type and a small overview below whose region chooses
what the detail plot shows (pyqtgraph's crosshair example). Few visible events are drawn as
points; more as one image of counts per pixel column and row (``Drawing.density``), whose
intensity shows a burst and a lull apart. The drawing is recomputed for every range shown.
Only pyqtgraph's public API is used.
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from model.errors import EventLensError
from ui.session.text import number
from ui.session.ticks import time_ticks, version_ticks
from ui.session.timeline import Drawing, TimelineModel

#: Colours that read on light and dark backgrounds; a type keeps its colour across streams.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#bcbd22", "#e377c2", "#8c564b",
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
)
OTHER_COLOUR = "#888888"
PROBLEM_COLOUR = "#e02020"
CURSOR_COLOUR = "#d62728"
CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
#: Range changes and appends redraw after this many ms (several in one event-loop pass: once).
REDRAW_MS = 0
APPEND_REDRAW_MS = 50
LABEL_CHARS = 22  # type names on the left axis are cut beyond this (the legend has them whole)
MAX_SNAPSHOT_LINES = 60


def type_colour(name: str, taken: set[str] | None = None) -> str:
    """A stable colour for an event type: a hash of its name, moved on when ``taken`` has it."""
    start = zlib.crc32(name.encode("utf-8", "replace")) % len(PALETTE)
    for step in range(len(PALETTE)):
        colour = PALETTE[(start + step) % len(PALETTE)]
        if taken is None or colour not in taken:
            return colour
    return PALETTE[start]  # more types than colours: rows still tell them apart


def _cut(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _metrics(axis: pg.AxisItem) -> QFontMetrics:
    return QFontMetrics(axis.style.get("tickFont") or axis.font())


class VersionAxis(pg.AxisItem):
    """Whole-number version ticks (no 1.5 between versions 1 and 2)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph's names)
        most = max(2, int(size / (_metrics(self).horizontalAdvance("0" * 9))))
        return [(1.0, [float(v) for v in version_ticks(minVal, maxVal, most)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [number(int(v)) for v in values]


class TimeAxis(VersionAxis):
    """UTC time ticks whose labels carry the month and year, and the full date at the left end."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803
        most = max(2, int(size / _metrics(self).horizontalAdvance("2024-01-05 00:00  ")))
        self._labels = dict(time_ticks(minVal, maxVal, most))
        return [(1.0, list(self._labels))]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        labels = getattr(self, "_labels", {})
        return [labels.get(v, "") for v in values]


class RowAxis(pg.AxisItem):
    """The left axis: one label per row, never two on one row."""

    def set_rows(self, names: tuple[str, ...]) -> None:
        self.setTicks([[(i, _cut(name)) for i, name in enumerate(names)], []])


class TimelineWidget(QWidget):
    """Events over time or version, a row per type, with snapshots, problems and a scrub cursor."""

    cursorMoved = Signal(int)  # while dragging or on a click, snapped to an event's version
    cursorFinished = Signal(int)  # the drag ended (or a click chose an event)
    redrawing = Signal()  # a redraw starts: a few ms of work on the UI thread

    def __init__(self, model: TimelineModel | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model or TimelineModel()
        self._snapshots = np.empty(0, np.int64)
        self._problems = np.empty(0, np.int64)
        self._colours: dict[str, str] = {}
        self._drawing: Drawing | None = None
        self._quiet = False  # set while the widget itself moves the cursor or the range
        palette = self.palette()
        self._fg = palette.color(QPalette.ColorRole.WindowText)
        self._bg = palette.color(QPalette.ColorRole.Base)
        fm = self.fontMetrics()
        self.min_row_px = fm.height() + 4

        self.legend = QLabel()
        self.legend.setWordWrap(True)  # wraps instead of running off the right edge
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(self._bg)
        self.view.ci.setSpacing(2)
        self.view.setMinimumHeight(4 * self.min_row_px + 90)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend)
        layout.addWidget(self.view, 1)

        self._axes = {"version": (VersionAxis("bottom"), VersionAxis("bottom")),
                      "time": (TimeAxis("bottom"), TimeAxis("bottom"))}
        self.rows_axis = RowAxis("left")
        self.rows_axis.set_rows(())  # no rows, no labels: not pyqtgraph's default -0.5 .. 0.5
        self.detail = self.view.addPlot(row=0, col=0, axisItems={"left": self.rows_axis,
                                                                "bottom": self._axes["version"][0]})
        self.overview = self.view.addPlot(row=1, col=0, axisItems={"bottom": self._axes["version"][1]})
        self.view.ci.layout.setRowStretchFactor(0, 5)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        # the overview is a strip: the rows get the room
        self.overview.setMaximumHeight(3 * fm.height() + 6)
        self.overview.setMinimumHeight(2 * fm.height() + 6)
        for plot in (self.detail, self.overview):
            plot.hideButtons()
            plot.setMenuEnabled(False)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(self._fg)
                axis.setTextPen(self._fg)
                axis.setCacheMode(CACHE)  # their ticks reach into the plot: a cursor move would repaint them
        for axes in self._axes.values():
            for axis in axes:
                axis.setPen(self._fg)
                axis.setTextPen(self._fg)
        self.detail.setMouseEnabled(x=True, y=False)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.getAxis("left").setStyle(showValues=False)
        self.overview.getAxis("left").setTicks([[]])
        for axis in self._axes.values():  # the detail plot's axis reads the values; the strip only shows where
            axis[1].setStyle(showValues=False)
        self.detail.setLabel("bottom", "version")

        self._image = pg.ImageItem(axisOrder="row-major")
        self._image.setCacheMode(CACHE)
        self.detail.addItem(self._image)
        self._points: list[pg.ScatterPlotItem] = []
        self._problem_marks = pg.ScatterPlotItem(symbol="o", size=14, pen=pg.mkPen(PROBLEM_COLOUR, width=2),
                                                 brush=None, pxMode=True)
        self._problem_marks.setZValue(5)
        self.detail.addItem(self._problem_marks)
        marks = QColor(self._fg)
        marks.setAlpha(170)
        self._snapshot_lines = pg.PlotDataItem(pen=pg.mkPen(marks, width=1.5, style=Qt.PenStyle.DashLine),
                                               connect="pairs")
        self._snapshot_lines.setZValue(-1)
        self.detail.addItem(self._snapshot_lines)
        self._snapshot_marks = pg.ScatterPlotItem(symbol="t", size=11, pen=None, brush=pg.mkBrush(marks))
        self.detail.addItem(self._snapshot_marks)
        for item in (self._problem_marks, self._snapshot_lines, self._snapshot_marks):
            item.setCacheMode(CACHE)
        self._empty = pg.TextItem("No stream open", color=self._fg, anchor=(0.5, 0.5))
        self.detail.addItem(self._empty, ignoreBounds=True)
        self._density = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=pg.mkPen(self._fg, width=1),
                                        brush=pg.mkBrush(QColor(self._fg.red(), self._fg.green(), self._fg.blue(), 60)))
        self._density.setCacheMode(CACHE)
        self.overview.addItem(self._density)
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(90, 140, 255, 50))
        self.region.setZValue(10)
        self.overview.addItem(self.region, ignoreBounds=True)
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen(CURSOR_COLOUR, width=2),
                                      hoverPen=pg.mkPen("#ff5050", width=3), label="",
                                      labelOpts={"position": 0.04, "color": self._fg, "fill": pg.mkBrush(self._bg),
                                                 "anchors": [(0, 1), (0, 1)]})
        self.cursor.setZValue(20)
        self.cursor.hide()
        self.detail.addItem(self.cursor, ignoreBounds=True)
        self._overview_cursor = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1))
        self.overview.addItem(self._overview_cursor, ignoreBounds=True)

        self.region.sigRegionChanged.connect(self._region_changed)
        self.detail.sigXRangeChanged.connect(self._range_changed)
        self.cursor.sigPositionChanged.connect(self._cursor_dragged)
        self.cursor.sigPositionChangeFinished.connect(self._cursor_released)
        self.view.scene().sigMouseClicked.connect(self._scene_clicked)
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self.redraw)
        self._rows: tuple[str, ...] = ()
        self._axis = "version"
        self.redraw()

    # -- data -----------------------------------------------------------------------------------
    def set_model(self, model: TimelineModel) -> None:
        """Show another stream's model (a new stream opened, or none: an empty model)."""
        self.model = model
        self._snapshots = self._problems = np.empty(0, np.int64)
        self._use_axis(model.axis)
        self._empty.setText("No stream open")
        self.redraw()

    def data_changed(self) -> None:
        """The model took more events: redraw soon (a stream loading in many batches redraws a few times a second)."""
        self._schedule(APPEND_REDRAW_MS)

    def set_snapshots(self, versions) -> None:
        """Mark these versions as snapshots (dashed lines and triangles)."""
        self._snapshots = np.unique(np.asarray(list(versions), dtype=np.int64))
        self._schedule()

    def set_problems(self, versions) -> None:
        """Mark these versions as having problems (red rings on their events)."""
        self._problems = np.unique(np.asarray(list(versions), dtype=np.int64))
        self._schedule()

    def set_axis(self, axis: str) -> None:
        """Show x as "time" (UTC dates) or "version"; the same events stay in view."""
        self.model.set_axis(axis)
        self._use_axis(axis)
        self.redraw()

    def axis(self) -> str:
        return self.model.axis

    def _use_axis(self, axis: str) -> None:
        if axis == self._axis:
            return
        self._axis = axis
        detail, overview = self._axes[axis]
        self.detail.setAxisItems({"bottom": detail})
        self.overview.setAxisItems({"bottom": overview})
        self.detail.setLabel("bottom", "time (UTC)" if axis == "time" else "version")

    # -- range ------------------------------------------------------------------------------------
    def _apply_view(self) -> None:
        """Show the model's view range (and its bounds) without treating it as the user's move."""
        lo, hi = self.model.bounds()
        x0, x1 = self.model.view
        self._quiet = True
        try:
            self.detail.setLimits(xMin=lo, xMax=hi)
            self.detail.setXRange(x0, x1, padding=0)
            self.overview.setXRange(lo, hi, padding=0)
            self.region.setBounds((lo, hi))
            self.region.setRegion((x0, x1))
        finally:
            self._quiet = False

    def _range_changed(self, *_: object) -> None:
        if self._quiet:
            return
        self.model.set_view(*self.detail.viewRange()[0])
        self._quiet = True
        try:
            self.region.setRegion(self.model.view)
        finally:
            self._quiet = False
        self._schedule()

    def _region_changed(self) -> None:
        if self._quiet:
            return
        self.model.set_view(*self.region.getRegion())
        self._quiet = True
        try:
            self.detail.setXRange(*self.model.view, padding=0)
        finally:
            self._quiet = False
        self._schedule()

    # -- drawing ------------------------------------------------------------------------------------
    def _schedule(self, delay_ms: int = REDRAW_MS) -> None:
        timer = self._redraw_timer
        if timer.isActive() and timer.remainingTime() <= delay_ms:
            return
        timer.start(delay_ms)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._schedule()

    def _max_rows(self) -> int:
        height = self.detail.getViewBox().height() or self.view.height() * 0.7
        return max(2, int(height // self.min_row_px))

    def redraw(self) -> None:
        """Compute what is drawn for the range shown now, and draw it."""
        self._redraw_timer.stop()
        self.redrawing.emit()
        model = self.model
        model.set_max_rows(self._max_rows())
        self._apply_view()
        columns = max(int(self.detail.getViewBox().width()), 50)
        drawing = model.drawing(columns)
        self._drawing = drawing
        self._draw_rows(drawing)
        self._draw(drawing)
        self._draw_marks()
        self._draw_overview()
        self._empty.setVisible(model.n == 0)
        self.region.setVisible(model.n > 0)  # no stream, no range to choose
        if model.n == 0:
            lo, hi = model.bounds()
            self._empty.setPos((lo + hi) / 2, 0)
        self._place_cursor()

    def _colour(self, name: str) -> str:
        if name not in self._colours:
            self._colours[name] = OTHER_COLOUR if name == "other" else type_colour(name, set(self._colours.values()))
        return self._colours[name]

    def _draw_rows(self, drawing: Drawing) -> None:
        if drawing.rows != self._rows:
            self._rows = drawing.rows
            self.rows_axis.set_rows(drawing.rows)
            metrics = _metrics(self.rows_axis)
            width = max([metrics.horizontalAdvance(_cut(n)) for n in drawing.rows] + [40]) + 16
            self.rows_axis.setWidth(width)
            self.overview.getAxis("left").setWidth(width)
            entries = [f'<span style="color:{self._colour(n)}">■</span>&nbsp;{n}' for n in drawing.rows]
            entries += ['▲&nbsp;snapshot', f'<span style="color:{PROBLEM_COLOUR}">○</span>&nbsp;problem']
            self.legend.setText(" &nbsp; ".join(entries))
        self.detail.setYRange(-0.6, max(len(drawing.rows), 1) - 0.1, padding=0)  # room above for snapshot marks

    def _draw(self, drawing: Drawing) -> None:
        while len(self._points) < len(drawing.rows):
            scatter = pg.ScatterPlotItem(pen=None, size=8, pxMode=True)
            scatter.setCacheMode(CACHE)
            scatter.sigClicked.connect(self._point_clicked)
            self.detail.addItem(scatter)
            self._points.append(scatter)
        for row, scatter in enumerate(self._points):
            if drawing.exact and row < len(drawing.rows):
                x, versions = drawing.points[row]
                scatter.setData(x=x, y=np.full(len(x), float(row)), data=versions,
                                brush=pg.mkBrush(self._colour(drawing.rows[row])))
            else:
                scatter.setData(x=[], y=[])
        if drawing.exact or drawing.density is None:
            self._image.clear()
            return
        counts = drawing.density
        top = max(int(counts.max()), 1)
        # intensity by the log of the count; any event keeps a visible floor, so no column that holds events is empty
        share = np.where(counts > 0, 0.3 + 0.7 * np.log1p(counts) / math.log1p(top), 0.0)
        rgba = np.zeros((counts.shape[0], counts.shape[1], 4), dtype=np.uint8)
        for row, name in enumerate(drawing.rows):
            colour = QColor(self._colour(name))
            rgba[row, :, 0], rgba[row, :, 1], rgba[row, :, 2] = colour.red(), colour.green(), colour.blue()
        rgba[:, :, 3] = np.rint(255 * share).astype(np.uint8)
        self._image.setImage(rgba, autoLevels=False)
        self._image.setRect(QRectF(drawing.x0, -0.4, drawing.x1 - drawing.x0, counts.shape[0] - 0.2))

    def _draw_marks(self) -> None:
        room = max(int(self.detail.getViewBox().width() / 6), 10)
        x, _, _ = self.model.marks(self._snapshots, room)
        top = max(len(self._rows), 1) - 0.35
        self._snapshot_marks.setData(x=x, y=np.full(len(x), top))
        lines = x if len(x) <= MAX_SNAPSHOT_LINES else x[:0]
        self._snapshot_lines.setData(x=np.repeat(lines, 2), y=np.tile([-0.6, top], len(lines)))
        x, versions, rows = self.model.marks(self._problems, room)
        self._problem_marks.setData(x=x, y=rows.astype(float), data=versions)

    def _draw_overview(self) -> None:
        # about four events a bucket at most, so a short stream reads as a shape rather than a comb
        edges, counts = self.model.overview(max(20, min(400, self.model.n // 4)))
        self._density.setData(x=edges, y=np.log1p(counts))  # log: a burst does not flatten the rest
        top = float(np.log1p(counts.max())) * 1.1 if len(counts) and counts.max() > 0 else 1.0
        self.overview.setYRange(0, top, padding=0)

    # -- the cursor ------------------------------------------------------------------------------------
    def cursor_version(self) -> int:
        return self.model.cursor

    def show_cursor(self, version: int) -> None:
        """Move the cursor to ``version``, scrolling it into view; emits nothing."""
        self.model.set_cursor(version)
        # the session's cursor may have scrolled the model's view already: compare with what is shown
        shown = self.detail.viewRange()[0]
        if not all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(self.model.view, shown)):
            self._schedule()
        self._place_cursor()

    def _place_cursor(self) -> None:
        model = self.model
        visible = model.n > 0 and model.cursor > 0
        self.cursor.setVisible(visible)
        if not visible:
            return
        x = model.x_of(model.cursor)
        self._quiet = True
        try:
            self.cursor.setPos(x)
        finally:
            self._quiet = False
        self._overview_cursor.setPos(x)
        # the label sits on the side of the line with room, so it stays inside the plot at both ends
        x0, x1 = model.view
        self.cursor.label.anchors = [(1, 1), (1, 1)] if x > (x0 + x1) / 2 else [(0, 1), (0, 1)]
        self.cursor.label.setFormat(f" {model.label(model.cursor)} ")
        self.cursor.label.updatePosition()

    def _cursor_dragged(self) -> None:
        if self._quiet or self.model.n == 0:
            return
        version = self.model.version_near(self.cursor.value())
        changed = version != self.model.cursor
        self.model.cursor = version
        self._place_cursor()  # snap to the event
        if changed:
            self.cursorMoved.emit(version)

    def _cursor_released(self) -> None:
        if self.model.n:
            self.cursorFinished.emit(self.model.cursor)

    def _choose(self, version: int) -> None:
        self.model.cursor = version
        self._place_cursor()
        self.cursorMoved.emit(version)
        self.cursorFinished.emit(version)

    def _point_clicked(self, _item: object, points: list, ev: object) -> None:
        if len(points):
            self._choose(int(points[0].data()))

    def _scene_clicked(self, ev) -> None:
        # A click on empty plot area picks the nearest event; points and the line handle their own.
        if ev.isAccepted() or ev.button() != Qt.MouseButton.LeftButton or self.model.n == 0:
            return
        box = self.detail.getViewBox()
        if not box.sceneBoundingRect().contains(ev.scenePos()):
            return
        point = box.mapSceneToView(ev.scenePos())
        self._choose(self._version_at(point.x(), point.y()))

    def _version_at(self, x: float, y: float) -> int:
        """The event a click at (x, row y) means: the first in that pixel column of that row, else the nearest."""
        drawing = self._drawing
        row = int(round(y))
        if drawing is not None and not drawing.exact and drawing.versions is not None and 0 <= row < len(drawing.rows):
            column = int((x - drawing.x0) / max(drawing.x1 - drawing.x0, 1e-12) * drawing.columns)
            if 0 <= column < drawing.columns and drawing.density[row, column] > 0:
                return int(drawing.versions[row, column])
        return self.model.version_near(x)

    # -- export and helpers ------------------------------------------------------------------------------
    def export_image(self, path: str | Path) -> None:
        """Save the timeline as it is shown (PNG by the file's suffix)."""
        self.redraw()
        image = self.grab()
        if image.isNull() or not image.save(str(path)):
            raise EventLensError(f"could not write the timeline image to {str(path)!r}")

    def drawing(self) -> Drawing | None:
        """What the last redraw drew (tests and benchmarks read it)."""
        return self._drawing

    def drawn_points(self) -> int:
        """How many marks the detail plot draws now: points, or non-empty density cells."""
        drawing = self._drawing
        if drawing is None:
            return 0
        return drawing.drawn_events() if drawing.exact else int(np.count_nonzero(drawing.density))

    def scene_x(self, x: float) -> float:
        """The scene x of a data x in the detail plot."""
        box = self.detail.getViewBox()
        return box.mapViewToScene(QPointF(x, 0)).x()

    def cursor_scene_pos(self) -> QPointF:
        """Where the cursor line crosses the middle of the detail plot, in scene coordinates."""
        box = self.detail.getViewBox()
        y = sum(self.detail.viewRange()[1]) / 2
        return box.mapViewToScene(QPointF(self.cursor.value(), y))
