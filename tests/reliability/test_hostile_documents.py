"""Hostile and broken documents, property-based: every case ends in a correct result or a clear,
located EventLensError (stream, version, field); never another exception, a RecursionError or a hang.

Outcomes are counted per area and printed at the end of the module (``pytest -s``).
"""
from __future__ import annotations

import json
import math
import sqlite3
import struct
import uuid
from collections import Counter
from datetime import datetime, timezone

import bson
import pytest
from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.raw_bson import RawBSONDocument
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import EventLensError, ReducerError, VersionError
from model.event import Event, NewEvent, ReducerId
from model.reducer import Reducer, default_reducer
from model.loaded import LoadedStream
from model.replay import fold
from store.codec import dumps_json, loads_json_text, to_jsonable
from store.layout import decode_commit, decode_event, load_layout

UTC = timezone.utc
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
OUTCOMES: dict[str, Counter] = {}


def count(area: str, outcome: str) -> None:
    OUTCOMES.setdefault(area, Counter())[outcome] += 1


@pytest.fixture(scope="module", autouse=True)
def report_outcomes():
    yield
    total = sum(sum(c.values()) for c in OUTCOMES.values())
    print(f"\n[hostile] {total} generated cases")
    for area, counter in sorted(OUTCOMES.items()):
        print(f"  {area}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items())))


def one_line(error: BaseException) -> None:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text, repr(text)


def deep_bson(depth: int, key: str = "a") -> bytes:
    """A document nested ``depth`` levels, built byte by byte (pymongo's encoder refuses it)."""
    inner = b"\x05\x00\x00\x00\x00"
    name = key.encode() + b"\x00"
    for _ in range(depth):
        body = b"\x03" + name + inner
        inner = struct.pack("<i", len(body) + 5) + body + b"\x00"
    return inner


def deep_dict(depth: int) -> dict:
    root = node = {}
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


# -- values ------------------------------------------------------------------------------------

text = st.text(max_size=8)
hostile_text = st.one_of(text, st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2))
bson_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**63, 2**63 - 1).map(Int64),
    st.floats(allow_nan=True, allow_infinity=True), hostile_text, st.binary(max_size=8),
    st.datetimes(timezones=st.just(UTC)), st.datetimes(), st.builds(ObjectId),
    st.one_of(st.sampled_from(["NaN", "-Infinity", "-0", "1E+6144", "1.000000000000000000000000000000000"]),
              st.decimals(-10**9, 10**9, places=4).map(str)).map(Decimal128), st.uuids(),
    st.builds(Binary, st.binary(max_size=6), st.sampled_from([0, 4, 5, 128])),
    st.builds(Regex, text, st.sampled_from(["", "i", "ms"])), st.builds(Timestamp, st.integers(0, 2**31), st.integers(0, 9)),
    st.just(MinKey()), st.just(MaxKey()), st.builds(Code, text), st.builds(Code, text, st.dictionaries(text, st.integers(), max_size=2)),
    st.builds(DBRef, text, st.builds(ObjectId)),
)
bson_values = st.recursive(bson_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
                           max_leaves=12)

PLAIN = (dict, list, str, int, float, bool, type(None))


def assert_plain_json(value) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        assert isinstance(item, PLAIN), type(item)
        if isinstance(item, float):
            assert math.isfinite(item)
        elif isinstance(item, dict):
            assert all(isinstance(k, str) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


@settings(max_examples=300, deadline=None)
@given(bson_values)
def test_codec_turns_any_bson_value_into_plain_json_or_a_clear_error(value):
    converted = to_jsonable(value)
    assert_plain_json(converted)
    try:
        encoded = dumps_json(value)
    except EventLensError as error:  # e.g. a lone surrogate, which is not UTF-8
        one_line(error)
        count("codec", "clear error")
        return
    assert json.loads(encoded) == json.loads(json.dumps(converted, allow_nan=False))
    count("codec", "correct")


@pytest.mark.parametrize("depth", [300, 1_100, 5_000])
def test_codec_handles_deep_nesting(depth):
    value = deep_dict(depth)
    converted = to_jsonable(value)
    encoded = dumps_json(value)
    assert encoded == b'{"a":' * depth + b"{}" + b"}" * depth
    assert to_jsonable(converted) is not None
    try:
        decoded = loads_json_text(encoded)
        assert isinstance(decoded, dict)
        count("codec deep", "correct")
    except EventLensError as error:
        one_line(error)
        count("codec deep", "clear error")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=20), hostile_text, st.sampled_from(
    ["NaN", "[Infinity]", '{"a": -Infinity}', '"{\\"x\\": 1}"', "{", "\xff", "1e400", "[" * 3000 + "]" * 3000])))
