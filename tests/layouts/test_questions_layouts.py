"""Search, traces, as-of and statistics through the axon and neventstore presets, on FerretDB.

The documents are in the tools' exact shapes (``tests/layouts/documents.py``); each test works out
what it expects from the documents it wrote, in plain Python.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from model.search import Search
from tests.layouts.documents import at, axon_entry, iso, neventstore_documents, nes_commit

ORDERS = {  # aggregate -> [(minute, payloadType, payload)]
    "order-1": [(0, "com.shop.OrderCreated", {"orderId": "order-1", "items": 2, "total": 50}),
                (1, "com.shop.OrderQuantityChanged", {"items": 3, "total": 75}),
                (2, "com.shop.OrderShipped", {"status": "shipped"})],
    "order-2": [(0.5, "com.shop.OrderCreated", {"orderId": "order-2", "items": 1, "total": 20}),
                (3, "com.shop.OrderCancelled", {})],
    "order-3": [(4, "com.shop.OrderCreated", {"orderId": "order-3", "items": 9, "total": 400})],
}


def axon_docs():
    """Axon entries; order-1's shipping causes order-2's cancellation (one trace), the rest trace alone."""
    docs = []
    for aggregate, history in ORDERS.items():
        for seq, (minute, kind, payload) in enumerate(history):
            docs.append(axon_entry(aggregate, "Order", seq, minute, kind, payload))
    ship = next(d for d in docs if d["payloadType"] == "com.shop.OrderShipped")
    cancel = next(d for d in docs if d["payloadType"] == "com.shop.OrderCancelled")
    ship["serializedMetaData"] = json.dumps({"traceId": "trace-9", "correlationId": "cmd-1"})
    cancel["serializedMetaData"] = json.dumps({"traceId": "trace-9", "correlationId": ship["eventIdentifier"]})
    docs[1]["serializedPayload"] = dict(json.loads(docs[1]["serializedPayload"]))  # Jackson's subdocument form
    return docs


def axon_expected(docs):
    """(stream id, version, type, time, data, metadata) per document, read by hand."""
    out = []
    for d in docs:
        payload = d["serializedPayload"]
        data = payload if isinstance(payload, dict) else json.loads(payload)
        out.append((d["aggregateIdentifier"], int(d["sequenceNumber"]) + 1, d["payloadType"], d["timestamp"], data,
                    json.loads(d["serializedMetaData"])))
    return out


def pages(store, search, limit=2):
    got, after = [], None
    while True:
        page = store.search(search.query(), sort=search.sort, after=after, limit=limit)
        got += page.events
        if page.after is None:
            return got
        after = page.after


@pytest.fixture
def axon(tool_db, open_layout):
    docs = axon_docs()
    tool_db.domainevents.insert_many([dict(d) for d in docs])
    return open_layout("axon"), docs


def test_axon_search_with_payloads_in_json_text(axon):
    store, docs = axon
    rows = axon_expected(docs)
    search = Search(types=("com.shop.OrderCreated", "com.shop.OrderQuantityChanged"), where={"data.items": {"$gte": 2}})
    expected = sorted([(s, v) for s, v, t, when, data, _ in rows if t in search.types and data.get("items", 0) >= 2],
                      key=lambda sv: next(r[3] for r in rows if (r[0], r[1]) == sv))
    assert [(e.stream_id, e.version) for e in pages(store, search)] == expected
    assert store.count_events(search.query()) == len(expected)
    plan = store.search_plan(search.query())
    assert "data" in plan.note and "json text" in plan.note and "domainevents" in plan.note


def test_axon_search_by_time_range_and_stream_pattern_sorted_by_stream(axon):
    store, docs = axon
    rows = axon_expected(docs)
    since, until = at(0.5), at(3)
    search = Search(stream="order-[12]", since=since, until=until, sort="stream")
    expected = sorted((s, v) for s, v, _, when, _, _ in rows if s in ("order-1", "order-2") and iso(since) <= when <= iso(until))
    assert expected and [(e.stream_id, e.version) for e in pages(store, search)] == expected
    assert store.count_events(search.query()) == len(expected)


def test_axon_trace_follows_trace_id_and_the_causing_event_identifier(axon):
    store, docs = axon
    ship = next(d for d in docs if d["payloadType"] == "com.shop.OrderShipped")
    found = store.correlated(ship["aggregateIdentifier"], int(ship["sequenceNumber"]) + 1)
    expected = sorted((d["aggregateIdentifier"], int(d["sequenceNumber"]) + 1) for d in docs
                      if json.loads(d["serializedMetaData"]).get("traceId") == "trace-9")
    assert sorted((t.event.stream_id, t.event.version) for t in found.events) == expected
    cancel = next(t for t in found.events if t.event.type == "com.shop.OrderCancelled")
    assert cancel.causation_id == ship["eventIdentifier"] == found.origin.event_id
    from model.trace import build_tree

    roots = build_tree(found.events)
    assert [n.event.type for n in roots] == ["com.shop.OrderShipped"]
    assert [c.event.type for c in roots[0].children] == ["com.shop.OrderCancelled"]
    assert "encoded text" in found.note


def test_axon_statistics(axon):
    store, docs = axon
    rows = axon_expected(docs)
    (stats,) = store.statistics()
    assert stats.stream_type == "Order" and stats.events == len(rows) and stats.streams == len(ORDERS)
    assert stats.event_types == dict(Counter(t for _, _, t, _, _, _ in rows))
    assert stats.longest[0] == ("order-1", 3)


def neventstore_docs():
    commits, _ = neventstore_documents()
    for c in commits:  # correlation ids in the headers: a withdrawal causes a deposit in another stream
        for e in c["Events"]:
            e["Payload"]["Headers"] = {"UserId": "admin", "event_id": f"{c['StreamId']}:{e['StreamRevision']}"}
    withdrawn = commits[2]["Events"][0]
    withdrawn["Payload"]["Headers"]["correlation_id"] = "k-1"
    extra = nes_commit(7, "acc-2", 2, 2, 6, [{"_t": "MoneyDeposited", "Amount": 30}])
    extra["Events"][0]["Payload"]["Headers"] = {"event_id": "acc-2:2", "correlation_id": "k-1",
                                                "causation_id": withdrawn["Payload"]["Headers"]["event_id"]}
    return commits + [extra]


def nes_expected(commits):
    out = []
    for c in commits:
        if c["BucketId"] == ":rb":
            continue
        for e in c["Events"]:
            t = e["Payload"]["Body"]["_t"]
            out.append((f"{c['BucketId']}/{c['StreamId']}", e["StreamRevision"], t[-1] if isinstance(t, list) else t,
                        c["CommitStamp"], e["Payload"]["Body"]))
    return out


@pytest.fixture
def neventstore(tool_db, open_layout):
    commits = neventstore_docs()
    tool_db.Commits.insert_many([dict(c) for c in commits])
    return open_layout("neventstore"), commits


def test_neventstore_search_inside_the_commits_events(neventstore):
    store, commits = neventstore
    rows = nes_expected(commits)
    search = Search(types=("MoneyDeposited", "MoneyWithdrawn"), where={"data.Amount": {"$gt": 6}})
    expected = [(s, v) for s, v, t, when, body in sorted(rows, key=lambda r: (r[3], r[0], r[1]))
                if t in search.types and body.get("Amount", 0) > 6]
    assert len(expected) >= 3 and [(e.stream_id, e.version) for e in pages(store, search)] == expected
    assert store.count_events(search.query()) == len(expected)


def test_neventstore_search_by_stream_and_time_sorted_by_stream(neventstore):
    store, commits = neventstore
    rows = nes_expected(commits)
    since = at(1)
    search = Search(stream="default/acc-1", since=since, sort="stream")
    expected = sorted((s, v) for s, v, _, when, _ in rows if s.lower().find("default/acc-1") >= 0 and when >= since)
    assert expected and [(e.stream_id, e.version) for e in pages(store, search)] == expected
    exact = Search(where={"stream_id": "tenant-b/acc-2"}, sort="stream")
    assert [(e.stream_id, e.version) for e in pages(store, exact)] == [("tenant-b/acc-2", 1)]


def test_neventstore_trace_through_the_headers(neventstore):
    store, commits = neventstore
    found = store.correlated("default/acc-1", 3)
    assert sorted((t.event.stream_id, t.event.version) for t in found.events) == [("default/acc-1", 3),
                                                                                  ("default/acc-2", 2)]
    from model.trace import build_tree

    (root,) = build_tree(found.events)
    assert (root.event.stream_id, root.event.version) == ("default/acc-1", 3)
    assert [(c.event.stream_id, c.event.version) for c in root.children] == [("default/acc-2", 2)]


def test_neventstore_statistics_and_stream_filters(neventstore):
    store, commits = neventstore
    rows = nes_expected(commits)
    (stats,) = store.statistics()
    assert stats.events == len(rows) and stats.streams == len({r[0] for r in rows})
    assert stats.event_types == dict(Counter(r[2] for r in rows))
    assert stats.first_time == min(r[3] for r in rows) and stats.last_time == max(r[3] for r in rows) + timedelta(0)
    assert [i.stream_id for i in store.streams(match="*/acc-2")] == ["default/acc-2", "tenant-b/acc-2"]
    assert store.count_streams(match="re:^default/") == len({r[0] for r in rows if r[0].startswith("default/")})
