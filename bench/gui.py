"""The GUI offscreen: open a stream in the real main window, time the drawn timeline and the whole load, scrub.

Run: ``QT_QPA_PLATFORM=offscreen python -m bench.gui URI DB STREAM EVENTS`` prints one JSON line.
``BENCH_REDUCER=FILE`` folds with that reducer. With ``BENCH_STALLS=1`` the worst stalls go to stderr; with ``BENCH_SAMPLE=1`` a thread also samples
the UI thread's stack every millisecond while the stream opens, and each stall over 40 ms is printed
with the functions it spent its samples in (the sampler takes the GIL too: the stalls grow a little).
"""
from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


MOVES = 300
TIMEOUT_S = 3600
TICK_MS = 10  # the stall probe's interval: a late firing means the UI thread was busy


class StallProbe:
    """A timer firing every TICK_MS on the UI thread; the largest gap between firings is the longest stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer(interval=TICK_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[tuple[float, float]] = []  # (gap ms, when it ended in s after start)
        # The UI thread's own CPU time per gap: the work in a stall, without the waits for the
        # CPU or the GIL that a busy machine and the loading worker add.
        self.cpu: list[float] = []
        self._start = self._last = self._last_cpu = 0.0

    def start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append(((now - self._last) * 1000, now - self._start))
        self.cpu.append((cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu

    def stop(self) -> None:
        self._tick()
        self.timer.stop()

    def worst(self, n: int = 5) -> list[tuple[float, float]]:
        return sorted(self.gaps, reverse=True)[:n]


class StackSampler:
    """Samples one thread's Python stack every millisecond from another thread: where a stall went."""

    def __init__(self, thread_id: int) -> None:
        import threading

        self.thread_id = thread_id
        self.samples: list[tuple[float, tuple[str, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = 0.0

    def start(self) -> None:
        self._start = time.perf_counter()
        self._thread.start()

    def _run(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        while not self._stop.wait(0.001):
            frame = sys._current_frames().get(self.thread_id)
            stack = []
            while frame is not None:
                code = frame.f_code
                if code.co_filename.startswith(root):
                    stack.append(f"{Path(code.co_filename).stem}.{code.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            self.samples.append((time.perf_counter() - self._start, tuple(stack)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, gaps: list[tuple[float, float]], over_ms: float = 40.0) -> None:
        from collections import Counter

        for gap, ended in sorted(g for g in gaps if g[0] > over_ms):
            begun = ended - gap / 1000
            inside = [stack for t, stack in self.samples if begun <= t <= ended]
            counts = Counter(frame for stack in inside for frame in dict.fromkeys(stack[:6]))
            print(f"stall {gap:.1f} ms ending at {ended:.2f} s, {len(inside)} samples:", file=sys.stderr)
            for frame, n in counts.most_common(10):
                print(f"    {n:4d}  {frame}", file=sys.stderr)


def _wait(app, done, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        app.processEvents()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.001)


def measure(uri: str, db: str, stream_id: str, events: int) -> dict:
    from ui.gui.app import application
    from ui.gui.main_window import MainWindow
    from ui.gui.settings import Settings
    from ui.session.connection import Connection

    app = application()
    settings = Settings(str(Path(os.environ.get("TMPDIR", "/tmp")) / f"eventlens-bench-{os.getpid()}.ini"))
    window = MainWindow(settings, live_interval_ms=3_600_000)
    window.resize(1400, 900)
    window.show()
    from ui.session.collector import tune_collector

    tune_collector()  # as ui.gui.app.run sets it once the window is up
    outcome: dict = {}
    window.connected.connect(lambda: outcome.setdefault("connected", True))
    window.connectFailed.connect(lambda text: outcome.setdefault("failed", text))
    window.loadFailed.connect(lambda text: outcome.setdefault("failed", text))
    window.streamLoaded.connect(lambda sid: outcome.setdefault("loaded", time.perf_counter()))
    window.connect_to(Connection(uri=uri, db=db, timeout_s=600))
    _wait(app, lambda: outcome.get("connected") or outcome.get("failed"), "the connection")
    if "failed" in outcome:
        raise SystemExit(outcome["failed"])
    if os.environ.get("BENCH_REDUCER"):  # a reducer file instead of the one the store remembers
        from model.reducer import load_reducer

        reducer_path = Path(os.environ["BENCH_REDUCER"])
        window.session.reducer.use(load_reducer(reducer_path), reducer_path)

    timeline = window.timeline
    probe = StallProbe()
    sampler = None
    if os.environ.get("BENCH_SAMPLE"):
        import threading

        sampler = StackSampler(threading.main_thread().ident)
    probe.start()
    if sampler is not None:
        sampler._start = probe._start
        sampler.start()
    started = time.perf_counter()
    stream = window.open_stream(stream_id)

    def drawn_once(first: int, last: int) -> None:
        # usable: every event's version, time and type in the timeline, which then paints; the cursor moves
        if last == events and "drawn" not in outcome:
            timeline.redraw()
            timeline.grab()  # paints the widget as the screen would
            outcome["drawn"] = time.perf_counter()

    stream.extended.connect(drawn_once)
    _wait(app, lambda: "loaded" in outcome or "failed" in outcome, "the stream")
    if "failed" in outcome:
        raise SystemExit(outcome["failed"])
    loaded = outcome["loaded"] - started
    drawn = outcome["drawn"] - started
    probe.stop()
    stalls = probe.worst()
    if sampler is not None:
        sampler.stop()
        sampler.report(probe.gaps)
    if os.environ.get("BENCH_STALLS"):
        print("worst stalls (ms, at s):", [(round(g, 1), round(t, 2)) for g, t in stalls], file=sys.stderr)

    # The timeline's share of a move: time in its view's paint events (what a cursor move exposes).
    painting = [0.0]
    paint = timeline.view.paintEvent

    def timed_paint(event):
        t0 = time.perf_counter()
        try:
            return paint(event)
        finally:
            painting[0] += time.perf_counter() - t0

    timeline.view.paintEvent = timed_paint

    # Scrubbing: move the cursor line as a drag does, a few events at a time, until the state view shows it.
    rng = random.Random(3)
    version = events // 2
    took, timeline_took = [], []
    scrub_probe = StallProbe()  # the longest UI-thread task while scrubbing (a move and its render)
    scrub_probe.start()
    for _ in range(MOVES):
        version = max(1, min(events, version + rng.randint(-400, 400)))
        x = timeline.model.x_of(version)
        t0 = time.perf_counter()
        painting[0] = 0.0
        timeline.cursor.setValue(x)
        _wait(app, lambda: window.cursor == timeline.cursor_version() and
              f"version {window.cursor:,} " in window.state_view.title.text(), "the state view")
        app.processEvents()
        took.append((time.perf_counter() - t0) * 1000)
        timeline_took.append(painting[0] * 1000)
    scrub_probe.stop()
    window.shutdown()
    window.close()
    app.processEvents()
    ordered = sorted(took)
    return {"events": events, "loaded_s": loaded, "drawn_s": drawn, "scrub_mean_ms": statistics.mean(took),
            "scrub_p95_ms": ordered[int(0.95 * (len(ordered) - 1))], "scrub_max_ms": ordered[-1],
            "scrub_timeline_paint_ms": statistics.mean(timeline_took),
            "drawn_points": timeline.drawn_points(), "max_stall_ms": stalls[0][0],
            "max_stall_cpu_ms": max(probe.cpu),
            "stalls_over_50ms": sum(1 for gap, _ in probe.gaps if gap > 50),
            "stalls_over_100ms": sum(1 for gap, _ in probe.gaps if gap > 100),
            "scrub_max_stall_ms": scrub_probe.worst(1)[0][0], "scrub_max_stall_cpu_ms": max(scrub_probe.cpu),
            "scrub_stalls_over_50ms": sum(1 for gap, _ in scrub_probe.gaps if gap > 50)}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    sys.stdout.flush()
    os._exit(0)  # skip Qt's teardown: the figures are out
