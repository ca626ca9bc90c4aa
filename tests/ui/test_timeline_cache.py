"""The timeline's cached items (drawn once, blitted on cursor moves) show what the data and range say.

Pixels are read from ``grab()``, which paints the widget through the same view and item caches
as the screen does, after a first grab has filled the caches.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor, QImage

import ui.gui.workers  # noqa: F401  (pins None/True/False: PySide6 6.12 on Python 3.11 drops references)
from ui.gui.timeline import TimelineWidget

T0 = 1_700_000_000.0


@pytest.fixture
def timeline(qtbot):
    w = TimelineWidget()
    qtbot.addWidget(w)
    w.resize(900, 420)
    w.show()
    qtbot.waitExposed(w)
    return w


def widget_point(w: TimelineWidget, x: float, y: float) -> QPoint:
    """Where view coordinates (x, y) of the detail plot are in the widget's pixels."""
    scene = w.detail.getViewBox().mapViewToScene(QPointF(x, y))
    return w.view.viewport().mapTo(w, w.view.mapFromScene(scene))


def shows_colour(image: QImage, at: QPoint, colour: str, ratio: float, reach: int = 2) -> bool:
    """True when a pixel within ``reach`` px of ``at`` has (nearly) the colour."""
    want = QColor(colour)
    cx, cy = round(at.x() * ratio), round(at.y() * ratio)
    for dx in range(-reach, reach + 1):
        for dy in range(-reach, reach + 1):
            x, y = cx + dx, cy + dy
            if 0 <= x < image.width() and 0 <= y < image.height():
                got = image.pixelColor(x, y)
                if max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                       abs(got.blue() - want.blue())) <= 24:
                    return True
    return False


def colour_of(w: TimelineWidget, name: str) -> str:
    return w._colours[w.type_names().index(name)]


def grab(w: TimelineWidget) -> QImage:
    return w.grab().toImage()


def test_points_move_with_the_range_and_the_data_after_a_cached_paint(timeline, qtbot):
    versions = np.arange(1, 11, dtype=np.int64)
    timeline.set_events(versions, T0 + versions * 60.0, ["A"] * 10)
    ratio = timeline.devicePixelRatioF()
    blue = colour_of(timeline, "A")
    image = grab(timeline)  # fills the caches
    assert shows_colour(image, widget_point(timeline, 3, 0), blue, ratio)
    old = widget_point(timeline, 3, 0)

    # Zoomed in: event 3 is elsewhere on screen, and nothing is left where it was drawn.
    timeline.detail.setXRange(1.5, 3.5, padding=0)
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=2000)
    image = grab(timeline)
    new = widget_point(timeline, 3, 0)
    assert abs(new.x() - old.x()) > 40
    assert shows_colour(image, new, blue, ratio)
    assert not shows_colour(image, old, blue, ratio)

    # Panned only (the same scale): the cache may be scrolled; the point follows.
    timeline.detail.setXRange(2.0, 4.0, padding=0)
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=2000)
    image = grab(timeline)
    assert shows_colour(image, widget_point(timeline, 3, 0), blue, ratio)
    assert not shows_colour(image, widget_point(timeline, 2.5, 0), blue, ratio)
    assert not shows_colour(image, widget_point(timeline, 3.5, 0), blue, ratio)

    # New data on the same range: only the new points are drawn.
    timeline.set_events(np.array([1, 2], dtype=np.int64), np.array([T0, T0 + 5]), ["A", "A"])
    timeline.detail.setXRange(0.5, 2.5, padding=0)
    timeline.redraw()
    image = grab(timeline)
    assert shows_colour(image, widget_point(timeline, 2, 0), blue, ratio)
    assert not shows_colour(image, widget_point(timeline, 1.5, 0), blue, ratio)


