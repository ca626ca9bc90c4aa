"""The timeline widget driven offscreen with real mouse events."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from model.errors import EventLensError
import ui.gui.workers  # noqa: F401  (pins None/True/False: PySide6 6.12 on Python 3.11 drops references)
from ui.gui.timeline import MAX_EXACT_POINTS, PALETTE, TimelineWidget, type_colour

pg.setConfigOption("mouseRateLimit", -1)  # deliver every move, as pyqtgraph's own tests do

T0 = 1_700_000_000.0
TYPES = ["AccountOpened", "FundsDeposited", "FundsWithdrawn"]


def make_events(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    versions = np.arange(1, n + 1, dtype=np.int64)
    times = T0 + np.cumsum(rng.uniform(1.0, 120.0, n))
    # Rows follow first appearance: opened, deposited, withdrawn, then a random mix.
    types = TYPES + [TYPES[1 + int(i)] for i in rng.integers(0, 2, n - 3)]
    return versions, times, types


@pytest.fixture
def timeline(qtbot):
    w = TimelineWidget()
    qtbot.addWidget(w)
    w.resize(900, 420)
    w.show()
    qtbot.waitExposed(w)
    w.view.scene().minDragTime = 0
    return w


def viewport_point(w: TimelineWidget, x: float) -> QPoint:
    """Where view coordinate ``x`` (middle of the rows) is on the graphics view's viewport."""
    y = sum(w.detail.viewRange()[1]) / 2
    scene = w.detail.getViewBox().mapViewToScene(QPointF(x, y))
    return w.view.mapFromScene(scene)


def send_mouse(widget, kind: QEvent.Type, pos: QPoint, button, buttons) -> None:
    local = QPointF(pos)
    event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(w: TimelineWidget, start: QPoint, end: QPoint, steps: int = 12) -> None:
    viewport = w.view.viewport()
    left = Qt.MouseButton.LeftButton
    send_mouse(viewport, QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send_mouse(viewport, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)


def click(w: TimelineWidget, at: QPoint) -> None:
    viewport = w.view.viewport()
    left = Qt.MouseButton.LeftButton
    send_mouse(viewport, QEvent.Type.MouseMove, at, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, at, left, left)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, at, left, Qt.MouseButton.NoButton)


def test_set_events_shows_all_and_puts_the_cursor_on_the_last_event(timeline):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    assert timeline.cursor_version() == 200
    assert timeline.type_names() == TYPES
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 <= 1 and x1 >= 200
    assert timeline.drawn_points() == 200  # few events: every one is its own point
    # Each type's row holds exactly that type's events.
    for code, scatter in enumerate(timeline._scatters):
        xs, ys = scatter.getData()
        assert set(ys) == {float(code)}
        assert sorted(xs) == [v for v, t in zip(versions, types) if t == TYPES[code]]


def test_drag_emits_snapped_versions_then_finished(timeline, qtbot):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    timeline.set_cursor(40)
    moved: list[int] = []
    finished: list[int] = []
    timeline.cursorMoved.connect(moved.append)
    timeline.cursorFinished.connect(finished.append)
    start, end = viewport_point(timeline, 40), viewport_point(timeline, 150.3)
    drag(timeline, start, end)
    assert finished == [150]
    assert moved and moved[-1] == 150
    assert all(isinstance(v, int) and 40 < v <= 150 for v in moved)
    assert moved == sorted(moved) and len(set(moved)) == len(moved)  # one signal per new version
    assert timeline.cursor_version() == 150
    assert timeline.cursor.value() == 150  # the line snapped onto the event
    assert "v150" in timeline.cursor.label.toPlainText()


def test_drag_in_time_mode_snaps_to_the_nearest_event_by_time(timeline):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    timeline.set_axis("time")
    timeline.set_cursor(20)
    finished: list[int] = []
    timeline.cursorFinished.connect(finished.append)
    target = (times[119] * 0.8 + times[120] * 0.2)  # nearer to version 120 than to 121
    drag(timeline, viewport_point(timeline, times[19]), viewport_point(timeline, target))
    assert finished == [timeline.version_near(timeline.cursor.value())]
    assert abs(finished[0] - 120) <= 1  # a pixel of slack on the mouse position
    assert timeline.cursor.value() == pytest.approx(times[finished[0] - 1])


