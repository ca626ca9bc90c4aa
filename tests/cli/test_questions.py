"""The find, as-of, trace and stats commands on both backends and the axon preset, and their bad input."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest

from model.demo import demo_streams


@pytest.fixture
def demo(connection):
    """A demo history written through the store; returns (connection, {stream_id: [NewEvent]})."""
    streams = {}
    with connection.open() as store:
        for s in demo_streams(12, 30, seed=11):
            events = list(s.events)
            store.append(s.stream_id, events, 0, stream_type=s.stream_type)
            streams[s.stream_id] = (s.stream_type, events)
    return connection, streams


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_find_prints_the_records_events_prints(cli, demo):
    connection, streams = demo
    found = cli("find", *connection.args, "--type", "FundsWithdrawn", "--where", '{"data.amount": {"$gt": 5000}}',
                "--format", "ndjson")
    assert found.code == 0, found.err
    expected = sorted(((sid, v, e) for sid, (_, es) in streams.items() for v, e in enumerate(es, 1)
                       if e.type == "FundsWithdrawn" and e.data["amount"] > 5000), key=lambda r: (r[2].time, r[0], r[1]))
    got = records(found.out)
    assert [(r["stream_id"], r["version"]) for r in got] == [(s, v) for s, v, _ in expected]
    sid, v, _ = expected[0]
    (same,) = records(cli("events", *connection.args, sid, "--from", v, "--to", v).out)
    assert got[0] == same


def test_find_by_stream_pattern_sorted_by_stream_as_csv_with_a_limit(cli, demo):
    connection, streams = demo
    found = cli("find", *connection.args, "--stream", "re:^account-[12]$", "--sort", "stream", "--limit", "7",
                "--format", "csv")
    assert found.code == 0, found.err
    rows = list(csv.reader(io.StringIO(found.out)))
    expected = [(sid, v) for sid in sorted(("account-1", "account-2")) for v in range(1, 31)][:7]
    assert [(r[0], int(r[1])) for r in rows[1:]] == expected
    assert "showing 7 of 60 events" in found.err


def test_as_of_ndjson_and_the_note_on_streams_left_out(cli, demo):
    connection, streams = demo
    accounts = {sid: es for sid, (kind, es) in streams.items() if kind == "account"}
    moment = sorted(es[0].time for es in accounts.values())[len(accounts) // 2]
    done = cli("as-of", moment.isoformat(), *connection.args, "--stream-type", "account", "--reducer",
               "resources/reducers/demo.py", "--format", "ndjson")
    assert done.code == 0, done.err
    expected = {}
    for sid, es in accounts.items():
        upto = [e for e in es if e.time <= moment]
        if upto:
            balance = sum(e.data["amount"] * (1 if e.type in ("FundsDeposited", "TransferReceived") else -1)
                          for e in upto[1:])
            expected[sid] = (len(upto), balance)
    got = records(done.out)
    assert {r["stream_id"]: (r["version"], r["state"]["balance"]) for r in got} == expected
    left_out = len(accounts) - len(expected)
    assert left_out and f"{left_out} streams had no event by then" in done.err


def test_as_of_latest_table_has_the_foot(cli, demo):
    connection, streams = demo
    done = cli("as-of", "latest", *connection.args, "--stream", "account-*", "--reducer", "resources/reducers/demo.py")
    assert done.code == 0, done.err
    balances = [sum(e.data["amount"] * (1 if e.type in ("FundsDeposited", "TransferReceived") else -1) for e in es[1:])
                for sid, (kind, es) in streams.items() if kind == "account"]
    assert f"balance: sum {sum(balances):,}, count {len(balances)}, min {min(balances):,}, max {max(balances):,}" in done.out


def test_trace_tree_and_ndjson(cli, demo):
    connection, streams = demo
    sid, v, sent = next((sid, v, e) for sid, (_, es) in streams.items() for v, e in enumerate(es, 1)
                        if e.type == "TransferSent")
    receiver = sent.data["to_account"]
    rv = next(v for v, e in enumerate(streams[receiver][1], 1) if e.metadata.get("causation_id") == sent.metadata["event_id"])
    tree = cli("trace", *connection.args, receiver, rv)
    assert tree.code == 0, tree.err
    lines = tree.out.splitlines()
    assert len(lines) == 2 and f"{sid} v{v}" in lines[0] and lines[1].startswith("*   ") and f"{receiver} v{rv}" in lines[1]
    nd = records(cli("trace", *connection.args, sid, v, "--format", "ndjson").out)
    assert [(r["stream_id"], r["version"], r["caused_by"]) for r in nd] == [
        (sid, v, None), (receiver, rv, {"stream_id": sid, "version": v})]
    if connection.backend == "mongo":
        assert "metadata.correlation_id" in tree.err and "createIndex" in tree.err


def test_stats_json_and_kept_figures(cli, demo, tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    connection, streams = demo
    first = cli("stats", *connection.args, "--json")
    assert first.code == 0, first.err
    assert "computed" in first.err
    got = json.loads(first.out)
    for entry in got["stream_types"]:
        mine = {sid: es for sid, (kind, es) in streams.items() if kind == entry["stream_type"]}
        every = [e for es in mine.values() for e in es]
        assert entry["streams"] == len(mine) and entry["events"] == len(every)
        assert entry["event_types"] == dict(Counter(e.type for e in every))
        assert entry["longest"] == [{"stream_id": s, "events": len(es)} for s, es in sorted(mine.items())][:10]
        assert entry["first_time"] == min(e.time for e in every).isoformat().replace("+00:00", "Z")
    assert sorted(e["stream_type"] for e in got["stream_types"]) == ["account", "user"]
    again = cli("stats", *connection.args, "--json")
    assert json.loads(again.out) == got and "kept statistics" in again.err
    assert "computed" in cli("stats", *connection.args, "--json", "--refresh").err
    cached = list((tmp_path / "home" / "cache").glob("stats-*.json"))
    assert len(cached) == 1 and "pass" not in cached[0].read_text().lower()


BAD = [
    (["find", "--where", "{not json"], "--where is not JSON"),
    (["find", "--where", '{"data.a": {"$near": 1}}'], "unknown operator $near"),
    (["find", "--where", '{"$where": "sleep(1000)"}'], "operator $where is not accepted"),
    (["find", "--where", '{"data.a": {"$expr": {"$function": {}}}}'], "operator $expr is not accepted"),
    (["find", "--where", '{"payload.amount": 1}'], "'payload.amount' is not a field of an event"),
    (["find", "--where", '{"data.name": {"$regex": "(["}}'], "not a regular expression"),
    (["find", "--stream", "/[a-/"], "not a regular expression"),
    (["find", "--type", "re:Funds(("], "not a regular expression"),
    (["find", "--since", "yesterday"], "not an ISO-8601 moment: 'yesterday'"),
    (["find", "--where", '{"time": {"$gt": "soon"}}'], "not an ISO-8601 moment: 'soon'"),
    (["as-of", "the end of March"], "not an ISO-8601 moment"),
    (["as-of", "latest", "--stream", "re:*"], "not a regular expression"),
]


@pytest.mark.parametrize("argv,fragment", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, connection, argv, fragment):
    with connection.open() as store:
        from model.event import NewEvent

        store.append("s-1", [NewEvent("Happened", {"a": 1})], 0)
    done = cli(*argv[:1], *connection.args, *argv[1:])
    assert done.code == 2, (done.code, done.err)
    assert done.err.count("\n") == 1 and done.err.startswith("eventlens: ") and "Traceback" not in done.err
    assert fragment in done.err, done.err


def test_find_on_the_axon_layout_says_what_it_scans(cli, mongo_uri, mongo_db_name, mongo_client):
    from tests.layouts.documents import axon_documents

    events, _ = axon_documents()
    mongo_client[mongo_db_name].domainevents.insert_many(events)
    done = cli("find", "--uri", mongo_uri, "--db", mongo_db_name, "--layout", "axon", "--where",
               '{"data.items": {"$gte": 2}}', "--format", "ndjson")
    assert done.code == 0, done.err
    expected = []
    for doc in events:
        payload = doc["serializedPayload"]
        data = payload if isinstance(payload, dict) else json.loads(payload)
        if data.get("items", 0) >= 2:
            expected.append((doc["timestamp"], doc["aggregateIdentifier"], int(doc["sequenceNumber"]) + 1))
    assert [(r["stream_id"], r["version"]) for r in records(done.out)] == [(s, v) for _, s, v in sorted(expected)]
    assert "scanning" in done.err and "domainevents" in done.err
