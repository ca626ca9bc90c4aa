"""Resident memory of a loaded History, measured in a fresh process per size for clean numbers.

Run: ``python -m bench.memory STORE_FILE STREAM EVENTS`` prints one JSON line.
"""
from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size now, from /proc/self/statm (psutil is not needed)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def measure(path: str, stream_id: str, events: int) -> dict:
    from model.reducer import default_reducer
    from model.loaded import LoadedStream
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(path, read_only=True)
    gc.collect()
    before = rss_bytes()
    history = LoadedStream(stream_id, default_reducer())
    for batch in store.read(stream_id, to_version=events, batch_size=5000):
        history.extend(batch)
    gc.collect()
    after = rss_bytes()
    store.close()
    assert len(history) == events, (len(history), events)
    return {"events": events, "before": before, "after": after, "checkpoints": history.checkpoints,
            "checkpoint_every": history.checkpoint_every}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
