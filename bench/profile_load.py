"""Profile opening a stream as the window does (the session's loader: index, payloads, fold, checks).

Run: ``python bench/profile_load.py STORE_FILE_OR_URI [DB] [STREAM]`` prints cProfile's top entries.
"""
from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import load_history  # noqa: E402
from store.connect import open_store  # noqa: E402


def main(target: str, db: str | None = None, stream_id: str = "big-account-1", top: str = "25") -> None:
    store = open_store(target, db or None, read_only=True, timeout_s=3600)
    profile = cProfile.Profile()
    profile.enable()
    history = load_history(store, stream_id)
    profile.disable()
    store.close()
    print(f"loaded {history.last_version:,} events of {stream_id}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(int(top))
    pstats.Stats(profile).sort_stats("tottime").print_stats(int(top))


if __name__ == "__main__":
    main(*sys.argv[1:])
