"""The window holds the worker while it paints, so the worker's Python does not make a repaint
wait for the GIL call after call; and it never leaves the worker held."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from tests.ui.conftest import connect, open_stream
from ui.gui.paint_hold import HOLD_MS
from ui.session.timeline import TimelineModel
from ui.session.timeline_columns import make_columns


class PaintProbe(QWidget):
    """Records, at each paint, whether the window's worker was held."""

    def __init__(self, window):
        super().__init__(window)
        self.window_, self.seen = window, []
        self.resize(20, 20)
        self.show()

    def paintEvent(self, event):  # noqa: N802 - Qt's name
        self.seen.append(self.window_.worker.hold.held())


def test_a_repaint_holds_the_worker_and_releases_it(qtbot, window):
    probe = PaintProbe(window)
    qtbot.waitUntil(lambda: bool(probe.seen), timeout=5000)
    probe.seen.clear()
    probe.update()
    qtbot.waitUntil(lambda: bool(probe.seen), timeout=5000)
    assert probe.seen == [True]
    assert not window.worker.hold.held()


def test_a_timeline_redraw_holds_the_worker_until_painted_or_hold_ms(qtbot, window):
    model = TimelineModel()
    model.append(make_columns(range(1, 11), [float(i) for i in range(10)], ["Opened"] * 10))
    window.timeline.set_model(model)
    window.timeline.redraw()
    assert window.worker.hold.held()
    qtbot.waitUntil(lambda: not window.worker.hold.held(), timeout=5000)  # painted
    window.hide()  # nothing is painted now: the hold still ends
    window.timeline.redraw()
    assert window.worker.hold.held()
    qtbot.waitUntil(lambda: not window.worker.hold.held(), timeout=HOLD_MS * 20)


def test_loading_a_stream_leaves_the_worker_free(qtbot, window, demo_connection):
    connect(qtbot, window, demo_connection)
    open_stream(qtbot, window, "account-1")
    qtbot.waitUntil(lambda: not window.worker.hold.held(), timeout=5000)
    assert window.event_list.event_model.rowCount() > 0
