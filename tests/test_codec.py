"""The codec: every BSON value to JSON and back without loss; JSON text in with clear errors."""
from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from decimal import Decimal

import bson
import orjson
import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.binary import UuidRepresentation
from bson.datetime_ms import DatetimeMS
from bson.json_util import JSONMode, JSONOptions, loads as ejson_loads
from hypothesis import given, settings
from hypothesis import strategies as st

from model.freeze import freeze
from store.codec import CODEC_OPTIONS, CodecError, dumps_json, loads_json_text, to_jsonable

UTC = dt.timezone.utc
EJSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=UTC,
                    uuid_representation=UuidRepresentation.STANDARD)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize(("value", "expected"), [
    (ObjectId("65e1f0c2a1b2c3d4e5f60718"), {"$oid": "65e1f0c2a1b2c3d4e5f60718"}),
    (dt.datetime(2021, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), {"$date": "2021-05-06T07:08:09.123Z"}),
    (dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), {"$date": {"$numberLong": "-1000"}}),
    (DatetimeMS(10**16), {"$date": {"$numberLong": "10000000000000000"}}),
    (Decimal128("1.10"), {"$numberDecimal": "1.10"}),
    (Decimal("2.50"), {"$numberDecimal": "2.50"}),
    (Int64(7), 7),
    (Int64(2**60), {"$numberLong": str(2**60)}),
    (2**53 + 1, {"$numberLong": str(2**53 + 1)}),
    (uuid.UUID(int=1), {"$uuid": "00000000-0000-0000-0000-000000000001"}),
    (Binary(uuid.UUID(int=1).bytes, 4), {"$uuid": "00000000-0000-0000-0000-000000000001"}),
    (Binary(b"\x00\xff", 0x80), {"$binary": {"base64": "AP8=", "subType": "80"}}),
    (b"ab", {"$binary": {"base64": "YWI=", "subType": "00"}}),
    (Regex("a.b(", "mi"), {"$regularExpression": {"pattern": "a.b(", "options": "im"}}),
    (re.compile("x", re.I), {"$regularExpression": {"pattern": "x", "options": "i"}}),
    (Timestamp(1_700_000_000, 3), {"$timestamp": {"t": 1_700_000_000, "i": 3}}),
    (float("nan"), {"$numberDouble": "NaN"}),
    (float("inf"), {"$numberDouble": "Infinity"}),
    (float("-inf"), {"$numberDouble": "-Infinity"}),
    (MinKey(), {"$minKey": 1}),
    (MaxKey(), {"$maxKey": 1}),
    (Code("f()"), {"$code": "f()"}),
    (Code("f()", {"a": 1}), {"$code": "f()", "$scope": {"a": 1}}),
    (2.5, 2.5), ("text", "text"), (None, None), (True, True),
])
def test_values_follow_extended_json_v2(value, expected):
    assert to_jsonable(value) == expected
    assert to_jsonable({"v": [value]}) == {"v": [expected]}


def test_frozen_values_and_naive_datetimes():
    assert to_jsonable(freeze({"a": [1, {"b": Decimal128("2")}]})) == {"a": [1, {"b": {"$numberDecimal": "2"}}]}
    assert to_jsonable(dt.datetime(2020, 1, 1)) == {"$date": "2020-01-01T00:00:00.000Z"}  # naive is UTC
    assert to_jsonable((1, 2)) == [1, 2]


def test_unknown_types_are_named_not_dropped():
    class Strange:
        def __repr__(self):
            return "<strange>"

    assert to_jsonable({"x": Strange()}) == {"x": {"$unknown": "Strange", "repr": "<strange>"}}


bson_scalars = st.one_of(
    st.none(), st.booleans(), st.text(max_size=20),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(Int64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(ObjectId),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))
      .map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)),
    st.decimals(allow_nan=False, allow_infinity=False, places=4,
                min_value=Decimal("-1e20"), max_value=Decimal("1e20")).map(lambda d: Decimal128(str(d))),
    st.uuids(), st.binary(max_size=16),
    st.builds(Binary, st.binary(max_size=16), st.integers(min_value=0x80, max_value=0xFF)),
    st.builds(Timestamp, st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=2**32 - 1)),
    st.builds(Regex, st.from_regex(r"[a-z.*()]{0,6}", fullmatch=True), st.sampled_from(["", "i", "im", "msx"])),
    st.just(MinKey()), st.just(MaxKey()),
)
documents = st.recursive(
    bson_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(
        alphabet=st.characters(blacklist_characters="\x00$.", blacklist_categories=("Cs",)), min_size=1, max_size=8),
        children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet="abcdef", min_size=1, max_size=5), documents, max_size=5))
def test_every_bson_document_survives_json_and_back(doc):
    decoded = bson.decode(bson.encode(doc, codec_options=CODEC_OPTIONS), codec_options=CODEC_OPTIONS)
    text = dumps_json(decoded)
    assert isinstance(orjson.loads(text), dict)  # plain JSON any reader takes
    back = ejson_loads(text, json_options=EJSON)
    assert same(decoded, back)


def test_deep_nesting_encodes_without_recursion_errors():
    deep = leaf = {}
    for _ in range(5000):
        leaf["a"] = {}
        leaf = leaf["a"]
    leaf["x"] = [Decimal128("1")]
    text = dumps_json(deep)
    assert text.startswith(b'{"a":{"a":') and text.endswith(b'{"x":[{"$numberDecimal":"1"}]}' + b"}" * 5000)
    assert dumps_json(deep, pretty=True).count(b"{") == 5002
    assert loads_json_text("[" * 3000 + "]" * 3000) is not None


def test_pretty_output_is_indented_json():
    assert dumps_json({"a": [1]}, pretty=True) == b'{\n  "a": [\n    1\n  ]\n}'


def test_json_text_decodes_with_clear_errors():
    assert loads_json_text('{"a": 1}') == {"a": 1}
    assert loads_json_text(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    assert loads_json_text('"{\\"a\\": 1}"', nested=True) == {"a": 1}
    assert loads_json_text('"{\\"a\\": 1}"') == '{"a": 1}'
    assert loads_json_text('"{not json"', nested=True) == "{not json"
    assert math.isnan(loads_json_text('{"x": NaN}')["x"])
    for bad, message in [('{"a":', "not valid JSON"), (b"\xff\xfe{}", "not valid UTF-8"), ("", "not valid JSON")]:
        with pytest.raises(CodecError, match=message) as caught:
            loads_json_text(bad)
        assert "\n" not in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_fail_clearly(raw):
    try:
        loads_json_text(raw)
    except CodecError as error:
        assert "\n" not in str(error)
