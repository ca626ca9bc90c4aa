"""Growing states (issue 16.1): fold time and memory of three kinds of state, before and after.

Run: ``python3 bench/bench_states.py [--events 100000] [--baseline-events 30000]
[--baseline COMMIT] [--repeats 3] [--parts folds,diff,payloads,structures] [--out FILE]``

Prints markdown tables (and writes them to ``--out``):

- **folds**: 100,000 events folded into a ``model.loaded.LoadedStream`` (checkpoints kept as it keeps
  them) for (a) a flat state, the demo account with the generic reducer; (b) a state gaining
  one key per event, the generic reducer merging ``{"sku-N": qty}``; (c) a list growing by one
  item per event, a reducer appending. Fold time (the ``LoadedStream.extend`` calls), resident
  memory of the loaded history (events, payloads, states and checkpoints) and the peak, and
  the ratios (b)/(a) and (c)/(a). The baseline is the implementation at ``--baseline``
  (``git archive`` of its ``model`` package into a temporary directory), run by the same code
  in the same run; it folds (b) and (c) at ``--baseline-events`` only, being quadratic.
  Every figure comes from a fresh process; times are the best of ``--repeats`` runs.
- **diff**: ``model.diff.diff`` of two 100,000-key states one persistent set apart and of
  two 100,000-item lists one append apart, and ``LoadedStream.change_at`` on the histories above.
- **payloads**: decoding a batch of BSON payloads as the embedded store does and freezing them
  with ``freeze_each``, before and after, and the alternative of making each payload a trie.
- **structures**: the measurements that picked the persistent structures: the dict copy
  (the baseline's approach), ``immutables.Map``, ``pyrsistent``'s pmap and pvector (when
  installed), an ``immutables.Map`` keyed by index as a vector, and ``model.freeze``'s own
  FrozenMap and FrozenList, for set, get, merge, iteration, equality and memory.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from io import BytesIO
from itertools import chain, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The commit before persistent states: FrozenDict/FrozenList as dict/list copies.
BASELINE = "b50dd7d"
BATCH = 5000  # the GUI's read batch
PAGE = os.sysconf("SC_PAGE_SIZE")
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CASES = {
    "flat": "(a) flat: demo account, generic reducer",
    "keys": "(b) one key more per event: generic reducer merging {sku-N: qty}",
    "list": "(c) one list item more per event: a reducer appending",
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


# -- one case in a fresh process (run with the model package of either implementation) ----------


def _payloads(case: str, n: int):
    """(type, data) of the case's n events, lazily."""
    if case == "flat":
        from model.demo import account_events

        return ((e.type, e.data) for e in account_events(1, n, 10, random.Random(1)))
    first = ("InventoryOpened", {"warehouse": "w-1"}) if case == "keys" else ("ListStarted", {"name": "picks"})
    if case == "keys":
        rest = (("StockCounted", {f"sku-{i}": i % 97}) for i in range(1, n))
    else:
        rest = (("ItemAppended", {"item": f"item-{i}"}) for i in range(1, n))
    return chain([first], rest)


def append_evolve(state, event):
    """The list case's reducer, in the fastest way each implementation offers."""
    if event.type == "ListStarted":
        return {"name": event.data["name"], "items": []}
    item = event.data["item"]
    if hasattr(state, "set"):  # persistent states: a new FrozenMap holding a new FrozenList
        return state.set("items", state["items"] + [item])
    return {**state, "items": state["items"] + [item]}  # the baseline: a copy of both


