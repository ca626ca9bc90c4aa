"""Detection recognises each preset and proposes a usable layout for a store in none of them."""
from __future__ import annotations

import json

import pytest

from model.reconstruct import reconstruct
from model.reducer import default_reducer
from store.detect import detect_layout
from store.layout import parse_layout
from tests.layouts import documents as docs
from tests.layouts.documents import at, oid


def fill(tool_db, preset):
    if preset == "seed":
        events, snapshots = docs.seed_documents()
        tool_db["events"].insert_many(events)
        tool_db["snapshots"].insert_many(snapshots)
    elif preset == "neventstore":
        commits, snapshots = docs.neventstore_documents()
        tool_db["Commits"].insert_many(commits)
        tool_db["Snapshots"].insert_many(snapshots)
    elif preset == "axon":
        events, snapshots = docs.axon_documents()
        tool_db["domainevents"].insert_many(events)
        tool_db["snapshotevents"].insert_many(snapshots)
    elif preset == "axon-commit":
        tool_db["domainevents"].insert_many(docs.axon_commit_documents())
    elif preset == "eventflow":
        events, snapshots = docs.eventflow_documents()
        tool_db["eventflow.events"].insert_many(events)
        tool_db["snapShots"].insert_many(snapshots)
    elif preset == "eventlens":
        tool_db["events"].insert_many([
            {"stream_id": "s-1", "stream_type": "s", "version": v, "type": "Happened", "data": {"n": v},
             "metadata": {}, "recorded_at": at(v)} for v in (1, 2, 3)])


@pytest.mark.parametrize("preset", ["seed", "neventstore", "axon", "axon-commit", "eventflow", "eventlens"])
def test_detection_picks_the_preset(tool_db, preset):
    fill(tool_db, preset)
    tool_db["unrelated"].insert_one({"hello": "world"})
    proposal = detect_layout(tool_db)
    assert proposal.certain and proposal.preset == preset
    assert proposal.layout.name == preset and proposal.undecided_fields == []
    assert f"detected preset {preset}" in proposal.to_toml()


def custom_documents() -> list[dict]:
    """A home-grown store: camelCase fields, JSON-text body, epoch-millisecond times, versions from 1."""
    out = []
    history = {
        "cart-1": [("CartCreated", {"owner": "ada"}), ("ItemCountChanged", {"items": 1}), ("ItemCountChanged", {"items": 2}),
                   ("CartCheckedOut", {"paid": True})],
        "cart-2": [("CartCreated", {"owner": "bob"}), ("ItemCountChanged", {"items": 1}), ("CartAbandoned", {"abandoned": True})],
        "cart-3": [("CartCreated", {"owner": "cleo"}), ("ItemCountChanged", {"items": 5})],
    }
    minute = 0
    for cart, events in history.items():
        for rev, (kind, body) in enumerate(events, start=1):
            minute += 1
            out.append({"_id": oid(at(minute), minute), "cartId": cart, "rev": rev, "eventType": kind,
                        "occurredAtMs": int(at(minute).timestamp() * 1000), "body": json.dumps(body),
                        "eventId": f"e-{minute}"})
    return out


def test_detection_proposes_a_usable_layout_for_a_custom_store(tool_db, open_layout):
    tool_db["cart_history"].insert_many(custom_documents())
    tool_db["settings"].insert_many([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    proposal = detect_layout(tool_db)
    assert not proposal.certain and proposal.preset is None
    spec = proposal.layout.events
    assert (spec.collection, spec.stream_id, spec.version_field, spec.version_base) == ("cart_history", ("cartId",), "rev", 1)
    assert (spec.time, spec.time_form, spec.type) == ("occurredAtMs", "epoch_ms", "eventType")
    assert (spec.payload, spec.payload_encoding) == ("body", "json")
    text = proposal.to_toml()
    assert "# confidence" in text and "occurredAtMs" in text
    # the printed proposal is a layout file: parse it and read the store through it
    layout = parse_layout(text, source="proposal.toml")
    store = open_layout(layout)
    assert {s.stream_id: s.events for s in store.streams()} == {"cart-1": 4, "cart-2": 3, "cart-3": 2}
    events = [e for b in store.read("cart-1") for e in b]
    assert [(e.version, e.type) for e in events] == [(1, "CartCreated"), (2, "ItemCountChanged"), (3, "ItemCountChanged"), (4, "CartCheckedOut")]
    assert events[0].time == at(1) and events[2].data == {"items": 2}
    state = reconstruct(store, "cart-2", default_reducer()).state
    assert dict(state) == {"owner": "bob", "items": 1, "abandoned": True}


def test_detection_reports_undecided_fields(tool_db):
    # stream id and version are clear, but there is no time and no type to find
    tool_db["things"].insert_many([{"thing": f"t{i % 2}", "n": i // 2, "blob": [i]} for i in range(6)])
    proposal = detect_layout(tool_db)
    assert not proposal.certain
    undecided = {text.split(" ")[0]: text for text in proposal.undecided_fields}
    assert set(undecided) == {"events.time", "events.type"}
    # each names its best candidates and why
    assert undecided["events.time"].startswith("events.time (best _id (0.45: no time field: only the ObjectId's creation second")
    assert 'or "" (0.40: or none: the events have no time)' in undecided["events.time"]
    assert undecided["events.type"].startswith("events.type (nothing found: no short string field")
    assert "# undecided: events.time, events.type" in proposal.to_toml()


def test_detection_on_an_empty_database(tool_db):
    proposal = detect_layout(tool_db)
    assert proposal.layout is None and not proposal.certain
    assert proposal.undecided_fields == ["events.collection"]
