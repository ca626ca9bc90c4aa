"""The worker thread: order, results of any kind, errors, cancel, and the leak check's view of it."""
from __future__ import annotations

import threading

from model.errors import CancelledError, StoreUnavailable
from ui.gui.worker import Worker, live_workers, user_message


def test_jobs_run_in_order_on_one_thread_and_report_in_the_ui_thread(qtbot):
    worker = Worker()
    seen, threads = [], set()
    try:
        for i in range(50):
            worker.submit(f"job {i}", lambda job, i=i: (threads.add(threading.get_ident()), i)[1],
                          result=lambda value: seen.append((value, threading.get_ident())))
        last = worker.submit("last", lambda job: None, result=lambda value: seen.append(("none", value)))
        with qtbot.waitSignal(last.finished, timeout=10_000):
            pass
        assert [v for v, _ in seen[:50]] == list(range(50))
        assert all(t == threading.main_thread().ident for _, t in seen[:50])
        assert seen[50] == ("none", None)  # None results arrive too
        assert len(threads) == 1 and threading.main_thread().ident not in threads
        assert worker in live_workers()
    finally:
        worker.stop()
    assert worker not in live_workers()


def test_errors_and_cancel_arrive_as_values(qtbot):
    worker = Worker()
    errors = []
    try:
        def fail(job):
            raise StoreUnavailable("server 127.0.0.1:1 is down")

        job = worker.submit("failing", fail, error=errors.append)
        with qtbot.waitSignal(job.finished, timeout=10_000):
            pass
        assert isinstance(errors[0], StoreUnavailable)
        assert user_message(errors[0]) == "server 127.0.0.1:1 is down"

        started = threading.Event()

        def long(job):
            started.set()
            while True:
                job.check()

        job = worker.submit("long", long, error=errors.append)
        assert started.wait(10)
        with qtbot.waitSignal(job.finished, timeout=10_000):
            job.cancel()
        assert isinstance(errors[1], CancelledError) and str(errors[1]) == "long cancelled"
        assert worker.idle()
    finally:
        worker.stop()


def test_user_message_is_one_line_for_unexpected_errors():
    assert user_message(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert user_message(KeyError()) == "KeyError"


def _counting(started: threading.Event, counts: list[int]):
    def count(job):
        started.set()
        while True:
            job.check()
            counts[0] += 1
            threading.Event().wait(0.001)
    return count


def _advances(counts: list[int], seconds: float = 0.1) -> int:
    before = counts[0]
    threading.Event().wait(seconds)
    return counts[0] - before


def test_a_held_job_waits_at_its_check_until_released(qtbot):
    worker = Worker()
    counts, started = [0], threading.Event()
    try:
        job = worker.submit("counting", _counting(started, counts))
        assert started.wait(10)
        assert _advances(counts) > 0
        worker.hold()
        assert worker.held()
        threading.Event().wait(0.02)  # the job reaches its next check
        assert _advances(counts) == 0
        worker.release()
        assert not worker.held() and _advances(counts) > 0
        worker.hold()
        with qtbot.waitSignal(job.finished, timeout=10_000):
            worker.cancel_all()  # cancelling lets a held job go, to end
        assert not worker.held()
    finally:
        worker.stop()


def test_a_hold_never_released_only_slows_a_job(qtbot, monkeypatch):
    monkeypatch.setattr("ui.gui.worker.HOLD_LIMIT_S", 0.02)
    worker = Worker()
    counts, started = [0], threading.Event()
    try:
        job = worker.submit("counting", _counting(started, counts))
        assert started.wait(10)
        worker.hold()
        assert _advances(counts, 0.3) >= 3  # one step per HOLD_LIMIT_S at most, but steps
        with qtbot.waitSignal(job.finished, timeout=10_000):
            job.cancel()
    finally:
        worker.release()
        worker.stop()
