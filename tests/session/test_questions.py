"""The session's questions without a window: search pages and counts, as-of across processes,
traces and kept statistics, on the embedded store, FerretDB and the axon preset."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from model.demo import demo_streams
from model.errors import CancelledError
from model.event import NewEvent
from model.search import Search
from ui.session.asof import AsOf, AsOfResults, InlineExecutor, Source, process_pool
from ui.session.connection import Connection
from ui.session.jobs import Job, Task, run_now
from ui.session.search import SearchResults

UTC = timezone.utc
T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["embedded", "mongo"])
def filled(request, tmp_path):
    """(connection, store, written) with accounts of known deposits, on each backend."""
    if request.param == "embedded":
        connection = Connection(uri=str(tmp_path / "s.sqlite"))
    else:
        connection = Connection(uri=request.getfixturevalue("mongo_uri"), db=request.getfixturevalue("mongo_db_name"))
    store = connection.open(create=True)
    written = {}
    for a in range(1, 8):
        events = [NewEvent("AccountOpened", {"account_id": f"acc-{a}", "owner": f"o{a}", "currency": "EUR",
                                             "balance": 0}, {}, T0 + timedelta(hours=a))]
        for i in range(1, 6):
            events.append(NewEvent("FundsDeposited", {"amount": a * 100 + i, "balance": 0}, {},
                                   T0 + timedelta(hours=a, minutes=10 * i)))
        store.append(f"acc-{a}", events, 0, stream_type="account")
        written[f"acc-{a}"] = events
    store.append("user-1", [NewEvent("UserCreated", {"name": "U"}, {}, T0)], 0, stream_type="user")
    yield connection, store, written
    store.close()


def test_search_results_page_count_and_open_targets(filled):
    connection, store, written = filled
    search = Search(types=("FundsDeposited",), where={"data.amount": {"$gte": 303}})
    expected = sorted(((sid, v, e.time) for sid, events in written.items() for v, e in enumerate(events, 1)
                       if e.type == "FundsDeposited" and e.data["amount"] >= 303), key=lambda r: (r[2], r[0], r[1]))
    results = SearchResults(store, search, run_now, page_size=4)
    seen = []
    results.added.connect(lambda start, end: seen.append((start, end)))
    results.start()
    assert results.total == len(expected) and len(results.rows) == 4 and seen == [(0, 4)]
    while results.can_fetch_more():
        results.fetch_more()
    assert results.done and [results.target(i) for i in range(len(results.rows))] == [r[:2] for r in expected]
    assert seen[-1][1] == len(expected)


def test_as_of_a_moment_across_processes_with_the_foot(filled):
    connection, store, written = filled
    moment = T0 + timedelta(hours=4, minutes=25)
    reducer = str(Path("resources/reducers/accounts.py").resolve())
    request = AsOf(moment, stream_type="account", reducer_path=reducer)
    with process_pool(2) as pool:
        results = AsOfResults(store, Source(connection), request, run_now, executor=pool)
        results.start()
    expected = {}
    for sid, events in written.items():
        upto = [e for e in events if e.time <= moment]
        if upto:
            expected[sid] = (len(upto), upto[-1].time, sum(e.data.get("amount", 0) for e in upto[1:]))
    assert results.complete and results.skipped == len(written) - len(expected)
    assert {r.stream_id: (r.version, r.time, r.state["balance"]) for r in results.rows} == expected
    balance = next(f for f in results.foot() if f.column == "balance")
    assert (balance.sum, balance.count, balance.min, balance.max) == (
        sum(b for *_, b in expected.values()), len(expected), min(b for *_, b in expected.values()),
        max(b for *_, b in expected.values()))


def test_as_of_shows_a_reducer_failure_on_its_row_and_goes_on(filled, tmp_path):
    connection, store, written = filled
    reducer = tmp_path / "picky.py"
    reducer.write_text("def evolve(state, event):\n"
                       "    if event.stream_id == 'acc-3' and event.version == 4:\n"
                       "        raise ValueError('no')\n"
                       "    return state.merge(n=state.get('n', 0) + 1)\n")
    results = AsOfResults(store, Source(connection), AsOf(None, stream_type="account", reducer_path=str(reducer)),
                          run_now, executor=InlineExecutor())
    results.start()
    rows = {r.stream_id: r for r in results.rows}
    assert set(rows) == set(written) and "acc-3" in rows and "no" in rows["acc-3"].error
    assert rows["acc-3"].version == 3 and rows["acc-3"].state == {"n": 3}
    assert all(rows[s].state == {"n": len(e)} and not rows[s].error for s, e in written.items() if s != "acc-3")


def test_cancelling_as_of_keeps_the_rows_in(filled):
    connection, store, written = filled
    request = AsOf(None, stream_type="account")
    results = AsOfResults(store, Source(connection), request, executor=InlineExecutor(), chunk=2)
    seen = []

    def run(job: Job) -> Task:
        def cancel_after_first(piece):
            job.on_partial(piece)
            seen.append(len(piece.rows))
            task.cancel()
        task = Task(job.name, post=cancel_after_first)
        try:
            job.on_result(job.work(task))
        except CancelledError as error:
            job.on_error(error)
        return task

    results._run = run
    results.start()
    assert seen == [2]
    assert results.error.startswith("cancelled") and not results.complete
    assert 0 < len(results.rows) < len(written) and [r.stream_id for r in results.rows] == sorted(written)[:len(results.rows)]


def test_trace_and_statistics_through_the_session(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    from ui.session.session import Session

    path = tmp_path / "demo.sqlite"
    connection = Connection(uri=str(path))
    with connection.open(create=True) as store:
        streams = {}
        for s in demo_streams(10, 40, seed=5):
            events = list(s.events)
            store.append(s.stream_id, events, 0, stream_type=s.stream_type)
            streams[s.stream_id] = events
    session = Session()
    session.connect(connection)
    sender, version, sent = next((sid, v, e) for sid, es in streams.items() for v, e in enumerate(es, 1)
                                 if e.type == "TransferSent")
    traces = []
    session.trace(sender, version, on_result=traces.append)
    (trace,) = traces
    (root,) = trace.roots
    (child,) = root.children
    assert (root.event.stream_id, root.event.version) == (sender, version)
    assert child.event.type == "TransferReceived" and child.event.stream_id == sent.data["to_account"]
    assert child.event.metadata["causation_id"] == sent.metadata["event_id"]
    kept = []
    session.statistics(on_result=kept.append)
    session.statistics(on_result=kept.append)
    assert not kept[0].cached and kept[1].cached and kept[0].to_json() == kept[1].to_json()
    account = next(t for t in kept[0].stream_types if t.stream_type == "account")
    assert account.events == sum(len(e) for s, e in streams.items() if s.startswith("account-"))
    files = list((tmp_path / "home" / "cache").glob("stats-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["stream_types"][0]["stream_type"] == "account"
    opened = session.open_at(child.event.stream_id, child.event.version)
    assert opened.cursor.version == child.event.version
    session.close()


def test_as_of_on_the_axon_layout(mongo_uri, mongo_db_name, mongo_client):
    from tests.layouts.documents import axon_documents

    events, _ = axon_documents()
    mongo_client[mongo_db_name].domainevents.insert_many(events)
    connection = Connection(uri=mongo_uri, db=mongo_db_name, layout="axon")
    with connection.open() as store:
        results = AsOfResults(store, Source(connection, "axon"), AsOf(None), executor=InlineExecutor())
        results.start()
    expected = {}
    for doc in events:
        payload = doc["serializedPayload"]
        data = payload if isinstance(payload, dict) else json.loads(payload)
        state = expected.setdefault(doc["aggregateIdentifier"], {})
        if doc["payloadType"].endswith("Created"):
            state.clear()
        state.update(data)
    assert {r.stream_id: r.state for r in results.rows} == expected


def test_as_of_starts_from_the_latest_snapshot_at_or_before_the_moment(filled):
    from model.event import Snapshot
    from model.reducer import default_reducer

    connection, store, written = filled
    reducer = default_reducer()
    marked = {}
    for sid, version in (("acc-2", 3), ("acc-2", 5), ("acc-5", 2)):
        # a snapshot whose state says it was used (the generic reducer merges the later payloads into it)
        store.save_snapshot(Snapshot(sid, version, {"from_snapshot": version}, reducer.id, T0, "test"))
        marked.setdefault(sid, []).append(version)
    moment = T0 + timedelta(hours=5, minutes=35)

    def expected(use_snapshots: bool) -> dict:
        out = {}
        for sid, events in written.items():
            upto = [v for v, e in enumerate(events, 1) if e.time <= moment]
            if not upto:
                continue
            target = upto[-1]
            start = max((v for v in marked.get(sid, []) if v <= target), default=0) if use_snapshots else 0
            state = {"from_snapshot": start} if start else {}
            for e in events[start:target]:
                state = dict(e.data) if e.type == "AccountOpened" else {**state, **e.data}
            out[sid] = (target, state)
        return out

    for use in (True, False):
        results = AsOfResults(store, Source(connection), AsOf(moment, stream_type="account", use_snapshots=use),
                              executor=InlineExecutor(), chunk=3)
        results.start()
        assert {r.stream_id: (r.version, r.state) for r in results.rows} == expected(use)
    used = {r.stream_id: r.snapshot for r in results.rows}
    assert set(used.values()) == {0}


@pytest.mark.parametrize("sort,descending", [("stream_id", False), ("stream_id", True), ("events", True)])
def test_the_stream_list_pages_through_every_stream_in_its_order(filled, sort, descending):
    """Paged by the last id in the id order (keyset), by offset in the others: the same rows as one read."""
    from ui.session.streams import StreamList

    _, store, _ = filled
    for n in (2, 10, 11, 100):  # ids whose natural order is not their text order
        store.append(f"acc-{n}x", [NewEvent("AccountOpened", {"n": n}, {}, T0)], 0, stream_type="account")
    listing = StreamList(run_now, page_size=3)
    listing.set_sort(sort, descending)
    listing.set_store(store)
    while listing.can_fetch_more():
        listing.fetch_more()
    expected = [i.stream_id for i in store.streams(sort=sort, descending=descending, limit=1000)]
    assert [i.stream_id for i in listing.rows] == expected and len(expected) == 12