def run_case(case: str, n: int, with_diff: bool) -> dict:
    from model.diff import diff
    from model.event import Event, ReducerId
    from model.freeze import freeze_each
    from model.reducer import Reducer, default_reducer
    from model.loaded import LoadedStream

    reducer = default_reducer() if case != "list" else Reducer(ReducerId("append", "0"), append_evolve)
    gc.collect()
    before = rss_bytes()
    items = _payloads(case, n)
    history = LoadedStream("s", reducer)
    fold_s = 0.0
    for at in range(0, n, BATCH):
        # A batch as a store's read hands it out (payloads frozen by freeze_each), then folded.
        batch = list(islice(items, BATCH))
        datas = freeze_each([data for _, data in batch])
        metas = freeze_each([{} for _ in batch])
        events = [Event("s", at + i + 1, kind, data, meta, T0 + timedelta(seconds=at + i))
                  for i, ((kind, _), data, meta) in enumerate(zip(batch, datas, metas))]
        del batch, datas, metas
        started = time.perf_counter()
        history.extend(events)
        fold_s += time.perf_counter() - started
    del events
    gc.collect()
    after = rss_bytes()
    assert history.error is None and len(history) == n, history.error
    out = {
        "case": case, "events": n, "fold_s": fold_s, "resident_mb": (after - before) / 2**20,
        "peak_mb": (resident_peak() - before) / 2**20, "checkpoints": history.checkpoints,
        "checkpoint_every": history.checkpoint_every, "state_len": len(history.state),
    }
    if with_diff:
        rng = random.Random(7)
        times = []
        for version in rng.sample(range(2, n + 1), 200):
            started = time.perf_counter()
            change = history.change_at(version)
            times.append(time.perf_counter() - started)
            assert len(change.added) + len(change.changed) >= 1
        out["change_at_ms"] = {"median": statistics.median(times) * 1e3, "max": max(times) * 1e3}
        before_last, last = history.state_at(n - 1), history.state_at(n)
        started = time.perf_counter()
        difference = diff(before_last, last)
        out["diff_last_ms"] = (time.perf_counter() - started) * 1e3
        out["diff_last_changes"] = len(difference.added) + len(difference.changed) + len(difference.removed)
    return out


def resident_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_diff(n: int) -> dict:
    """diff of two n-key states one change apart and of two n-item lists one append apart."""
    from model.diff import diff
    from model.freeze import freeze

    state = freeze({f"sku-{i}": i for i in range(n)})
    listed = freeze({"items": [f"item-{i}" for i in range(n)]})
    if hasattr(state, "set"):
        changed = state.set("sku-7", -1)
        appended = listed.set("items", listed["items"] + ["one more"])
        how = "persistent set / + [item]"
    else:  # the baseline: the generic reducer's copy, and a reducer's list copy
        changed = freeze({**state, "sku-7": -1})
        appended = freeze({**listed, "items": [*listed["items"], "one more"]})
        how = "copy + set / copy + append (then freeze)"
    out = {"how": how}
    for name, (a, b) in {"map": (state, changed), "list": (listed, appended)}.items():
        times = []
        for _ in range(20):
            started = time.perf_counter()
            d = diff(a, b)
            times.append(time.perf_counter() - started)
        assert len(d.changed) + len(d.added) == 1, d
        out[name + "_ms"] = statistics.median(times) * 1e3
    return out


def run_payloads(count: int) -> dict:
    """Decode ``count`` BSON payloads as the embedded store does (ThawedDicts) and freeze them."""
    import bson
    from bson.codec_options import CodecOptions

    from model.freeze import ThawedDict, freeze_each

    options = CodecOptions(document_class=ThawedDict, tz_aware=True)
    rng = random.Random(3)
    flat = b"".join(bson.encode({"amount": rng.randint(1, 500) * 100, "balance": rng.randint(0, 10**6),
                                  "to_account": f"account-{rng.randint(1, 9)}", "transfer_id": f"t-{i}"})
                    for i in range(count))
    nested = b"".join(bson.encode({"order": f"o-{i}", "lines": [{"sku": f"s-{j}", "qty": j} for j in range(3)],
                                    "address": {"city": "Ghent", "zip": "9000"}}) for i in range(count))
    out = {}
    for name, blob in (("flat", flat), ("nested", nested)):
        decode, both = [], []
        for _ in range(7):
            started = time.perf_counter()
            payloads = bson.decode_all(blob, options)
            middle = time.perf_counter()
            frozen = freeze_each(payloads)
            done = time.perf_counter()
            decode.append(middle - started)
            both.append(done - started)
        out[name] = {"decode_us": min(decode) / count * 1e6, "decode_freeze_us": min(both) / count * 1e6,
                     "top_type": type(frozen[0]).__name__}
        try:  # the alternative: every payload a trie (only the persistent implementation has it)
            from model.freeze import FrozenMap
        except ImportError:
            continue
        tries = []
        for _ in range(7):
            started = time.perf_counter()
            list(map(FrozenMap, bson.decode_all(blob, options)))
            tries.append(time.perf_counter() - started)
        out[name]["decode_to_trie_us"] = min(tries) / count * 1e6
    # Memory per flat payload, frozen as the fold keeps it.
    tracemalloc.start()
    kept = freeze_each(bson.decode_all(flat, options))
    out["flat"]["bytes_each"] = tracemalloc.get_traced_memory()[0] / count
    tracemalloc.stop()
    del kept
    try:
        from model.freeze import FrozenMap

        tracemalloc.start()
        kept = list(map(FrozenMap, bson.decode_all(flat, options)))
        out["flat"]["trie_bytes_each"] = tracemalloc.get_traced_memory()[0] / count
        tracemalloc.stop()
    except ImportError:
        pass
    return out


