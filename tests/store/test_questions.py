"""Search, counts, stream patterns, traces and statistics on both backends (FerretDB and SQLite).

Each test writes its own events and computes what it expects from them in plain Python.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from model.demo import demo_streams
from model.event import NewEvent
from model.query import compile_query, event_view, validate_query
from model.search import Search

UTC = timezone.utc
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def write(store, streams):
    """Append ``{stream_id: (stream_type, [NewEvent])}``; return the events as the store numbered them."""
    written = []
    for stream_id, (kind, events) in streams.items():
        store.append(stream_id, events, 0, stream_type=kind)
        written += [(stream_id, kind, v, e) for v, e in enumerate(events, start=1)]
    return written


def history():
    """Accounts and users with amounts, users in metadata, nested lists and times a minute apart."""
    streams = {}
    n = 0
    for a in range(1, 6):
        events = [NewEvent("AccountOpened", {"owner": f"o{a}"}, {"user": "ann"}, T0 + timedelta(minutes=n))]
        n += 1
        for i in range(1, 9):
            kind = "FundsWithdrawn" if i % 3 == 0 else "FundsDeposited"
            events.append(NewEvent(kind, {"amount": a * 1000 * i, "tags": ["x", f"t{i % 2}"],
                                          "lines": [{"sku": f"s{i}", "qty": i}]},
                                   {"user": "ann" if i % 2 else "bob"}, T0 + timedelta(minutes=n)))
            n += 1
        streams[f"acc-{a}"] = ("account", events)
    for u in range(1, 4):
        streams[f"user-{u}"] = ("user", [NewEvent("UserCreated", {"name": f"U{u}"}, {}, T0 + timedelta(minutes=n + u))])
    return streams


def by_time(rows):
    return sorted(rows, key=lambda r: (r[3].time, r[0], r[2]))


def all_pages(store, query, sort="time", limit=4):
    got, after = [], None
    while True:
        page = store.search(query, sort=sort, after=after, limit=limit)
        got += page.events
        if page.after is None:
            return got
        after = page.after


def ids(events):
    return [(e.stream_id, e.version) for e in events]


def test_search_by_type_and_payload_condition_pages_in_time_order(store):
    written = write(store, history())
    search = Search(types=("FundsWithdrawn",), where={"data.amount": {"$gt": 6000}})
    expected = [(s, v) for s, _, v, e in by_time(written) if e.type == "FundsWithdrawn" and e.data["amount"] > 6000]
    assert expected and ids(all_pages(store, search.query())) == expected
    assert store.count_events(search.query()) == len(expected)


def test_search_by_stream_and_version_with_metadata_and_patterns(store):
    written = write(store, history())
    search = Search(stream="acc-[2-4]", types=("re:^Funds",), where={"metadata.user": "bob", "version": {"$lte": 6}},
                    sort="stream")
    expected = sorted((s, v) for s, _, v, e in written if s in ("acc-2", "acc-3", "acc-4")
                      and e.type.startswith("Funds") and e.metadata.get("user") == "bob" and v <= 6)
    assert expected and ids(all_pages(store, search.query(), sort="stream")) == expected
    found = all_pages(store, search.query(), sort="stream")
    assert all(e.data["amount"] > 0 and e.stream_type == "account" for e in found)


def test_time_range_stream_type_and_nested_arrays(store):
    written = write(store, history())
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=30)
    search = Search(stream_type="account", since=since, until=until,
                    where={"data.tags": "t1", "data.lines.qty": {"$in": [3, 5, 7]}})
    expected = [(s, v) for s, k, v, e in by_time(written) if k == "account" and since <= e.time <= until
                and "t1" in e.data.get("tags", []) and any(x["qty"] in (3, 5, 7) for x in e.data.get("lines", []))]
    assert expected and ids(all_pages(store, search.query())) == expected
    assert store.count_events(search.query()) == len(expected)


QUERIES = [
    {"$or": [{"data.amount": {"$lt": 2500}}, {"type": "UserCreated"}]},
    {"data.amount": {"$not": {"$gte": 3000}}},
    {"metadata.user": {"$ne": "ann"}},
    {"data.owner": {"$exists": True}},
    {"data.lines": {"$elemMatch": {"sku": {"$regex": "^s[12]$"}, "qty": {"$gte": 2}}}},
    {"data.tags": {"$all": ["x", "t0"]}, "data.tags.1": "t0"},
    {"$nor": [{"type": "FundsDeposited"}, {"stream_id": {"$regex": "^user"}}]},
    {"stream_id": {"$in": ["acc-1", "user-2"]}, "time": {"$gte": "2024-03-01T09:02:00Z"}},
    {"type": {"$regex": "opened", "$options": "i"}},
    {"data.amount": {"$size": 1}},
    {"data.tags": "t1", "data.amount": {"$gte": 4000, "$lt": 9000}},
    {"data.lines.qty": {"$gt": 3}, "metadata.user": "ann"},
    {"data.owner": {"$in": ["o2", "o4"]}},
]


@pytest.mark.parametrize("raw", QUERIES, ids=range(len(QUERIES)))
def test_every_operator_gives_what_the_model_says(store, raw):
    written = write(store, history())
    query = validate_query(raw)
    test = compile_query(query)
    from model.event import Event

    events = [Event(s, v, e.type, dict(e.data), dict(e.metadata), e.time, k) for s, k, v, e in written]
    expected = [(e.stream_id, e.version) for e in sorted(events, key=lambda e: (e.time, e.stream_id, e.version))
                if test(event_view(e))]
    assert ids(all_pages(store, query, limit=5)) == expected
    assert store.count_events(query) == len(expected)


def test_stream_filters_take_text_globs_and_regexes(store):
    write(store, history())
    every = [i.stream_id for i in store.streams(limit=100)]
    cases = {"ACC-": [s for s in every if "acc-" in s], "acc-?": [s for s in every if s.startswith("acc-")],
             "*-2": [s for s in every if s.endswith("-2")], "/^(user|acc)-[13]$/": ["acc-1", "acc-3", "user-1", "user-3"],
             "re:2$": [s for s in every if s.endswith("2")]}
    for pattern, expected in cases.items():
        assert [i.stream_id for i in store.streams(match=pattern, limit=100)] == sorted(expected), pattern
        assert store.count_streams(match=pattern) == len(expected), pattern


def test_a_trace_finds_the_correlated_events_across_streams(store):
    written = write(store, {s.stream_id: (s.stream_type, list(s.events)) for s in demo_streams(12, 40, seed=8)})
    sent = next((s, v, e) for s, _, v, e in written if e.type == "TransferSent")
    correlation = sent[2].metadata["correlation_id"]
    expected = sorted((s, v) for s, _, v, e in written if e.metadata.get("correlation_id") == correlation)
    found = store.correlated(sent[0], sent[1])
    assert len(expected) == 2 and sorted((t.event.stream_id, t.event.version) for t in found.events) == expected
    receiver = next(t for t in found.events if t.event.type == "TransferReceived")
    assert receiver.causation_id == sent[2].metadata["event_id"] == found.origin.event_id


def test_statistics_per_stream_type(store):
    written = write(store, history())
    stats = {t.stream_type: t for t in store.statistics()}
    for kind in ("account", "user"):
        mine = [(s, e) for s, k, _, e in written if k == kind]
        t = stats[kind]
        assert t.events == len(mine) and t.streams == len({s for s, _ in mine})
        assert t.event_types == dict(Counter(e.type for _, e in mine))
        assert t.first_time == min(e.time for _, e in mine) and t.last_time == max(e.time for _, e in mine)
        lengths = Counter(s for s, _ in mine)
        assert t.longest == sorted(lengths.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        assert t.per_day == dict(Counter(e.time.date().isoformat() for _, e in mine))


def test_a_trace_never_misses_events_its_index_has_not_read(tmp_path):
    import sqlite3

    import bson

    from store.embedded import EmbeddedStore

    path = tmp_path / "old.sqlite"
    with EmbeddedStore(path) as store:
        store.append("a-1", [NewEvent("Sent", {}, {"correlation_id": "k", "event_id": "e1"}, T0)], 0)
        store.append("b-1", [NewEvent("Got", {}, {"correlation_id": "k", "causation_id": "e1"}, T0 + timedelta(1))], 0)
        assert not store.correlated("a-1", 1).note  # the table answers while it covers every event
    db = sqlite3.connect(path)  # another program adds an event of the same transaction, straight into the file
    db.execute("INSERT INTO events (stream_id, version, stream_type, type, data, metadata, recorded_at) "
               "VALUES ('c-1', 1, 'c', 'Noted', ?, ?, ?)",
               (bson.encode({}), bson.encode({"correlation_id": "k", "causation_id": "e1"}), 1_700_000_000_000_000))
    db.commit()
    db.close()
    for read_only in (True, False):
        with EmbeddedStore(path, read_only=read_only) as store:  # opening writes no index
            found = store.correlated("a-1", 1)
            assert sorted(t.event.stream_id for t in found.events) == ["a-1", "b-1", "c-1"]
            assert "does not cover every event" in found.note and "catalogue rebuild" in found.note
    with EmbeddedStore(path) as store:
        store.rebuild_catalogue()
        found = store.correlated("b-1", 1)
        assert sorted(t.event.stream_id for t in found.events) == ["a-1", "b-1", "c-1"] and not found.note
        assert store._query("SELECT count(*) FROM correlations")[0][0] == 3


def test_an_older_embedded_file_is_traced_by_reading_every_event_until_rebuilt(tmp_path):
    import sqlite3

    from store.embedded import EmbeddedStore

    path = tmp_path / "old.sqlite"
    with EmbeddedStore(path) as store:
        store.append("a-1", [NewEvent("Sent", {}, {"correlation_id": "k", "event_id": "e1"}, T0)], 0)
        store.append("b-1", [NewEvent("Got", {}, {"correlation_id": "k", "causation_id": "e1"}, T0 + timedelta(1))], 0)
    db = sqlite3.connect(path)  # as a file written before the table existed
    db.execute("DROP TABLE correlations")
    db.execute("DELETE FROM eventlens_meta WHERE key IN ('correlations', 'correlations_events')")
    db.commit()
    db.close()
    with EmbeddedStore(path) as store:
        found = store.correlated("a-1", 1)
        assert sorted(t.event.stream_id for t in found.events) == ["a-1", "b-1"] and "every event" in found.note
        store.append("a-1", [NewEvent("Sent", {}, {"correlation_id": "k"}, T0 + timedelta(2))], 1)
        assert "every event" in store.correlated("a-1", 1).note  # appends alone never make it whole
        store.rebuild_catalogue()
        found = store.correlated("a-1", 1)
        assert sorted((t.event.stream_id, t.event.version) for t in found.events) == [("a-1", 1), ("a-1", 2),
                                                                                      ("b-1", 1)]
        assert not found.note
