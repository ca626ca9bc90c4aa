"""Conditions on events in MongoDB's query syntax, over the event's normalised fields; pure Python.

The same condition is accepted on every store and layout: the stores translate it to their own
fields (``store/search.py``, ``store/search_sql.py``), and :func:`compile_query` is the matcher
for what a store cannot push down (payloads kept as JSON text, encoded fields) and the reference
the tests check the stores against.

The fields a condition may name are the normalised ones: ``stream_id``, ``stream_type``,
``version``, ``type``, ``time``, and paths inside ``data.…`` and ``metadata.…``. Only read-only
comparison, element, array and logic operators are accepted (:data:`OPERATORS`); ``$where``,
``$function``, ``$accumulator`` and ``$expr`` (which can run code on a server) are refused, as is
any operator not in the list. Every refusal is a one-line :class:`UsageError` naming the problem.

Matching follows MongoDB's rules: a path walks into arrays (``data.items.sku`` matches when any
item has it), comparisons only compare values of one class (numbers with numbers, text with text,
times with times), ``{"f": null}`` matches a missing field, ``$ne``/``$nin`` match it too.
Moments are written as ISO-8601 text for ``time`` (``{"time": {"$gte": "2024-03-01"}}``) and as
``{"$date": "…"}`` anywhere.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from model.errors import UsageError

UTC = timezone.utc
#: The event's own fields a condition may name (besides paths inside data and metadata).
FIELDS = ("stream_id", "stream_type", "version", "type", "time")
PAYLOADS = ("data", "metadata")
COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin")
LOGIC = ("$and", "$or", "$nor")
#: Operators accepted under a field.
FIELD_OPERATORS = (*COMPARISONS, "$exists", "$regex", "$options", "$not", "$all", "$elemMatch", "$size")
OPERATORS = (*FIELD_OPERATORS, *LOGIC)
#: Operators refused by name, with the reason.
FORBIDDEN = {
    "$where": "it runs JavaScript on the server",
    "$function": "it runs JavaScript on the server",
    "$accumulator": "it runs JavaScript on the server",
    "$expr": "it evaluates aggregation expressions, which can run code ($function)",
    "$jsonSchema": "it is not a comparison",
    "$text": "it needs a text index and is not a comparison",
}
REGEX_OPTIONS = frozenset("imsx")


class Problem(UsageError):
    """A condition that cannot be used; the text names the path and the problem."""


# -- reading ------------------------------------------------------------------------------------


def parse_where(text: str, what: str = "--where") -> dict[str, Any]:
    """The JSON text of a condition, validated (:func:`validate_query`); UsageError on anything wrong."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError) as error:
        raise Problem(f"{what} is not JSON: {error} "
                      '(for example {"data.amount": {"$gt": 10000}, "metadata.user": "ann"})') from None
    if not isinstance(value, dict):
        raise Problem(f"{what} must be a JSON object of conditions, not {type(value).__name__}")
    return validate_query(value, what)


