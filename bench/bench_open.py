"""Opening a big stream with the session's own loader (issue 16, point 2): time to a usable
timeline, the whole load against a plain read of the same rows, and memory per loaded event.

Run: ``python3 bench/bench_open.py STORE_FILE STREAM [--events N]`` prints a table and one JSON
line. Each measurement runs in a fresh process, so memory figures are not flattered by an
earlier run's pages.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def plain_read(path: str, stream_id: str) -> tuple[float, int]:
    """The baseline of the first round (bench/measure.py): one ordered SELECT, bson.decode of each payload, kept."""
    from bench.measure import baseline_sqlite

    started = time.perf_counter()
    count = baseline_sqlite(Path(path), stream_id)
    return time.perf_counter() - started, count


def plain_scan(path: str, stream_id: str) -> tuple[float, int]:
    """A stricter baseline: the same rows and decoding, each row dropped once decoded (nothing kept)."""
    import bson

    started = time.perf_counter()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    count = 0
    cursor = db.execute("SELECT version, type, data, metadata, recorded_at FROM events WHERE stream_id = ? "
                        "ORDER BY version", (stream_id,))
    while rows := cursor.fetchmany(10_000):
        for _version, _type, data, metadata, _at in rows:
            bson.decode(data)
            bson.decode(metadata)
        count += len(rows)
    db.close()
    return time.perf_counter() - started, count


def session_load(path: str, stream_id: str) -> dict:
    """The window's loader (``ui.session.stream.OpenStream``) run in this thread."""
    import gc

    from model.reducer import default_reducer
    from store.embedded import EmbeddedStore
    from ui.session.stream import load_stream

    from ui.session.collector import tune_collector

    store = EmbeddedStore(path, read_only=True)
    tune_collector()  # as main.py sets it for the window and the command line
    before = rss()
    marks: dict[str, float] = {}
    started = time.perf_counter()
    info = store.stream(stream_id)

    def indexed(first: int, last: int) -> None:
        if last >= info.last_version and "indexed" not in marks:
            marks["indexed"] = time.perf_counter() - started  # the whole index in the timeline's model

    stream = load_stream(store, stream_id, default_reducer(), on_batch=indexed)
    total = time.perf_counter() - started
    gc.collect()
    after = rss()
    loaded = stream.loaded
    out = {"events": loaded.last_version, "indexed_s": marks.get("indexed"), "loaded_s": total,
           "folded": loaded.folded_version, "checkpoints": loaded.checkpoints,
           "rss_bytes": after - before, "bytes_per_event": (after - before) / max(loaded.last_version, 1),
           "kept_bytes": loaded.nbytes() + stream.timeline.n * 34}
    store.close()
    return out


def _child(what: str, path: str, stream_id: str) -> dict:
    done = subprocess.run([sys.executable, __file__, path, stream_id, "--child", what], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"{what} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("stream")
    parser.add_argument("--child", choices=("plain", "scan", "session"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.child == "plain":
        seconds, count = plain_read(args.store, args.stream)
        print(json.dumps({"plain_s": seconds, "events": count}))
        return
    if args.child == "scan":
        seconds, count = plain_scan(args.store, args.stream)
        print(json.dumps({"scan_s": seconds, "events": count}))
        return
    if args.child == "session":
        print(json.dumps(session_load(args.store, args.stream)))
        return
    runs = []
    for _ in range(args.repeats):  # alternating, so a busy moment does not fall on one side only
        runs.append((_child("plain", args.store, args.stream), _child("scan", args.store, args.stream),
                     _child("session", args.store, args.stream)))
    plain = min(r[0]["plain_s"] for r in runs)
    scan = min(r[1]["scan_s"] for r in runs)
    best = min((r[2] for r in runs), key=lambda r: r["loaded_s"])
    events = best["events"]
    result = {**best, "plain_s": plain, "scan_s": scan, "plain_events_per_s": events / plain,
              "load_events_per_s": events / best["loaded_s"], "ratio": plain / best["loaded_s"],
              "scan_ratio": scan / best["loaded_s"], "load": os.getloadavg()}
    print(f"{events:,} events: usable timeline (index loaded) {best['indexed_s']:.2f} s (goal 1.5 s); "
          f"whole load {best['loaded_s']:.2f} s vs plain read {plain:.2f} s: ratio {result['ratio']:.2f} (goal 0.8), "
          f"vs a scan that keeps nothing {scan:.2f} s: {result['scan_ratio']:.2f}; "
          f"{best['bytes_per_event']:.0f} bytes per event resident (goal 400), "
          f"{best['kept_bytes'] / events:.0f} kept")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
