"""The worker runs the session's jobs in order on one thread; their callbacks run on the UI thread."""
from __future__ import annotations

import queue
import threading

import pytest

from model.errors import CancelledError, StoreUnavailable
from ui.gui.worker import Worker, live_workers
from ui.session.jobs import Job
from ui.session.text import first_line


def finished(qtbot, worker: Worker, task, timeout: int = 10_000) -> None:
    with qtbot.waitSignal(worker.finished_job, timeout=timeout, check_params_cb=lambda t: t is task):
        pass


def test_jobs_run_in_order_on_one_thread_and_report_in_the_ui_thread(qtbot):
    worker = Worker()
    seen, threads = [], set()
    try:
        for i in range(50):
            worker(Job(f"job {i}", lambda task, i=i: (threads.add(threading.get_ident()), i)[1],
                       on_result=lambda value: seen.append((value, threading.get_ident()))))
        with qtbot.waitSignal(worker.finished_job, timeout=10_000):
            last = worker(Job("last", lambda task: None, on_result=lambda value: seen.append(("none", value))))
        qtbot.waitUntil(lambda: len(seen) == 51, timeout=10_000)
        assert [v for v, _ in seen[:50]] == list(range(50))
        assert all(t == threading.main_thread().ident for _, t in seen[:50])
        assert seen[50] == ("none", None)  # None results arrive too
        assert len(threads) == 1 and threading.main_thread().ident not in threads
        assert worker in live_workers() and last is not None
    finally:
        worker.stop()
    assert worker not in live_workers()


def test_partial_results_and_progress_arrive_in_order_before_the_result(qtbot):
    worker = Worker()
    seen = []
    worker.progress.connect(lambda task, done, total, what: seen.append(("progress", done, total, what)))

    def work(task):
        for i in range(3):
            task.post(i)
            task.progress(i + 1, 3, "counting")
        return "done"

    try:
        task = worker(Job("count", work, on_partial=lambda v: seen.append(("partial", v)),
                          on_result=lambda v: seen.append(("result", v)), shown=True))
        finished(qtbot, worker, task)
        assert seen == [("partial", 0), ("progress", 1, 3, "counting"), ("partial", 1), ("progress", 2, 3, "counting"),
                        ("partial", 2), ("progress", 3, 3, "counting"), ("result", "done")]
        assert task not in worker.shown  # a shown job leaves the list when it ends
    finally:
        worker.stop()


def test_errors_and_cancel_arrive_as_values(qtbot):
    worker = Worker()
    errors = []
    try:
        def fail(task):
            raise StoreUnavailable("server 127.0.0.1:1 is down")

        task = worker(Job("failing", fail, on_error=errors.append))
        finished(qtbot, worker, task)
        assert isinstance(errors[0], StoreUnavailable) and first_line(errors[0]) == "server 127.0.0.1:1 is down"

        started = threading.Event()

        def long(task):
            started.set()
            while True:
                task.between_batches()

        task = worker(Job("long", long, on_error=errors.append))
        assert started.wait(10)
        task.cancel()
        finished(qtbot, worker, task)
        assert isinstance(errors[1], CancelledError) and str(errors[1]) == "long cancelled"
        assert worker.idle()
    finally:
        worker.stop()


def test_first_line_of_unexpected_errors():
    assert first_line(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert first_line(KeyError()) == "KeyError"


def _stepping(steps: queue.Queue):
    def work(task):
        for i in range(1_000_000):
            task.between_batches()
            steps.put(i)
    return work


def test_a_held_job_waits_between_batches_until_released(qtbot, monkeypatch):
    monkeypatch.setattr("ui.gui.paint_hold.LIMIT_S", 30.0)
    worker = Worker()
    steps: queue.Queue = queue.Queue()
    try:
        worker.hold.hold()
        task = worker(Job("stepping", _stepping(steps)))
        with pytest.raises(queue.Empty):
            steps.get(timeout=0.2)  # held from the start: not one batch goes by
        worker.hold.release()
        assert steps.get(timeout=10) == 0
        worker.hold.hold()
        worker.cancel_all()  # cancelling lets a held job go, to end
        finished(qtbot, worker, task)
        assert not worker.hold.held()
    finally:
        worker.stop()


def test_a_hold_never_released_only_slows_a_job(qtbot, monkeypatch):
    monkeypatch.setattr("ui.gui.paint_hold.LIMIT_S", 0.01)
    worker = Worker()
    steps: queue.Queue = queue.Queue()
    try:
        worker.hold.hold()
        task = worker(Job("stepping", _stepping(steps)))
        assert [steps.get(timeout=10) for _ in range(3)] == [0, 1, 2]  # one step per LIMIT_S, but steps
        task.cancel()
        finished(qtbot, worker, task)
    finally:
        worker.hold.release()
        worker.stop()
