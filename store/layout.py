"""Layouts: how another tool keeps its events in MongoDB, as data (TOML), and decoding by it.

A layout is never code. It names collections, field paths and encodings; ``decode_event`` and
``decode_commit`` turn one stored document into ``Event`` values and record what they could
not decode on the event (``Event.problems``), so one broken document never stops a stream.

Paths are dotted (``Payload.Body._t``); a number indexes into an array; ``a | b`` takes the
first that is present. In a commit or stream layout, event paths are read inside each array
element and a path starting with ``../`` is read on the enclosing document itself.

Any field a layout reads may be encoded: ``decode`` names the fields held as JSON text, JSON in
a binary, JSON text inside JSON text, or EDN, and a path that walks through one reads the
decoded value (each field decoded once per document). ``events_encoding`` and
``element_encoding`` say the same of a commit's array and of each of its elements.
"""
from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from model.errors import EventLensError, LayoutError
from model.event import Event

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRESETS_DIR = Path(__file__).with_name("presets")

SHAPES = ("event", "commit", "stream")  # one document per event, per commit, per whole stream
ARRAY_SHAPES = ("commit", "stream")
VERSIONS = ("field", "commit", "none")
TIME_FORMS = ("date", "iso", "epoch_s", "epoch_ms", "objectid")
ENCODINGS = ("bson", "json", "json-in-json", "edn")
REST = "rest"  # the payload is the document minus the fields the layout uses
PARENT = "../"

#: Query operators a layout filter may use: comparisons and logic, nothing that runs code or writes.
FILTER_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin", "$exists", "$gt", "$gte", "$lt", "$lte", "$and", "$or", "$nor"})


# -- the layout values ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventsSpec:
    """Where and how the events sit."""

    collection: str | tuple[str, ...]  # a name, a pattern with * (``emt:*``), or a list of either
    stream_id: tuple[str, ...]
    type: str
    time: str  # "": the tool stores no time for its events
    filter: Mapping[str, Any] = field(default_factory=dict)
    shape: str = "event"  # "event": one document per event; "commit"/"stream": events in an array
    events_field: str = ""  # commit and stream shapes: the array
    events_encoding: str = "bson"  # how the array itself is stored (JSON text, JSON in a binary, ...)
    element_encoding: str = "bson"  # how each element of the array is stored
    decode: Mapping[str, str] = field(default_factory=dict)  # other encoded fields: path -> encoding
    stream_id_separator: str = "/"
    stream_type: str = ""  # a path; empty with no pattern: no stream type
    stream_type_pattern: str = ""  # a regex with one group, applied to the stream id
    stream_type_from_collection: str = ""  # a regex with one group, applied to the collection's name
    version: str = "field"  # "field" | "commit" | "none"
    version_field: str = ""  # "field": the event's version; "commit": each element's (checked)
    commit_first: str = ""  # "commit": the commit's first version
    commit_last: str = ""  # "commit": the commit's last version
    order_by: str = "_id"  # "none": the field that orders a stream's events
    version_base: int = 1  # what the tool calls the first event (0 for Axon)
    time_form: str = "date"
    payload: str = REST
    payload_encoding: str = "bson"
    metadata: str = ""
    metadata_encoding: str = "bson"
    # traces (issue 14): paths like the ones above (inside each element, ``../`` for the commit);
    # empty: the usual metadata names (model.trace), and for the event id Axon's eventIdentifier,
    # else the document's _id
    correlation_id: str = ""
    causation_id: str = ""
    event_id: str = ""


@dataclass(frozen=True)
class SnapshotsSpec:
    """Where another tool keeps its snapshots; ``writable`` is the explicit opt-in to write there."""

    collection: str
    stream_id: tuple[str, ...]
    state: str
    filter: Mapping[str, Any] = field(default_factory=dict)
    stream_id_separator: str = "/"
    version: str = ""  # a path; empty: placed at the last event at or before ``time``
    version_base: int = 1
    time: str = ""
    time_form: str = "date"
    state_encoding: str = "bson"
    decode: Mapping[str, str] = field(default_factory=dict)  # encoded fields the paths walk through
    writable: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    events: EventsSpec
    snapshots: SnapshotsSpec | None = None
    description: str = ""
    source: str = ""  # the file it came from, for messages

    def to_toml(self, comments: Mapping[str, str] | None = None) -> str:
        """The layout as TOML; ``comments`` maps "events.type" style keys to a comment line above them."""
        return _to_toml(self, comments or {})