def parse_moment(text: str, what: str = "moment") -> datetime:
    """An ISO-8601 date or time (UTC when it has no zone); UsageError when it does not parse."""
    raw = str(text).strip()
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise Problem(f"{what}: not an ISO-8601 moment: {text!r} (for example 2024-01-05 or "
                      "2024-01-05T10:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def validate_query(query: Any, what: str = "condition") -> dict[str, Any]:
    """A copy of ``query`` with moments as datetimes, checked operator by operator and path by path."""
    if not isinstance(query, Mapping):
        raise Problem(f"{what}: must be an object of conditions")
    out: dict[str, Any] = {}
    for key, condition in query.items():
        if not isinstance(key, str):
            raise Problem(f"{what}: field names are text")
        if key.startswith("$"):
            out[key] = _logic(key, condition, what)
        else:
            _check_path(key, what)
            out[key] = _condition(key, condition, f"{what}: {key}")
    return out


def _refuse(op: str, where: str) -> None:
    if op in FORBIDDEN:
        raise Problem(f"{where}: operator {op} is not accepted: {FORBIDDEN[op]} "
                      "(only read-only comparison and logic operators are)")
    raise Problem(f"{where}: unknown operator {op} (accepted: {', '.join(OPERATORS)})")


def _logic(op: str, operand: Any, what: str) -> list[dict[str, Any]]:
    if op not in LOGIC:
        _refuse(op, what)
    if not isinstance(operand, list) or not operand:
        raise Problem(f"{what}: {op} needs a non-empty list of conditions")
    return [validate_query(item, f"{what}: {op}[{i}]") for i, item in enumerate(operand)]


def _check_path(path: str, what: str) -> None:
    head, _, rest = path.partition(".")
    ok = (path in FIELDS) or (head in PAYLOADS and rest and "" not in rest.split("."))
    if not ok or "$" in path or "\x00" in path:
        raise Problem(f"{what}: {path!r} is not a field of an event: use one of {', '.join(FIELDS)}, "
                      "or a path inside data.… or metadata.…")


def _condition(path: str, condition: Any, where: str) -> Any:
    if isinstance(condition, Mapping) and any(isinstance(k, str) and k.startswith("$") for k in condition):
        if "$date" in condition and len(condition) == 1:
            return _literal(path, condition, where)
        ops: dict[str, Any] = {}
        for op, operand in condition.items():
            if not isinstance(op, str) or not op.startswith("$"):
                raise Problem(f"{where}: mixes operators and fields")
            if op not in FIELD_OPERATORS:
                if op in LOGIC:
                    raise Problem(f"{where}: {op} belongs at the top of a condition, not under a field")
                _refuse(op, where)
            ops[op] = _operand(path, op, operand, f"{where}.{op}")
        if "$options" in ops and "$regex" not in ops:
            raise Problem(f"{where}: $options needs $regex")
        if "$regex" in ops:
            _compile_regex(ops["$regex"], ops.get("$options", ""), where)
        return ops
    return _literal(path, condition, where)


def _operand(path: str, op: str, operand: Any, where: str) -> Any:
    if op in ("$in", "$nin", "$all"):
        if not isinstance(operand, list):
            raise Problem(f"{where}: needs a list")
        return [_literal(path, item, f"{where}[{i}]") for i, item in enumerate(operand)]
    if op == "$exists":
        if not isinstance(operand, bool):
            raise Problem(f"{where}: needs true or false")
        return operand
    if op == "$size":
        if type(operand) is not int or operand < 0:
            raise Problem(f"{where}: needs a whole number >= 0")
        return operand
    if op == "$regex":
        if not isinstance(operand, str):
            raise Problem(f"{where}: needs the expression as text")
        return operand
    if op == "$options":
        if not isinstance(operand, str) or set(operand) - REGEX_OPTIONS:
            raise Problem(f"{where}: needs letters among i, m, s, x")
        return operand
    if op == "$not":
        if not isinstance(operand, Mapping) or not operand or not all(str(k).startswith("$") for k in operand):
            raise Problem(f"{where}: needs an object of operators, such as {{\"$gt\": 5}}")
        return _condition(path, operand, where)
    if op == "$elemMatch":
        if not isinstance(operand, Mapping) or not operand:
            raise Problem(f"{where}: needs an object of conditions")
        if all(str(k).startswith("$") for k in operand):
            return _condition(path, operand, where)
        inner: dict[str, Any] = {}
        for key, value in operand.items():
            if str(key).startswith("$"):
                inner[key] = _logic(key, value, where)
            else:
                inner[key] = _condition("", value, f"{where}.{key}")
        return inner
    return _literal(path, operand, where)


def _literal(path: str, value: Any, where: str) -> Any:
    """A value to compare with: moments become datetimes; no operator may hide inside."""
    if isinstance(value, Mapping):
        if set(value) == {"$date"}:
            raw = value["$date"]
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                return datetime.fromtimestamp(raw / 1000, UTC)
            return parse_moment(raw if isinstance(raw, str) else repr(raw), where)
        out = {}
        for k, v in value.items():
            if str(k).startswith("$"):
                if str(k) not in OPERATORS:
                    _refuse(str(k), where)
                raise Problem(f"{where}: operator {k} is not allowed inside a value")
            out[k] = _literal("", v, f"{where}.{k}")
        return out
    if isinstance(value, list):
        return [_literal("", v, f"{where}[{i}]") for i, v in enumerate(value)]
    if path == "time" and isinstance(value, str):
        return parse_moment(value, where)
    if path == "version" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        raise Problem(f"{where}: a version is a number, not {value!r}")
    return value


def _compile_regex(regex: str, options: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regex, _flags(options))
    except re.error as error:
        raise Problem(f"{where}: not a regular expression: {regex!r}: {error}") from None


def _flags(options: str) -> int:
    flags = 0
    for letter, flag in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if letter in options:
            flags |= flag
    return flags


# -- looking into a query --------------------------------------------------------------------------


def paths_of(query: Mapping[str, Any]) -> set[str]:
    """Every field path a (validated) query names."""
    out: set[str] = set()
    for key, value in query.items():
        if key in LOGIC:
            for item in value:
                out |= paths_of(item)
        else:
            out.add(key)
    return out


def roots_of(query: Mapping[str, Any]) -> set[str]:
    """The event fields a query reads: some of FIELDS, ``data`` and ``metadata``."""
    return {p.split(".")[0] for p in paths_of(query)}


def combine(*queries: Mapping[str, Any] | None) -> dict[str, Any]:
    """One query that holds when every non-empty one does."""
    parts = [dict(q) for q in queries if q]
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    return {"$and": parts}


# -- matching ---------------------------------------------------------------------------------------

_MISSING = object()
Doc = Mapping[str, Any]
Matcher = Callable[[Doc], bool]


def event_view(event: Any) -> dict[str, Any]:
    """An Event as the document its conditions are written against."""
    return {"stream_id": event.stream_id, "stream_type": event.stream_type, "version": event.version,
            "type": event.type, "time": event.time, "data": event.data, "metadata": event.metadata}


def matches(query: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` (an Event) satisfies the validated ``query``."""
    return compile_query(query)(event_view(event))


def compile_query(query: Mapping[str, Any]) -> Matcher:
    """A function of a normalised document (:func:`event_view`) that says whether it matches."""
    tests: list[Matcher] = []
    for key, value in query.items():
        if key == "$and":
            subs = [compile_query(q) for q in value]
            tests.append(lambda doc, subs=subs: all(s(doc) for s in subs))
        elif key == "$or":
            subs = [compile_query(q) for q in value]
            tests.append(lambda doc, subs=subs: any(s(doc) for s in subs))
        elif key == "$nor":
            subs = [compile_query(q) for q in value]
            tests.append(lambda doc, subs=subs: not any(s(doc) for s in subs))
        else:
            tests.append(_field_test(key.split("."), value))
    if len(tests) == 1:
        return tests[0]
    return lambda doc: all(t(doc) for t in tests)


def _is_ops(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(k, str) and k.startswith("$") for k in value)


def _field_test(parts: list[str], condition: Any) -> Matcher:
    value_test = _value_test(condition)
    return lambda doc: value_test(resolve(doc, parts))


_LIST = (list, tuple)


def _is_list(value: Any) -> bool:
    return isinstance(value, _LIST) or (isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)))


def resolve(value: Any, parts: Sequence[str]) -> list[Any]:
    """The values a dotted path reaches, walking into arrays as MongoDB does (none: [])."""
    if not parts:
        return [value]
    head, rest = parts[0], parts[1:]
    if isinstance(value, Mapping):
        return resolve(value[head], rest) if head in value else []
    if _is_list(value):
        out: list[Any] = []
        if head.isdigit() and int(head) < len(value):
            out.extend(resolve(value[int(head)], rest))
        for item in value:
            if isinstance(item, Mapping):
                out.extend(resolve(item, parts))
        return out
    return []


def _candidates(found: list[Any]) -> list[Any]:
    """The values a comparison looks at: each value, and the elements of each array among them."""
    out: list[Any] = []
    for value in found:
        out.append(value)
        if _is_list(value):
            out.extend(value)
    return out


def _value_class(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, Mapping):
        return "object"
    if _is_list(value):
        return "array"
    return type(value).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if _is_list(value):
        return [_plain(v) for v in value]
    if hasattr(value, "to_decimal"):  # Decimal128 without importing bson
        return float(value.to_decimal())
    return value


def _equal(a: Any, b: Any) -> bool:
    a, b = _plain(a), _plain(b)
    value_class = _value_class(a)
    if value_class != _value_class(b):
        return False
    if value_class == "date":
        return _aware(a) == _aware(b)
    return a == b


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _order(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 when ``a`` and ``b`` are of one comparable class, else None."""
    a, b = _plain(a), _plain(b)
    value_class = _value_class(a)
    if value_class != _value_class(b) or value_class not in ("number", "text", "date", "bool"):
        return None
    if value_class == "date":
        a, b = _aware(a), _aware(b)
    return (a > b) - (a < b)


def _eq_found(found: list[Any], operand: Any) -> bool:
    if operand is None and not found:
        return True
    return any(_equal(v, operand) for v in _candidates(found))


def _value_test(condition: Any) -> Callable[[list[Any]], bool]:
    if not _is_ops(condition):
        return lambda found: _eq_found(found, condition)
    tests: list[Callable[[list[Any]], bool]] = []
    for op, operand in condition.items():
        if op == "$options":
            continue
        tests.append(_operator(op, operand, condition))
    return lambda found: all(t(found) for t in tests)


def _compare(operand: Any, accept: Callable[[int], bool]) -> Callable[[list[Any]], bool]:
    def test(found: list[Any]) -> bool:
        for value in _candidates(found):
            order = _order(value, operand)
            if order is not None and accept(order):
                return True
        return False
    return test


def _operator(op: str, operand: Any, condition: Mapping[str, Any]) -> Callable[[list[Any]], bool]:
    if op == "$eq":
        return lambda found: _eq_found(found, operand)
    if op == "$ne":
        return lambda found: not _eq_found(found, operand)
    if op == "$in":
        return lambda found: any(_eq_found(found, item) for item in operand)
    if op == "$nin":
        return lambda found: not any(_eq_found(found, item) for item in operand)
    if op == "$gt":
        return _compare(operand, lambda o: o > 0)
    if op == "$gte":
        return _compare(operand, lambda o: o >= 0)
    if op == "$lt":
        return _compare(operand, lambda o: o < 0)
    if op == "$lte":
        return _compare(operand, lambda o: o <= 0)
    if op == "$exists":
        return lambda found: bool(found) == operand
    if op == "$regex":
        pattern = re.compile(operand, _flags(condition.get("$options", "")))
        return lambda found: any(isinstance(v, str) and pattern.search(v) for v in _candidates(found))
    if op == "$not":
        inner = _value_test(operand)
        return lambda found: not inner(found)
    if op == "$size":
        return lambda found: any(_is_list(v) and len(v) == operand for v in found)
    if op == "$all":
        return lambda found: bool(operand) and any(
            _is_list(v) and all(any(_equal(item, want) for item in v) or _equal(v, want) for want in operand)
            for v in found)
    if op == "$elemMatch":
        if _is_ops(operand):
            inner = _value_test(operand)
            return lambda found: any(_is_list(v) and any(inner([item]) for item in v) for v in found)
        sub = compile_query(operand)
        return lambda found: any(_is_list(v) and any(isinstance(item, Mapping) and sub(item) for item in v)
                                 for v in found)
    raise Problem(f"unknown operator {op}")  # validate_query refuses these first


def conjuncts(query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A query as the list of its parts that must all hold, nested ``$and`` flattened."""
    out: list[dict[str, Any]] = []
    for key, value in query.items():
        if key == "$and":
            for item in value:
                out.extend(conjuncts(item))
        else:
            out.append({key: value})
    return out