def test_json_text_decoding_is_a_value_or_a_clear_error(raw):
    try:
        loads_json_text(raw, nested=True)
        count("json text", "correct")
    except EventLensError as error:
        one_line(error)
        count("json text", "clear error")


# -- layouts -------------------------------------------------------------------------------------

missing = st.just("<missing>")
versions = st.one_of(st.integers(-3, 10), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                     st.none(), st.booleans(), st.integers(2**62, 2**64), st.builds(Decimal128, st.just("3")))
times = st.one_of(st.datetimes(timezones=st.just(UTC)), st.datetimes(), text, st.integers(), st.floats(allow_nan=True), st.none())
payload_texts = st.one_of(st.binary(max_size=10), hostile_text, st.just('{"a": NaN}'), st.just('{"a": [1, 2'),
                          st.just('"{\\"b\\": 2}"'), st.dictionaries(text, bson_leaves, max_size=3))


def maybe(strategy):
    return st.one_of(missing, strategy)


@st.composite
def native_docs(draw):
    doc = {"_id": ObjectId()}
    for key, strategy in (("stream_id", st.one_of(text, st.integers(), st.none())), ("stream_type", st.one_of(text, st.integers())),
                          ("version", versions), ("type", st.one_of(text, st.integers(), st.none())), ("recorded_at", times),
                          ("data", st.one_of(st.dictionaries(hostile_text, bson_values, max_size=3), payload_texts, bson_leaves)),
                          ("metadata", st.one_of(st.dictionaries(text, bson_leaves, max_size=2), payload_texts))):
        value = draw(maybe(strategy))
        if value != "<missing>":
            doc[key] = value
    return doc


@st.composite
def eventflow_docs(draw):
    meta = draw(st.one_of(payload_texts, st.builds(lambda n, t: json.dumps({"event_name": n, "timestamp": t}),
                                                   st.one_of(text, st.integers()), st.one_of(text, st.just("2024-01-01T00:00:00Z")))))
    doc = {"_id": draw(st.integers()), "AggregateId": draw(st.one_of(text, st.none())), "AggregateName": draw(text),
           "AggregateSequenceNumber": draw(versions), "Data": draw(payload_texts), "Metadata": meta}
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=2)):
        doc.pop(key, None)
    return doc


@st.composite
def commit_docs(draw):
    element = st.one_of(bson_leaves, st.fixed_dictionaries({
        "StreamRevision": versions,
        "Payload": st.one_of(bson_leaves, st.fixed_dictionaries({"Headers": st.one_of(st.dictionaries(text, st.integers(), max_size=2), bson_leaves),
                                                                 "Body": st.one_of(st.fixed_dictionaries({"_t": st.one_of(text, st.integers())}), bson_leaves)}))}))
    doc = {"_id": draw(st.integers()), "BucketId": draw(st.one_of(text, st.none())), "StreamId": draw(st.one_of(text, st.integers())),
           "StreamRevisionFrom": draw(versions), "StreamRevisionTo": draw(versions), "CommitStamp": draw(times),
           "Events": draw(st.one_of(st.lists(element, max_size=4), bson_leaves))}
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=2)):
        doc.pop(key, None)
    return doc