# -- filters ---------------------------------------------------------------------------------


def validate_filter(value: Any, where: str = "filter") -> dict[str, Any]:
    """Return ``value`` if it is a plain comparison document; raise LayoutError naming the key otherwise."""
    if not isinstance(value, Mapping):
        raise LayoutError(f"{where}: must be a table of field conditions")
    for key, condition in value.items():
        here = f"{where}.{key}"
        if key.startswith("$"):
            _check_operator(key, condition, here)
        else:
            if "$" in key or "\x00" in key:
                raise LayoutError(f"{here}: a field name may not contain '$'")
            _check_condition(condition, here)
    return dict(value)


def _check_operator(op: str, operand: Any, where: str) -> None:
    if op not in FILTER_OPERATORS:
        raise LayoutError(f"{where}: operator {op} is not allowed in a layout filter (allowed: {', '.join(sorted(FILTER_OPERATORS))})")
    if op in ("$and", "$or", "$nor"):
        if not isinstance(operand, list) or not operand:
            raise LayoutError(f"{where}: needs a non-empty list of conditions")
        for i, item in enumerate(operand):
            validate_filter(item, f"{where}[{i}]")
    elif op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise LayoutError(f"{where}: needs a list")
        for i, item in enumerate(operand):
            _check_literal(item, f"{where}[{i}]")
    elif op == "$exists":
        if not isinstance(operand, bool):
            raise LayoutError(f"{where}: needs true or false")
    else:
        _check_literal(operand, where)


def _check_condition(condition: Any, where: str) -> None:
    if isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition):
        for op, operand in condition.items():
            if not str(op).startswith("$"):
                raise LayoutError(f"{where}: mixes operators and fields")
            if op in ("$and", "$or", "$nor"):
                raise LayoutError(f"{where}.{op}: belongs at the top of the filter, not under a field")
            _check_operator(op, operand, f"{where}.{op}")
    else:
        _check_literal(condition, where)