def test_set_cursor_moves_the_line_and_emits_nothing(timeline, qtbot):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    with qtbot.assertNotEmitted(timeline.cursorMoved), qtbot.assertNotEmitted(timeline.cursorFinished):
        timeline.set_cursor(77)
        timeline.set_cursor(5000)  # beyond the end: the last event
    assert timeline.cursor_version() == 200
    timeline.set_cursor(77)
    assert timeline.cursor.value() == 77
    assert "v77" in timeline.cursor.label.toPlainText()


def test_set_cursor_scrolls_a_hidden_version_into_view(timeline):
    versions, times, types = make_events(1000)
    timeline.set_events(versions, times, types)
    timeline.detail.setXRange(100, 200, padding=0)
    timeline.set_cursor(800)
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 <= 800 <= x1
    assert x1 - x0 == pytest.approx(100, rel=0.05)


def test_click_on_the_plot_moves_the_cursor_to_the_nearest_event(timeline, qtbot):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    seen: list[tuple[str, int]] = []
    timeline.cursorMoved.connect(lambda v: seen.append(("moved", v)))
    timeline.cursorFinished.connect(lambda v: seen.append(("finished", v)))
    # Between two rows, so it lands on empty plot area, not on a point.
    scene = timeline.detail.getViewBox().mapViewToScene(QPointF(63.2, 0.5))
    click(timeline, timeline.view.mapFromScene(scene))
    assert seen == [("moved", 63), ("finished", 63)]
    assert timeline.cursor_version() == 63


def test_click_on_a_point_moves_the_cursor_to_its_event(timeline, qtbot):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    code = timeline.type_names().index(types[90])
    scene = timeline.detail.getViewBox().mapViewToScene(QPointF(91, code))
    with qtbot.waitSignal(timeline.cursorFinished) as blocker:
        click(timeline, timeline.view.mapFromScene(scene))
    assert blocker.args == [91]


def test_axis_switch_changes_what_x_means(timeline):
    versions, times, types = make_events(300)
    timeline.set_events(versions, times, types)
    timeline.set_cursor(150)
    timeline.detail.setXRange(100, 200, padding=0)
    timeline.set_axis("time")
    assert isinstance(timeline.detail.getAxis("bottom"), pg.DateAxisItem)
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 == pytest.approx(times[99], abs=1) and x1 == pytest.approx(times[199], abs=1)
    assert timeline.cursor.value() == pytest.approx(times[149])
    assert timeline.cursor_version() == 150
    xs, _ = timeline._scatters[1].getData()
    assert set(xs) <= set(times)
    timeline.set_axis("version")
    assert not isinstance(timeline.detail.getAxis("bottom"), pg.DateAxisItem)
    x0, x1 = timeline.detail.viewRange()[0]
    assert (x0, x1) == (pytest.approx(100, abs=0.5), pytest.approx(200, abs=0.5))
    assert timeline.cursor.value() == 150
    with pytest.raises(EventLensError, match="unknown axis 'day'"):
        timeline.set_axis("day")


def test_times_out_of_order_still_snap_and_draw(timeline):
    versions = np.arange(1, 6, dtype=np.int64)
    times = T0 + np.array([0.0, 10.0, 5.0, 20.0, 30.0])  # version 3 was recorded before version 2
    timeline.set_events(versions, times, ["A"] * 5)
    timeline.set_axis("time")
    assert timeline.version_near(T0 + 6) == 3
    assert timeline.version_near(T0 + 9) == 2
    assert timeline.drawn_points() == 5


