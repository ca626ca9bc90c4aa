"""Detection finds each shape of issue 12 unaided: the preset when the tool is known, and a
usable proposal from the fields alone (``propose``, the presets left out). Each proposal is
printed, parsed back and used as it is; the events read are compared with the documents written.
"""
from __future__ import annotations

import json

import pytest

from store.detect import detect_layout, propose
from store.layout import parse_layout
from tests.layouts import documents as docs
from tests.layouts.test_shapes import (HOME_GROWN, akka_expected, aett_expected, emmett_expected, home_grown_documents,
                                       insert, read_all)


def used_as_printed(proposal, open_layout):
    """The proposal's TOML, parsed back and opened as it is."""
    layout = parse_layout(proposal.to_toml(), source="proposal.toml")
    return layout, open_layout(layout)


def essentials(streams: dict[str, list[tuple]], keep_type: bool = True) -> dict[str, list[tuple]]:
    """Stream id -> (version, type, data, time) of each event, and no problems."""
    return {sid: [(v, t if keep_type else None, d, tm) for v, t, d, _, tm, _, _ in events] for sid, events in streams.items()}


def test_emmett_store_detected_as_preset_and_proposed_unaided(tool_db, open_layout):
    collections = docs.emmett_documents()
    insert(tool_db, collections)
    found = detect_layout(tool_db)
    assert found.certain and found.preset == "emmett"
    proposal = propose(tool_db)
    layout, store = used_as_printed(proposal, open_layout)
    spec = layout.events
    assert (spec.collection, spec.shape, spec.events_field, spec.time) == ("emt:*", "stream", "messages", "")
    assert (spec.version, spec.commit_last) == ("commit", "metadata.streamPosition")
    got = read_all(store)
    assert essentials(got) == essentials(emmett_expected(collections))
    assert all(p == () for events in got.values() for *_, p in events)
    assert {e[5] for events in got.values() for e in events} == {"shopping_cart", "guest_stay"}  # from the collection's name
    assert proposal.undecided_fields == []


def jackson_akka_documents() -> dict[str, list[dict]]:
    """An Akka Typed application whose events all go through the Jackson JSON serializer."""
    return {
        "akka_persistence_journal": [
            docs.akka_atom("Account|acc-1", 1, [({"owner": "ada"}, "bank.AccountOpened"), ({"amount": 50}, "bank.Deposited")], 0, 1),
            docs.akka_atom("Account|acc-1", 3, [({"amount": 20}, "bank.Withdrawn")], 2, 2),
        ],
        "akka_persistence_journal_carts": [
            docs.akka_atom("Cart|c-7", 1, [({"item": "pen"}, "shop.ItemAdded")], 1, 3),
            docs.akka_atom("Cart|c-7", 2, [({"item": "ink"}, "shop.ItemAdded"), ({}, "shop.CheckedOut")], 3, 4),
            docs.akka_atom("Cart|c-8", 1, [({"item": "cup"}, "shop.ItemAdded")], 4, 5),
        ],
    }


def test_akka_journal_detected_as_preset_and_proposed_unaided(tool_db, open_layout):
    collections = jackson_akka_documents()
    insert(tool_db, collections)
    found = detect_layout(tool_db)
    assert found.certain and found.preset == "akka"
    proposal = propose(tool_db)
    layout, store = used_as_printed(proposal, open_layout)
    spec = layout.events
    assert (spec.collection, spec.shape, spec.events_field) == ("akka_persistence_journal*", "commit", "events")
    assert (spec.commit_first, spec.commit_last, spec.time, spec.time_form) == ("from", "to", "../_id", "objectid")
    assert (spec.payload, spec.payload_encoding) == ("p", "json")  # JSON in a binary
    assert essentials(read_all(store)) == essentials(akka_expected(collections))
    assert [u.split(" ")[0] for u in proposal.undecided_fields] == ["events.time"]  # only the write's second


def test_aett_commits_detected_as_preset_and_proposed_unaided(tool_db, open_layout):
    commits, snapshots = docs.aett_documents()
    tool_db["commits"].insert_many(commits)
    tool_db["snapshots"].insert_many(snapshots)
    assert detect_layout(tool_db).preset == "aett"
    proposal = propose(tool_db)
    layout, store = used_as_printed(proposal, open_layout)
    spec = layout.events
    assert (spec.shape, spec.events_field, spec.events_encoding) == ("commit", "Events", "json")
    assert (spec.version, spec.commit_first, spec.commit_last, spec.version_base) == ("commit", "", "StreamRevision", 1)
    assert (spec.type, spec.time, spec.payload) == ("headers.topic", "body.timestamp", "body")
    assert spec.stream_id == ("StreamId",)
    # the tool's streams are tenant/stream; a single field names them by stream alone
    expected = {sid.split("/", 1)[1]: events for sid, events in aett_expected(commits).items()}
    assert essentials(read_all(store)) == essentials(expected)
    assert proposal.undecided_fields == []


def json_journal_documents() -> dict[str, list[dict]]:
    """The home-grown journal with its batch as JSON text instead of EDN: a JSON array of JSON text."""
    out = {}
    for name, batches in home_grown_documents().items():
        out[name] = []
        for batch in batches:
            from store.edn import loads_edn

            elements = loads_edn(batch["batch"])
            out[name].append({**batch, "batch": json.dumps(elements)})
    out["journal_a"].append({**out["journal_a"][0], "_id": docs.oid(docs.at(9), 9), "seq": 3, "entity": "e-3"})
    return out


def test_encoded_array_of_encoded_events_without_revisions_proposed_unaided(tool_db, open_layout):
    collections = json_journal_documents()
    insert(tool_db, collections)
    reference = open_layout(parse_layout(HOME_GROWN.replace('events_encoding = "edn"', 'events_encoding = "json"')))
    proposal = detect_layout(tool_db)
    assert not proposal.certain
    layout, store = used_as_printed(proposal, open_layout)
    spec = layout.events
    assert (spec.collection, spec.events_encoding, spec.element_encoding) == ("journal_*", "json", "json-in-json")
    assert (spec.version, spec.order_by, spec.time, spec.time_form) == ("none", "seq", "../at", "epoch_ms")
    assert read_all(store) == read_all(reference) and read_all(store)
