"""The stream list rows (L) of ``bench/bench_scale.py`` alone, at 1M and 10M events.

Run: ``python3 bench/bench_scale_list.py`` prints one line per row and size and writes
``bench/data/scale-list-last.json``. The data sets are ``bench_scale``'s bulk files (built once);
the build-rate, search and as-of steps of the full run are left out, so this takes minutes
where the full run takes most of an hour.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_scale, datasets  # noqa: E402


def main() -> int:
    from store.embedded import EmbeddedStore

    out = {}
    for size in ("1M", "10M"):
        path, _ = datasets.embedded_bulk(*bench_scale.SHAPES[size], print)
        EmbeddedStore(path).close()  # a writable opening makes what the current schema has and the file lacks
        print(f"{size}: warmed in {bench_scale.warm(path):.1f} s; load average {os.getloadavg()}", flush=True)
        figures = bench_scale.stream_list(path, bench_scale.SHAPES[size][0])
        out[size] = {key: vars(f) for key, f in figures.items()}
        for key, f in figures.items():
            print(f"{size} {key}: {f.ours * 1000:.3f} ms / {(f.base or 0) * 1000:.3f} ms  {f.what}", flush=True)
    (datasets.DATA / "scale-list-last.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
