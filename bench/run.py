"""Every benchmark of issue 5 in one run: build (or reuse) the data sets, measure, write bench/RESULTS.md.

Run: ``python bench/run.py [--quick] [--server postgresql|sqlite|URI] [--server-scale F]``.
``--quick`` uses data sets ten times smaller (a smoke run). The embedded store is always
measured; the server is FerretDB with the PostgreSQL handler unless told otherwise, and
``$MONGODB_URI`` is measured too when it is set.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets, measure  # noqa: E402
from bench.measure import Row  # noqa: E402
from bench.servers import BenchError, open_server  # noqa: E402

FULL = datasets.Sizes(big=1_000_000, many=100_000, per_stream=10, store_streams=100_000, store_per_stream=20)
RESULTS = ROOT / "bench" / "RESULTS.md"
ALL_STEPS = frozenset("1234567")  # the measurements, numbered as in issue 5


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def scaled(sizes: datasets.Sizes, factor: float) -> datasets.Sizes:
    return replace(sizes, big=int(sizes.big * factor), many=int(sizes.many * factor),
                   store_streams=int(sizes.store_streams * factor))


# -- the machine -----------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    import pymongo

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "model", "store", "ui"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "pymongo": pymongo.version,
        "Commit": commit + (" (model/store/ui had uncommitted edits by other engineers)" if dirty else ""),
    }


def load_average() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


# -- one backend -----------------------------------------------------------------------------------
def history_steps(where: str, store, stream_id: str, baseline, what: str, events: int, steps: frozenset[str],
                  **replay) -> list[Row]:
    """Steps 1-3: load the stream beside its baseline, then jumps and replay on the loaded history."""
    if "1" not in steps:
        return []
    log(f"{where}: 1 load")
    rows, history = measure.load(where, store, stream_id, baseline, what, events)
    if "2" in steps:
        log(f"{where}: 2 jumps")
        rows += measure.jumps(where, history)
    if "3" in steps:
        log(f"{where}: 3 replay")
        rows += measure.replay(where, store, stream_id, history, **replay)
    return rows  # the history goes with this frame: later steps measure without it in memory


def run_embedded(sizes: datasets.Sizes, steps: frozenset[str] = ALL_STEPS) -> tuple[list[Row], dict]:
    from store.embedded import EmbeddedStore

    log(f"embedded store: building or reusing {sizes}")
    path, record = datasets.embedded(sizes, log)
    where = "embedded (SQLite)"
    stream_id = record["stream_id"]
    store = EmbeddedStore(path, read_only=True)
    rows: list[Row] = []
    try:
        rows += history_steps(where, store, stream_id, lambda: measure.baseline_sqlite(path, stream_id),
                              "sqlite3 SELECT ORDER BY version + bson.decode", sizes.big, steps)
        if "4" in steps:
            log("embedded: 4 snapshots")
            rows += measure.snapshots(where, store, stream_id, sizes.targets)
        if "6" in steps:
            log("embedded: 6 stream list")
            rows += measure.stream_list(where, store, sizes.store_streams + 1, *measure.sqlite_list_baselines(path))
    finally:
        store.close()
    if "5" in steps:
        log("embedded: 5 memory")
        rows += memory(where, path, stream_id, sizes.targets)
    if "7" in steps:
        log("embedded: 7 GUI")
        rows += gui(where, str(path), "", stream_id, sizes.big)
    facts = {"file": str(path.relative_to(ROOT)), **record}
    return rows, facts


def run_server(kind: str, sizes: datasets.Sizes, steps: frozenset[str] = ALL_STEPS) -> tuple[list[Row], dict]:
    from pymongo import MongoClient

    from store.mongo import MongoStore

    server = open_server(kind, datasets.DATA / f"server-{kind}")
    try:
        where = server.describe()
        log(f"{where}: building or reusing {sizes} (at {server.uri})")
        records = datasets.server(server.uri, kind if "://" not in kind else "uri", sizes, log)
        big, many = records["big"], records["many"]
        stream_id = big["stream_id"]
        client = MongoClient(server.uri)
        store = MongoStore(server.uri, big["db"], timeout_s=3600, read_only=True)
        rows: list[Row] = []
        try:
            rows += history_steps(where, store, stream_id,
                                  lambda: measure.baseline_pymongo(client[big["db"]].events, stream_id),
                                  "pymongo list(find().sort())", sizes.big, steps, requests=1)
            if "4" in steps:
                log(f"{where}: 4 snapshots")
                rows += measure.snapshots(where, store, stream_id, sizes.targets, repeats=1)
            if "6" in steps:
                store.close()
                store = MongoStore(server.uri, many["db"], timeout_s=3600, read_only=True)
                log(f"{where}: 6 stream list")
                rows += measure.stream_list(where, store, sizes.many,
                                            *measure.mongo_list_baselines(client[many["db"]].events))
        finally:
            store.close()
            client.close()
        if kind != "sqlite" and "7" in steps:
            log(f"{where}: 7 GUI")
            rows += gui(where, server.uri, big["db"], stream_id, sizes.big)
        return rows, {"server": where, "databases": records}
    finally:
        server.stop()


def memory(where: str, path: Path, stream_id: str, sizes: list[int]) -> list[Row]:
    """Resident memory per loaded event in a fresh process per size."""
    rows = []
    previous = None
    for n in sizes:
        out = subprocess.run([sys.executable, "-m", "bench.memory", str(path), stream_id, str(n)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        facts = json.loads(out.strip().splitlines()[-1])
        grown = facts["after"] - facts["before"]
        per_event = grown / n
        growth = f"; x{per_event / previous:.2f} bytes/event vs the size before" if previous else ""
        rows.append(Row("5", where, f"resident memory per loaded event, {n:,} events ({grown / 2**20:,.0f} MiB "
                        f"in all, {facts['checkpoints']:,} checkpoints{growth})", per_event, "bytes"))
        previous = per_event
        last = grown, n
    total, n = last
    rows.append(Row("5", where, f"resident memory of the {n:,}-event stream with checkpoints", total / 2**20, "MiB",
                    goal="< 2 GB" if n >= 1_000_000 else "< 2 GB (at 1M)", met=total < 2e9 if n >= 1_000_000 else None))
    return rows


def gui(where: str, uri: str, db: str, stream_id: str, events: int) -> list[Row]:
    """Open the stream in the real main window offscreen and scrub (a fresh process)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "bench.gui", uri, db, stream_id, str(events)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        log(f"GUI benchmark failed: {done.stderr.strip()[-500:]}")
        return [Row("7", where, "GUI benchmark failed: " + (done.stderr.strip().splitlines() or ["?"])[-1], 0, "")]
    facts = json.loads(lines[-1])
    return [
        Row("7", where, f"open {events:,}-event stream in the main window to a drawn timeline "
            f"(stream loaded at {facts['loaded_s']:.1f} s)", facts["drawn_s"], "s"),
        Row("7", where, f"scrub: time per cursor move to an updated state view, mean ({measure_moves()} moves)",
            facts["scrub_mean_ms"], "ms", goal="<= 16 ms (issue 3)", met=facts["scrub_mean_ms"] <= 16),
        Row("7", where, "scrub: time per cursor move, p95", facts["scrub_p95_ms"], "ms",
            goal="<= 16 ms (issue 3)", met=facts["scrub_p95_ms"] <= 16),
        Row("7", where, "scrub: the timeline's painting per cursor move, mean", facts["scrub_timeline_paint_ms"], "ms"),
        Row("7", where, f"longest UI-thread stall while the {events:,}-event stream opens "
            f"({facts['stalls_over_100ms']} over 100 ms)", facts["max_stall_ms"], "ms",
            goal="<= 100 ms (issue 3)", met=facts["max_stall_ms"] <= 100),
    ]


