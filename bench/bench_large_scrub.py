"""Scrubbing large states in the window (issue 15, point 3), beside a flat state of as many events.

Run: ``python3 bench/bench_large_scrub.py [--events 100000]`` prints a table and one JSON line per
stream. Builds (once, cached under ``bench/data/``) an embedded store of three streams of N
events: a flat state (a counter), a state that gains a key per event (the generic reducer
merging ``{"sku-N": n}``, 100,000 keys at the end) and a list that gains an item per event
(``bench/reducers/append.py``). Each is opened in the real window by ``bench.gui`` in a fresh
process, which moves the cursor 300 times around the middle of the stream and reports the
longest gap of a 10 ms timer on the UI thread while scrubbing (goal: under 50 ms) and the time
per move to an updated state view. The flat stream is the baseline from the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets  # noqa: E402

APPEND = ROOT / "bench" / "reducers" / "append.py"
BATCH = 10_000
STREAMS = {  # stream id: (event type, payload of event i, reducer file or None for the generic one)
    "flat-1": ("Counted", lambda i: {"count": i}, None),
    "keys-1": ("StockCounted", lambda i: {f"sku-{i:06d}": i % 97}, None),
    "list-1": ("ItemAdded", lambda i: {"item": f"item-{i}", "n": i}, APPEND),
}


def build(events: int) -> Path:
    """The store file, made once per size."""
    from model.event import NewEvent
    from store.embedded import EmbeddedStore

    path = datasets.DATA / f"large-states-{events}.sqlite"
    if path.exists():
        return path
    datasets.DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with EmbeddedStore(partial) as store:
        for stream_id, (event_type, payload, _) in STREAMS.items():
            for start in range(0, events, BATCH):
                batch = [NewEvent(event_type, payload(i)) for i in range(start, min(events, start + BATCH))]
                store.append(stream_id, batch, start, stream_type=stream_id.split("-")[0])
    partial.rename(path)
    return path


def scrub(path: Path, stream_id: str, events: int, reducer: Path | None) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if reducer is not None:
        env["BENCH_REDUCER"] = str(reducer)
    done = subprocess.run([sys.executable, "-m", "bench.gui", str(path), "", stream_id, str(events)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench.gui failed on {stream_id}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    path = build(args.events)
    print(f"load average {os.getloadavg()[0]:.2f} at the start", file=sys.stderr)
    results = {}
    for stream_id, (_, _, reducer) in STREAMS.items():
        results[stream_id] = scrub(path, stream_id, args.events, reducer)
        print(json.dumps({"stream": stream_id, **results[stream_id]}))
    print(f"load average {os.getloadavg()[0]:.2f} at the end", file=sys.stderr)
    flat = results["flat-1"]
    print(f"{'stream':8s} {'longest task while scrubbing':>30s} {'its CPU':>9s} {'over 50 ms':>10s} "
          f"{'move p95':>9s} {'x flat':>7s}")
    for stream_id, r in results.items():
        print(f"{stream_id:8s} {r['scrub_max_stall_ms']:27.1f} ms {r['scrub_max_stall_cpu_ms']:6.1f} ms "
              f"{r['scrub_stalls_over_50ms']:10d} {r['scrub_p95_ms']:6.1f} ms {r['scrub_p95_ms'] / flat['scrub_p95_ms']:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
