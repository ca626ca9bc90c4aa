"""Detect the layout of a database: recognise the presets, else propose one by scoring fields.

A preset is recognised by its field signature (certain). Otherwise each field of each sampled
collection is scored for each role (stream id, version, time, type, payload, metadata); the
proposal says, per role, which field it chose, how sure it is (0..1) and why.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from bson import ObjectId

from store.layout import EventsSpec, Layout, decode_time, load_layout

#: Below this a field's role is reported as undecided.
DECIDED = 0.5


@dataclass(frozen=True)
class Guess:
    """One decision: ``key`` is the layout key ("events.type"), ``value`` what was chosen."""

    key: str
    value: Any
    confidence: float
    reason: str


@dataclass(frozen=True)
class Proposal:
    """What detection found: a preset (``certain``) or a layout built from scored fields."""

    layout: Layout | None
    certain: bool
    preset: str | None = None
    guesses: tuple[Guess, ...] = ()
    reason: str = ""

    @property
    def undecided_fields(self) -> list[str]:
        """Layout keys detection could not decide (missing or below DECIDED confidence)."""
        if self.layout is None:
            return ["events.collection"]
        return [g.key for g in self.guesses if g.confidence < DECIDED]

    def to_toml(self) -> str:
        """The layout as TOML, each decided key commented with its confidence and reason."""
        head = [f"# {self.reason}"] if self.reason else []
        if self.layout is None:
            return "\n".join(head + ["# no layout could be proposed"]) + "\n"
        if not self.certain and self.undecided_fields:
            head.append(f"# undecided: {', '.join(self.undecided_fields)} (check and edit before use)")
        comments = {g.key: f"confidence {g.confidence:.2f}: {g.reason}" for g in self.guesses}
        return "\n".join(head) + ("\n" if head else "") + self.layout.to_toml(comments)


# -- presets -----------------------------------------------------------------------------------

#: preset -> (collection, fields every sampled document has, fields none has)
SIGNATURES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "eventlens": ("events", ("stream_id", "version", "type", "data", "recorded_at"), ()),
    "neventstore": ("Commits", ("BucketId", "StreamId", "StreamRevisionFrom", "StreamRevisionTo", "CommitStamp", "Events"), ()),
    "axon-commit": ("domainevents", ("aggregateIdentifier", "firstSequenceNumber", "lastSequenceNumber", "events"), ()),
    "axon": ("domainevents", ("aggregateIdentifier", "sequenceNumber", "payloadType", "serializedPayload", "timestamp"),
             ("events",)),
    "eventflow": ("eventflow.events", ("AggregateId", "AggregateName", "AggregateSequenceNumber", "Data", "Metadata"), ()),
    "seed": ("events", ("aggregate-id", "type"), ("version", "stream_id")),
}


def _sample(db: Any, name: str, size: int) -> list[Mapping[str, Any]]:
    return list(db[name].find({}, limit=size))


def _matches(docs: list[Mapping[str, Any]], required: tuple[str, ...], absent: tuple[str, ...]) -> bool:
    return bool(docs) and all(all(f in d for f in required) and not any(f in d for f in absent) for d in docs)


def detect_layout(db: Any, sample: int = 200) -> Proposal:
    """Sample every collection of ``db`` (a pymongo Database) and propose a layout for its events."""
    names = sorted(n for n in db.list_collection_names() if not n.startswith("system.") and n != "eventlens_snapshots")
    samples = {n: _sample(db, n, sample) for n in names}
    for preset, (collection, required, absent) in SIGNATURES.items():
        if _matches(samples.get(collection, []), required, absent):
            return Proposal(load_layout(preset), True, preset,
                            reason=f"detected preset {preset}: every sampled document of {collection!r} has {', '.join(required)}")
    best: Proposal | None = None
    best_score = 0.0
    for name, docs in samples.items():
        proposal, score = _propose(name, docs)
        if proposal is not None and score > best_score:
            best, best_score = proposal, score
    if best is None:
        return Proposal(None, False, reason=f"no collection looks like events (sampled {len(names)} collections)")
    return best


# -- scoring fields ----------------------------------------------------------------------------


@dataclass
class _Field:
    name: str
    present: int = 0
    kinds: Counter = field(default_factory=Counter)
    values: list[Any] = field(default_factory=list)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, ObjectId):
        return "objectid"
    if isinstance(value, str):
        if _ISO.match(value):
            return "iso"
        if value.lstrip()[:1] == "{":
            return "json"
        return "str"
    if isinstance(value, Mapping):
        return "doc"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _fields(docs: list[Mapping[str, Any]]) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    for doc in docs:
        for key, value in doc.items():
            f = out.setdefault(key, _Field(key))
            f.present += 1
            f.kinds[_kind(value)] += 1
            f.values.append(value)
    return out


def _named(name: str, *words: str) -> float:
    lowered = name.lower()
    return 1.0 if any(w in lowered for w in words) else 0.0


def _share(f: _Field, kind: str, n: int) -> float:
    return f.kinds[kind] / n if n else 0.0


def _stream_id(fields: dict[str, _Field], n: int) -> Guess | None:
    best = None
    for f in fields.values():
        if f.name == "_id" or _share(f, "str", n) + _share(f, "objectid", n) < 0.9:
            continue
        distinct = len({str(v) for v in f.values})
        per_stream = f.present / max(1, distinct)
        if per_stream < 1.5:
            continue  # unique per document: an event id, not a stream id
        score = min(1.0, 0.55 + 0.2 * min(per_stream / 3, 1) + 0.25 * _named(f.name, "stream", "aggregate", "entity", "id"))
        score *= f.present / n
        if best is None or score > best.confidence:
            best = Guess("events.stream_id", f.name, round(score, 2),
                         f"string field in {f.present}/{n} documents, {distinct} distinct values shared by ~{per_stream:.1f} documents each")
    return best


def _version(fields: dict[str, _Field], docs: list[Mapping[str, Any]], stream: str) -> tuple[Guess | None, int]:
    best, best_base = None, 1
    for f in fields.values():
        if f.name in ("_id", stream) or _share(f, "int", len(docs)) < 0.9:
            continue
        groups: dict[str, list[int]] = defaultdict(list)
        for doc in docs:
            value = doc.get(f.name)
            if isinstance(value, int) and not isinstance(value, bool):
                groups[str(doc.get(stream))].append(value)
        if not groups:
            continue
        unique = sum(len(set(v)) == len(v) for v in groups.values()) / len(groups)
        contiguous = sum(max(v) - min(v) + 1 == len(v) for v in groups.values()) / len(groups)
        starts = Counter(min(v) for v in groups.values())
        if unique < 0.9:
            continue
        score = round(min(1.0, 0.4 * unique + 0.4 * contiguous + 0.2 * _named(f.name, "version", "sequence", "revision", "seq")), 2)
        base = 0 if starts[0] > starts[1] else 1
        if best is None or score > best.confidence:
            best, best_base = Guess("events.version_field", f.name, score,
                                    f"integer unique within each {stream} in {unique:.0%} of streams, contiguous in {contiguous:.0%}, "
                                    f"counting from {base}"), base
    return best, best_base


_TIME_FORMS = (("date", 0.95), ("iso", 0.9))


def _time(fields: dict[str, _Field], n: int, taken: set[str]) -> tuple[Guess | None, str]:
    best, form_of = None, "date"
    for f in fields.values():
        if f.name in taken:
            continue
        bonus = 0.05 * _named(f.name, "time", "stamp", "date", "_at", "created", "recorded")
        candidates: list[tuple[str, float]] = []
        for kind, base in _TIME_FORMS:
            if _share(f, kind, n) >= 0.9:
                candidates.append((kind, base))
        if _share(f, "int", n) >= 0.9:
            ints = [v for v in f.values if isinstance(v, int)]
            if all(10**12 <= v < 10**13 for v in ints):
                candidates.append(("epoch_ms", 0.6 + 2 * bonus))
            elif all(10**9 <= v < 10**10 for v in ints):
                candidates.append(("epoch_s", 0.5 + 2 * bonus))
        for form, base in candidates:
            try:
                for value in f.values[:20]:
                    decode_time(value, form)
            except (ValueError, OverflowError, TypeError):
                continue
            score = round(min(1.0, base + bonus) * f.present / n, 2)
            if best is None or score > best.confidence:
                best, form_of = Guess("events.time", f.name, score, f"{form} values in {f.present}/{n} documents"), form
    if best is None and "_id" in fields and _share(fields["_id"], "objectid", n) >= 0.99:
        best, form_of = Guess("events.time", "_id", 0.45, "no time field: only the ObjectId's creation second, check it"), "objectid"
    return best, form_of


def _type(fields: dict[str, _Field], n: int, taken: set[str]) -> Guess | None:
    best = None
    for f in fields.values():
        if f.name in taken or _share(f, "str", n) < 0.9:
            continue
        values = [v for v in f.values if isinstance(v, str)]
        distinct = len(set(values))
        if distinct >= f.present or distinct > max(10, n // 3) or max((len(v) for v in values), default=0) > 120:
            continue
        score = round(min(1.0, 0.45 + 0.3 * (1 - distinct / max(1, n)) + 0.25 * _named(f.name, "type", "event", "kind", "name")), 2)
        if best is None or score > best.confidence:
            best = Guess("events.type", f.name, score, f"short string with {distinct} distinct values in {f.present}/{n} documents")
    return best


def _document_field(fields: dict[str, _Field], n: int, taken: set[str], key: str, words: tuple[str, ...],
                    loads: Callable[[str], Any]) -> tuple[Guess | None, str]:
    best, encoding = None, "bson"
    for f in fields.values():
        if f.name in taken:
            continue
        docs_share, text_share = _share(f, "doc", n), _share(f, "json", n)
        if docs_share >= 0.9:
            enc, share = "bson", docs_share
        elif text_share >= 0.9:
            try:
                if not all(isinstance(loads(v), Mapping) for v in f.values[:20] if isinstance(v, str)):
                    continue
            except Exception:
                continue
            enc, share = "json", text_share
        else:
            continue
        score = round(min(1.0, 0.55 + 0.35 * _named(f.name, *words)) * share, 2)
        if best is None or score > best.confidence:
            kind = "subdocument" if enc == "bson" else "JSON text"
            best, encoding = Guess(key, f.name, score, f"{kind} in {f.present}/{n} documents"), enc
    return best, encoding


def _propose(collection: str, docs: list[Mapping[str, Any]]) -> tuple[Proposal | None, float]:
    from store.codec import loads_json_text

    n = len(docs)
    if n < 2:
        return None, 0.0
    fields = _fields(docs)
    stream = _stream_id(fields, n)
    if stream is None:
        return None, 0.0
    guesses = [Guess("events.collection", collection, 1.0, f"{n} documents sampled")]
    guesses.append(stream)
    taken = {stream.value}
    version, base = _version(fields, docs, stream.value)
    time, time_form = _time(fields, n, taken | ({version.value} if version else set()))
    values: dict[str, Any] = {"collection": collection, "stream_id": (stream.value,)}
    if version is not None:
        guesses.append(version)
        taken.add(version.value)
        values.update(version="field", version_field=version.value, version_base=base)
    else:
        order = time.value if time is not None and time.value != "_id" else "_id"
        guesses.append(Guess("events.version", "none", 0.6, f"no integer rises within streams: events numbered in order of {order}"))
        values.update(version="none", order_by=order)
    if time is not None:
        guesses.append(time)
        taken.add(time.value)
        values.update(time=time.value, time_form=time_form)
    else:
        guesses.append(Guess("events.time", "", 0.0, "no date, ISO-8601 or epoch field"))
        values.update(time="recorded_at")
    event_type = _type(fields, n, taken)
    if event_type is not None:
        guesses.append(event_type)
        taken.add(event_type.value)
        values["type"] = event_type.value
    else:
        guesses.append(Guess("events.type", "", 0.0, "no short string field with few distinct values"))
        values["type"] = "type"
    payload, payload_encoding = _document_field(fields, n, taken, "events.payload", ("data", "payload", "body", "event"), loads_json_text)
    if payload is not None:
        taken.add(payload.value)
    metadata, metadata_encoding = _document_field(fields, n, taken, "events.metadata", ("meta", "header", "context"), loads_json_text)
    if metadata is not None and _named(metadata.value, "meta", "header", "context"):
        guesses.append(metadata)
        values.update(metadata=metadata.value, metadata_encoding=metadata_encoding)
    if payload is not None:
        guesses.append(payload)
        values.update(payload=payload.value, payload_encoding=payload_encoding)
    else:
        guesses.append(Guess("events.payload", "rest", 0.5, "no subdocument or JSON text field: the other fields are the payload"))
    layout = Layout(f"detected-{collection}", EventsSpec(**values), None,
                    description=f"proposed by detection from {n} documents of {collection!r}")
    score = stream.confidence + (version.confidence if version else 0.3) + (time.confidence if time else 0)
    return Proposal(layout, False, None, tuple(guesses), reason=f"proposed from {n} sampled documents of {collection!r} (not certain)"), score
