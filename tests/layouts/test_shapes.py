"""Shapes real tools write (issue 12): encoded arrays and elements, several collections, a
document per stream, commits naming only their last revision, events without a time.

Each tool's documents come from ``documents.py`` (their shape taken from the tool's own
persistence code); what the store must read is computed here from those documents.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from bson import ObjectId

from model.errors import EventLensError
from model.integrity import check_stream
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from store.layout import load_layout, parse_layout
from store.layout_store import NoEventTimes
from tests.layouts import documents as docs
from tests.layouts.documents import at

UTC = timezone.utc


def read_all(store) -> dict[str, list[tuple]]:
    """Every stream the store lists, as (version, type, data, metadata, time, stream type, problems)."""
    out = {}
    for info in store.streams(limit=10_000):
        out[info.stream_id] = [(e.version, e.type, dict(e.data), dict(e.metadata), e.time, e.stream_type, e.problems)
                               for batch in store.read(info.stream_id) for e in batch]
        assert info.events == len(out[info.stream_id]), info
        assert (info.first_version, info.last_version) == (1, len(out[info.stream_id])), info
    return out


def insert(tool_db, collections: dict[str, list[dict]]) -> None:
    for name, documents in collections.items():
        tool_db[name].insert_many(documents)


def _json(raw):
    return raw if isinstance(raw, (dict, list)) else json.loads(bytes(raw) if isinstance(raw, bytes) else raw)


# -- what each tool's documents mean -----------------------------------------------------------


def emmett_expected(collections: dict[str, list[dict]]) -> dict[str, list[tuple]]:
    out = {}
    for documents in collections.values():
        for doc in documents:
            out[doc["streamName"]] = [(i, m["type"], m["data"], m["metadata"], None, doc["metadata"]["streamType"], ())
                                      for i, m in enumerate(doc["messages"], start=1)]
    return out


def akka_expected(collections: dict[str, list[dict]]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for name, atoms in collections.items():
        for atom in sorted(atoms, key=lambda a: a["from"]):
            pid = atom["pid"]
            kind = pid.split("|")[0] if "|" in pid else name.removeprefix("akka_persistence_journal_")
            for e in atom["events"]:
                out.setdefault(pid, []).append((e["sn"], e.get("manifest") or e.get("_h") or e["_t"], _json(e["p"]), {},
                                                atom["_id"].generation_time, kind, ()))
    return out


def aett_expected(commits: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for commit in sorted(commits, key=lambda c: c["CheckpointToken"]):
        elements = _json(commit["Events"])
        first = commit["StreamRevision"] - len(elements) + 1
        for i, element in enumerate(elements):
            body, headers = _json(element["body"]), _json(element["headers"])
            moment = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
            out.setdefault(f"{commit['TenantId']}/{commit['StreamId']}", []).append(
                (first + i, headers["topic"], body, headers, moment, "", ()))
    return out


# -- Emmett: one document per stream, one collection per stream type, no event times ----------


def test_emmett_streams_read_from_every_stream_type_collection(tool_db, open_layout):
    collections = docs.emmett_documents()
    insert(tool_db, collections)
    tool_db["emt_settings"].insert_one({"not": "events"})  # outside the pattern
    store = open_layout("emmett")
    assert read_all(store) == emmett_expected(collections)
    assert store.stream_types() == ["guest_stay", "shopping_cart"]
    assert [s.stream_id for s in store.streams(type="guest_stay")] == ["guest_stay:stay-9"]
    info = store.stream("shopping_cart:cart-1")
    assert (info.first_time, info.last_time) == (None, None)
    assert store.collections() == ["emt:guest_stay", "emt:shopping_cart"]
    assert [e.version for b in store.read("shopping_cart:cart-1", from_version=2, to_version=3) for e in b] == [2, 3]


def test_a_layout_without_event_times_answers_versions_and_says_why_not_moments(tool_db, open_layout):
    insert(tool_db, docs.emmett_documents())
    store = open_layout("emmett")
    state = reconstruct(store, "shopping_cart:cart-1", default_reducer(), version=3).state
    assert dict(state)["percent"] == 10
    with pytest.raises(NoEventTimes) as caught:
        reconstruct(store, "shopping_cart:cart-1", default_reducer(), at=at(5))
    assert str(caught.value) == ("the emmett layout stores no event times, so no moment can be placed in stream "
                                 "'shopping_cart:cart-1': give a version instead")
    assert isinstance(caught.value, EventLensError)
    with pytest.raises(NoEventTimes):
        next(store.read("shopping_cart:cart-1", since=at(0)))
    events = [e for b in store.read("shopping_cart:cart-1") for e in b]
    assert check_stream(events, default_reducer()) == []  # no time checks without times


def test_emmett_broken_stream_documents_are_reported_on_their_events(tool_db, open_layout):
    collections = docs.emmett_documents()
    cart = collections["emt:shopping_cart"][0]
    del cart["messages"][1]["type"]
    cart["messages"][2]["metadata"]["streamPosition"] = 7
    stay = collections["emt:guest_stay"][0]
    stay["metadata"]["streamPosition"] = 3  # says three, holds two
    insert(tool_db, collections)
    tool_db["emt:shopping_cart"].insert_one({"streamName": "shopping_cart:cart-5", "messages": "oops",
                                             "metadata": {"streamType": "shopping_cart", "streamPosition": 1}})
    store = open_layout("emmett")
    events = {sid: [e for b in store.read(sid) for e in b] for sid in
              ("shopping_cart:cart-1", "guest_stay:stay-9", "shopping_cart:cart-5")}
    cart_events = events["shopping_cart:cart-1"]
    assert [e.version for e in cart_events] == [1, 2, 3, 4] and cart_events[0].problems == ()
    assert cart_events[1].problems == ("messages.1.type: missing (event type)",)
    assert cart_events[2].problems == ("messages.2.metadata.streamPosition: says version 7, the commit numbers it 3",)
    stay_events = events["guest_stay:stay-9"]  # numbered back from the last position it names
    assert [e.version for e in stay_events] == [2, 3]
    assert stay_events[0].problems == ("messages.0.metadata.streamPosition: says version 1, the commit numbers it 2",)
    assert [p.category for p in check_stream(stay_events)] == ["gap", "undecodable", "undecodable"]
    [placeholder] = events["shopping_cart:cart-5"]
    assert placeholder.problems == ("messages: str, not an array (the commit's events)",) and placeholder.time is None


# -- akka-persistence-mongo: commits in suffixed collections, JSON in a binary, the write's time --


def test_akka_journal_reads_plain_and_suffixed_collections(tool_db, open_layout):
    collections = docs.akka_documents()
    insert(tool_db, collections)
    tool_db["akka_persistence_realtime"].insert_many(collections["akka_persistence_journal"])  # a capped copy: not the journal
    store = open_layout("akka")
    assert read_all(store) == akka_expected(collections)
    assert store.stream_types() == ["Account", "carts"]
    state = reconstruct(store, "Account|acc-1", default_reducer(), at=at(1)).state
    assert dict(state) == {"owner": "ada", "amount": 50}


def test_akka_payload_that_is_not_json_is_reported_on_its_event(tool_db, open_layout):
    collections = docs.akka_documents()
    atom = collections["akka_persistence_journal"][1]
    atom["events"][0]["p"] = b"\xac\xed\x00\x05sr\x00\x0bjava.Object"  # Java serialization, not JSON
    insert(tool_db, collections)
    store = open_layout("akka")
    events = [e for b in store.read("Account|acc-1") for e in b]
    assert [e.version for e in events] == [1, 2, 3]
    assert len(events[2].problems) == 1 and events[2].problems[0].startswith("events.0.p: payload does not decode as json")
    assert events[2].data == {} and events[2].type == "bank.Withdrawn" and events[1].problems == ()


# -- Aett: JSON in a binary, JSON text in JSON text, the last revision only, JSON-in-JSON snapshots --


def test_aett_commits_of_both_generations_read(tool_db, open_layout):
    commits, snapshots = docs.aett_documents()
    tool_db["commits"].insert_many(list(reversed(commits)))
    tool_db["snapshots"].insert_many(snapshots)
    tool_db["counters"].insert_one({"_id": "CheckpointToken", "seq": 4})
    store = open_layout("aett")
    assert read_all(store) == aett_expected(commits)
    [snap] = store.snapshots("shop/cart-1")
    assert (snap.version, dict(snap.state)) == (2, {"owner": "ada", "sku": "a", "qty": 2})
    assert [e.version for b in store.read("shop/cart-1", from_version=3) for e in b] == [3]


def test_aett_broken_encodings_are_reported_on_the_events_concerned(tool_db, open_layout):
    commits, _ = docs.aett_documents()
    commits[2]["Events"] = b"[{\"body\": "  # cut short
    legacy = json.loads(commits[3]["Events"])
    legacy[1]["body"] = "{not json"
    commits[3]["Events"] = json.dumps(legacy)
    tool_db["commits"].insert_many(commits)
    store = open_layout("aett")
    cart = [e for b in store.read("shop/cart-1") for e in b]
    assert [e.version for e in cart] == [1, 2, 3]
    assert cart[2].problems[0].startswith("Events: events array does not decode as json")
    legacy_events = [e for b in store.read("legacy/cart-9") for e in b]
    assert legacy_events[0].problems == () and legacy_events[1].type == "ItemAdded"
    assert legacy_events[1].problems[0].startswith("Events.1.body: payload does not decode as json")
    assert "Events.1.body.timestamp: missing (time)" in legacy_events[1].problems


# -- home-grown shapes the language also says ---------------------------------------------------

HOME_GROWN = """
name = "journal"
[events]
collection = ["journal_a", "journal_b"]
shape = "commit"
events_field = "batch"
events_encoding = "edn"
element_encoding = "json-in-json"
stream_id = "entity"
stream_type_from_collection = "^journal_(.)$"
version = "none"
order_by = "seq"
type = "kind"
time = "../at"
time_form = "epoch_ms"
payload = "fields"
"""


def home_grown_documents() -> dict[str, list[dict]]:
    """A batch per write, the batch EDN text whose elements are strings of JSON text encoded again."""
    def element(kind, fields):
        return json.dumps(json.dumps({"kind": kind, "fields": fields}))

    def batch(seq, entity, minute, elements):
        edn = "[" + " ".join(json.dumps(e) for e in elements) + "]"
        return {"_id": ObjectId(), "seq": seq, "entity": entity, "at": int(at(minute).timestamp() * 1000), "batch": edn}

    return {"journal_a": [batch(1, "e-1", 0, [element("Born", {"n": 1}), element("Grew", {"n": 2})]),
                          batch(2, "e-1", 1, [element("Grew", {"n": 3})])],
            "journal_b": [batch(1, "e-2", 2, [element("Born", {"m": 1})])]}


def test_home_grown_encoded_elements_in_encoded_arrays_counted_in_order(tool_db, open_layout):
    insert(tool_db, home_grown_documents())
    store = open_layout(parse_layout(HOME_GROWN))
    got = read_all(store)
    assert {sid: [(v, t, d, tm, st) for v, t, d, _, tm, st, _ in events] for sid, events in got.items()} == {
        "e-1": [(1, "Born", {"n": 1}, at(0), "a"), (2, "Grew", {"n": 2}, at(0), "a"), (3, "Grew", {"n": 3}, at(1), "a")],
        "e-2": [(1, "Born", {"m": 1}, at(2), "b")]}
    assert all(p == () for events in got.values() for *_, p in events)


def test_home_grown_element_that_does_not_decode(tool_db, open_layout):
    collections = home_grown_documents()
    collections["journal_b"][0]["batch"] = '["{broken" "\\"{\\\\\\"kind\\\\\\": \\\\\\"Born\\\\\\"}\\""]'
    insert(tool_db, collections)
    store = open_layout(parse_layout(HOME_GROWN))
    events = [e for b in store.read("e-2") for e in b]
    assert [e.version for e in events] == [1, 2]
    assert events[0].problems[0].startswith("batch.0: event does not decode as json-in-json")
    assert events[1].type == "Born" and events[1].problems == ("batch.1.fields: missing (payload)",)


@pytest.mark.parametrize("preset", ["emmett", "akka", "aett"])
def test_new_presets_print_back_to_themselves(preset):
    layout = load_layout(preset)
    assert parse_layout(layout.to_toml(), source=layout.source, default_name=preset) == layout


def test_cli_reads_a_store_without_event_times_and_refuses_moments_in_one_line(tool_db, mongo_uri, mongo_db_name, capsys):
    from ui.cli import main

    insert(tool_db, docs.emmett_documents())
    args = ["--uri", mongo_uri, "--db", mongo_db_name, "--layout", "emmett"]
    capsys.readouterr()
    assert main(["events", "shopping_cart:cart-1", *args]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["version"], e["type"], e["time"]) for e in printed] == [
        (i, kind, None) for i, (kind, _) in enumerate(docs.EMMETT_STREAMS[("shopping_cart", "cart-1")], start=1)]
    assert main(["state", "shopping_cart:cart-1", "--at", "2024-03-01T10:00:00Z", *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the emmett layout stores no event times" in err