# -- the structures compared (current implementation only) -------------------------------------------


def _best(fn, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _young_collection_ms(value, change) -> float:
    """A young-generation collection just after ``change`` made a new version of ``value``.

    What a fold pays every few hundred events while a state is alive and young: a structure
    whose nodes the collector walks in full makes each of these cost the whole value.
    """
    gc.collect()
    times = []
    for _ in range(5):
        value = change(value)
        started = time.perf_counter()
        gc.collect(0)
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


def _traced(build) -> float:
    gc.collect()
    tracemalloc.start()
    kept = build()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return size / 2**20


def run_structures(n: int) -> dict:
    """Each candidate for maps and for lists, with the garbage collector on as in the application."""
    import immutables

    from model.freeze import FrozenList, FrozenMap

    try:
        import pyrsistent
    except ImportError:
        pyrsistent = None
    keys = [f"sku-{i}" for i in range(n)]
    look = random.Random(1).sample(keys, 10_000)
    account = {"account_id": "account-1", "owner": "Ada Lovelace", "currency": "EUR", "balance": 0,
               "amount": 100, "to_account": "account-2", "transfer_id": "t", "from_account": "account-3"}
    payloads = [{"amount": i, "balance": 2 * i} for i in range(10_000)]
    maps: dict[str, dict] = {}

    class DictCopy:  # the baseline's approach: copy the whole dict, then change the copy
        empty = staticmethod(dict)
        of = staticmethod(dict)

        @staticmethod
        def set(m, k, v):
            new = dict(m)
            new[k] = v
            return new

        @staticmethod
        def merge(m, p):
            new = dict(m)
            new.update(p)
            return new

    candidates = {
        "dict copy (baseline)": (dict, lambda m, k, v: DictCopy.set(m, k, v), DictCopy.merge),
        "immutables.Map": (immutables.Map, lambda m, k, v: m.set(k, v), lambda m, p: m.update(p)),
        "FrozenMap (model.freeze)": (FrozenMap, lambda m, k, v: m.set(k, v), lambda m, p: m.merge(p)),
    }
    if pyrsistent is not None:
        candidates["pyrsistent.pmap"] = (pyrsistent.pmap, lambda m, k, v: m.set(k, v), lambda m, p: m.update(p))
    for name, (make, set_, merge) in candidates.items():
        row = {}

        def grow(count):
            m = make({})
            for k in keys[:count]:
                m = set_(m, k, 1)
            return m

        for count in (1_000, 10_000, n):
            if name.startswith("dict copy") and count > 10_000:
                row[f"set_us_{count}"] = None  # quadratic: 100,000 sets copy 5e9 entries
                continue
            row[f"set_us_{count}"] = _best(lambda: grow(count), 3 if count < n else 1) / count * 1e6
        small = make(account)
        row["merge_small_us"] = _best(lambda: [merge(small, p) for p in payloads]) / len(payloads) * 1e6
        big = make(dict.fromkeys(keys, 1))
        one = {"sku-new": 1}
        row["merge_big_us"] = _best(lambda: [merge(big, one) for _ in range(1000)]) / 1000 * 1e6
        row["get_us"] = _best(lambda: [big[k] for k in look]) / len(look) * 1e6
        row["iterate_ms"] = _best(lambda: [v for k, v in big.items()], 3) * 1e3
        other = make(dict.fromkeys(keys, 1))
        row["equal_ms"] = _best(lambda: big == other, 3) * 1e3
        row["memory_mb"] = _traced(lambda: make(dict.fromkeys(keys, 1)))
        row["young_gc_ms"] = _young_collection_ms(make(dict.fromkeys(keys, 1)), lambda m: set_(m, "sku-x", 2))
        if not name.startswith("dict copy"):
            def checkpoints():
                m, kept = make({}), []
                for i, k in enumerate(keys):
                    m = set_(m, k, 1)
                    if i % 2000 == 0:
                        kept.append(m)
                return kept + [m]

            row["growth_with_checkpoints_mb"] = _traced(checkpoints)
        maps[name] = row

    lists: dict[str, dict] = {}
    vector_candidates = {
        "list copy (baseline)": (list, lambda v, x: [*v, x]),
        "immutables.Map by index": (lambda items: immutables.Map(enumerate(items)), lambda v, x: v.set(len(v), x)),
        "FrozenList (model.freeze)": (FrozenList, lambda v, x: v + [x]),
    }
    if pyrsistent is not None:
        vector_candidates["pyrsistent.pvector"] = (pyrsistent.pvector, lambda v, x: v.append(x))
    for name, (make, append) in vector_candidates.items():
        row = {}

        def grow(count):
            v = make([])
            for i in range(count):
                v = append(v, i)
            return v

        for count in (1_000, 10_000, n):
            if name.startswith("list copy") and count > 10_000:
                row[f"append_us_{count}"] = None
                continue
            row[f"append_us_{count}"] = _best(lambda: grow(count), 3 if count < n else 1) / count * 1e6
        big = make(list(range(n)))
        where = random.Random(2).sample(range(n), 10_000)
        row["get_us"] = _best(lambda: [big[i] for i in where]) / len(where) * 1e6
        if name.startswith("immutables"):
            row["iterate_ms"] = _best(lambda: list(map(big.__getitem__, range(n))), 3) * 1e3
        else:
            row["iterate_ms"] = _best(lambda: [x for x in big], 3) * 1e3
        other = make(list(range(n)))
        row["equal_ms"] = _best(lambda: big == other, 3) * 1e3
        row["memory_mb"] = _traced(lambda: make(list(range(n))))
        row["young_gc_ms"] = _young_collection_ms(make(list(range(n))), lambda v: append(v, -1))
        lists[name] = row
    return {"maps": maps, "lists": lists, "pyrsistent": pyrsistent is not None}


# -- the driver ------------------------------------------------------------------------------------------


def _child(root: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, __file__, "--child", str(root), *args], env=env, cwd=root,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline_root(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "model"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _machine(commit: str) -> list[str]:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import immutables

    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start",
        f"- Python {platform.python_version()} on {platform.platform()}; immutables {immutables.__version__}",
        f"- Commit: {commit}",
    ]


def _f(value, digits=2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--baseline-events", type=int, default=30_000)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="folds,diff,payloads,structures")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "model", "bench"],
                           capture_output=True, text=True).stdout.strip()
    commit += " (with uncommitted changes)" if dirty else ""
    started = time.perf_counter()
    lines = [f"Produced by `python3 bench/bench_states.py {' '.join(argv if argv is not None else sys.argv[1:])}`"
             f" on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; baseline: the model package at "
             f"{args.baseline}, run by the same code in the same run.", ""] + _machine(commit) + [""]
    with tempfile.TemporaryDirectory() as tmp:
        old = _baseline_root(args.baseline, Path(tmp))
        if "folds" in parts:
            lines += _folds(args, old)
        if "diff" in parts:
            lines += _diffs(args, old)
        if "payloads" in parts:
            lines += _payload_lines(old)
    if "structures" in parts:
        lines += _structure_lines(args.events)
    lines.append(f"Whole run: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def _folds(args, old: Path) -> list[str]:
    n, m = args.events, args.baseline_events
    plan = []
    for impl, root in (("baseline", old), ("persistent", ROOT)):
        for case in CASES:
            for size in (sorted({m, n}) if impl == "persistent" or case == "flat" else [m]):
                slow = impl == "baseline" and case != "flat"  # quadratic: one run is plenty
                plan.append((impl, root, case, size, 1 if slow else args.repeats))
    samples: dict[tuple, list[dict]] = {}
    for repeat in range(args.repeats):  # interleaved, so that a busy moment hits every case alike
        for impl, root, case, size, repeats in plan:
            if repeat < repeats:
                with_diff = repeat == 0 and impl == "persistent" and size == n and case != "flat"
                samples.setdefault((impl, case, size), []).append(
                    _child(root, "case", case, str(size), "1" if with_diff else "0"))
    runs = {}
    for key, results in samples.items():
        best = dict(min(results, key=lambda r: r["fold_s"]))
        best["fold_s_runs"] = [r["fold_s"] for r in results]
        best["resident_mb"] = statistics.median(r["resident_mb"] for r in results)
        best["peak_mb"] = statistics.median(r["peak_mb"] for r in results)
        for extra in ("change_at_ms", "diff_last_ms", "diff_last_changes"):
            if extra in results[0]:
                best[extra] = results[0][extra]
        runs[key] = best
    out = ["### Folds into a loaded stream (checkpoints as it keeps them)", "",
           "| implementation | state | events | fold | resident | peak | checkpoints (every) | time ratio to (a) | memory ratio to (a) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for (impl, case, size), r in runs.items():
        flat = runs.get((impl, "flat", size))
        ratio_t = r["fold_s"] / flat["fold_s"] if flat and case != "flat" else None
        ratio_m = r["resident_mb"] / flat["resident_mb"] if flat and case != "flat" else None
        out.append(f"| {impl} | {CASES[case]} | {size:,} | {r['fold_s']:.3f} s | {r['resident_mb']:.1f} MiB | "
                   f"{r['peak_mb']:.1f} MiB | {r['checkpoints']:,} ({r['checkpoint_every']:,}) | "
                   f"{_f(ratio_t)} | {_f(ratio_m)} |")
    out += ["", "Goal (issue 16.1): at 100,000 events, (b)/(a) and (c)/(a) within 3 for time and for memory.", ""]
    for case in ("keys", "list"):
        r = runs[("persistent", case, n)]
        flat = runs[("persistent", "flat", n)]
        tr, mr = r["fold_s"] / flat["fold_s"], r["resident_mb"] / flat["resident_mb"]
        out.append(f"- {CASES[case]}: time x{tr:.2f}, memory x{mr:.2f}: "
                   f"**{'met' if tr <= 3 and mr <= 3 else 'not met'}**")
        old, old_flat = runs.get(("baseline", case, m)), runs.get(("baseline", "flat", m))
        if old and old_flat:
            out[-1] += (f" (the baseline at {m:,} events: time x{old['fold_s'] / old_flat['fold_s']:.0f}, "
                        f"memory x{old['resident_mb'] / old_flat['resident_mb']:.1f})")
    out.append("")
    out.append(f"Fold times of every run (s): " + "; ".join(
        f"{impl} {case} {size:,}: {', '.join(f'{t:.3f}' for t in r['fold_s_runs'])}" for (impl, case, size), r in runs.items()))
    out.append("")
    changes = [(case, runs[("persistent", case, n)]) for case in ("keys", "list")]
    out += ["### Diff on the large states of these histories (persistent implementation)", "",
            "| state | `LoadedStream.change_at(v)`, 200 random versions: median / max | `diff(state_at(n-1), state_at(n))` |",
            "|---|---|---|"]
    for case, r in changes:
        c = r["change_at_ms"]
        out.append(f"| {CASES[case]} | {c['median']:.3f} / {c['max']:.3f} ms | {r['diff_last_ms']:.3f} ms |")
    out.append("")
    return out


def _diffs(args, old: Path) -> list[str]:
    n = args.events
    rows = {"baseline": _child(old, "diff", str(n)), "persistent": _child(ROOT, "diff", str(n))}
    out = [f"### diff of two {n:,}-key states one change apart, two {n:,}-item lists one append apart", "",
           "| implementation | derived by | map | list |", "|---|---|---|---|"]
    for impl, r in rows.items():
        out.append(f"| {impl} | {r['how']} | {r['map_ms']:.3f} ms | {r['list_ms']:.3f} ms |")
    out += ["", "Goal (issue 16.1, point 2): well under 10 ms.", ""]
    return out


def _payload_lines(old: Path) -> list[str]:
    count = 5000
    rows = {"baseline": _child(old, "payloads", str(count)), "persistent": _child(ROOT, "payloads", str(count))}
    out = [f"### Payloads: decode a batch of {count:,} BSON payloads into ThawedDicts and freeze them (µs per payload)", "",
           "| implementation | payloads | decode | decode + freeze_each | frozen as | decode + make each a trie | bytes per frozen payload (trie) |",
           "|---|---|---|---|---|---|---|"]
    for impl, r in rows.items():
        for name in ("flat", "nested"):
            p = r[name]
            size = f"{p['bytes_each']:.0f}" if "bytes_each" in p else ""
            if "trie_bytes_each" in p:
                size += f" ({p['trie_bytes_each']:.0f})"
            out.append(f"| {impl} | {name} | {p['decode_us']:.2f} | {p['decode_freeze_us']:.2f} | {p['top_type']} | "
                       f"{_f(p.get('decode_to_trie_us'))} | {size} |")
    out.append("")
    return out


def _structure_lines(n: int) -> list[str]:
    r = _child(ROOT, "structures", str(n))
    out = [f"### The structures compared (garbage collector on; {n:,} keys or items unless named)", ""]
    if not r["pyrsistent"]:
        out += ["(pyrsistent is not installed here: its columns are left out.)", ""]
    out += [f"| map | set, growing to 1,000 / 10,000 / {n:,} keys (µs per set) | merge 2 keys into 8 (µs) | "
            f"merge 1 key into {n:,} (µs) | get (µs) | iterate items (ms) | == (ms) | memory (MiB) | "
            f"growth to {n:,} keeping a version every 2,000 (MiB) | young collection after a change (ms) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in r["maps"].items():
        sets = " / ".join(_f(row[k]) for k in ("set_us_1000", "set_us_10000", f"set_us_{n}"))
        out.append(f"| {name} | {sets} | {row['merge_small_us']:.2f} | {row['merge_big_us']:.2f} | {row['get_us']:.3f} | "
                   f"{row['iterate_ms']:.2f} | {row['equal_ms']:.2f} | {row['memory_mb']:.1f} | "
                   f"{_f(row.get('growth_with_checkpoints_mb'), 1)} | {row['young_gc_ms']:.3f} |")
    out += ["", f"| list | append, growing to 1,000 / 10,000 / {n:,} items (µs per append) | get (µs) | "
            "iterate (ms) | == (ms) | memory (MiB) | young collection after a change (ms) |", "|---|---|---|---|---|---|---|"]
    for name, row in r["lists"].items():
        appends = " / ".join(_f(row[k], 3) for k in ("append_us_1000", "append_us_10000", f"append_us_{n}"))
        out.append(f"| {name} | {appends} | {row['get_us']:.3f} | {row['iterate_ms']:.2f} | {row['equal_ms']:.2f} | "
                   f"{row['memory_mb']:.1f} | {row['young_gc_ms']:.3f} |")
    out.append("")
    return out


def child(argv: list[str]) -> None:
    root, what, *rest = argv
    sys.path.insert(0, root)
    if what == "case":
        result = run_case(rest[0], int(rest[1]), rest[2] == "1")
    elif what == "diff":
        result = run_diff(int(rest[0]))
    elif what == "payloads":
        result = run_payloads(int(rest[0]))
    else:
        result = run_structures(int(rest[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
