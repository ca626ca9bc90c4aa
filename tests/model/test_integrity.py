from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from model.event import ReducerId
from model.event import Event
from model.integrity import check_loaded, check_stream
from model.reducer import Reducer, default_reducer
from tests.model.helpers import T0, event


def kinds(problems):
    return [(p.version, p.category) for p in problems]


def test_a_clean_stream_has_no_problems():
    events = [event("u", 1, "UserCreated"), event("u", 2, "UserUpdated"), event("u", 3, "UserDeleted")]
    assert check_stream(iter(events), default_reducer()) == []


def test_gaps_duplicates_out_of_order_and_bad_versions():
    events = [event("s", v, "Changed", time=T0) for v in (1, 2, 5, 5, 3, 6, "7")]
    problems = check_stream(events)
    assert kinds(problems) == [(5, "gap"), (5, "duplicate"), (3, "out-of-order"), ("7", "bad-version")]
    assert problems[0].message == "versions 3..4 missing before version 5"
    assert all(p.stream_id == "s" for p in problems)


def test_a_stream_that_does_not_start_at_one():
    assert kinds(check_stream([event("s", 2, "Changed")])) == [(2, "gap")]
    assert check_stream([event("s", 11, "Changed")], after_version=10) == []


def test_time_going_backwards():
    events = [event("s", 1, "A", time=T0), event("s", 2, "A", time=T0 - timedelta(seconds=1)), event("s", 3, "A", time=T0)]
    assert kinds(check_stream(events)) == [(2, "time-backwards")]


def test_undecodable_payloads():
    events = [event("s", 1, "A"), event("s", 2, "A", problems=("data is not valid JSON: line 1",))]
    problems = check_stream(events)
    assert kinds(problems) == [(2, "undecodable")]
    assert "not valid JSON" in problems[0].message


def test_events_after_a_deletion():
    events = [event("s", 1, "UserCreated"), event("s", 2, "UserDeleted"), event("s", 3, "UserUpdated")]
    problems = check_stream(events)
    assert kinds(problems) == [(3, "after-delete")]
    assert problems[0].message == "'UserUpdated' after 'UserDeleted' at version 2"


def test_unknown_event_types_once_per_type():
    reducer = Reducer(ReducerId("users", "x"), lambda s, e: s, frozenset({"UserCreated"}))
    events = [event("s", 1, "UserCreated"), event("s", 2, "Renamed"), event("s", 3, "Renamed"), event("s", 4, "Moved")]
    problems = check_stream(events, reducer)
    assert kinds(problems) == [(2, "unknown-type"), (4, "unknown-type")]
    assert "'Renamed' is not known to reducer 'users'" in problems[0].message
    assert check_stream(events, default_reducer()) == []  # the generic reducer accepts every type


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["UserCreated", "UserRenamed", "UserDeleted", "Odd"]),
                          st.integers(-5, 5), st.booleans()), min_size=1, max_size=40))
def test_a_loaded_stream_is_checked_from_its_columns_as_its_events_would_be(rows):
    from model.loaded import LoadedStream

    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    events, moment = [], base
    for version, (kind, step, broken) in enumerate(rows, start=1):
        moment = moment + timedelta(minutes=step)
        events.append(Event("s", version, kind, {"n": version}, {}, moment, "user",
                            ("field 'data' does not decode",) if broken else ()))
    reducer = Reducer(ReducerId("r", "f"), default_reducer().evolve, frozenset({"UserCreated", "UserRenamed"}))
    loaded = LoadedStream("s", default_reducer())
    loaded.extend(events)
    assert check_loaded(loaded, reducer) == check_stream(events, reducer)
