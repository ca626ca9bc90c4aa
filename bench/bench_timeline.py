"""Timeline timings offscreen: drawing a 1,000,000-event stream and scrubbing its cursor.

Run: QT_QPA_PLATFORM=offscreen python bench/bench_timeline.py [events]
Prints the time to build the timeline's model and draw it, time to a painted timeline, redraw per range change, and the mean
(and p95) time per cursor move while dragging the cursor through 200 steps with the mouse.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ui.gui.timeline import TimelineWidget  # noqa: E402
from ui.session.timeline import TimelineModel  # noqa: E402
from ui.session.timeline_columns import Columns, code_types  # noqa: E402

TYPES = ["AccountOpened", "FundsDeposited", "FundsWithdrawn", "TransferSent", "TransferReceived"]
STEPS = 200
BATCH = 1000


def demo_like(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(1)
    versions = np.arange(1, n + 1, dtype=np.int64)
    times = 1.7e9 + np.cumsum(rng.exponential(30.0, n))
    picks = rng.choice(len(TYPES) - 1, n - 1, p=[0.4, 0.3, 0.15, 0.15]) + 1
    types = [TYPES[0]] + [TYPES[i] for i in picks]
    return versions, times, types


def mouse(widget, kind, pos, button, buttons) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def main(n: int) -> None:
    pg.setConfigOption("mouseRateLimit", -1)
    app = QApplication.instance() or QApplication([])
    w = TimelineWidget()
    w.resize(1280, 480)
    w.show()
    app.processEvents()
    w.view.scene().minDragTime = 0
    versions, times, types = demo_like(n)
    w.set_snapshots(list(range(1000, n, 1000)))

    started = time.perf_counter()
    model = TimelineModel()
    model.append(Columns(versions, times, code_types(types)))
    w.set_model(model)
    set_events_s = time.perf_counter() - started
    w.view.viewport().repaint()
    app.processEvents()
    painted_s = time.perf_counter() - started

    # The main window loads a stream batch by batch (empty set_events, then append_events).
    loader = TimelineWidget()
    loader.resize(1280, 480)
    loader.show()
    app.processEvents()
    started = time.perf_counter()
    growing = TimelineModel()
    growing.expect(n, (1, n), (float(times[0]), float(times[-1])))
    loader.set_model(growing)
    for lo in range(0, n, BATCH):
        growing.append(Columns(versions[lo : lo + BATCH], times[lo : lo + BATCH], code_types(types[lo : lo + BATCH])))
        loader.data_changed()
        app.processEvents()
    loader.redraw()
    loader.view.viewport().repaint()
    batches_s = time.perf_counter() - started
    loader.close()

    redraws = []
    for i in range(20):
        lo = i * n // 40
        model.set_view(lo, lo + n // 2)
        started = time.perf_counter()
        w.redraw()
        redraws.append(time.perf_counter() - started)
    model.show_all()
    w.redraw()
    w.show_cursor(n // 10)
    app.processEvents()

    viewport = w.view.viewport()
    box = w.detail.getViewBox()
    y = sum(w.detail.viewRange()[1]) / 2

    def at(x: float):
        return w.view.mapFromScene(box.mapViewToScene(QPointF(x, y)))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    moved: list[int] = []
    w.cursorMoved.connect(moved.append)
    start = at(n // 10)
    mouse(viewport, QEvent.Type.MouseMove, start, none, none)
    mouse(viewport, QEvent.Type.MouseButtonPress, start, left, left)
    steps, full = [], []
    for i in range(1, STEPS + 1):
        pos = at(n // 10 + i * (n * 0.8 / STEPS))
        began = time.perf_counter()
        mouse(viewport, QEvent.Type.MouseMove, pos, none, left)
        app.processEvents()  # the paint the move asks for (what a user waits for)
        steps.append(time.perf_counter() - began)
        if i % 10 == 0:
            began = time.perf_counter()
            viewport.repaint()  # worst case: the whole view painted again
            full.append(time.perf_counter() - began)
    mouse(viewport, QEvent.Type.MouseButtonRelease, pos, left, none)

    steps_ms = sorted(s * 1000 for s in steps)
    print(f"timeline benchmark: {n:,} events, {len(TYPES)} types, {w.drawn_points():,} points drawn")
    print(f"  model of the stream, drawn      {set_events_s * 1000:8.1f} ms")
    print(f"  the model to a painted view     {painted_s * 1000:8.1f} ms")
    print(f"  appended in {BATCH}-event batches, painted {batches_s * 1000:8.1f} ms")
    print(f"  redraw per range change (mean)  {statistics.mean(redraws) * 1000:8.1f} ms")
    print(f"  cursor move while scrubbing     {statistics.mean(steps_ms):8.2f} ms mean, "
          f"{steps_ms[int(len(steps_ms) * 0.95) - 1]:.2f} ms p95, {steps_ms[-1]:.2f} ms max "
          f"({STEPS} steps, {len(moved)} cursorMoved signals)")
    print(f"  full repaint of the view        {statistics.mean(full) * 1000:8.2f} ms mean")
    w.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