def test_a_point_under_the_moving_cursor_is_drawn_again_when_the_cursor_leaves(timeline, qtbot):
    versions = np.arange(1, 41, dtype=np.int64)
    types = ["A", "B"] * 20
    timeline.set_events(versions, T0 + versions * 60.0, types)
    ratio = timeline.devicePixelRatioF()
    orange = colour_of(timeline, "B")
    timeline.set_cursor(20)  # on a B event (even versions are B, row 1)
    timeline.grab()
    for version in (21, 22, 30, 31):  # the line crosses and leaves event 20's column
        timeline.cursor.setValue(version)
        qtbot.wait(1)
    assert timeline.cursor_version() == 31
    image = grab(timeline)
    assert shows_colour(image, widget_point(timeline, 20, 1), orange, ratio)
    assert shows_colour(image, widget_point(timeline, 22, 1), orange, ratio)
    assert not shows_colour(image, widget_point(timeline, 21, 1), orange, ratio)


def test_appended_events_show_once_the_throttled_redraw_ran(timeline, qtbot):
    versions = np.arange(1, 101, dtype=np.int64)
    times = T0 + versions * 60.0
    timeline.set_events(versions, times, ["A"] * 100)
    timeline.grab()
    timeline.append_events(np.array([101], dtype=np.int64), np.array([times[-1] + 60]), ["B"])
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=2000)
    image = grab(timeline)
    assert shows_colour(image, widget_point(timeline, 101, 1), colour_of(timeline, "B"), timeline.devicePixelRatioF())


def test_bucket_sizes_come_in_few_steps(timeline):
    # Each distinct size is a symbol pyqtgraph renders and keeps: a continuous scale rendered
    # hundreds per redraw while a stream loaded.
    n = 300_000
    rng = np.random.default_rng(5)
    versions = np.arange(1, n + 1, dtype=np.int64)
    types = list(np.array(["A", "B", "C"])[rng.integers(0, 3, n)])
    timeline.set_events(versions, T0 + versions.astype(float), types)
    sizes = np.concatenate([s.data["size"] for s in timeline._scatters])
    assert len(sizes) > 100
    assert len(np.unique(sizes)) <= 12
    assert sizes.min() >= 7 and sizes.max() <= 18


def test_sized_bars_look_as_pyqtgraph_draws_them(qtbot):
    # The timeline's scatter finds its symbols once per distinct size, not per point: the same pixels.
    import pyqtgraph as pg

    from ui.gui.timeline import BAR, _Scatter

    rng = np.random.default_rng(4)
    x = np.sort(rng.uniform(0, 100, 300))
    sizes = np.rint(rng.uniform(7, 18, 300))
    images = []
    for cls in (pg.ScatterPlotItem, _Scatter):
        plot = pg.PlotWidget()
        qtbot.addWidget(plot)
        plot.resize(600, 200)
        plot.show()
        qtbot.waitExposed(plot)
        plot.setXRange(0, 100, padding=0)
        plot.setYRange(-1, 1, padding=0)
        item = cls(pen=None, brush=pg.mkBrush("#1f77b4"), pxMode=True)
        plot.addItem(item)
        item.setData(x=x[:150], y=np.zeros(150), size=sizes[:150], symbol=BAR)
        plot.grab()
        item.setData(x=x, y=np.zeros(300), size=sizes, symbol=BAR)  # new points, some new sizes
        images.append(plot.grab().toImage())
    assert images[0] == images[1]
    image, blue = images[1], QColor("#1f77b4").rgb()
    drawn = sum(image.pixel(px, py) == blue for px in range(0, image.width(), 2) for py in range(0, image.height(), 2))
    assert drawn > 500  # bars, not a blank plot


def test_the_legend_lists_types_in_row_order_then_the_markers(timeline):
    timeline.set_events(np.array([1, 2, 3]), T0 + np.arange(3.0), ["A", "B", "A"])
    timeline.append_events(np.array([4, 5, 6]), T0 + np.arange(3.0, 6.0), ["C", "B", "D"])
    labels = [label.text for _, label in timeline.legend.items]
    assert labels == ["A", "B", "C", "D", "snapshot", "problem"]
    assert timeline.type_names() == ["A", "B", "C", "D"]
    assert [s.opts["name"] for s in timeline._scatters] == ["A", "B", "C", "D"]
