"""The one place for encoding: BSON values to lossless JSON-safe values, JSON text in and out.

``to_jsonable`` follows MongoDB Extended JSON v2, relaxed where plain JSON holds the value
exactly (ints within +-2**53, finite doubles, dates from 1970 to 9999) and canonical elsewhere,
so every value can be shown and exported without losing what it was.
"""
from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json
import math
import re
import sys
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion, TypeRegistry
from bson.datetime_ms import DatetimeMS

from model.errors import StoreError
from model.freeze import LIST_TYPES

UTC = _dt.timezone.utc

def _frozen_to_bson(value: Any) -> Any:
    # BSON encodes dicts and lists natively; the persistent FrozenMap and FrozenList (nested in
    # payloads read from a store, or in states) are handed to it as plain ones, at no cost to
    # any other value (the encoder calls this only for a type it does not know).
    if isinstance(value, Mapping):
        return dict(value.items())
    if isinstance(value, LIST_TYPES):
        return list(value)
    return value


#: How every backend decodes BSON: aware UTC datetimes, UUIDs as ``uuid.UUID``, and dates
#: outside Python's range as ``DatetimeMS`` instead of an exception; and how it encodes
#: frozen values (model.freeze) that are not dicts or lists.
CODEC_OPTIONS: CodecOptions = CodecOptions(
    tz_aware=True,
    tzinfo=UTC,
    uuid_representation=UuidRepresentation.STANDARD,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    type_registry=TypeRegistry(fallback_encoder=_frozen_to_bson),
)

_JS_SAFE = 2**53  # larger ints lose precision in JavaScript and many JSON readers
_INT64 = 2**63
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_RE_FLAGS = (("i", re.I), ("l", re.L), ("m", re.M), ("s", re.S), ("u", re.U), ("x", re.X))


class CodecError(StoreError):
    """A value or a text that cannot be encoded or decoded."""


def _int(value: int) -> Any:
    if -_JS_SAFE <= value <= _JS_SAFE:
        return int(value)
    if -_INT64 <= value < _INT64:
        return {"$numberLong": str(int(value))}
    return {"$numberDecimal": str(value)}  # beyond BSON's integers: keep every digit


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"$numberDouble": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}


