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
from collections.abc import Callable
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


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class Watchdog:
    """Stops reducer calls past their deadline by ``clock``.

    The process's watchdog (``DEFAULT``) runs a daemon thread on the real clock. A watchdog made
    with ``thread=False`` (tests, with a clock they move) checks only when ``expire`` is called.
    """

    def __init__(self, clock: Callable[[], float] = monotonic, *, thread: bool = True):
        self.clock = clock
        self._thread_wanted = thread
        self._cond = threading.Condition()
        self._guards: set[Guard] = set()
        self._thread: threading.Thread | None = None

    def arm(self, timeout_s: float) -> Guard:
        """Start watching the calling thread; set ``deadline`` around each reducer call, then ``disarm``."""
        guard = Guard(threading.get_ident(), timeout_s)
        with self._cond:
            if self._thread_wanted and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._watch, name="eventlens-reducer-watchdog", daemon=True)
                self._thread.start()
            self._guards.add(guard)
            self._cond.notify()
        return guard

    def disarm(self, guard: Guard) -> None:
        """Stop watching; clears a timeout that fired but was not yet delivered."""
        guard.deadline = NEVER
        with self._cond:
            self._guards.discard(guard)
            if guard.fired:
                _raise_in(guard.thread_id, None)

    def guards(self) -> list[Guard]:
        """The folds being watched now."""
        with self._cond:
            return list(self._guards)

    def expire(self) -> float | None:
        """Stop every call whose deadline has passed; return how long until the next check (None: nothing to watch)."""
        with self._cond:
            return self._expire()

    def _expire(self) -> float | None:
        now = self.clock()
        for guard in self._guards:
            if not guard.fired and guard.deadline <= now:
                guard.fired = True
                _raise_in(guard.thread_id, ReducerTimeout)
        pending = [g for g in self._guards if not g.fired]
        if not pending:
            return None
        # Deadlines move forward without telling us; wake often enough to notice a stuck call
        # within a quarter of its timeout after its deadline.
        next_deadline = min(g.deadline for g in pending)
        return max(0.001, min(next_deadline - now, min(g.timeout_s for g in pending) / 4))

    def _watch(self) -> None:
        with self._cond:
            while True:
                wait = self._expire()
                self._cond.wait(wait)


#: The process's watchdog, on the real clock.
DEFAULT = Watchdog()


def arm(timeout_s: float) -> Guard:
    """Start watching the calling thread with the process's watchdog."""
    return DEFAULT.arm(timeout_s)


def disarm(guard: Guard) -> None:
    DEFAULT.disarm(guard)
