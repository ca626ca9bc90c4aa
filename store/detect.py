"""Detect the layout of a database: recognise the presets, else propose one by scoring fields.

A preset is recognised by its field signature (certain). Otherwise detection samples each
collection (and each family of collections sharing a name prefix and a shape, as a pattern),
decodes what is JSON text or JSON in a binary, and proposes an event-, commit- or
stream-shaped layout: per key which field it chose, how sure it is (0..1), why, and the
runners-up. A stream id is scored by how it splits the documents: a field with one value in
every document is no stream id, one with a new value in every document is an event's id (or,
with an events array, a stream's own document).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId

from store.codec import looks_like_json, loads_json_text
from store.layout import MISSING, EventsSpec, Layout, decode_time, get_path, load_layout

#: Below this a field's role is reported as undecided.
DECIDED = 0.5
#: How deep detection looks into subdocuments for fields.
DEPTH = 3


@dataclass(frozen=True)
class Guess:
    """One decision: ``key`` is the layout key ("events.type"), ``value`` what was chosen.

    ``others`` are the runners-up as (value, confidence, reason), best first.
    """

    key: str
    value: Any
    confidence: float
    reason: str
    others: tuple[tuple[Any, float, str], ...] = ()


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
        """Layout keys detection could not decide (below DECIDED confidence), each with its best candidates."""
        if self.layout is None:
            return ["events.collection"]
        return [_undecided(g) for g in self.guesses if g.confidence < DECIDED]

    def to_toml(self) -> str:
        """The layout as TOML, each decided key commented with its confidence and reason."""
        head = [f"# {self.reason}"] if self.reason else []
        if self.layout is None:
            return "\n".join(head + ["# no layout could be proposed"]) + "\n"
        undecided = [g for g in self.guesses if g.confidence < DECIDED]
        if not self.certain and undecided:
            head.append(f"# undecided: {', '.join(g.key for g in undecided)} (check and edit before use)")
        comments = {}
        for g in self.guesses:
            text = f"confidence {g.confidence:.2f}: {g.reason}"
            if g.others:
                text += "; also " + "; ".join(f"{_shown(v)} ({c:.2f}: {r})" for v, c, r in g.others[:2])
            comments[g.key] = text
        return "\n".join(head) + ("\n" if head else "") + self.layout.to_toml(comments)


def _shown(value: Any) -> str:
    return '""' if value == "" else str(value)


def _undecided(g: Guess) -> str:
    if g.confidence == 0 and not g.others:
        return f"{g.key} (nothing found: {g.reason})"
    best = f"{_shown(g.value)} ({g.confidence:.2f}: {g.reason})"
    others = "".join(f"; or {_shown(v)} ({c:.2f}: {r})" for v, c, r in g.others[:2])
    return f"{g.key} (best {best}{others})"


# -- presets -----------------------------------------------------------------------------------

#: preset -> (collection or pattern, fields every sampled document has, fields none has)
SIGNATURES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "eventlens": ("events", ("stream_id", "version", "type", "data", "recorded_at"), ()),
    "neventstore": ("Commits", ("BucketId", "StreamId", "StreamRevisionFrom", "StreamRevisionTo", "CommitStamp", "Events"), ()),
    "axon-commit": ("domainevents", ("aggregateIdentifier", "firstSequenceNumber", "lastSequenceNumber", "events"), ()),
    "axon": ("domainevents", ("aggregateIdentifier", "sequenceNumber", "payloadType", "serializedPayload", "timestamp"),
             ("events",)),
    "eventflow": ("eventflow.events", ("AggregateId", "AggregateName", "AggregateSequenceNumber", "Data", "Metadata"), ()),
    "seed": ("events", ("aggregate-id", "type"), ("version", "stream_id")),
    "emmett": ("emt:*", ("streamName", "messages", "metadata.streamType", "metadata.streamPosition"), ()),
    "akka": ("akka_persistence_journal*", ("pid", "from", "to", "events", "v"), ()),
    "aett": ("commits", ("TenantId", "StreamId", "StreamRevision", "CommitSequence", "CommitStamp", "Events",
                         "CheckpointToken"), ()),
}


def _sample(db: Any, name: str, size: int) -> list[Mapping[str, Any]]:
    return list(db[name].find({}, limit=size))


def _matches(docs: list[Mapping[str, Any]], required: tuple[str, ...], absent: tuple[str, ...]) -> bool:
    return bool(docs) and all(all(get_path(d, f) is not MISSING for f in required) and not any(f in d for f in absent)
                              for d in docs)


def _samples(db: Any, sample: int) -> dict[str, list[Mapping[str, Any]]]:
    names = sorted(n for n in db.list_collection_names() if not n.startswith("system.") and n != "eventlens_snapshots")
    return {n: _sample(db, n, sample) for n in names}


def detect_layout(db: Any, sample: int = 200) -> Proposal:
    """Sample every collection of ``db`` (a pymongo Database) and propose a layout for its events."""
    import fnmatch

    samples = _samples(db, sample)
    for preset, (collection, required, absent) in SIGNATURES.items():
        names = [n for n in samples if fnmatch.fnmatchcase(n, collection)] if "*" in collection else [collection]
        docs = [d for n in names for d in samples.get(n, [])]
        if names and all(_matches(samples.get(n, []), required, absent) for n in names if samples.get(n)) and docs:
            where = f"{len(names)} collections {collection!r}" if "*" in collection else repr(collection)
            return Proposal(load_layout(preset), True, preset,
                            reason=f"detected preset {preset}: every sampled document of {where} has {', '.join(required)}")
    return _best(samples)


def propose(db: Any, sample: int = 200) -> Proposal:
    """Detection without the presets: a layout proposed from the sampled fields alone."""
    return _best(_samples(db, sample))


def _best(samples: dict[str, list[Mapping[str, Any]]]) -> Proposal:
    best: Proposal | None = None
    best_score = 0.0
    for names, collection, docs in _candidates(samples):
        proposal, score = _propose(names, collection, docs)
        if proposal is not None and score > best_score:
            best, best_score = proposal, score
    if best is None:
        return Proposal(None, False, reason=f"no collection looks like events (sampled {len(samples)} collections)")
    return best


_SEPARATORS = re.compile(r"[:_.\-]")


def _candidates(samples: dict[str, list[Mapping[str, Any]]]):
    """Each collection alone, then families sharing a name prefix (up to a separator) and top-level fields."""
    for name, docs in samples.items():
        yield [name], name, [(name, d) for d in docs]
    families: dict[tuple[str, frozenset], list[str]] = defaultdict(list)
    for name, docs in samples.items():
        if not docs:
            continue
        keys = frozenset(k for k in docs[0] if k != "_id")
        for match in _SEPARATORS.finditer(name):
            families[(name[:match.end()], keys)].append(name)
        families[(name, keys)].append(name)  # a family may be "journal" with "journal_2"
    seen: set[tuple[str, ...]] = set()
    for (prefix, keys), _ in sorted(families.items(), key=lambda kv: -len(kv[0][0])):
        members = sorted(n for n in samples if n.startswith(prefix) and samples[n]
                         and frozenset(k for k in samples[n][0] if k != "_id") == keys)
        if len(members) < 2 or tuple(members) in seen:
            continue
        seen.add(tuple(members))
        yield members, prefix + "*", [(n, d) for n in members for d in samples[n]]


# -- looking inside encoded fields -------------------------------------------------------------


def _decoded(value: Any) -> tuple[Any, str]:
    """``value`` decoded when it is JSON text or JSON bytes (an object or an array), with its encoding."""
    quoted = isinstance(value, str) and value[:1] == '"' or isinstance(value, bytes) and value[:1] == b'"'
    if not looks_like_json(value) and not quoted:
        return value, "bson"
    try:
        first = loads_json_text(value)
        if isinstance(first, str) and looks_like_json(first):
            return loads_json_text(first, nested=True), "json-in-json"
    except Exception:
        return value, "bson"
    return (first, "json") if isinstance(first, (dict, list)) else (value, "bson")


def _view(value: Any, path: str, encodings: Counter, depth: int) -> Any:
    """A document with every JSON text or binary (to DEPTH) decoded; ``encodings`` counts path -> encoding."""
    if isinstance(value, (str, bytes)):
        decoded, encoding = _decoded(value)
        if encoding != "bson":
            encodings[(path, encoding)] += 1
            value = decoded
    if isinstance(value, Mapping) and depth < DEPTH:
        return {str(k): _view(v, f"{path}.{k}" if path else str(k), encodings, depth + 1) for k, v in value.items()}
    return value


def _encodings(counter: Counter, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for (path, encoding), _ in counter.most_common():
        if path and path not in out:
            out[path] = encoding
    return out


# -- scoring fields ----------------------------------------------------------------------------


@dataclass
class _Field:
    name: str
    present: int = 0
    forms: Counter = field(default_factory=Counter)
    values: list[Any] = field(default_factory=list)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _form(value: Any) -> str:
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
        return "iso" if _ISO.match(value) else "str"
    if isinstance(value, Mapping):
        return "doc"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _fields(docs: list[Mapping[str, Any]]) -> dict[str, _Field]:
    out: dict[str, _Field] = {}

    def walk(doc: Mapping[str, Any], prefix: str, depth: int) -> None:
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            f = out.setdefault(path, _Field(path))
            f.present += 1
            f.forms[_form(value)] += 1
            f.values.append(value)
            if isinstance(value, Mapping) and depth + 1 < DEPTH:
                walk(value, path, depth + 1)

    for doc in docs:
        walk(doc, "", 0)
    return out


def _named(name: str, *words: str) -> float:
    lowered = name.lower().rsplit(".", 1)[-1]
    return 1.0 if any(w in lowered for w in words) else 0.0


def _share(f: _Field, form: str, n: int) -> float:
    return f.forms[form] / n if n else 0.0


def _ranked(key: str, found: list[tuple[float, Any, str]]) -> Guess | None:
    if not found:
        return None
    found.sort(key=lambda t: -t[0])
    (score, value, reason), rest = found[0], found[1:4]
    return Guess(key, value, round(score, 2), reason, tuple((v, round(s, 2), r) for s, v, r in rest))


def _stream_id(fields: dict[str, _Field], n: int, *, one_per_document: bool) -> tuple[Guess | None, list[str]]:
    """The stream id by how it splits the documents; also the fields refused, with why."""
    found: list[tuple[float, Any, str]] = []
    refused: list[str] = []
    for f in fields.values():
        if f.name == "_id" or _share(f, "str", n) + _share(f, "objectid", n) < 0.9:
            continue
        counts = Counter(str(v) for v in f.values)
        distinct = len(counts)
        if distinct == 1 and n > 1:
            refused.append(f"{f.name} (one value in every document)")
            continue
        per_stream = f.present / distinct
        largest = counts.most_common(1)[0][1] / f.present
        name = 0.3 * _named(f.name, "stream", "aggregate", "entity", "pid", "persistence") + 0.1 * _named(f.name, "id", "name")
        if per_stream < 1.5:
            if not one_per_document:
                refused.append(f"{f.name} (a new value in almost every document: an event's id)")
                continue
            score = 0.45 + name + 0.1 * (distinct == f.present)
            reason = f"string field with a different value in each of {f.present}/{n} documents: one document per stream"
        else:
            score = 0.55 + 0.15 * min(per_stream / 3, 1) + name - (0.3 if largest > 0.8 else 0)
            reason = f"string field in {f.present}/{n} documents, {distinct} values shared by ~{per_stream:.1f} documents each"
        found.append((min(1.0, score) * f.present / n, f.name, reason))
    return _ranked("events.stream_id", found), refused


_TIME_FORMS = (("date", 0.95), ("iso", 0.9))


def _times(fields: dict[str, _Field], n: int, taken: set[str], prefix: str = "") -> list[tuple[float, Any, str, str]]:
    out = []
    for f in fields.values():
        if f.name in taken or f.present < 0.9 * n:
            continue
        bonus = 0.05 * _named(f.name, "time", "stamp", "date", "_at", "created", "recorded", "occurred")
        candidates: list[tuple[str, float]] = [(form, base) for form, base in _TIME_FORMS if _share(f, form, n) >= 0.9]
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
            out.append((round(min(1.0, base + bonus) * f.present / n, 2), prefix + f.name, f"{form} values in {f.present}/{n} documents", form))
    return out


def _type(fields: dict[str, _Field], n: int, taken: set[str]) -> Guess | None:
    found = []
    for f in fields.values():
        if f.name in taken or _share(f, "str", n) < 0.9:
            continue
        values = [v for v in f.values if isinstance(v, str)]
        distinct = len(set(values))
        if distinct >= f.present or distinct > max(10, n // 3) or max((len(v) for v in values), default=0) > 120:
            continue
        spread = 0.25 if distinct > 1 else 0.0  # one value everywhere is a weak type
        score = 0.4 + spread + 0.1 * (1 - distinct / max(1, n)) + 0.25 * _named(f.name, "type", "event", "kind", "name", "topic", "manifest")
        found.append((round(min(1.0, score), 2), f.name, f"short string with {distinct} distinct values in {f.present}/{n} documents"))
    return _ranked("events.type", found)


def _document_field(fields: dict[str, _Field], n: int, taken: set[str], key: str, words: tuple[str, ...],
                    encodings: Mapping[str, str]) -> tuple[Guess | None, str]:
    found = []
    for f in fields.values():
        if f.name in taken or "." in f.name or _share(f, "doc", n) < 0.9:
            continue
        encoding = encodings.get(f.name, "bson")
        score = round(min(1.0, 0.55 + 0.35 * _named(f.name, *words)) * _share(f, "doc", n), 2)
        held = {"bson": "subdocument", "json": "JSON (text or binary)", "json-in-json": "JSON text inside JSON text"}[encoding]
        found.append((score, f.name, f"{held} in {f.present}/{n} documents"))
    guess = _ranked(key, found)
    return guess, encodings.get(guess.value, "bson") if guess else "bson"


def _groups(docs: list[Mapping[str, Any]], stream: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        out[str(get_path(doc, stream))].append(i)
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _event_version(fields: dict[str, _Field], docs: list[Mapping[str, Any]], stream: str) -> tuple[Guess | None, int]:
    found, bases = [], {}
    groups = _groups(docs, stream)
    for f in fields.values():
        if f.name in ("_id", stream) or _share(f, "int", len(docs)) < 0.9:
            continue
        per = [[v for v in (_int(get_path(docs[i], f.name)) for i in idx) if v is not None] for idx in groups.values()]
        per = [v for v in per if v]
        if not per:
            continue
        unique = sum(len(set(v)) == len(v) for v in per) / len(per)
        contiguous = sum(max(v) - min(v) + 1 == len(v) for v in per) / len(per)
        if unique < 0.9:
            continue
        starts = Counter(min(v) for v in per)
        base = 0 if starts[0] > starts[1] else 1
        score = min(1.0, 0.4 * unique + 0.4 * contiguous + 0.2 * _named(f.name, "version", "sequence", "revision", "seq", "position", "sn"))
        bases[f.name] = base
        found.append((score, f.name, f"integer unique within each stream in {unique:.0%} of streams, contiguous in "
                                     f"{contiguous:.0%}, counting from {base}"))
    guess = _ranked("events.version_field", found)
    return guess, bases.get(guess.value, 1) if guess else 1


# -- proposing ---------------------------------------------------------------------------------


def _events_array(views: list[Mapping[str, Any]]) -> tuple[str, str, list[list[Any]], Counter] | None:
    """The field holding each document's events (decoded elements), with the elements' encoding."""
    n = len(views)
    best: tuple[float, str] | None = None
    for key in {k for v in views for k in v}:
        arrays = [v.get(key) for v in views]
        lists = [a for a in arrays if isinstance(a, list)]
        if len(lists) < 0.9 * n or not any(lists):
            continue
        elements = [e for a in lists for e in a]
        usable = sum(isinstance(e, Mapping) or (_decoded(e)[1] != "bson" and isinstance(_decoded(e)[0], Mapping)) for e in elements)
        if not elements or usable < 0.9 * len(elements):
            continue
        score = usable + 10 * _named(key, "event", "message", "batch", "change")
        if best is None or score > best[0]:
            best = (score, key)
    if best is None:
        return None
    key = best[1]
    element_encodings: Counter = Counter()
    per_doc: list[list[Any]] = []
    for v in views:
        out = []
        for element in v.get(key) or []:
            if not isinstance(element, Mapping):
                element, encoding = _decoded(element)
                element_encodings[encoding] += 1
            out.append(element)
        per_doc.append(out)
    encoding = element_encodings.most_common(1)[0][0] if element_encodings else "bson"
    return key, encoding, per_doc, element_encodings


def _propose(names: list[str], collection: str, pairs: list[tuple[str, Mapping[str, Any]]]) -> tuple[Proposal | None, float]:
    n = len(pairs)
    if n < 2:
        return None, 0.0
    counter: Counter = Counter()
    views = [_view(doc, "", counter, 0) for _, doc in pairs]
    encodings = _encodings(counter)
    where = f"{len(names)} collections matching {collection!r}" if "*" in collection else repr(collection)
    head = Guess("events.collection", collection, 1.0, f"{n} documents sampled from {where}")
    values: dict[str, Any] = {"collection": collection}
    if "*" in collection:
        values["stream_type_from_collection"] = "^" + re.escape(collection[:-1]) + "(.+)$"
    array = _events_array(views)
    if array is not None:
        proposal, score = _propose_array(names, collection, views, encodings, array, head, values, where)
    else:
        proposal, score = _propose_events(collection, views, encodings, head, values, where)
    if proposal is not None and "*" in collection:
        score += 0.5  # a family of collections in one shape reads all of them, not one
    return proposal, score


def _propose_events(collection, views, encodings, head, values, where) -> tuple[Proposal | None, float]:
    n = len(views)
    fields = _fields(views)
    stream, refused = _stream_id({k: f for k, f in fields.items() if "." not in k}, n, one_per_document=False)
    if stream is None:
        return None, 0.0
    guesses = [head, stream]
    taken = {stream.value}
    version, base = _event_version({k: f for k, f in fields.items() if "." not in k}, views, stream.value)
    times = _times(fields, n, taken | ({version.value} if version else set()))
    values["stream_id"] = (stream.value,)
    if version is not None:
        guesses.append(version)
        taken.add(version.value)
        values.update(version="field", version_field=version.value, version_base=base)
    else:
        best_time = max(times, default=None)
        order = best_time[1] if best_time is not None else "_id"
        guesses.append(Guess("events.version", "none", 0.6, f"no integer rises within streams: events numbered in order of {order}"))
        values.update(version="none", order_by=order)
    time = _time_guess(times, fields, n, enclosing=None)
    guesses.append(time[0])
    values.update(time=time[1], time_form=time[2])
    if time[1]:
        taken.add(time[1].split(".")[0])
    _fill_type_payload(fields, n, taken, encodings, guesses, values, rest_allowed=True)
    layout = Layout(f"detected-{_slug(collection)}", EventsSpec(**values), None,
                    description=f"proposed by detection from {n} documents of {where}")
    score = stream.confidence + (version.confidence if version else 0.3) + time[0].confidence
    return Proposal(layout, False, None, tuple(guesses), reason=f"proposed from {n} sampled documents of {where} "
                    f"(one document per event; not certain)"), score


def _slug(collection: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", collection).strip("-") or "events"


def _time_guess(times, fields, n, *, enclosing: str | None, enclosing_times=(), doc_is_stream: bool = False):
    """The time key: the events' own, else the enclosing document's, else the ObjectId, else none."""
    ranked = sorted(times, key=lambda t: -t[0])
    others = [(v, c, r) for c, v, r, _ in ranked[1:3]]
    if ranked:
        c, v, r, form = ranked[0]
        return Guess("events.time", v, c, r, tuple(others)), v, form
    outer = sorted(enclosing_times, key=lambda t: -t[0])
    if outer and not doc_is_stream:
        c, v, r, form = outer[0]
        return Guess("events.time", v, round(c * 0.9, 2), f"the events have none: the enclosing document's ({r})",
                     tuple((v2, c2, r2) for c2, v2, r2, _ in outer[1:3])), v, form
    prefix = "../" if enclosing is not None else ""
    ids = fields.get("_id") if enclosing is None else enclosing
    if not doc_is_stream and ids is not None and _share(ids, "objectid", len(ids.values)) >= 0.99:
        return Guess("events.time", prefix + "_id", 0.45, "no time field: only the ObjectId's creation second, check it",
                     (("", 0.4, "or none: the events have no time"),)), prefix + "_id", "objectid"
    if doc_is_stream:
        skipped = tuple((v, 0.2, "the stream document's own time, not its events'") for _, v, _, _ in outer[:2])
        return Guess("events.time", "", 0.6, "no element carries a time: the events have none (the timeline shows versions)",
                     skipped), "", "date"
    return Guess("events.time", "", 0.4, "no date, ISO-8601 or epoch field: the events have no time"), "", "date"


def _fill_type_payload(fields, n, taken, encodings, guesses, values, *, rest_allowed: bool, decode_prefix: str = "") -> None:
    event_type = _type(fields, n, taken)
    if event_type is not None:
        guesses.append(event_type)
        taken.add(event_type.value.split(".")[0] if "." in event_type.value and event_type.value.split(".")[0] not in
                  {f for f in fields if fields[f].forms.get("doc")} else event_type.value)
        values["type"] = event_type.value
    else:
        guesses.append(Guess("events.type", "", 0.0, "no short string field with few distinct values"))
        values["type"] = "type"
    payload, payload_encoding = _document_field(fields, n, taken, "events.payload", ("data", "payload", "body", "event", "fields"), encodings)
    if payload is not None:
        taken.add(payload.value)
    metadata, metadata_encoding = _document_field(fields, n, taken, "events.metadata", ("meta", "header", "context"), encodings)
    if metadata is not None and _named(metadata.value, "meta", "header", "context"):
        guesses.append(metadata)
        values.update(metadata=metadata.value, metadata_encoding=metadata_encoding)
    if payload is not None:
        guesses.append(payload)
        values.update(payload=payload.value, payload_encoding=payload_encoding)
    elif rest_allowed:
        guesses.append(Guess("events.payload", "rest", 0.5, "no subdocument or JSON field: the other fields are the payload"))
        values["payload"] = "rest"
    else:
        guesses.append(Guess("events.payload", "", 0.3, "no subdocument or JSON field in the events"))
        values["payload"] = ""
    used = {values.get("payload", ""), values.get("metadata", ""), values["type"], values.get("time", "")}
    decode = {p: e for p, e in encodings.items() if e != "bson" and p not in (values.get("payload"), values.get("metadata"))
              and any(u == p or u.startswith(p + ".") for u in used if u)}
    if decode:
        values["decode"] = {**values.get("decode", {}), **{decode_prefix + p: e for p, e in decode.items()}}


def _propose_array(names, collection, views, encodings, array, head, values, where) -> tuple[Proposal | None, float]:
    key, element_encoding, per_doc, _ = array
    n = len(views)
    commit_fields = {k: f for k, f in _fields(views).items() if k != key and not k.startswith(key + ".")}
    stream, refused = _stream_id(commit_fields, n, one_per_document=True)
    if stream is None:
        return None, 0.0
    counts = Counter(str(get_path(v, stream.value)) for v in views)
    doc_is_stream = max(counts.values()) == 1
    shape = "stream" if doc_is_stream else "commit"
    values.update(shape=shape, events_field=key, stream_id=(stream.value,))
    if encodings.get(key, "bson") != "bson":
        values["events_encoding"] = encodings[key]
    if element_encoding != "bson":
        values["element_encoding"] = element_encoding
    guesses = [head, stream, Guess("events.shape", shape, 0.9 if doc_is_stream else 0.8,
                                   f"each document holds its events in {key!r}" +
                                   (", one document per stream" if doc_is_stream else ", several documents per stream"))]
    element_counter: Counter = Counter()
    elements_views = [[_view(e, "", element_counter, 0) if isinstance(e, Mapping) else e for e in doc] for doc in per_doc]
    flat = [e for doc in elements_views for e in doc if isinstance(e, Mapping)]
    m = len(flat)
    if not m:
        return None, 0.0
    element_fields = _fields(flat)
    element_encodings = _encodings(element_counter)
    # versions: bounds on the document, each element's own number, or counted in order
    lens = [len(doc) for doc in elements_views]
    groups = _groups(views, stream.value)
    ints = [f.name for f in commit_fields.values() if _share(f, "int", n) >= 0.9]
    found: list[tuple[float, Any, str]] = []
    bounds: dict[Any, tuple[str, str, int]] = {}
    for a in ints:
        for b in ints:
            if a == b:
                continue
            ok = sum(_int(get_path(v, b)) is not None and _int(get_path(v, a)) is not None
                     and get_path(v, b) - get_path(v, a) + 1 == size for v, size in zip(views, lens)) / n
            if ok >= 0.9:
                firsts = [get_path(views[idx[0]], a) for idx in groups.values()]
                base = 0 if Counter(min(get_path(views[i], a) for i in idx) for idx in groups.values())[0] > len(firsts) / 2 else 1
                found.append((0.6 + 0.4 * ok, (a, b), f"{a}..{b} spans each document's {key} in {ok:.0%} of documents"))
                bounds[(a, b)] = (a, b, base)
    for last in ints:
        ok_streams, bases = 0, Counter()
        for idx in groups.values():
            ordered = sorted(idx, key=lambda i: get_path(views[i], last))
            start = get_path(views[ordered[0]], last) - lens[ordered[0]] + 1
            chain = all(get_path(views[j], last) - lens[j] == get_path(views[i], last) for i, j in zip(ordered, ordered[1:]))
            if start in (0, 1) and chain:
                ok_streams += 1
                bases[start] += 1
        ok = ok_streams / max(1, len(groups))
        if ok >= 0.9:
            base = bases.most_common(1)[0][0]
            found.append((0.55 + 0.35 * ok + 0.05 * _named(last, "revision", "position", "version", "seq", "to"), ("", last),
                          f"{last} names each document's last event: the revisions before it add up in {ok:.0%} of streams"))
            bounds[("", last)] = ("", last, base)
    commit_version = _ranked("events.commit_last", found)
    element_version, element_base = _element_version(element_fields, elements_views, views, stream.value, m)
    taken_elements: set[str] = set()
    owners = [str(get_path(view, stream.value)) for view, doc in zip(views, elements_views) for e in doc if isinstance(e, Mapping)]
    for f in element_fields.values():  # copies of the stream id inside each event are no event type
        if _share(f, "str", m) >= 0.9 and all(str(get_path(e, f.name)) == owner for e, owner in zip(flat, owners)):
            taken_elements.add(f.name)
    if commit_version is not None:
        first, last, base = bounds[commit_version.value]
        values.update(version="commit", commit_last=last, version_base=base)
        if first:
            values["commit_first"] = first
            values["order_by"] = first
        guesses.append(Guess("events.commit_last", last, commit_version.confidence, commit_version.reason, commit_version.others))
        if element_version is not None and element_base == base and element_version.confidence >= 0.8:
            values["version_field"] = element_version.value
            taken_elements.add(element_version.value)
            guesses.append(element_version)
    else:
        order = "_id"
        for name in ints:
            if _named(name, "seq", "checkpoint", "position", "offset", "sequence"):
                order = name
                break
        values.update(version="none", order_by=order)
        guesses.append(Guess("events.version", "none", 0.55, f"no revision on the documents: events counted in order of {order}"))
    # time: the element's own, else the enclosing document's (never a stream document's: it is not the events')
    element_times = _times(element_fields, m, taken_elements)
    commit_times = _times(commit_fields, n, {stream.value}, prefix="../")
    time = _time_guess(element_times, element_fields, m, enclosing=commit_fields.get("_id"),
                       enclosing_times=commit_times, doc_is_stream=doc_is_stream)
    guesses.append(time[0])
    values.update(time=time[1], time_form=time[2])
    if time[1] and not time[1].startswith("../"):
        taken_elements.add(time[1])
    _fill_type_payload(element_fields, m, taken_elements, element_encodings, guesses, values, rest_allowed=False)
    outer = {"../" + p: e for p, e in encodings.items() if p != key and not p.startswith(key + ".") and e != "bson"
             and any(str(values.get(k, "")).startswith("../" + p) for k in ("time",))}
    if outer:
        values["decode"] = {**values.get("decode", {}), **outer}
    layout = Layout(f"detected-{_slug(collection)}", EventsSpec(**values), None,
                    description=f"proposed by detection from {n} documents of {where}")
    version_confidence = commit_version.confidence if commit_version else 0.4
    score = 0.5 + stream.confidence + version_confidence + time[0].confidence
    note = f"; refused as stream id: {', '.join(refused)}" if refused else ""
    return Proposal(layout, False, None, tuple(guesses), reason=f"proposed from {n} sampled documents of {where} "
                    f"({m} events in {key!r}; not certain){note}"), score


def _element_version(fields, elements_views, views, stream: str, m: int) -> tuple[Guess | None, int]:
    found, bases = [], {}
    per_stream: dict[str, list[list[Mapping[str, Any]]]] = defaultdict(list)
    for view, elements in zip(views, elements_views):
        per_stream[str(get_path(view, stream))].append([e for e in elements if isinstance(e, Mapping)])
    for f in fields.values():
        if _share(f, "int", m) < 0.9:
            continue
        good = 0
        starts = Counter()
        for docs in per_stream.values():
            numbers = [_int(get_path(e, f.name)) for d in docs for e in d]
            numbers = [x for x in numbers if x is not None]
            if numbers and sorted(numbers) == list(range(min(numbers), min(numbers) + len(numbers))):
                good += 1
                starts[min(numbers)] += 1
        ok = good / max(1, len(per_stream))
        if ok >= 0.9:
            base = 0 if starts[0] > starts[1] else 1
            bases[f.name] = base
            found.append((0.5 + 0.4 * ok + 0.1 * _named(f.name, "version", "sequence", "revision", "position", "sn", "seq"),
                          f.name, f"each event's own number, contiguous within {ok:.0%} of streams, counting from {base}"))
    guess = _ranked("events.version_field", found)
    return guess, bases.get(guess.value, 1) if guess else 1
