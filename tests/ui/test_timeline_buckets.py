"""bucket_rows (binary searches per type row) picks what bucket_events (one pass over all events) picks."""
from __future__ import annotations

import numpy as np
import pytest

from ui.gui.timeline import MAX_EXACT_POINTS, bucket_events, bucket_rows, code_types, concat_types


@pytest.mark.parametrize("seed", range(12))
def test_rows_bucket_like_the_single_pass(seed):
    rng = np.random.default_rng(seed)
    n, types = int(rng.integers(MAX_EXACT_POINTS + 1, 120_000)), int(rng.integers(1, 7))
    xs = np.sort(rng.uniform(0, 1000, n))
    if seed % 3 == 0:
        xs = np.floor(xs)  # many equal x: ties on bucket edges
    codes = rng.integers(0, types, n).astype(np.int16)
    versions = np.arange(1, n + 1, dtype=np.int64)
    x0, x1 = sorted(rng.uniform(-10, 1010, 2))
    buckets = int(rng.integers(50, 700))

    px, pc, pv, counts = bucket_events(xs, codes, versions, x0, x1, buckets, types)
    picked = bucket_rows([xs[codes == c] for c in range(types)], x0, x1, buckets)
    assert len(picked) == types
    for code, (index, row_counts) in enumerate(picked):
        row_versions = versions[codes == code]
        want = sorted(zip(pv[pc == code].tolist(), counts[pc == code].tolist()))
        assert sorted(zip(row_versions[index].tolist(), row_counts.tolist())) == want
        visible = int(np.count_nonzero((xs >= x0) & (xs <= x1) & (codes == code)))
        assert int(row_counts.sum()) == visible


def test_few_visible_events_come_back_one_by_one():
    rows = [np.array([1.0, 2.0, 5.0]), np.array([3.0, 9.0]), np.empty(0)]
    picked = bucket_rows(rows, 1.5, 9.0, 100)
    assert [index.tolist() for index, _ in picked] == [[1, 2], [0, 1], []]
    assert all(set(counts.tolist()) <= {1} for _, counts in picked)


def test_coded_types_merge_by_name():
    first, second = code_types(["B", "A", "B"]), code_types(["C", "A"])
    assert first.names == ("B", "A") and first.codes.tolist() == [0, 1, 0]
    merged = concat_types([first, second, code_types([])])
    assert merged.names == ("B", "A", "C")
    assert [merged.names[c] for c in merged.codes] == ["B", "A", "B", "C", "A"]
    assert len(concat_types([])) == 0


def test_loading_in_batches_draws_what_one_set_draws(qtbot):
    # The rows grow batch by batch (types first seen mid-stream too) and end as one set_events builds them.
    import ui.gui.workers  # noqa: F401  (pins None/True/False: PySide6 6.12 on Python 3.11 drops references)
    from ui.gui.timeline import TimelineWidget

    rng = np.random.default_rng(9)
    n = 60_000
    versions = np.arange(1, n + 1, dtype=np.int64)
    times = 1.7e9 + np.cumsum(rng.uniform(1, 60, n))
    names = np.array(["Opened", "Deposited", "Withdrawn", "Closed"])
    types = list(names[np.minimum(rng.integers(0, 3, n), 2)])
    types[45_000] = "Closed"  # a type that first appears late
    widgets = []
    for _ in range(2):
        w = TimelineWidget()
        qtbot.addWidget(w)
        w.resize(900, 420)
        w.show()
        widgets.append(w)
    whole, batched = widgets
    whole.set_events(versions, times, types)
    batched.set_events(np.empty(0, np.int64), np.empty(0), [])
    batched.expect(n // 2, (1, n // 2))  # a hint that falls short: the columns still grow
    for lo in range(0, n, 14_000):
        # as the main window hands them over: names or types coded by the worker, batches merged
        halves = [slice(lo, min(lo + 7_000, n)), slice(min(lo + 7_000, n), min(lo + 14_000, n))]
        if lo % 28_000:
            batched.append_events(versions[lo : lo + 14_000], times[lo : lo + 14_000],
                                  concat_types([code_types(types[h]) for h in halves]))
        else:
            for h in halves:
                batched.append_events(versions[h], times[h], types[h])
    batched.redraw()
    for mode in ("version", "time"):
        whole.set_axis(mode)
        batched.set_axis(mode)
        batched.detail.setXRange(*whole.detail.viewRange()[0], padding=0)
        whole.redraw()
        batched.redraw()
        assert batched.type_names() == whole.type_names()
        assert whole.drawn_points() < n  # bucketed, not one by one
        for a, b in zip(whole._scatters, batched._scatters):
            assert a.data["data"].tolist() == b.data["data"].tolist()
            assert a.data["size"].tolist() == b.data["size"].tolist()