def _millis(value: _dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive datetimes from BSON are UTC
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _date(value: _dt.datetime) -> Any:
    ms = _millis(value)
    if 0 <= ms < 253_402_300_800_000:  # relaxed form only for 1970..9999, as the spec says
        moment = _EPOCH + _dt.timedelta(milliseconds=ms)
        return {"$date": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"}
    return {"$date": {"$numberLong": str(ms)}}


def _regex_options(flags: int | str) -> str:
    if isinstance(flags, str):
        return "".join(sorted(flags))
    return "".join(letter for letter, bit in _RE_FLAGS if flags & bit)


def _binary(data: bytes, subtype: int) -> Any:
    return {"$binary": {"base64": base64.b64encode(data).decode("ascii"), "subType": f"{subtype:02x}"}}


def _scalar(value: Any) -> Any:
    """Extended JSON for a value that is not a container; unknown types are named, not dropped."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):  # Int64 too
        return _int(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, _dt.datetime):
        return _date(value)
    if isinstance(value, DatetimeMS):
        return {"$date": {"$numberLong": str(int(value))}}
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, (Decimal128, decimal.Decimal)):
        return {"$numberDecimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, Binary):
        if value.subtype == 4 and len(value) == 16:
            return {"$uuid": str(uuid.UUID(bytes=bytes(value)))}
        return _binary(bytes(value), value.subtype)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _binary(bytes(value), 0)
    if isinstance(value, Regex):
        return {"$regularExpression": {"pattern": value.pattern, "options": _regex_options(value.flags)}}
    if isinstance(value, re.Pattern):
        return {"$regularExpression": {"pattern": value.pattern, "options": _regex_options(value.flags & ~re.U)}}
    if isinstance(value, Timestamp):
        return {"$timestamp": {"t": value.time, "i": value.inc}}
    if isinstance(value, MinKey):
        return {"$minKey": 1}
    if isinstance(value, MaxKey):
        return {"$maxKey": 1}
    if isinstance(value, _dt.date):
        return value.isoformat()  # a plain date (no time) is not BSON; ISO text is exact
    return {"$unknown": type(value).__name__, "repr": repr(value)[:200]}


def _recursive(value: Any) -> Any:
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:
        return value if -_JS_SAFE <= value <= _JS_SAFE else _int(value)
    if t is float:
        return value if math.isfinite(value) else _float(value)
    if isinstance(value, Mapping):  # dict, SON, FrozenDict, FrozenMap, RawBSONDocument
        return {str(k): _recursive(v) for k, v in value.items()}
    if isinstance(value, LIST_TYPES):  # list, tuple, FrozenList
        return [_recursive(v) for v in value]
    if isinstance(value, Code):  # Code is a str subclass: check before the scalars
        return _code(value, _recursive)
    if isinstance(value, DBRef):
        return _recursive(value.as_doc())
    return _scalar(value)


def _code(value: Code, convert: Any) -> Any:
    if value.scope is None:
        return {"$code": str(value)}
    return {"$code": str(value), "$scope": convert(value.scope)}


def _iterative(root: Any) -> Any:
    """The same conversion with an explicit stack, for values nested deeper than Python recurses."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, holder, 0)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, DBRef):
            value = value.as_doc()
        if isinstance(value, Mapping):
            out: Any = {}
            parent[key] = out
            for k, v in value.items():
                out[str(k)] = None
                stack.append((v, out, str(k)))
        elif isinstance(value, LIST_TYPES):
            out = [None] * len(value)
            parent[key] = out
            stack.extend((v, out, i) for i, v in enumerate(value))
        elif isinstance(value, Code):
            parent[key] = {"$code": str(value)}
            if value.scope is not None:
                stack.append((value.scope, parent[key], "$scope"))
        else:
            parent[key] = _scalar(value)
    return holder[0]


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON values (dict, list, str, int, float, bool, None), losslessly."""
    try:
        return _recursive(value)
    except RecursionError:
        return _iterative(value)


def _default(value: Any) -> Any:
    converted = to_jsonable(value)
    if converted is value:
        raise TypeError(f"cannot encode {type(value).__name__}")
    return converted


def dumps_json(value: Any, pretty: bool = False) -> bytes:
    """Encode ``value`` (BSON values allowed) as UTF-8 JSON; ``pretty`` indents by two spaces."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if pretty else 0)
    try:
        return orjson.dumps(to_jsonable(value), option=option)
    except orjson.JSONEncodeError as error:
        if "recursion" not in str(error).lower():
            raise CodecError(f"cannot encode as JSON: {error}") from None
    # orjson stops at 255 levels; deeper values are written without recursion.
    return _dumps_deep(to_jsonable(value), pretty)


def _dumps_deep(value: Any, pretty: bool) -> bytes:
    parts: list[str] = []
    sep, colon = (", ", ": ") if pretty else (",", ":")
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            parts.append(item.text)
        elif isinstance(item, dict):
            parts.append("{")
            stack.append(_Token("}"))
            entries = list(item.items())
            for i in range(len(entries) - 1, -1, -1):
                k, v = entries[i]
                stack.append(v)
                stack.append(_Token((sep if i else "") + json.dumps(k, ensure_ascii=False) + colon))
        elif isinstance(item, list):
            parts.append("[")
            stack.append(_Token("]"))
            for i in range(len(item) - 1, -1, -1):
                stack.append(item[i])
                if i:
                    stack.append(_Token(sep))
        else:
            parts.append(json.dumps(item, ensure_ascii=False, allow_nan=False))
    return "".join(parts).encode("utf-8")


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


#: How many times text may have been encoded as a JSON string inside JSON (``json-in-json``).
NESTED_LIMIT = 64


def _plain_text(text: Any) -> str | bytes:
    """A BSON binary (a ``bytes`` subclass orjson refuses), a bytearray or a memoryview as plain bytes."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise CodecError(f"{type(text).__name__} is not text or bytes")


def looks_like_json(value: Any) -> bool:
    """Cheap test for text or bytes that may hold a JSON object or array (for sampling, not proof)."""
    if isinstance(value, str):
        head = value[:64].lstrip()[:1]
        return head in ("{", "[") and value.rstrip()[-1:] in ("}", "]")
    if isinstance(value, (bytes, bytearray)):
        head = bytes(value[:64]).lstrip()[:1]
        return head in (b"{", b"[") and bytes(value[-8:]).rstrip()[-1:] in (b"}", b"]")
    return False


def loads_json_text(text: str | bytes, *, nested: bool = False) -> Any:
    """Decode JSON text (or JSON bytes, a BSON binary among them) with orjson.

    ``nested`` also decodes JSON text that was itself encoded as a JSON string, as many times
    as it was (up to ``NESTED_LIMIT``). Raises :class:`CodecError` with one line when the text
    is not JSON or not UTF-8.
    """
    if type(text) is not str and type(text) is not bytes:
        text = _plain_text(text)
    value = _loads(text)
    depth = 0
    while nested and isinstance(value, str) and depth < NESTED_LIMIT and value.lstrip()[:1] in ("{", "[", '"'):
        try:
            value = _loads(value)
        except CodecError:
            break  # a string that only looks like JSON stays a string
        depth += 1
    return value


#: The deepest JSON text decoded; deeper text is a CodecError, never a crash.
JSON_DEPTH_LIMIT = 10_000
_RECURSION_LOCK = threading.Lock()


def _loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        first = str(error)
    # orjson refuses NaN/Infinity literals and nesting beyond 1024; the standard parser takes both,
    # nesting up to JSON_DEPTH_LIMIT (its C scanner counts against the recursion limit, so the
    # limit is raised for the call, under a lock since it is the interpreter's).
    try:
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8")
        with _RECURSION_LOCK:
            before = sys.getrecursionlimit()
            sys.setrecursionlimit(max(before, JSON_DEPTH_LIMIT + 200))
            try:
                return json.loads(text)
            finally:
                sys.setrecursionlimit(before)
    except UnicodeDecodeError as error:
        raise CodecError(f"not valid UTF-8 at byte {error.start}") from None
    except RecursionError:
        raise CodecError("JSON nested too deeply to decode") from None
    except ValueError:
        raise CodecError(f"not valid JSON: {first}") from None