def test_a_million_events_draw_a_bounded_number_of_points(timeline):
    n = 1_000_000
    versions, times, types = make_events(n)
    timeline.set_events(versions, times, types)
    drawn = timeline.drawn_points()
    buckets = timeline._buckets()
    assert 0 < drawn <= buckets * len(TYPES)
    assert drawn < 10_000
    # Each bucket point stands for its events: the drawn sizes grow with the counts.
    assert timeline._scatters[1].data["size"].max() > timeline._scatters[0].data["size"].max()
    # Zoomed in far enough, every visible event is drawn, exactly.
    timeline.detail.setXRange(500_000, 501_000, padding=0)
    timeline.redraw()
    assert timeline.drawn_points() == 1001
    timeline.set_axis("time")
    timeline.redraw()
    assert timeline.drawn_points() <= MAX_EXACT_POINTS


def test_append_events_adds_rows_and_follows_the_end(timeline):
    versions, times, types = make_events(100)
    timeline.set_events(versions, times, types)
    timeline.set_cursor(50)
    timeline.append_events(np.array([101, 102]), np.array([times[-1] + 5, times[-1] + 9]), ["FundsDeposited", "AccountClosed"])
    timeline.redraw()
    assert timeline.type_names() == TYPES + ["AccountClosed"]
    assert timeline.drawn_points() == 102
    assert timeline.detail.viewRange()[0][1] >= 102
    assert timeline.cursor_version() == 50  # live events never move the user's cursor
    xs, ys = timeline._scatters[3].getData()
    assert list(xs) == [102] and list(ys) == [3.0]
    # Many small appends stay correct (the columns grow in place).
    for v in range(103, 3103):
        timeline.append_events(np.array([v]), np.array([times[-1] + v]), ["FundsWithdrawn"])
    assert timeline.version_near(3102.4) == 3102


@pytest.mark.parametrize("mode", ["version", "time"])
def test_an_expected_stream_loads_into_a_fixed_view(timeline, mode):
    versions, times, types = make_events(3000, seed=4)
    timeline.set_axis(mode)
    timeline.set_events(np.empty(0, np.int64), np.empty(0), [])
    timeline.expect(3000, (1, 3000), (times[0], times[-1]))
    ranges = []
    for lo in range(0, 3000, 500):
        timeline.append_events(versions[lo : lo + 500], times[lo : lo + 500], types[lo : lo + 500])
        timeline.redraw()
        ranges.append(tuple(timeline.detail.viewRange()[0]))
        assert timeline.drawn_points() > 0
    assert len(set(ranges)) == 1, ranges  # the axes never rescaled while it loaded
    x0, x1 = ranges[0]
    first, last = (1, 3000) if mode == "version" else (times[0], times[-1])
    assert x0 < first and x1 > last
    # the same view a stream shown at once gets
    whole = TimelineWidget()
    whole.resize(900, 420)
    whole.set_axis(mode)
    whole.set_events(versions, times, types)
    assert np.allclose(whole.detail.viewRange()[0], ranges[0])
    whole.deleteLater()


def test_events_beyond_the_expected_extent_still_show(timeline):
    versions, times, types = make_events(200)
    timeline.set_events(np.empty(0, np.int64), np.empty(0), [])
    timeline.expect(100, (1, 100), (times[0], times[99]))  # the catalogue lagged behind
    timeline.append_events(versions, times, types)
    timeline.redraw()
    assert timeline.detail.viewRange()[0][1] >= 200
    assert timeline.drawn_points() == 200


def test_snapshot_and_problem_marks(timeline):
    versions, times, types = make_events(200)
    timeline.set_events(versions, times, types)
    timeline.set_snapshots([50, 120, 999])  # 999 is not loaded
    timeline.set_problems([7])
    timeline.redraw()
    xs, _ = timeline._snapshot_marks.getData()
    assert sorted(xs) == [50, 120]
    lines_x, _ = timeline._snapshot_lines.getData()
    assert sorted(set(lines_x)) == [50, 120]
    px, py = timeline._problem_marks.getData()
    assert list(px) == [7] and list(py) == [float(timeline.type_names().index(types[6]))]


