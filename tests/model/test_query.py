"""Conditions, patterns and causation trees in the model: what is refused, and what matches (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from model.errors import UsageError
from model.event import Event
from model.patterns import GLOB, REGEX, SUBSTRING, parse_pattern
from model.query import matches, parse_where, validate_query
from model.search import Search
from model.trace import Traced, build_tree, default_ids, walk

UTC = timezone.utc
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def event(data=None, metadata=None, *, stream_id="acc-1", version=1, type="Happened", minutes=0):
    return Event(stream_id, version, type, data or {}, metadata or {}, T0 + timedelta(minutes=minutes), "account")


@pytest.mark.parametrize("text,fragment", [
    ("[1, 2]", "must be a JSON object"),
    ("{'a': 1}", "is not JSON"),
    ('{"data.a": {"$function": {}}}', "$function is not accepted"),
    ('{"data.a": {"$accumulator": {}}}', "$accumulator is not accepted"),
    ('{"$expr": {"$gt": ["$data.a", 1]}}', "$expr is not accepted"),
    ('{"$where": "1"}', "$where is not accepted"),
    ('{"data.a": {"$mod": [2, 0]}}', "unknown operator $mod"),
    ('{"data": 1}', "is not a field of an event"),
    ('{"recorded_at": 1}', "is not a field of an event"),
    ('{"data..a": 1}', "is not a field of an event"),
    ('{"version": "3"}', "a version is a number"),
    ('{"time": {"$lt": "13/01/2024"}}', "not an ISO-8601 moment"),
    ('{"data.a": {"$regex": "a", "$options": "q"}}', "letters among i, m, s, x"),
    ('{"data.a": {"$in": 3}}', "needs a list"),
    ('{"data.a": {"$or": []}}', "belongs at the top"),
    ('{"data.a": {"x": {"$gt": 1}}}', "not allowed inside a value"),
])
def test_refusals_name_the_problem_in_one_line(text, fragment):
    with pytest.raises(UsageError) as caught:
        parse_where(text)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_matching_follows_mongodb():
    e = event({"amount": 12000, "tags": ["a", "b"], "lines": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 5}],
               "who": None}, {"user": "ann"})
    yes = [{"data.amount": {"$gt": 10000}, "metadata.user": "ann"}, {"data.tags": "b"}, {"data.lines.qty": 5},
           {"data.lines": {"$elemMatch": {"sku": "y", "qty": {"$gte": 5}}}}, {"data.missing": None}, {"data.who": None},
           {"data.tags": {"$all": ["b", "a"]}}, {"data.tags": {"$size": 2}}, {"data.amount": {"$not": {"$lt": 5}}},
           {"$nor": [{"type": "Other"}]}, {"time": {"$gte": "2024-03-01", "$lt": "2024-03-02"}},
           {"data.amount": {"$ne": "12000"}}, {"data.lines.1.sku": "y"}, {"stream_id": {"$regex": "^ACC", "$options": "i"}}]
    no = [{"data.amount": {"$gt": "1"}}, {"data.lines": {"$elemMatch": {"sku": "x", "qty": 5}}}, {"data.tags": {"$size": 1}},
          {"data.missing": {"$exists": True}}, {"$or": [{"version": 2}, {"type": "Other"}]}, {"data.amount": {"$in": [1, 2]}},
          {"metadata.user": {"$nin": ["ann"]}}]
    for q in yes:
        assert matches(validate_query(q), e), q
    for q in no:
        assert not matches(validate_query(q), e), q


def test_patterns_are_text_glob_or_regex():
    assert parse_pattern("Acc").syntax == SUBSTRING and parse_pattern("Acc").matches("my-acc-1")
    glob = parse_pattern("acc-[!2]*")
    assert glob.syntax == GLOB and glob.matches("acc-1x") and not glob.matches("acc-2") and not glob.matches("xacc-1")
    assert glob.literal_prefix() == "acc-"
    for text in ("/^a.c$/", "re:^a.c$"):
        assert parse_pattern(text).syntax == REGEX and parse_pattern(text).matches("abc")
    with pytest.raises(UsageError):
        parse_pattern("re:(")


def test_a_search_is_one_query():
    search = Search(stream_type="account", types=("A", "re:^B"), stream="acc-*", since=T0,
                    where={"data.x": 1})
    inside = event({"x": 1}, type="Bee", stream_id="acc-7")
    assert matches(search.query(), inside)
    assert not matches(search.query(), event({"x": 1}, type="Cee", stream_id="acc-7"))
    assert not matches(search.query(), event({"x": 1}, type="A", stream_id="xacc-7"))
    with pytest.raises(UsageError):
        Search(since=T0, until=T0 - timedelta(days=1))


def test_causation_trees_put_each_event_under_its_cause():
    a = event(metadata={"event_id": "a", "correlation_id": "k"}, minutes=0)
    b = event(metadata={"eventId": "b", "correlationId": "k", "causationId": "a"}, stream_id="acc-2", minutes=2)
    c = event(metadata={"messageId": "c", "$correlationId": "k", "$causationId": "a"}, stream_id="acc-3", minutes=1)
    d = event(metadata={"event_id": "d", "correlation_id": "k", "causation_id": "nowhere"}, stream_id="acc-4", minutes=3)
    loop1 = event(metadata={"event_id": "x", "causation_id": "y"}, stream_id="l-1", minutes=5)
    loop2 = event(metadata={"event_id": "y", "causation_id": "x"}, stream_id="l-2", minutes=6)
    traced = [default_ids(e) for e in (d, b, c, a, loop1, loop2)]
    assert traced[1] == Traced(b, "b", "k", "a")
    roots = build_tree(traced)
    order = [(depth, n.event.stream_id) for depth, n in walk(roots)]
    assert order[:4] == [(0, "acc-1"), (1, "acc-3"), (1, "acc-2"), (0, "acc-4")]
    assert len(order) == 6 and {s for _, s in order} == {"acc-1", "acc-2", "acc-3", "acc-4", "l-1", "l-2"}


def test_conjuncts_flatten_nested_ands():
    from model.query import conjuncts

    query = {"type": "A", "$and": [{"version": {"$gt": 1}}, {"$and": [{"data.x": 1}, {"data.y": 2}]}]}
    assert conjuncts(query) == [{"type": "A"}, {"version": {"$gt": 1}}, {"data.x": 1}, {"data.y": 2}]
    assert conjuncts({"$or": [{"a": 1}]}) == [{"$or": [{"a": 1}]}]
