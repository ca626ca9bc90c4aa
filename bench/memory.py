"""Resident memory of a loaded stream (its first EVENTS events, as the window keeps them), measured in a fresh process per size for clean numbers.

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

    from ui.session.collector import tune_collector

    store = EmbeddedStore(path, read_only=True)
    tune_collector()  # as the entry points set it
    before = rss_bytes()
    history = LoadedStream(stream_id, default_reducer())
    # the window's pipeline (ui.session.stream), cut at EVENTS: the index, then payloads folded batch by batch
    for index in store.read_index(stream_id, to_version=events):
        history.add_index(index)
    for payloads in store.read_payloads(stream_id, to_version=events, batch_size=2000):
        history.add_payloads(payloads)
        history.fold_more()
    gc.collect()
    after = rss_bytes()
    store.close()
    assert history.folded_version == events, (history.folded_version, events)
    return {"events": events, "before": before, "after": after, "checkpoints": history.checkpoints,
            "checkpoint_every": history.checkpoint_every}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
