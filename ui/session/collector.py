"""The cyclic garbage collector as EventLens's processes run it (set once by the entry point)."""
from __future__ import annotations

import gc

#: Collections after this many more allocations than frees; older generations after 20 and 100
#: younger ones. Python's default (700, 10, 10) ran the collector 7,000 times and walked the
#: whole heap 56 times while a million events loaded, a fifth of the load (bench/bench_open.py).
THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """Move what is alive at start-up out of the collector's walks and collect less often.

    Loading keeps events as columns and bytes and states as persistent maps without cycles,
    so little garbage ever needs the cyclic collector; reference counting frees the rest.
    """
    gc.collect()
    gc.freeze()  # modules, classes and Qt's wrappers: alive for the whole process, never walked again
    gc.set_threshold(*THRESHOLDS)