def _check_literal(value: Any, where: str) -> None:
    """A literal to compare with: no operator may hide inside it."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if str(k).startswith("$"):
                raise LayoutError(f"{where}.{k}: operator {k} is not allowed inside a value")
            _check_literal(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_literal(v, f"{where}[{i}]")


# -- loading ---------------------------------------------------------------------------------


def preset_names() -> list[str]:
    """The names of the shipped presets."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_layout(name_or_path: str | Path) -> Layout:
    """A preset by name (``axon``) or a layout file by path; LayoutError names the file and key on bad input."""
    text_path = Path(name_or_path)
    preset = PRESETS_DIR / f"{name_or_path}.toml"
    if isinstance(name_or_path, str) and "/" not in name_or_path and "\\" not in name_or_path and preset.is_file():
        path = preset
    elif text_path.is_file():
        path = text_path
    else:
        raise LayoutError(f"no layout {str(name_or_path)!r}: not a preset ({', '.join(preset_names())}) and no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LayoutError(f"{path}: cannot read: {error}") from None
    return parse_layout(text, source=str(path), default_name=path.stem)


def parse_layout(text: str, *, source: str = "<layout>", default_name: str = "custom") -> Layout:
    """Parse layout TOML text; LayoutError names ``source`` and the key on bad input."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LayoutError(f"{source}: not valid TOML: {error}") from None
    try:
        return _layout_from(raw, source, default_name)
    except LayoutError as error:
        raise LayoutError(f"{source}: {error}") from None


def _layout_from(raw: Mapping[str, Any], source: str, default_name: str) -> Layout:
    _no_unknown(raw, {"name", "description", "events", "snapshots"}, "")
    if "events" not in raw:
        raise LayoutError("events: missing table [events]")
    events = _events_from(_table(raw["events"], "events"))
    snapshots = _snapshots_from(_table(raw["snapshots"], "snapshots")) if "snapshots" in raw else None
    name = _str(raw.get("name", default_name), "name")
    if not name:
        raise LayoutError("name: must not be empty")
    return Layout(name, events, snapshots, _str(raw.get("description", ""), "description"), source)


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LayoutError(f"{key}: must be a table")
    return value


def _no_unknown(table: Mapping[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise LayoutError(f"{prefix}{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise LayoutError(f"{key}: must be a string, not {type(value).__name__}")
    return value


def _choice(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    value = _str(value, key)
    if value not in allowed:
        raise LayoutError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _paths(value: Any, key: str) -> tuple[str, ...]:
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) and p for p in parts):
        raise LayoutError(f"{key}: must be a field path or a non-empty list of field paths")
    return tuple(parts)


def _values(spec_type: type, table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Check each key of ``table`` against the dataclass field of the same name."""
    known = {f.name for f in fields(spec_type)}
    _no_unknown(table, known, prefix)
    out: dict[str, Any] = {}
    for key, value in table.items():
        where = prefix + key
        if key in ("stream_id",):
            out[key] = _paths(value, where)
        elif key == "collection":
            names = _paths(value, where)
            out[key] = names[0] if len(names) == 1 else names
        elif key == "decode":
            out[key] = _decode_table(value, where)
        elif key == "filter":
            out[key] = validate_filter(value, where)
        elif key == "version_base":
            if type(value) is not int or value < 0:
                raise LayoutError(f"{where}: must be a whole number >= 0")
            out[key] = value
        elif key == "writable":
            if type(value) is not bool:
                raise LayoutError(f"{where}: must be true or false")
            out[key] = value
        else:
            out[key] = _str(value, where)
    for name in ("collection", "stream_id"):
        if name not in out:
            raise LayoutError(f"{prefix}{name}: missing")
    return out


def _decode_table(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise LayoutError(f"{where}: must be a table of field path = encoding")
    out: dict[str, str] = {}
    for path, encoding in value.items():
        if not isinstance(path, str) or not path or "|" in path:
            raise LayoutError(f"{where}: {path!r} is not one field path")
        out[path] = _choice(encoding, f"{where}.{path}", ENCODINGS)
    return out


def _events_from(table: Mapping[str, Any]) -> EventsSpec:
    values = _values(EventsSpec, table, "events.")
    if "type" not in values:
        raise LayoutError("events.type: missing")
    if "time" not in values:
        raise LayoutError('events.time: missing (write time = "" when the tool stores no time of its events)')
    spec = EventsSpec(**values)
    _choice(spec.shape, "events.shape", SHAPES)
    _choice(spec.version, "events.version", VERSIONS)
    _choice(spec.time_form, "events.time_form", TIME_FORMS)
    for name in ("payload_encoding", "metadata_encoding", "events_encoding", "element_encoding"):
        _choice(getattr(spec, name), f"events.{name}", ENCODINGS)
    if spec.shape in ARRAY_SHAPES and not spec.events_field:
        raise LayoutError(f"events.events_field: a {spec.shape} layout needs the array's field")
    if spec.shape == "event" and (spec.events_encoding != "bson" or spec.element_encoding != "bson"):
        raise LayoutError("events.events_encoding: only a commit or stream layout has an events array")
    if spec.version == "commit" and spec.shape not in ARRAY_SHAPES:
        raise LayoutError("events.version: 'commit' needs shape = 'commit' or 'stream'")
    if spec.version == "field" and spec.shape in ARRAY_SHAPES:
        raise LayoutError(f"events.version: a {spec.shape} layout numbers its events by 'commit' (its revisions) "
                          "or 'none' (counted in order); version_field then checks each element's own")
    if spec.version == "commit" and not (spec.commit_first or spec.commit_last):
        raise LayoutError("events.commit_first: a commit version needs commit_first or commit_last")
    if spec.version == "field" and not spec.version_field:
        raise LayoutError("events.version_field: missing (or set version = 'none' with order_by)")
    if spec.version == "none" and not spec.order_by:
        raise LayoutError("events.order_by: version = 'none' needs the field that orders events")
    for name in ("stream_type_pattern", "stream_type_from_collection"):
        text = getattr(spec, name)
        if not text:
            continue
        try:
            pattern = re.compile(text)
        except re.error as error:
            raise LayoutError(f"events.{name}: not a regular expression: {error}") from None
        if pattern.groups != 1:
            raise LayoutError(f"events.{name}: needs exactly one group, the stream type")
    if spec.payload == REST and spec.shape != "event":
        raise LayoutError("events.payload: 'rest' is only for one document per event")
    for name in collection_names(spec):
        if "$" in name or "\x00" in name:
            raise LayoutError(f"events.collection: {name!r} is not a collection name")
    return spec


def _snapshots_from(table: Mapping[str, Any]) -> SnapshotsSpec:
    values = _values(SnapshotsSpec, table, "snapshots.")
    if "state" not in values:
        raise LayoutError("snapshots.state: missing")
    spec = SnapshotsSpec(**values)
    _choice(spec.time_form, "snapshots.time_form", TIME_FORMS)
    _choice(spec.state_encoding, "snapshots.state_encoding", ENCODINGS)
    if not spec.version and not spec.time:
        raise LayoutError("snapshots.version: a snapshot needs a version or a time to be placed")
    return spec


# -- printing --------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise LayoutError(f"cannot print {type(value).__name__} in a layout")


def _section(title: str, spec: Any, default: Any, comments: Mapping[str, str], always: set[str]) -> list[str]:
    lines = [f"[{title}]"]
    for f in fields(spec):
        value = getattr(spec, f.name)
        if f.name not in always and default is not None and value == getattr(default, f.name, object()):
            continue
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        comment = comments.get(f"{title}.{f.name}")
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{f.name} = {_toml_value(value)}")
    return lines


def collection_names(spec: EventsSpec) -> tuple[str, ...]:
    """The collection names and patterns an events spec names, as a tuple."""
    return (spec.collection,) if isinstance(spec.collection, str) else tuple(spec.collection)


def is_pattern(name: str) -> bool:
    return "*" in name


def matching_collections(spec: EventsSpec, existing: list[str] | set[str]) -> list[str]:
    """The collections of ``existing`` the spec names (by name or ``*`` pattern), in name order.

    A plain name is kept even when it does not exist yet, so reading an empty store reads nothing.
    """
    out: set[str] = set()
    for name in collection_names(spec):
        if is_pattern(name):
            out.update(n for n in existing if fnmatch.fnmatchcase(n, name) and not n.startswith("system."))
        else:
            out.add(name)
    return sorted(out)


def _to_toml(layout: Layout, comments: Mapping[str, str]) -> str:
    lines = [f"name = {_toml_value(layout.name)}"]
    if layout.description:
        lines.append(f"description = {_toml_value(layout.description)}")
    lines.append("")
    base = EventsSpec(collection="", stream_id=("",), type="", time="")
    lines += _section("events", layout.events, base, comments, {"collection", "stream_id", "type", "time", "version", "payload"})
    if layout.snapshots is not None:
        lines.append("")
        sbase = SnapshotsSpec(collection="", stream_id=("",), state="")
        lines += _section("snapshots", layout.snapshots, sbase, comments, {"collection", "stream_id", "state", "writable"})
    return "\n".join(lines) + "\n"


# -- paths -----------------------------------------------------------------------------------

_MISSING = object()


def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted path (``a | b``: the first present), or ``MISSING``."""
    for choice in path.split("|"):
        value = _get_one(doc, choice.strip())
        if value is not _MISSING:
            return value
    return _MISSING


MISSING = _MISSING


def _get_one(doc: Any, path: str) -> Any:
    value = doc
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def top_fields(spec: EventsSpec) -> set[str]:
    """The top-level fields an event layout reads: what "rest" leaves out."""
    paths = [*spec.stream_id, spec.stream_type, spec.type, spec.time, spec.metadata]
    if spec.version == "field":
        paths.append(spec.version_field)
    if spec.version == "none":
        paths.append(spec.order_by)
    if spec.payload != REST:
        paths.append(spec.payload)
    out = {"_id"}  # the document's storage key, never part of what happened
    for path in paths:
        for choice in (path or "").split("|"):
            choice = choice.strip()
            if choice and not choice.startswith(PARENT):
                out.add(choice.split(".")[0])
    return out


# -- decoding values -------------------------------------------------------------------------


def decode_value(raw: Any, encoding: str) -> Any:
    """Decode a stored value by its encoding; raise EventLensError with one line when it does not decode.

    Text encodings read text and bytes alike (JSON in a BSON binary is JSON); a value that is
    already a document or an array passes through, as tools such as Axon store either.
    """
    from store.codec import loads_json_text

    if encoding == "bson" or not isinstance(raw, (str, bytes)):
        return raw
    if encoding == "json":
        return loads_json_text(raw)
    if encoding == "json-in-json":
        return loads_json_text(raw, nested=True)
    from store.edn import loads_edn

    return loads_edn(raw)


_FRACTION = re.compile(r"(\.\d{6})\d+")


def decode_time(raw: Any, form: str) -> datetime:
    """A stored time in the given form, as an aware UTC datetime; ValueError when it is not one."""
    if form == "date":
        if isinstance(raw, datetime):
            return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)
        raise ValueError(f"{type(raw).__name__} is not a date")
    if form == "iso":
        if isinstance(raw, datetime):  # a tool that switched to dates keeps working
            return decode_time(raw, "date")
        if not isinstance(raw, str):
            raise ValueError(f"{type(raw).__name__} is not an ISO-8601 string")
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", raw.strip()))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if form in ("epoch_s", "epoch_ms"):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"{type(raw).__name__} is not a number")
        seconds = raw / 1000 if form == "epoch_ms" else raw
        return EPOCH + timedelta(seconds=seconds)
    if form == "objectid":
        from bson import ObjectId

        if isinstance(raw, ObjectId):
            return raw.generation_time.astimezone(UTC)
        raise ValueError(f"{type(raw).__name__} is not an ObjectId")
    raise ValueError(f"unknown time form {form!r}")


def _int_version(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a version")
    if isinstance(raw, int):
        return int(raw)
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    raise ValueError(f"{raw!r} is not a whole number")


def join_stream_id(parts: list[Any], separator: str) -> str:
    return separator.join("" if p is None else str(p) for p in parts)


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]


# -- reading through encodings ---------------------------------------------------------------

_FAILED = object()


class Source:
    """One stored document read through a layout's encodings; each encoded field is decoded once.

    ``encodings`` maps a field path to its encoding; a path that walks through such a field
    reads inside the decoded value. A field that does not decode is kept in ``failures`` (its
    path -> the problem) and reads as missing.
    """

    __slots__ = ("doc", "encodings", "roles", "decoded", "failures")

    def __init__(self, doc: Any, encodings: Mapping[str, str], roles: Mapping[str, str] | None = None):
        self.doc = doc
        self.encodings = encodings
        self.roles = roles or {}
        self.decoded: dict[str, Any] = {}
        self.failures: dict[str, str] = {}

    def get(self, path: str) -> Any:
        """The value at ``path`` (``a | b``: the first present), decoding on the way, or ``MISSING``."""
        if not self.encodings:
            return get_path(self.doc, path)
        for choice in path.split("|"):
            value = self._one(choice.strip())
            if value is not _MISSING:
                return value
        return _MISSING

    def _one(self, path: str) -> Any:
        encodings = self.encodings
        if path not in encodings and not any(path.startswith(k + ".") for k in encodings):
            return _get_one(self.doc, path)
        value, prefix = self.doc, ""
        for part in path.split("."):
            value = _step(value, part)
            if value is _MISSING:
                return _MISSING
            prefix = f"{prefix}.{part}" if prefix else part
            encoding = encodings.get(prefix)
            if encoding is not None and encoding != "bson":
                value = self._decode(prefix, value, encoding)
                if value is _MISSING:
                    return _MISSING
        return value

    def _decode(self, prefix: str, raw: Any, encoding: str) -> Any:
        found = self.decoded.get(prefix, _MISSING)
        if found is _FAILED:
            return _MISSING
        if found is not _MISSING:
            return found
        try:
            value = decode_value(raw, encoding)
        except EventLensError as error:
            what = self.roles.get(prefix, "field")
            self.failures[prefix] = f"{what} does not decode as {encoding}: {_short(error)}"
            self.decoded[prefix] = _FAILED
            return _MISSING
        self.decoded[prefix] = value
        return value

    def failure(self, path: str) -> tuple[str, str] | None:
        """The encoded field on ``path`` that did not decode, with its problem, or None."""
        for choice in path.split("|"):
            choice = choice.strip()
            for prefix, text in self.failures.items():
                if choice == prefix or choice.startswith(prefix + "."):
                    return prefix, text
        return None


def _step(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value[part] if part in value else _MISSING
    if isinstance(value, list) and part.isdigit():
        index = int(part)
        return value[index] if index < len(value) else _MISSING
    return _MISSING


@dataclass(frozen=True)
class _Plan:
    """What a spec decodes where, worked out once per layout."""

    own: Mapping[str, str]  # the event document's (or the array element's) encoded fields
    parent: Mapping[str, str]  # the enclosing commit's encoded fields (array shapes)
    roles: Mapping[str, str]


_PLANS: dict[int, tuple[EventsSpec, _Plan]] = {}


def _plan(spec: EventsSpec) -> _Plan:
    cached = _PLANS.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    own: dict[str, str] = {}
    parent: dict[str, str] = {}
    roles: dict[str, str] = {}
    wanted = [*spec.decode.items()]
    for path, encoding, role in ((spec.payload, spec.payload_encoding, "payload"), (spec.metadata, spec.metadata_encoding, "metadata")):
        if not path or path == REST:
            continue
        for choice in (c.strip() for c in path.split("|")):
            if encoding != "bson":
                wanted.append((choice, encoding))
            roles[choice[len(PARENT):] if choice.startswith(PARENT) else choice] = role
    for path, encoding in wanted:
        if path.startswith(PARENT):
            parent[path[len(PARENT):]] = encoding
        else:
            own[path] = encoding
    if spec.shape in ARRAY_SHAPES and spec.events_encoding != "bson":
        parent[spec.events_field] = spec.events_encoding
        roles.setdefault(spec.events_field, "events array")
    if spec.shape == "event":
        own.update(parent)  # an event document is its own enclosing document
        parent = own
    plan = _Plan(own, parent, roles)
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[id(spec)] = (spec, plan)
    return plan


def event_source(doc: Any, spec: EventsSpec) -> Source:
    """A document of an event layout (or an enclosing commit of an array layout), read through its encodings."""
    plan = _plan(spec)
    return Source(doc, plan.parent, plan.roles)


def snapshot_source(doc: Any, spec: SnapshotsSpec) -> Source:
    """A snapshot document read through the encoded fields its paths walk through."""
    return Source(doc, spec.decode)


def commit_elements(commit: Source, spec: EventsSpec) -> tuple[list[Any] | None, str]:
    """The commit's events array (decoded when encoded), or None and the problem."""
    elements = commit.get(spec.events_field)
    if elements is _MISSING or elements is None:
        failed = commit.failure(spec.events_field)
        return None, f"{failed[0]}: {failed[1]}" if failed else f"{spec.events_field}: missing (the commit's events)"
    if not isinstance(elements, list):
        return None, f"{spec.events_field}: {type(elements).__name__}, not an array (the commit's events)"
    return elements, ""


# -- decoding events -------------------------------------------------------------------------


class _Reader:
    """Reads one event's fields, from an element and/or its commit, collecting problems."""

    def __init__(self, source: Source, parent: Source | None, where: str):
        self.source, self.parent, self.where = source, parent, where
        self.problems: list[str] = []
        self._reported: set[str] = set()

    def _of(self, path: str) -> tuple[Source | None, str]:
        if path.startswith(PARENT):
            return self.parent, path[len(PARENT):]
        return self.source, path

    def get(self, path: str) -> Any:
        source, inner = self._of(path)
        if source is None:
            return _MISSING
        value = source.get(inner)
        if value is _MISSING and source.failures:
            failed = source.failure(inner)
            if failed is not None and failed[0] not in self._reported:
                self._reported.add(failed[0])
                where = "" if source is not self.source else self.where
                self.problems.append(f"{where}{failed[0]}: {failed[1]}")
        return value

    def failed(self, path: str) -> bool:
        source, inner = self._of(path)
        return source is not None and source.failure(inner) is not None

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{self.where}{path}: {text}")


def _stream_parts(source: Source, paths: tuple[str, ...], problems: list[str], where: str) -> list[Any]:
    parts = []
    for path in paths:
        value = source.get(path)
        if value is MISSING or value is None:
            problems.append(f"{where}{path}: missing (stream id)")
            value = ""
        parts.append(value)
    return parts


def stream_type_of(spec: EventsSpec, stream_id: str, doc: Any, collection: str = "") -> str:
    """The stream type: a field's value, a part of the stream id, or a part of the collection's name."""
    if spec.stream_type:
        value = doc.get(spec.stream_type) if isinstance(doc, Source) else get_path(doc, spec.stream_type)
        if value is not MISSING and value is not None:
            return str(value)
    if spec.stream_type_pattern:
        match = re.search(spec.stream_type_pattern, stream_id)
        if match:
            return match.group(1)
    if spec.stream_type_from_collection and collection:
        match = re.search(spec.stream_type_from_collection, collection)
        if match:
            return match.group(1)
    return ""


def no_time(spec: EventsSpec) -> datetime | None:
    """What an event without a readable time carries: None when the layout stores no times, else EPOCH."""
    return None if not spec.time else EPOCH


def _decode_fields(reader: _Reader, spec: EventsSpec, rest_of: Mapping[str, Any] | None) -> tuple[str, Any, Any, datetime | None]:
    # payload and metadata first: type and time may live inside them (EventFlow's metadata)
    payloads: list[Any] = []
    for path, what in ((spec.payload, "payload"), (spec.metadata, "metadata")):
        if not path:
            payloads.append({})
            continue
        if path == REST:
            used = top_fields(spec)
            payloads.append({k: v for k, v in (rest_of or {}).items() if k not in used})
            continue
        value = reader.get(path)
        if value is MISSING or value is None:
            if not reader.failed(path):
                reader.problem(path, f"missing ({what})")
            payloads.append({})
            continue
        if not isinstance(value, Mapping):
            reader.problem(path, f"{what} is {type(value).__name__}, not a document")
            value = {"value": value}
        payloads.append(value)
    data, metadata = payloads

    raw_type = reader.get(spec.type)
    if raw_type is MISSING or raw_type is None:
        reader.problem(spec.type, "missing (event type)")
        event_type = ""
    elif isinstance(raw_type, list) and raw_type:
        event_type = str(raw_type[-1])  # the C# driver's hierarchical discriminator: the most derived
    else:
        event_type = str(raw_type)

    if not spec.time:
        return event_type, dict(data), dict(metadata), None  # the tool keeps no time of its events
    raw_time = reader.get(spec.time)
    if raw_time is MISSING or raw_time is None:
        reader.problem(spec.time, "missing (time)")
        moment = EPOCH
    else:
        try:
            moment = decode_time(raw_time, spec.time_form)
        except (ValueError, OverflowError, TypeError) as error:
            reader.problem(spec.time, f"not a time ({spec.time_form}): {_short(error)}")
            moment = EPOCH
    return event_type, dict(data), dict(metadata), moment


def decode_event(doc: Mapping[str, Any], layout: Layout, *, version: int | None = None, collection: str = "") -> Event:
    """One document of a one-document-per-event layout as an Event; problems are recorded, never raised.

    ``version`` numbers the event when the layout stores none (the store counts 1, 2, 3 in order);
    ``collection`` is where the document was read, for a stream type taken from its name.
    """
    spec = layout.events
    source = event_source(doc, spec)
    problems: list[str] = []
    parts = _stream_parts(source, spec.stream_id, problems, "")
    stream_id = join_stream_id(parts, spec.stream_id_separator)
    reader = _Reader(source, None, "")
    reader.problems = problems
    if spec.version == "field":
        raw = reader.get(spec.version_field)
        try:
            if raw is MISSING:
                raise ValueError("missing (version)")
            number = _int_version(raw) - spec.version_base + 1
        except ValueError as error:
            reader.problem(spec.version_field, _short(error))
            number = version if version is not None else 0
    else:
        number = version if version is not None else 0
    event_type, data, metadata, moment = _decode_fields(reader, spec, doc)
    return Event(stream_id, number, event_type, data, metadata, moment, stream_type_of(spec, stream_id, source, collection),
                 tuple(problems))


def commit_bounds(doc: Any, spec: EventsSpec) -> tuple[int | None, int | None]:
    """A commit's first and last version as EventLens counts (from 1), None where absent or not a number."""
    out: list[int | None] = []
    for path in (spec.commit_first, spec.commit_last):
        if not path:
            out.append(None)
            continue
        raw = doc.get(path) if isinstance(doc, Source) else get_path(doc, path)
        try:
            out.append(None if raw is MISSING else _int_version(raw) - spec.version_base + 1)
        except ValueError:
            out.append(None)
    return out[0], out[1]


def decode_commit(doc: Mapping[str, Any], layout: Layout, *, first_version: int | None = None,
                  collection: str = "") -> list[Event]:
    """One commit (or whole-stream) document as its Events, numbered in order; disagreements become problems.

    ``first_version`` numbers the commit when the layout stores no version (counted by the store;
    a stream document counts from 1). A commit that names only its last revision starts at that
    revision less its events.
    """
    spec = layout.events
    plan = _plan(spec)
    commit = Source(doc, plan.parent, plan.roles)
    head: list[str] = []
    parts = _stream_parts(commit, spec.stream_id, head, "")
    stream_id = join_stream_id(parts, spec.stream_id_separator)
    stream_type = stream_type_of(spec, stream_id, commit, collection)
    elements, trouble = commit_elements(commit, spec)
    if elements is None:
        head.append(trouble)
        elements = []
    first, last = commit_bounds(commit, spec) if spec.version == "commit" else (first_version, None)
    for path, bound in ((spec.commit_first, first), (spec.commit_last, last)):
        if spec.version == "commit" and path and bound is None:
            head.append(f"{path}: missing or not a whole number (commit version)")
    if first is None and last is not None:
        first = last - len(elements) + 1 if elements else last  # a broken array keeps its place at the last
    if first is None:
        first = first_version if first_version is not None else 1
    if last is not None and elements and last - first + 1 != len(elements):
        head.append(f"{spec.events_field}: holds {len(elements)} events but the commit's versions are {first}..{last}")
    empty_time = no_time(spec)
    if not elements:
        # Nothing to show but the problem: one placeholder event keeps it visible, located.
        return [Event(stream_id, first, "", {}, {}, empty_time, stream_type, tuple(head) or ("commit holds no events",))]
    events = []
    for i, element in enumerate(elements):
        number = first + i
        where = f"{spec.events_field}.{i}."
        if spec.element_encoding != "bson" and isinstance(element, (str, bytes)):
            try:
                element = decode_value(element, spec.element_encoding)
            except EventLensError as error:
                problems = [*head, f"{where[:-1]}: event does not decode as {spec.element_encoding}: {_short(error)}"]
                events.append(Event(stream_id, number, "", {}, {}, empty_time, stream_type, tuple(problems)))
                continue
        if not isinstance(element, Mapping):
            problems = [*head, f"{where[:-1]}: {type(element).__name__}, not a document"]
            events.append(Event(stream_id, number, "", {}, {}, empty_time, stream_type, tuple(problems)))
            continue
        reader = _Reader(Source(element, plan.own, plan.roles), commit, where)
        reader.problems = list(head)
        if spec.version_field:
            raw = reader.get(spec.version_field)
            try:
                own = None if raw is MISSING else _int_version(raw) - spec.version_base + 1
            except ValueError as error:
                reader.problem(spec.version_field, _short(error))
                own = None
            if own is not None and own != number:
                reader.problem(spec.version_field, f"says version {own}, the commit numbers it {number}")
        event_type, data, metadata, moment = _decode_fields(reader, spec, None)
        events.append(Event(stream_id, number, event_type, data, metadata, moment, stream_type, tuple(reader.problems)))
    return events