LAYOUTS = {name: load_layout(name) for name in ("eventlens", "eventflow", "neventstore")}


def check_decoded(events: list[Event], area: str) -> None:
    for event in events:
        assert isinstance(event, Event) and isinstance(event.version, int) and isinstance(event.type, str)
        assert event.time.tzinfo is not None
        assert all(isinstance(p, str) and p and "\n" not in p for p in event.problems)
        count(area, "located problems" if event.problems else "correct")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(native_docs().map(lambda d: ("eventlens", d)), eventflow_docs().map(lambda d: ("eventflow", d))))
def test_decode_event_records_problems_on_the_event(case):
    name, doc = case
    event = decode_event(doc, LAYOUTS[name], version=7)
    check_decoded([event], f"decode_event {name}")
    raw = doc.get("version")
    whole = (isinstance(raw, int) and not isinstance(raw, bool)) or (isinstance(raw, float) and raw.is_integer())
    if name == "eventlens" and not whole:
        assert any("version" in p for p in event.problems), (raw, event.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commit_docs())
def test_decode_commit_records_problems_on_each_event(doc):
    events = decode_commit(doc, LAYOUTS["neventstore"], first_version=1)
    assert events, "a commit always yields at least one (placeholder) event"
    check_decoded(events, "decode_commit neventstore")
    if not isinstance(doc.get("Events"), list) or not doc["Events"]:
        assert len(events) == 1 and events[0].problems, events


# -- the stores' read paths ----------------------------------------------------------------------


def load_history(store, stream_id: str, reducer: Reducer | None = None) -> tuple[LoadedStream, EventLensError | None]:
    history = LoadedStream(stream_id, reducer or default_reducer())
    try:
        for batch in store.read(stream_id, batch_size=3):
            history.extend(batch)
    except EventLensError as error:
        one_line(error)
        return history, error
    return history, history.error


def outcome_of(history: LoadedStream, error: EventLensError | None, stream_id: str) -> str:
    if error is None:
        problems = [p for e in history.events() for p in e.problems]
        assert all(p and "\n" not in p for p in problems)
        return "located problems on events" if problems else "correct"
    one_line(error)
    if isinstance(error, (VersionError, ReducerError)):
        assert stream_id in str(error) and "version" in str(error)
        return f"located {type(error).__name__}"
    return f"clear {type(error).__name__}"


@pytest.fixture(scope="module")
def hostile_db(mongo_client):
    from store.codec import CODEC_OPTIONS

    name = f"hostile_{uuid.uuid4().hex[:10]}"
    yield mongo_client.get_database(name, codec_options=CODEC_OPTIONS)
    mongo_client.drop_database(name)


FERRETDB_REFUSES = (Decimal128, Code, MinKey, MaxKey)  # FerretDB v1 drops the connection on these


def ferretdb_safe(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, FERRETDB_REFUSES) or (isinstance(item, float) and not math.isfinite(item)):
            return False
        if isinstance(item, int) and not -2**63 <= item < 2**63:
            return False  # BSON has no such integer
        if isinstance(item, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in item):
            return False  # not encodable as BSON at all
        if isinstance(item, dict):
            if any(isinstance(k, str) and (any(0xD800 <= ord(c) <= 0xDFFF for c in k) or "\x00" in k or k.startswith("$") or "." in k)
                   for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            return False
    return True


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(native_docs(), min_size=1, max_size=5), st.booleans())
def test_mongo_read_path_on_hostile_documents(mongo_uri, hostile_db, docs, duplicate):
    from store.mongo import MongoStore

    stream_id = f"h-{uuid.uuid4().hex[:8]}"
    docs = [d for d in docs if ferretdb_safe(d)]
    for i, doc in enumerate(docs):
        doc["stream_id"] = stream_id  # found by the store's query; everything else stays hostile
        if i and isinstance(doc.get("version"), int) and not isinstance(doc.get("version"), bool):
            doc["version"] = i + 1 if not duplicate else i
    if not docs:
        return
    from pymongo.errors import PyMongoError

    for doc in docs:
        try:
            hostile_db["events"].insert_one(doc)
        except (PyMongoError, ValueError, OverflowError) as error:  # FerretDB or the driver refuses some values itself; then it is not in the store
            count("mongo read", f"server refused the document ({type(error).__name__})")
    hostile_db["streams"].insert_one({"_id": stream_id, "stream_type": "h", "version": len(docs) + 2,
                                      "first_time": NOW, "last_time": NOW})
    with MongoStore(mongo_uri, hostile_db.name, read_only=True, timeout_s=10) as store:
        history, error = load_history(store, stream_id)
        for event in history.events():
            assert event.stream_id == stream_id
        count("mongo read", outcome_of(history, error, stream_id))


