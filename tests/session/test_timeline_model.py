"""The timeline's model, without Qt: columns, the view and its following, drawing, marks and ticks."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from model.errors import EventLensError
from ui.session.ticks import time_ticks, version_ticks
from ui.session.timeline import MAX_EXACT_POINTS, OTHER, TimelineModel
from ui.session.timeline_columns import Columns, code_types, concat_types, make_columns

T0 = 1_700_000_000.0


def events(n: int, seed: int = 0, types=("Opened", "Deposited", "Withdrawn"), start: int = 1):
    rng = np.random.default_rng(seed)
    versions = np.arange(start, start + n, dtype=np.int64)
    times = T0 + np.cumsum(rng.uniform(1.0, 120.0, n))
    names = [types[0]] + [types[1 + int(i)] for i in rng.integers(0, len(types) - 1, n - 1)]
    return versions, times, names


def loaded(n: int, batch: int | None = None, **kwargs) -> tuple[TimelineModel, tuple]:
    versions, times, names = events(n, **kwargs)
    model = TimelineModel()
    step = batch or n
    for lo in range(0, n, step):
        model.append(make_columns(versions[lo:lo + step], times[lo:lo + step], names[lo:lo + step]))
    return model, (versions, times, names)


def test_coded_types_merge_by_name():
    first, second = code_types(["B", "A", "B"]), code_types(["C", "A"])
    assert first.names == ("B", "A") and first.codes.tolist() == [0, 1, 0]
    merged = concat_types([first, second, code_types([])])
    assert merged.names == ("B", "A", "C")
    assert [merged.names[c] for c in merged.codes] == ["B", "A", "B", "C", "A"]
    assert len(concat_types([])) == 0


def test_columns_that_do_not_match_are_a_one_line_error():
    with pytest.raises(EventLensError, match="3 versions, 2 times and 3 types do not match"):
        Columns(np.arange(1, 4), np.zeros(2), code_types(["A", "B", "C"]))


def test_few_events_are_drawn_one_by_one_in_their_rows():
    model, (versions, _, names) = loaded(200)
    drawing = model.drawing(800)
    assert drawing.exact and drawing.rows == tuple(dict.fromkeys(names))  # in order of first appearance
    for row, name in enumerate(drawing.rows):
        xs, drawn = drawing.points[row]
        assert drawn.tolist() == [v for v, t in zip(versions.tolist(), names) if t == name]
        assert xs.tolist() == [float(v) for v in drawn]
    assert drawing.drawn_events() == 200


@pytest.mark.parametrize("seed", range(6))
def test_many_events_are_counted_per_column_and_every_event_is_counted(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(MAX_EXACT_POINTS + 1, 60_000))
    model, (versions, times, names) = loaded(n, batch=int(rng.integers(500, 5000)), seed=seed)
    x0, x1 = sorted(rng.uniform(-100, n + 100, 2))
    model.view = (x0, x1)  # as the view shows it, whatever the bounds
    columns = int(rng.integers(50, 900))
    drawing = model.drawing(columns)
    visible = (versions >= x0) & (versions <= x1)
    if visible.sum() <= MAX_EXACT_POINTS:
        assert drawing.exact and drawing.drawn_events() == visible.sum()
        return
    assert not drawing.exact and drawing.density.shape == (3, columns)
    for row, name in enumerate(drawing.rows):
        mine = visible & (np.array(names) == name)
        assert drawing.density[row].sum() == mine.sum()
        # each event lands in the column its x falls into, and each column names its first event
        column = np.clip(((versions[mine] - x0) / (x1 - x0) * columns).astype(int), 0, columns - 1)
        assert np.array_equal(np.bincount(column, minlength=columns), drawing.density[row])
        for c in np.flatnonzero(drawing.density[row])[:20]:
            assert drawing.versions[row, c] == versions[mine][column == c].min()


def test_no_column_that_holds_events_is_ever_empty_at_any_zoom():
    model, (versions, _, _) = loaded(200_000, batch=10_000)
    model.show_all()
    for step in range(12):  # zooming in around the middle, as a wheel does
        lo, hi = model.view
        centre = 106_800.0
        model.set_view(centre - (centre - lo) * 0.7, centre + (hi - centre) * 0.7)
        drawing = model.drawing(600)
        x0, x1 = model.view
        inside = versions[(versions >= x0) & (versions <= x1)]
        if drawing.exact:
            assert sum(len(x) for x, _ in drawing.points) == len(inside)
            continue
        filled = drawing.density.sum(axis=0) > 0
        want = np.zeros(600, bool)
        want[np.clip(((inside - x0) / (x1 - x0) * 600).astype(int), 0, 599)] = True
        assert np.array_equal(filled, want), f"step {step}: a column with events drew nothing"


def test_the_view_follows_the_end_while_it_shows_the_end():
    model = TimelineModel()
    versions, times, names = events(3000)
    model.append(make_columns(versions[:1000], times[:1000], names[:1000]))
    lo, hi = model.view
    assert lo < 1 and hi > 1000  # the first batch: everything
    model.append(make_columns(versions[1000:2000], times[1000:2000], names[1000:2000]))
    assert model.view[0] < 1 and model.view[1] > 2000  # the whole stream was in view: it stays so
    model.set_view(1500, 1900)
    model.append(make_columns(versions[2000:2500], times[2000:2500], names[2000:2500]))
    assert model.view == (1500, 1900)  # the end was not in view: nothing moves
    model.set_view(2100, 2500)
    model.append(make_columns(versions[2500:], times[2500:], names[2500:]))
    x0, x1 = model.view
    assert x1 >= 3000 and x1 - x0 == pytest.approx(400)  # slides, same width


@pytest.mark.parametrize("axis", ["version", "time"])
def test_an_expected_stream_loads_into_a_fixed_view(axis):
    versions, times, names = events(3000, seed=4)
    model = TimelineModel()
    model.expect(3000, (1, 3000), (times[0], times[-1]))
    model.set_axis(axis)
    views = []
    for lo in range(0, 3000, 500):
        model.append(make_columns(versions[lo:lo + 500], times[lo:lo + 500], names[lo:lo + 500]))
        views.append(model.view)
    assert len(set(views)) == 1
    whole, _ = loaded(3000, seed=4)
    whole.set_axis(axis)
    whole.show_all()
    assert np.allclose(whole.view, views[0])


def test_events_beyond_the_expected_extent_still_show():
    versions, times, names = events(200)
    model = TimelineModel()
    model.expect(100, (1, 100), (times[0], times[99]))  # the catalogue lagged behind
    model.append(make_columns(versions, times, names))
    assert model.view[1] >= 200 and model.drawing(800).drawn_events() == 200


def test_axis_switch_keeps_the_same_events_in_view_and_times_may_go_back():
    model, (versions, times, _) = loaded(300)
    model.set_view(100, 200)
    model.set_axis("time")
    assert model.view == (pytest.approx(times[99], abs=1e-3), pytest.approx(times[199], abs=1e-3))
    model.set_axis("version")
    assert model.view == (pytest.approx(100, abs=0.5), pytest.approx(200, abs=0.5))
    with pytest.raises(EventLensError, match="unknown axis 'day'"):
        model.set_axis("day")
    back = TimelineModel()
    back.append(make_columns([1, 2, 3, 4, 5], T0 + np.array([0.0, 10, 5, 20, 30]), ["A"] * 5))
    back.set_axis("time")
    assert back.version_near(T0 + 6) == 3 and back.version_near(T0 + 9) == 2
    assert back.drawing(500).drawn_events() == 5


def test_events_without_a_time_offer_only_the_version_axis():
    model = TimelineModel()
    model.append(make_columns([1, 2, 3], [np.nan] * 3, ["A", "B", "A"]))
    assert not model.has_times
    with pytest.raises(EventLensError, match="carry no time"):
        model.set_axis("time")
    assert model.label(2) == "v2"


def test_the_cursor_scrolls_into_view_and_labels_its_event():
    model, (_, times, _) = loaded(1000)
    model.set_view(100, 200)
    assert model.set_cursor(800)
    x0, x1 = model.view
    assert x0 <= 800 <= x1 and x1 - x0 == pytest.approx(100)
    assert not model.set_cursor(810)
    assert model.set_cursor(5000) is True or model.cursor == 1000
    assert model.cursor == 1000
    assert model.label(3).startswith("v3  ") and model.label(3).endswith("UTC")


def test_rare_types_share_an_other_row_when_the_rows_do_not_fit():
    names = [f"Type{i:03d}" for i in range(100)]
    rng = np.random.default_rng(1)
    types = [names[min(int(rng.exponential(8)), 99)] for _ in range(20_000)]
    model = TimelineModel(max_rows=12)
    model.append(make_columns(range(1, 20_001), T0 + np.arange(20_000.0), types))
    rows, row_of = model.display_rows()
    assert len(rows) == 12 and rows[-1] == OTHER
    counts = model.counts()
    kept = [model.names.index(r) for r in rows[:-1]]
    assert min(counts[kept]) >= max(np.delete(counts, kept))  # the commonest keep their rows
    drawing = model.drawing(700)
    assert drawing.drawn_events() == 20_000
    model.set_max_rows(200)
    assert len(model.display_rows()[0]) == len(set(types))


def test_marks_are_the_loaded_visible_versions_on_their_rows():
    model, (_, _, names) = loaded(200)
    x, versions, rows = model.marks([50, 120, 999], room=100)
    assert versions.tolist() == [50, 120] and x.tolist() == [50.0, 120.0]
    assert [model.display_rows()[0][r] for r in rows] == [names[49], names[119]]
    model.set_view(60, 200)
    assert model.marks([50, 120], room=100)[1].tolist() == [120]


def test_version_ticks_are_whole_numbers():
    assert version_ticks(0.5, 3.5, 8) == [1, 2, 3]
    assert version_ticks(0.6, 1.4, 8) == [1]
    ticks = version_ticks(-2.5, 303.5, 8)
    assert all(isinstance(t, int) and t >= 1 for t in ticks) and len(ticks) <= 8 and ticks == sorted(set(ticks))


def _utc(*parts) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(("start", "end"), [
    (_utc(2024, 1, 5, 10), _utc(2024, 1, 5, 10, 3)),  # minutes
    (_utc(2024, 1, 5, 10), _utc(2024, 1, 6, 16)),  # hours across midnight
    (_utc(2024, 1, 5), _utc(2024, 3, 20)),  # days across months
    (_utc(2023, 11, 1), _utc(2025, 8, 1)),  # months across years
    (_utc(1990, 1, 1), _utc(2030, 1, 1)),  # years
])
def test_time_ticks_carry_the_context_the_range_needs(start, end):
    ticks = time_ticks(start, end, 8)
    assert 2 <= len(ticks) <= 8
    values = [v for v, _ in ticks]
    assert values == sorted(values) and values[0] >= start and values[-1] <= end
    previous = None
    for value, label in ticks:
        moment = datetime.fromtimestamp(value, timezone.utc)
        if previous is None or previous.year != moment.year:
            assert str(moment.year) in label, (label, moment)  # the year where the range starts or it changes
        if previous is not None and previous.date() != moment.date() and (end - start) < 40 * 86400:
            assert moment.strftime("%b") in label or str(moment.year) in label, label  # a new day says which
        assert not (label.isdigit() and len(label) <= 2)  # never a bare day number
        previous = moment
    first = datetime.fromtimestamp(values[0], timezone.utc)
    if end - start < 40 * 86400:
        assert ticks[0][1].startswith(first.strftime("%Y-%m-%d"))  # the full date at the left end


def test_an_empty_timeline_has_a_sensible_range():
    model = TimelineModel()
    assert model.bounds() == (0.5, 1.5)
    assert model.drawing(500).drawn_events() == 0
    assert version_ticks(*model.bounds(), 8) == [1]
