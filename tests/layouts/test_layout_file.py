"""Layout files and pure decoding: no server needed."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from bson import Int64, ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import LayoutError
from store.layout import decode_commit, decode_event, load_layout, parse_layout, preset_names, validate_filter

UTC = timezone.utc

MINIMAL = """
name = "mine"
[events]
collection = "evts"
stream_id = ["tenant", "id"]
stream_id_separator = ":"
stream_type_pattern = "([a-z]+)-[0-9]"
version_field = "v"
type = "headers.kind"
time = "at"
time_form = "epoch_s"
payload = "body"
payload_encoding = "edn"
"""


def test_presets_load_and_print_back_to_the_same_layout():
    assert set(preset_names()) >= {"eventlens", "seed", "neventstore", "axon", "axon-commit", "eventflow"}
    for name in preset_names():
        layout = load_layout(name)
        again = parse_layout(layout.to_toml(), source=layout.source, default_name=name)
        assert again == layout, name


def test_load_layout_from_a_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    layout = load_layout(str(path))
    assert layout.name == "mine" and layout.events.stream_id == ("tenant", "id")
    assert layout.snapshots is None


@pytest.mark.parametrize("change, message", [
    (("time_form = \"epoch_s\"", "time_form = \"fortnights\""), "events.time_form: 'fortnights' is not one of"),
    (("version_field = \"v\"", "version_feild = \"v\""), "events.version_feild: unknown key"),
    (("type = \"headers.kind\"\n", ""), "events.type: missing"),
    (("stream_type_pattern = \"([a-z]+)-[0-9]\"", "stream_type_pattern = \"[a-z]+-[0-9]\""), "needs exactly one group"),
    (("stream_id = [\"tenant\", \"id\"]", "stream_id = 3"), "events.stream_id: must be a field path"),
    (("[events]", "[events"), "not valid TOML"),
])
def test_bad_layout_files_name_the_file_and_key(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace(*change))
    with pytest.raises(LayoutError) as caught:
        load_layout(str(path))
    text = str(caught.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_unknown_layout_name():
    with pytest.raises(LayoutError, match="no layout 'nosuch': not a preset"):
        load_layout("nosuch")


@pytest.mark.parametrize("bad", [
    {"$where": "this.a == 1"},
    {"a": {"$where": "1"}},
    {"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}},
    {"a": {"$function": {}}},
    {"$or": [{"a": 1}, {"$where": "x"}]},
    {"a": {"$in": [{"$accumulator": {}}]}},
    {"a": {"$regex": "x"}},
    {"a": {"$eq": {"$where": "x"}}},
    {"a.$b": 1},
])
def test_filters_refuse_server_side_code_and_unknown_operators(bad):
    with pytest.raises(LayoutError):
        validate_filter(bad)


def test_filters_allow_plain_comparisons():
    good = {"BucketId": {"$ne": ":rb"}, "n": {"$gte": 1, "$lt": 9}, "t": {"$in": ["a", "b"]}, "x": {"$exists": True},
            "$or": [{"a": 1}, {"b": {"$nin": [2]}}], "sub": {"k": "v"}}
    assert validate_filter(good) == good


def test_a_layout_file_with_where_is_refused(tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text(MINIMAL.replace("[events]", "[events]\nfilter = { \"$where\" = \"sleep(10000)\" }"))
    with pytest.raises(LayoutError, match=r"events\.filter\.\$where: operator \$where is not allowed"):
        load_layout(str(path))


# -- decoding ----------------------------------------------------------------------------------


def mine():
    return parse_layout(MINIMAL)


def test_decode_event_reads_every_field_by_its_path_and_form():
    doc = {"_id": ObjectId(), "tenant": "acme", "id": "user-42", "v": 3, "headers": {"kind": "Renamed"},
           "at": 1_700_000_000, "body": '{:name "Ada" :tags #{:b :a} :address {:city "X"}}'}
    event = decode_event(doc, mine())
    assert (event.stream_id, event.stream_type, event.version, event.type) == ("acme:user-42", "user", 3, "Renamed")
    assert event.time == datetime.fromtimestamp(1_700_000_000, UTC)
    assert event.data == {"name": "Ada", "tags": ["a", "b"], "address": {"city": "X"}}
    assert event.problems == ()


def test_decode_event_records_problems_with_the_field_path_instead_of_raising():
    doc = {"tenant": "acme", "v": "three", "headers": {}, "at": "yesterday", "body": "{:unclosed"}
    event = decode_event(doc, mine())
    problems = " | ".join(event.problems)
    for part in ("id: missing (stream id)", "v: 'three' is not a whole number", "headers.kind: missing (event type)",
                 "at: not a time (epoch_s)", "body: payload does not decode as edn"):
        assert part in problems
    assert event.data == {} and event.version == 0


def test_json_in_json_and_rest_payloads():
    layout = parse_layout(MINIMAL.replace('payload = "body"', 'payload = "rest"').replace('payload_encoding = "edn"', ""))
    doc = {"_id": 1, "tenant": "t", "id": "a-1", "v": 1, "headers": {"kind": "K"}, "at": 0, "x": 1, "y": {"z": 2}}
    assert decode_event(doc, layout).data == {"x": 1, "y": {"z": 2}}
    nested = parse_layout(MINIMAL.replace('"edn"', '"json-in-json"'))
    doc = {"tenant": "t", "id": "a-1", "v": 1, "headers": {"kind": "K"}, "at": 0, "body": json.dumps(json.dumps({"a": 1}))}
    assert decode_event(doc, nested).data == {"a": 1}


def test_decode_commit_numbers_events_and_flags_disagreements():
    layout = load_layout("neventstore")
    commit = {"_id": Int64(1), "BucketId": "b", "StreamId": "s", "StreamRevisionFrom": 4, "StreamRevisionTo": 5,
              "CommitStamp": datetime(2024, 1, 1, tzinfo=UTC),
              "Events": [{"StreamRevision": 4, "Payload": {"Headers": {}, "Body": {"_t": "A"}}},
                         {"StreamRevision": 5, "Payload": {"Headers": {}, "Body": {"_t": "B", "n": 1}}}]}
    events = decode_commit(commit, layout)
    assert [(e.stream_id, e.version, e.type, e.problems) for e in events] == [("b/s", 4, "A", ()), ("b/s", 5, "B", ())]
    commit["Events"].append("garbage")
    events = decode_commit(commit, layout)
    assert len(events) == 3 and all("holds 3 events but the commit's versions are 4..5" in e.problems[0] for e in events)
    assert "Events.2: str, not a document" in events[2].problems[-1]
    del commit["Events"]
    [placeholder] = decode_commit(commit, layout)
    assert placeholder.version == 4 and "Events: missing (the commit's events)" in placeholder.problems


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


_LAYOUTS = (parse_layout(MINIMAL), load_layout("neventstore"), load_layout("eventflow"), load_layout("axon"))


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["tenant", "id", "v", "headers", "at", "body", "Events", "StreamId",
                                            "BucketId", "StreamRevisionFrom", "StreamRevisionTo", "CommitStamp",
                                            "Metadata", "Data", "AggregateId", "AggregateSequenceNumber"]), _values))
def test_hostile_documents_never_raise(doc):
    for layout in _LAYOUTS:
        if layout.events.shape == "commit":
            events = decode_commit(doc, layout)
        else:
            events = [decode_event(doc, layout)]
        for event in events:
            assert isinstance(event.version, int) and event.time.tzinfo is not None
            assert isinstance(event.data, dict) and all("\n" not in p for p in event.problems)