def write_raw_rows(path, stream_id: str, rows: list[tuple]) -> None:
    """Rows written straight into the embedded store's file, as a broken copy or a bad disk might."""
    db = sqlite3.connect(path)
    try:
        db.executemany("INSERT OR REPLACE INTO events (stream_id, version, stream_type, type, data, metadata, recorded_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", [(stream_id, *r) for r in rows])
        db.execute("INSERT OR REPLACE INTO streams (stream_id, stream_type, version, first_time, last_time) VALUES (?, 'h', ?, 0, 0)",
                   (stream_id, len(rows) + 1))
        db.commit()
    finally:
        db.close()


def encode_or_garbage(doc: dict) -> bytes:
    """The document as BSON, or (for what BSON cannot hold: NUL in keys, lone surrogates) bytes that are not BSON."""
    from store.codec import CODEC_OPTIONS

    try:
        return bson.encode(doc, codec_options=CODEC_OPTIONS)
    except (bson.errors.BSONError, ValueError, OverflowError):
        return b"\x07\x00\x00\x00garbage"


#: BSON documents with the deprecated types (undefined 0x06, DBPointer 0x0C, symbol 0x0E, code with scope 0x0F)
DEPRECATED_BSON = [
    b"\x08\x00\x00\x00\x06u\x00\x00",
    b"\x0e\x00\x00\x00\x0es\x00\x02\x00\x00\x00x\x00\x00",
    b"\x1a\x00\x00\x00\x0cp\x00\x02\x00\x00\x00c\x00" + ObjectId().binary + b"\x00",
    bson.encode({"m": MinKey(), "M": MaxKey(), "c": Code("x", {"y": 1}), "d": Decimal128("NaN"), "f": float("inf")}),
]
blobs = st.one_of(st.binary(max_size=12), st.sampled_from(DEPRECATED_BSON), st.just(deep_bson(5_000)),
                  st.dictionaries(hostile_text, bson_leaves, max_size=3).map(encode_or_garbage))
sqlite_values = st.one_of(st.integers(-2**63, 2**63 - 1), text, st.floats(allow_nan=False))  # the column is NOT NULL


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.one_of(text, st.integers(-2**63, 2**63 - 1)), blobs, blobs, sqlite_values), min_size=1, max_size=4))
def test_embedded_read_path_on_hostile_rows(tmp_path_factory, rows):
    from store.embedded import EmbeddedStore

    path = tmp_path_factory.mktemp("hostile") / "h.sqlite"
    EmbeddedStore(path).close()
    write_raw_rows(path, "h-1", [(v, "h", t, d, m, at) for v, (t, d, m, at) in enumerate(rows, start=1)])
    with EmbeddedStore(path, read_only=True) as store:
        history, error = load_history(store, "h-1")
        count("embedded read", outcome_of(history, error, "h-1"))


# -- documents at the edges -------------------------------------------------------------------------