def test_type_colours_are_stable_and_distinct(timeline):
    assert type_colour("FundsDeposited") == type_colour("FundsDeposited") in PALETTE
    versions, times, types = make_events(100)
    timeline.set_events(versions, times, types)
    colours = [s.opts["brush"].color().name() for s in timeline._scatters]
    assert len(set(colours)) == len(colours)
    assert colours[0] == type_colour(TYPES[0])


def test_mismatched_columns_are_a_one_line_error(timeline):
    with pytest.raises(EventLensError, match="3 versions, 2 times and 3 types do not match"):
        timeline.set_events(np.arange(1, 4), np.zeros(2), ["A", "B", "C"])


def test_export_image_writes_a_png_of_the_widget(timeline, tmp_path):
    versions, times, types = make_events(500)
    timeline.set_events(versions, times, types)
    path = tmp_path / "timeline.png"
    timeline.export_image(path)
    image = QImage(str(path))
    assert not image.isNull()
    ratio = timeline.devicePixelRatioF()
    assert (image.width(), image.height()) == (round(900 * ratio), round(420 * ratio))
    # Not blank: the drawn points put more than the background colour in it.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 5
    with pytest.raises(EventLensError, match="could not write the timeline image"):
        timeline.export_image(tmp_path / "missing-dir" / "x.png")


def test_time_axis_labels_keep_apart(timeline):
    # About 80 days on 900 px: month labels and 5-day labels used to print "Feb" over "02".
    from ui.gui.timeline import UtcDateAxis

    timeline.set_events(np.array([1, 2]), np.array([1705000000.0, 1712000000.0]), ["A", "B"])
    timeline.set_axis("time")
    axis = timeline.detail.getAxis("bottom")
    assert isinstance(axis, UtcDateAxis)
    timeline.grab()  # the axis learns its font metrics when it paints
    lo, hi = 1705000000.0, 1712000000.0
    levels = axis.tickValues(lo, hi, 900)
    values = sorted(v for _, vs in levels for v in vs)
    assert len(values) >= 8
    gaps = np.diff(values) * 900 / (hi - lo)
    assert gaps.min() >= UtcDateAxis.MIN_GAP_PX


def test_dragging_empty_plot_area_pans_and_the_overview_follows(timeline, qtbot):
    versions, times, types = make_events(1000)
    timeline.set_events(versions, times, types)
    timeline.set_cursor(900)
    timeline.detail.setXRange(100, 300, padding=0)
    box = timeline.detail.getViewBox()

    def between_rows(x):
        return timeline.view.mapFromScene(box.mapViewToScene(QPointF(x, 0.5)))

    with qtbot.assertNotEmitted(timeline.cursorMoved), qtbot.assertNotEmitted(timeline.cursorFinished):
        drag(timeline, between_rows(250), between_rows(150))
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 == pytest.approx(200, abs=3) and x1 == pytest.approx(400, abs=3)
    assert timeline.region.getRegion() == pytest.approx((x0, x1))
    assert timeline.cursor_version() == 900
    timeline.redraw()
    xs = np.concatenate([s.getData()[0] for s in timeline._scatters])
    assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1 and len(xs) == pytest.approx(x1 - x0, abs=2)


def test_loading_batch_by_batch_from_empty_shows_the_whole_stream(timeline, qtbot):
    timeline.set_events(np.empty(0, np.int64), np.empty(0), [])
    assert timeline.cursor_version() == 0 and timeline.drawn_points() == 0
    versions, times, types = make_events(20_000)
    for lo in range(0, 20_000, 1000):
        timeline.append_events(versions[lo : lo + 1000], times[lo : lo + 1000], types[lo : lo + 1000])
    # Redraws are throttled while batches arrive; one follows the last batch.
    qtbot.waitUntil(lambda: not timeline._redraw_timer.isActive(), timeout=2000)
    x0, x1 = timeline.detail.viewRange()[0]
    assert x0 <= 1 and x1 >= 20_000
    assert 0 < timeline.drawn_points() <= timeline._buckets() * len(TYPES)
    assert timeline.version_near(12_345.2) == 12_345
    timeline.set_axis("time")
    assert timeline.version_near(times[777]) == 778
