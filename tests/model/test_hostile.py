"""Hostile events and reducers end in a correct result or a located EventLensError, never a crash."""
from collections.abc import Mapping
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.diff import diff
from model.errors import EventLensError, ReducerError
from model.event import Event, ReducerId
from model.integrity import check_stream
from model.reducer import Reducer, default_reducer
from model.loaded import LoadedStream
from model.replay import fold

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5)
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=10)
versions = st.one_of(st.integers(-2, 8), st.floats(0, 8), st.text(max_size=2), st.none(), st.booleans())
times = st.one_of(st.datetimes(timezones=st.just(timezone.utc)), st.datetimes(), st.none())
types = st.one_of(st.sampled_from(["UserCreated", "UserUpdated", "UserDeleted", "X"]), st.text(max_size=4), st.integers())
payloads = st.one_of(st.dictionaries(st.text(max_size=3), json_values, max_size=4), json_values)


@st.composite
def hostile_events(draw):
    count = draw(st.integers(0, 8))
    regular = draw(st.booleans())
    return [
        Event(
            "s",
            i + 1 if regular else draw(versions),
            draw(types),
            draw(payloads),
            draw(st.one_of(st.dictionaries(st.text(max_size=3), json_values, max_size=2), json_values)),
            draw(times),
            problems=draw(st.lists(st.text(max_size=5), max_size=1).map(tuple)),
        )
        for i in range(count)
    ]


def deep(levels):
    value = leaf = {}
    for _ in range(levels):
        leaf["n"] = {}
        leaf = leaf["n"]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_events())
def test_fold_history_and_checks_survive_hostile_events(events):
    reducer = default_reducer()
    try:
        state = fold({}, events, reducer)
        assert isinstance(state, Mapping)
    except EventLensError as error:
        assert "\n" not in str(error)
    history = LoadedStream("s", reducer)
    history.extend(events)
    assert history.last_version == len(history) and history.folded_version <= history.last_version
    for v in range(0, history.folded_version + 1):  # every state there is can be had
        history.state_at(v)
    for v in range(history.folded_version + 1, history.last_version + 1):  # the rest says why not, in one line
        with pytest.raises(EventLensError) as missing:
            history.state_at(v)
        assert "\n" not in str(missing.value)
    problems = check_stream(events, Reducer(ReducerId("r", "f"), reducer.evolve, frozenset({"X"})))
    assert all(p.category and "\n" not in p.message for p in problems)


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_diff_of_two_values_is_empty_only_for_equal_values(a, b):
    d = diff(a, b)
    assert diff(a, a).is_empty
    if d.is_empty:
        assert repr(a) == repr(b) or a == b


def test_a_deeply_nested_payload_is_a_located_error_or_a_result():
    ev = Event("s", 1, "Created", deep(5000), {}, datetime.now(timezone.utc))
    try:
        fold({}, [ev], default_reducer())
    except ReducerError as error:
        assert error.version == 1 and "Recursion" in str(error)


def test_reducers_that_raise_base_errors_of_many_kinds_are_located():
    for exc in (ValueError("v"), RecursionError("deep"), MemoryError(), AssertionError(), StopIteration()):
        def evolve(state, event, exc=exc):
            raise exc

        reducer = Reducer(ReducerId("r", "f"), evolve)
        try:
            fold({}, [Event("s", 1, "T", {}, {}, datetime.now(timezone.utc))], reducer)
        except ReducerError as error:
            assert error.version == 1 and type(exc).__name__ in str(error)
        else:
            raise AssertionError("no error")