def test_deeply_nested_payload_in_mongodb(mongo_uri, hostile_db):
    """5,000 levels, inserted as raw BSON: the server refuses it with a clear error, or it reads back located."""
    from store.mongo import MongoStore

    event = bson.encode({"stream_id": "deep-1", "stream_type": "h", "version": 1, "type": "Deep", "metadata": {},
                         "recorded_at": NOW})[:-1]
    data = deep_bson(5_000)
    body = event[4:] + b"\x03data\x00" + data + b"\x00"
    raw = RawBSONDocument(struct.pack("<i", len(body) + 4) + body)
    try:
        hostile_db["events"].insert_one(raw)
    except Exception as error:  # noqa: BLE001 - what the server said, for the report
        count("deep payload in MongoDB", f"server refused ({type(error).__name__})")
        return
    hostile_db["streams"].insert_one({"_id": "deep-1", "stream_type": "h", "version": 1, "first_time": NOW, "last_time": NOW})
    with MongoStore(mongo_uri, hostile_db.name, read_only=True) as store:
        history, error = load_history(store, "deep-1")
        count("deep payload in MongoDB", outcome_of(history, error, "deep-1"))


def test_deeply_nested_payload_in_the_embedded_store(tmp_path):
    from store.embedded import EmbeddedStore

    path = tmp_path / "deep.sqlite"
    EmbeddedStore(path).close()
    write_raw_rows(path, "deep-1", [(1, "h", "Deep", deep_bson(5_000), bson.encode({}), 0)])
    with EmbeddedStore(path, read_only=True) as store:
        history, error = load_history(store, "deep-1")
        outcome = outcome_of(history, error, "deep-1")
        count("deep payload embedded", outcome)
        if error is None:
            assert history.last_version == 1


def test_payload_near_the_16_mb_limit(store, backend):
    big = "x" * (16 * 1024 * 1024 - 4096)
    try:
        store.append("big-doc", [NewEvent("Huge", {"blob": big})], 0)
    except EventLensError as error:
        one_line(error)
        count("16 MB payload", f"{backend}: clear {type(error).__name__}")
        return
    history, error = load_history(store, "big-doc")
    assert error is None and len(history.event(1).data["blob"]) == len(big)
    count("16 MB payload", f"{backend}: correct")
    try:  # just over MongoDB's limit: refused with a located line, or (a store without that limit) kept whole
        store.append("big-doc", [NewEvent("Huger", {"blob": big + "x" * 8192})], 1)
    except EventLensError as error:
        one_line(error)
        assert "big-doc" in str(error)
        assert store.stream("big-doc").last_version == 1
        count("16 MB payload", f"{backend} over the limit: clear {type(error).__name__}")
        return
    history, error = load_history(store, "big-doc")
    assert error is None and len(history.event(2).data["blob"]) == len(big) + 8192
    count("16 MB payload", f"{backend} over the limit: correct")


# -- reducers ----------------------------------------------------------------------------------------


def raising(state, event):
    raise KeyError("balance")


def non_dict(state, event):
    return [event.version]


def mutating(state, event):
    state["n"] = event.version
    return state


def none_returning(state, event):
    return None


def looping(state, event):
    while True:
        pass


def fine(state, event):
    return {**state, "n": event.version}


BEHAVIOURS = {"raises": raising, "non-dict": non_dict, "mutates": mutating, "returns None": none_returning,
              "never returns": looping, "fine": fine}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(BEHAVIOURS)), min_size=1, max_size=6).filter(lambda b: b.count("never returns") <= 1))
def test_hostile_reducers_end_in_a_located_error(behaviours):
    def evolve(state, event):
        return BEHAVIOURS[behaviours[event.version - 1]](state, event)

    reducer = Reducer(ReducerId("hostile", "x"), evolve, timeout_s=0.2)
    events = [Event("acct-1", v, f"Type{v}", {"v": v}, {}, NOW) for v in range(1, len(behaviours) + 1)]
    first_bad = next((i for i, b in enumerate(behaviours) if b != "fine"), None)
    try:
        state = fold(None, events, reducer, stream_id="acct-1")
        assert first_bad is None and state["n"] == len(events)
        count("reducers", "correct")
    except ReducerError as error:
        one_line(error)
        assert first_bad is not None and error.version == first_bad + 1
        assert f"version {first_bad + 1} (Type{first_bad + 1})" in str(error)
        count("reducers", f"located ReducerError ({behaviours[first_bad]})")
    history = LoadedStream("acct-1", reducer)
    history.extend(events)
    assert history.last_version == len(events)  # every event listed
    assert history.folded_version == (len(events) if first_bad is None else first_bad)  # states up to the failure