def measure_moves() -> int:
    from bench.gui import MOVES

    return MOVES


# -- output ------------------------------------------------------------------------------------------
def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit == "events/s" or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"


def table(rows: list[Row]) -> str:
    lines = ["| # | where | measurement | value | baseline | ratio | goal | met |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = f"{_num(r.baseline, r.unit)} {r.unit} ({r.baseline_what})" if r.baseline is not None else ""
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        lines.append(f"| {r.number} | {r.where} | {r.what} | {_num(r.value, r.unit)} {r.unit} | {base} | {ratio} "
                     f"| {r.goal} | {met} |")
    return "\n".join(lines)


def write_results(rows: list[Row], facts: dict, command: str, path: Path) -> None:
    about = "\n".join(f"- {k}: {v}" for k, v in facts["machine"].items())
    servers = "\n".join(f"- {s}" for s in facts["servers"])
    data = "\n".join(f"- {k}: `{json.dumps(v, default=str)}`" for k, v in facts["data"].items())
    text = f"""# Benchmark results

Produced by `{command}` on {facts['date']} in {facts['seconds']:.0f} s. Each timing stands beside a
baseline measured in the same run; **ratio** is baseline time / our time (above 1: EventLens is faster;
for throughputs in events/s, ours / baseline). The machine was shared with other work: load average
{facts['load_before']} at the start and {facts['load_after']} at the end, so absolute figures are noisy;
the ratios less so.

## Machine
{about}

## Servers
{servers}

## Data sets (built by `bench/datasets.py` from `model/demo.py`, cached in `bench/data/`)
{data}

## Results
{table(rows)}
"""
    path.write_text(text)


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put ``body`` (which starts with ``heading``) in place of that section of ``path``, or at its end."""
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    if heading in text:
        start = text.index(heading)
        rest = text[start + len(heading):]
        end = rest.find("\n## ")
        text = text[:start] + body.rstrip("\n") + ("\n" + rest[end:] if end >= 0 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text)


def _command(argv: list[str] | None) -> str:
    return ("python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()


def partial(rows: list[Row], facts: dict, args) -> None:
    """Write what is measured so far, so a long server run never loses the embedded figures."""
    facts = dict(facts, seconds=time.perf_counter() - facts["started"], load_after=load_average())
    write_results(rows, facts, _command(args.argv) + " (partial: still running)", Path(args.out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="data sets ten times smaller")
    parser.add_argument("--server", default="postgresql", help="postgresql (default), sqlite, none, or a mongodb:// URI")
    parser.add_argument("--server-scale", type=float, default=None,
                        help="scale of the server data sets against the full ones (default: as the embedded)")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--steps", default="1,2,3,4,5,6,7",
                        help="which measurements to run (numbers as in issue 5; 2 and 3 need 1's loaded stream)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    args.argv = argv
    steps = frozenset(args.steps.split(","))
    scale = 0.1 if args.quick else 1.0
    sizes = scaled(FULL, scale)
    server_sizes = scaled(FULL, args.server_scale if args.server_scale is not None else scale)
    started = time.perf_counter()
    facts = {"machine": machine(), "servers": [], "data": {}, "load_before": load_average(), "started": started,
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    rows: list[Row] = []
    if not args.skip_embedded:
        embedded_rows, data = run_embedded(sizes, steps)
        rows += embedded_rows
        facts["servers"].append("embedded store (SQLite " + __import__("sqlite3").sqlite_version + ")")
        facts["data"]["embedded"] = data
        partial(rows, facts, args)
    kinds = [] if args.server == "none" else [args.server]
    if os.environ.get("MONGODB_URI") and os.environ["MONGODB_URI"] not in kinds:
        kinds.append(os.environ["MONGODB_URI"])
    for kind in kinds:
        try:
            server_rows, data = run_server(kind, server_sizes, steps)
        except BenchError as error:
            log(f"server {kind}: {error}")
            facts["servers"].append(f"{kind}: not measured: {error}")
            continue
        rows += server_rows
        facts["servers"].append(data["server"])
        facts["data"][data["server"]] = data["databases"]
        partial(rows, facts, args)
    facts["seconds"] = time.perf_counter() - started
    facts["load_after"] = load_average()
    print(table(rows))
    write_results(rows, facts, _command(argv), Path(args.out))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
