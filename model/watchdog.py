"""Stops a reducer call that runs too long, without a thread start per call.

One daemon thread serves every fold in the process. A fold arms a :class:`Guard` once; around
each reducer call it sets ``guard.deadline`` (a plain attribute store, no lock). When a deadline
passes, the thread raises :class:`ReducerTimeout` inside the folding thread with
``PyThreadState_SetAsyncExc``. That reaches Python code (``while True: pass``) but not a thread
blocked inside one C call (``time.sleep(1e9)``): no pure-Python means can.
"""
from __future__ import annotations

import ctypes
import threading
from time import monotonic

NEVER = float("inf")


class ReducerTimeout(BaseException):
    """Raised asynchronously in a folding thread; BaseException so ``except Exception`` in a reducer cannot swallow it."""


class Guard:
    """One armed fold: the thread to stop and the deadline of the reducer call in progress."""

    __slots__ = ("thread_id", "timeout_s", "deadline", "fired")

    def __init__(self, thread_id: int, timeout_s: float):
        self.thread_id = thread_id
        self.timeout_s = timeout_s
        self.deadline = NEVER  # NEVER while no reducer call runs
        self.fired = False


_cond = threading.Condition()
_guards: set[Guard] = set()
_thread: threading.Thread | None = None


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


def _watch() -> None:
    with _cond:
        while True:
            if not _guards:
                _cond.wait()
                continue
            now = monotonic()
            for guard in _guards:
                if not guard.fired and guard.deadline <= now:
                    guard.fired = True
                    _raise_in(guard.thread_id, ReducerTimeout)
            # Deadlines move forward without telling us; wake often enough to notice a stuck
            # call within a quarter of its timeout after its deadline.
            pending = [g for g in _guards if not g.fired]
            if not pending:
                _cond.wait()
                continue
            next_deadline = min(g.deadline for g in pending)
            step = min(g.timeout_s for g in pending) / 4
            _cond.wait(max(0.001, min(next_deadline - now, step)))


def arm(timeout_s: float) -> Guard:
    """Start watching the calling thread; set ``deadline`` around each reducer call, then :func:`disarm`."""
    global _thread
    guard = Guard(threading.get_ident(), timeout_s)
    with _cond:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_watch, name="eventlens-reducer-watchdog", daemon=True)
            _thread.start()
        _guards.add(guard)
        _cond.notify()
    return guard


def disarm(guard: Guard) -> None:
    """Stop watching; clears a timeout that fired but was not yet delivered."""
    guard.deadline = NEVER
    with _cond:
        _guards.discard(guard)
        if guard.fired:
            _raise_in(guard.thread_id, None)