# -- the CLI on such data -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.one_of(text, st.integers(-2**63, 2**63 - 1)), blobs, blobs, sqlite_values), min_size=1, max_size=3),
       st.sampled_from([["events", "h-1"], ["events", "h-1", "--format", "csv"], ["state", "h-1"], ["check", "h-1"],
                        ["check"], ["diff", "h-1", "0", "1"], ["snapshot", "verify", "h-1"], ["streams", "--json"]]))
def test_cli_on_hostile_rows(tmp_path_factory, capsys, rows, argv):
    from store.embedded import EmbeddedStore
    from ui.cli import main

    path = tmp_path_factory.mktemp("cli") / "h.sqlite"
    EmbeddedStore(path).close()
    write_raw_rows(path, "h-1", [(v, "h", t, d, m, at) for v, (t, d, m, at) in enumerate(rows, start=1)])
    capsys.readouterr()
    code = main([*argv, "--uri", str(path)])
    captured = capsys.readouterr()
    assert code in (0, 1), (code, captured.err)
    assert "Traceback" not in captured.err and "unexpected error" not in captured.err, captured.err
    if code == 1 and argv[0] not in ("check", "snapshot"):
        assert captured.err.startswith("eventlens: ") and captured.err.count("\n") == 1, captured.err
    count("cli", f"{argv[0]} exit {code}")


def invalid_utf8_bson() -> bytes:
    """{"name": <the bytes ff fe, which are not UTF-8>} as raw BSON."""
    body = b"\x02name\x00" + struct.pack("<i", 3) + b"\xff\xfe\x00"
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def test_invalid_utf8_in_a_payload(mongo_uri, hostile_db, tmp_path):
    """Strings that are not UTF-8: the server refuses them, or the event reads with a located problem."""
    from store.embedded import EmbeddedStore
    from store.mongo import MongoStore

    path = tmp_path / "utf8.sqlite"
    EmbeddedStore(path).close()
    write_raw_rows(path, "u-1", [(1, "h", "Named", invalid_utf8_bson(), bson.encode({}), 0)])
    with EmbeddedStore(path, read_only=True) as store:
        history, error = load_history(store, "u-1")
        assert error is None and history.event(1).problems and "data" in history.event(1).problems[0]
        count("invalid UTF-8", "embedded: " + outcome_of(history, error, "u-1"))

    head = bson.encode({"stream_id": "u-1", "stream_type": "h", "version": 1, "type": "Named", "metadata": {},
                        "recorded_at": NOW})[4:-1]
    body = head + b"\x03data\x00" + invalid_utf8_bson()
    try:
        hostile_db["events"].insert_one(RawBSONDocument(struct.pack("<i", len(body) + 5) + body + b"\x00"))
    except Exception as error:  # noqa: BLE001 - what the server said, for the report
        count("invalid UTF-8", f"mongo: server refused ({type(error).__name__})")
        return
    hostile_db["streams"].insert_one({"_id": "u-1", "stream_type": "h", "version": 1, "first_time": NOW, "last_time": NOW})
    with MongoStore(mongo_uri, hostile_db.name, read_only=True) as store:
        history, error = load_history(store, "u-1")
        if error is None and not history.event(1).problems:  # FerretDB stored it: it must read back as text
            assert isinstance(history.event(1).data["name"], str)
        count("invalid UTF-8", "mongo: " + outcome_of(history, error, "u-1"))
        print(f"\n[hostile] invalid UTF-8 via FerretDB read back as {dict(history.event(1).data)!r}")
