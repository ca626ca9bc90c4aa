"""Questions across streams on MongoDB: a search's condition as the server's filter, traces, statistics.

Native layout (``MongoStore``): the normalised fields are the document's own (``time`` is
``recorded_at``), so the whole condition runs on the server as one ``find`` (a sharded cluster
runs it on its shards); pages are found by key on (recorded_at, stream_id, version) or
(stream_id, version). Statistics come from ``$group`` pipelines, with FerretDB v1's fallbacks
(it has no ``$min``/``$max`` in ``$group``).

Foreign layouts (``LayoutStore``): each part of the condition is mapped to the tool's own fields
(paths, time forms, version bases, stream-id parts, the events array of commit shapes) as a
filter that holds for at least every matching document; what cannot be mapped (payloads kept as
JSON text, encoded fields, negations inside arrays) is left to the model's matcher, which checks
every decoded event. ``LayoutSearch.plan`` says which parts those are and what will be scanned.
"""
from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from model.event import Event
from model.ports import Correlated, SearchPage, SearchPlan, sort_key
from model.query import FIELDS, compile_query, conjuncts, event_view
from model.stats import Accumulator, TypeStatistics, day_of, longest_of
from model.trace import CORRELATION_KEYS, EVENT_ID_KEYS, Traced, default_ids, first_of

UTC = timezone.utc
#: Codes a server answers with when an aggregation stage or accumulator is not implemented.
UNSUPPORTED = {238, 15952, 15947, 168, 40324, 31082}
_TIME_KEYS = [("recorded_at", ASCENDING), ("stream_id", ASCENDING), ("version", ASCENDING)]
_STREAM_KEYS = [("stream_id", ASCENDING), ("version", ASCENDING)]


def unsupported(error: OperationFailure) -> bool:
    return error.code in UNSUPPORTED or (error.details or {}).get("codeName") == "NotImplemented"


def keyset(keys: list[tuple[str, int]], values: tuple) -> dict[str, Any]:
    """The documents after ``values`` in the order of ``keys`` (all ascending)."""
    branches = []
    for i, (field, _) in enumerate(keys):
        branch: dict[str, Any] = {k: v for (k, _), v in zip(keys[:i], values[:i])}
        branch[field] = {"$gt": values[i]}
        branches.append(branch)
    return {"$or": branches}


def _and(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One filter for all of ``parts``: their fields side by side where no two name the same one,
    ``$and`` only for those that do (FerretDB v1 pushes plain field conditions down to its
    database, not those under ``$and``: eight times faster on a type and a payload field)."""
    merged: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    for part in parts:
        for conjunct in conjuncts(part):
            (key, value), = conjunct.items()
            if key in merged:
                rest.append(conjunct)
            else:
                merged[key] = value
    if rest:
        merged["$and"] = rest
    return merged


# -- the native layout ---------------------------------------------------------------------------


def native_filter(query: Mapping[str, Any]) -> dict[str, Any]:
    """The condition over the native layout's fields (only ``time`` is named otherwise: ``recorded_at``),
    its conjunctions side by side where they can be (see ``_and``)."""
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key in ("$and", "$or", "$nor"):
            out[key] = [native_filter(q) for q in value]
        else:
            out["recorded_at" if key == "time" else key] = value
    return _and([out])


def _events_of(docs: list[dict]) -> list[Event]:
    from store.mongo import _events

    out: list[Event] = []
    start = 0
    for i in range(1, len(docs) + 1):
        if i == len(docs) or docs[i].get("stream_id") != docs[start].get("stream_id"):
            out.extend(_events(str(docs[start].get("stream_id")), docs[start:i]))
            start = i
    return out


def _index_keys(collection) -> list[list[str]]:
    try:
        return [list(index["key"]) for index in collection.list_indexes()]
    except OperationFailure:
        return []


def _served(collection, field: str) -> bool:
    return any(keys and keys[0] == field for keys in _index_keys(collection))


def _field_elem_match(value: Any) -> bool:
    """Whether a condition holds an ``$elemMatch`` on fields of the elements (FerretDB v1 refuses it)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "$elemMatch" and isinstance(inner, Mapping) and any(not str(k).startswith("$") for k in inner):
                return True
            if _field_elem_match(inner):
                return True
    elif isinstance(value, list):
        return any(_field_elem_match(v) for v in value)
    return False


class MongoQuestions:
    """The native store's answers (mixed into ``MongoStore``)."""

    def _split(self, query) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(the filter the server runs, the part EventLens checks itself: only what FerretDB v1 cannot run)."""
        if not getattr(self, "ferretdb", False) or not _field_elem_match(query):
            return native_filter(query), None
        server, rest = [], []
        for part in conjuncts(query):
            (rest if _field_elem_match(part) else server).append(part)
        return native_filter(_and(server)), _and(rest)

    def search(self, query, *, sort="time", after=None, limit=100, checkpoint=None) -> SearchPage:
        keys = _TIME_KEYS if sort == "time" else _STREAM_KEYS
        server, rest = self._split(query)
        if after is not None:
            server = _and([server, keyset(keys, tuple(after))])
        with self._errors("search events"):
            if rest is None:
                docs = list(self._events.find(server).sort(keys).limit(max(0, limit)))
            else:
                test, docs, scanned = compile_query(rest), [], 0
                with self._events.find(server).sort(keys).batch_size(1000) as cursor:
                    for doc in cursor:
                        scanned += 1
                        if test(event_view(_events_of([doc])[0])):
                            docs.append(doc)
                            if len(docs) >= limit:
                                break
                        if checkpoint is not None and scanned % 1000 == 0:
                            checkpoint(scanned, 0)
        events = _events_of(docs)
        if len(docs) < limit or limit <= 0:
            return SearchPage(events, None)
        last = docs[-1]
        values = tuple(last.get(k) for k, _ in keys)
        return SearchPage(events, values)

    def count_events(self, query, *, checkpoint=None) -> int:
        server, rest = self._split(query)
        with self._errors("count events"):
            if rest is None:
                return self._events.count_documents(server)
            test, found, scanned = compile_query(rest), 0, 0
            for doc in self._events.find(server, batch_size=1000):
                found += bool(test(event_view(_events_of([doc])[0])))
                scanned += 1
                if checkpoint is not None and scanned % 1000 == 0:
                    checkpoint(scanned, 0)
            return found

    def search_plan(self, query) -> SearchPlan:
        server, rest = self._split(query)
        note = ""
        if rest is not None:
            with self._errors("count candidates"):
                scanned = self._events.count_documents(server)
            note = (f"FerretDB {self.server_version} cannot run $elemMatch on fields of the elements: EventLens "
                    f"checks that part itself, scanning {scanned:,} events")
        roots = {k.split(".")[0] for c in conjuncts(query) for k in c if not k.startswith("$")}
        if "type" in roots:
            with self._errors("list indexes"):
                if not _served(self._events, "type"):
                    return SearchPlan(note, index='events {"type": 1, "recorded_at": 1}')
        return SearchPlan(note)

    def correlated(self, stream_id, version, *, checkpoint=None) -> Correlated | None:
        origin = self.origin_of(stream_id, version)
        if origin is None:
            return None
        if origin.correlation_id is None:
            return Correlated(origin, [origin])
        key = first_of(origin.event.metadata, CORRELATION_KEYS)[0]
        path = f"metadata.{key}"
        with self._errors("trace events"):
            docs = list(self._events.find({path: origin.correlation_id}).sort(_TIME_KEYS))
            served = _served(self._events, path)
        note = "" if served else (f"no index on events.{path}: db.events.createIndex({{{json.dumps(path)}: 1}}) "
                                  "would serve this lookup (it scanned the collection)")
        found = [default_ids(e) for e in _events_of(docs)]
        return Correlated(origin, found, note)

    def statistics(self, *, checkpoint=None) -> list[TypeStatistics]:
        with self._errors("compute statistics"):
            return native_statistics(self._events, checkpoint)


def native_statistics(events, checkpoint=None) -> list[TypeStatistics]:
    """Pipelines on the server: types, streams, first/last time, days; FerretDB v1's fallbacks where needed."""
    kinds: dict[str, dict] = {}

    def entry(stream_type: Any) -> dict:
        name = stream_type if isinstance(stream_type, str) else ""
        return kinds.setdefault(name, {"types": {}, "streams": {}, "first": None, "last": None, "days": {}})

    for row in events.aggregate([{"$group": {"_id": {"st": "$stream_type", "t": "$type"}, "n": {"$sum": 1}}}],
                                allowDiskUse=True):
        e = entry(row["_id"].get("st"))
        event_type = str(row["_id"].get("t"))
        e["types"][event_type] = e["types"].get(event_type, 0) + int(row["n"])
    if checkpoint is not None:
        checkpoint(1, 4)
    for row in events.aggregate([{"$group": {"_id": {"st": "$stream_type", "s": "$stream_id"}, "n": {"$sum": 1}}}],
                                allowDiskUse=True):
        e = entry(row["_id"].get("st"))
        sid = str(row["_id"].get("s"))
        e["streams"][sid] = e["streams"].get(sid, 0) + int(row["n"])
    if checkpoint is not None:
        checkpoint(2, 4)
    try:
        for row in events.aggregate([{"$group": {"_id": "$stream_type", "first": {"$min": "$recorded_at"},
                                                 "last": {"$max": "$recorded_at"}}}], allowDiskUse=True):
            e = entry(row["_id"])
            e["first"], e["last"] = row.get("first"), row.get("last")
    except OperationFailure as error:
        if not unsupported(error):
            raise
        for name in list(kinds):  # FerretDB v1: no $min/$max in $group; one sorted read each way
            for field, order in (("first", ASCENDING), ("last", DESCENDING)):
                doc = events.find_one({"stream_type": name}, {"recorded_at": 1}, sort=[("recorded_at", order)])
                kinds[name][field] = doc.get("recorded_at") if doc else None
    if checkpoint is not None:
        checkpoint(3, 4)
    try:
        day = {"$dateToString": {"format": "%Y-%m-%d", "date": "$recorded_at"}}
        for row in events.aggregate([{"$group": {"_id": {"st": "$stream_type", "d": day}, "n": {"$sum": 1}}}],
                                    allowDiskUse=True):
            e = entry(row["_id"].get("st"))
            e["days"][str(row["_id"].get("d"))] = int(row["n"])
    except OperationFailure as error:
        if not unsupported(error):
            raise
        for name in kinds:
            kinds[name]["days"] = {}
        done = 0
        for doc in events.find({}, {"stream_type": 1, "recorded_at": 1, "_id": 0}, batch_size=10_000):
            moment = doc.get("recorded_at")
            if isinstance(moment, datetime):
                days = entry(doc.get("stream_type"))["days"]
                key = day_of(moment)
                days[key] = days.get(key, 0) + 1
            done += 1
            if checkpoint is not None and done % 50_000 == 0:
                checkpoint(done, 0)
    out = []
    for name in sorted(kinds):
        e = kinds[name]
        out.append(TypeStatistics(name, len(e["streams"]), sum(e["streams"].values()), dict(sorted(e["types"].items())),
                                  _aware(e["first"]), _aware(e["last"]), longest_of(e["streams"].items()),
                                  dict(sorted(e["days"].items()))))
    return out


def _aware(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- foreign layouts -------------------------------------------------------------------------------

_POSITIVE = frozenset({"$eq", "$gt", "$gte", "$lt", "$lte", "$in", "$regex", "$options", "$all", "$elemMatch",
                       "$size"})
_NEGATIVE = frozenset({"$ne", "$nin", "$not"})


def _ops(condition: Any) -> dict[str, Any]:
    if isinstance(condition, Mapping) and condition and all(str(k).startswith("$") for k in condition):
        return dict(condition)
    return {"$eq": condition}


class LayoutMapping:
    """Where a layout keeps each normalised field, and how a condition on it reads on the server."""

    def __init__(self, layout):
        from store.layout import ARRAY_SHAPES, REST, _plan

        self.layout = layout
        spec = self.spec = layout.events
        self.array = spec.shape in ARRAY_SHAPES
        self.rest = REST
        plan = _plan(spec)
        self.encoded_own = set(plan.own)
        self.encoded_parent = set(plan.parent)

    # paths ------------------------------------------------------------------------------------------
    def _plain(self, path: str) -> str | None:
        """The server path of a layout path (``../`` for the commit, else inside each element), or None."""
        if not path or "|" in path:
            return None
        if path.startswith("../"):
            inner, encoded = path[3:], self.encoded_parent
            prefix = ""
        else:
            inner, encoded = path, self.encoded_own if self.array else self.encoded_parent | self.encoded_own
            prefix = f"{self.spec.events_field}." if self.array else ""
        if any(inner == e or inner.startswith(e + ".") for e in encoded):
            return None
        if self.array and self.spec.events_encoding != "bson" and not path.startswith("../"):
            return None
        return prefix + inner

    def _document_level(self, path: str) -> str | None:
        """A path read on the document itself (event shape) or the commit (``../``): sortable."""
        if self.array and not path.startswith("../"):
            return None
        return self._plain(path)

    def stream_paths(self) -> list[str] | None:
        paths = [self._plain("../" + p if self.array else p) for p in self.spec.stream_id]
        return None if any(p is None for p in paths) else paths  # type: ignore[return-value]

    def time_path(self) -> str | None:
        return self._plain(self.spec.time) if self.spec.time else None

    # conditions ---------------------------------------------------------------------------------------
    def pushdown(self, query: Mapping[str, Any]) -> tuple[dict[str, Any], bool, list[str]]:
        """(a server filter every matching document passes, whether it is exact, the paths left to EventLens)."""
        parts, exact, left = [], True, []
        for conjunct in conjuncts(query):
            pushed, ok, rest = self._conjunct(conjunct)
            if pushed:
                parts.append(pushed)
            exact = exact and ok
            left += rest
        if self.spec.filter:
            parts.insert(0, dict(self.spec.filter))
        return _and(parts), exact and not self.array, left

    def _conjunct(self, conjunct: dict[str, Any]) -> tuple[dict[str, Any], bool, list[str]]:
        (key, value), = conjunct.items()
        if key in ("$or", "$nor"):
            branches = [self.pushdown(q) for q in value]
            if key == "$or" and all(b[0] for b in branches):
                return {"$or": [b[0] for b in branches]}, all(b[1] for b in branches), [p for b in branches for p in b[2]]
            if key == "$nor" and all(b[0] and b[1] for b in branches) and not self.array:
                return {"$nor": [b[0] for b in branches]}, True, []
            return {}, False, [p for b in branches for p in b[2]] or [key]
        pushed = self._field(key, _ops(value))
        if pushed is None:
            return {}, False, [key]
        return pushed, pushed.pop("__exact__", True), []

    def _field(self, key: str, ops: dict[str, Any]) -> dict[str, Any] | None:
        spec = self.spec
        negative = bool(set(ops) & _NEGATIVE) or ops.get("$exists") is False
        if negative and self.array:
            return None
        if set(ops) - _POSITIVE - _NEGATIVE - {"$exists"} or _field_elem_match(ops):
            return None  # FerretDB v1 has no $elemMatch on fields of elements: the matcher checks it
        if key == "stream_id":
            paths = self.stream_paths()
            if paths is None:
                return None
            if len(paths) == 1:
                return {paths[0]: ops}
            if set(ops) == {"$eq"} and isinstance(ops["$eq"], str):
                pieces = ops["$eq"].split(spec.stream_id_separator, len(paths) - 1)
                if len(pieces) == len(paths):
                    return dict(zip(paths, pieces))
            return None
        if key == "stream_type":
            path = self._plain(("../" + spec.stream_type) if self.array else spec.stream_type) if spec.stream_type else None
            return {path: ops} if path else None
        if key == "type":
            path = self._plain(spec.type)
            if path is None:
                choices = [self._plain(c.strip()) for c in spec.type.split("|")]
                if negative or any(c is None for c in choices):
                    return None
                return {"$or": [{c: ops} for c in choices], "__exact__": False}
            # a C# discriminator may be a list whose last item is the type (commit shapes): a superset there
            return {path: ops} if not negative else None
        if key == "version":
            return self._version(ops)
        if key == "time":
            return self._time(ops)
        root, _, inner = key.partition(".")
        where, encoding = (spec.payload, spec.payload_encoding) if root == "data" else (spec.metadata, spec.metadata_encoding)
        if not where or encoding != "bson":
            return None
        if where == self.rest:
            return None if self.array else {inner: ops, "__exact__": False}
        path = self._plain(f"{where}.{inner}")
        return {path: ops} if path else None

    def _version(self, ops: dict[str, Any]) -> dict[str, Any] | None:
        spec = self.spec
        shift = spec.version_base - 1
        if set(ops) - {"$eq", "$gt", "$gte", "$lt", "$lte", "$in"}:
            return None
        if spec.version == "field":
            path = self._plain(spec.version_field)
            if path is None:
                return None
            moved = {op: ([v + shift for v in val] if op == "$in" else val + shift) for op, val in ops.items()}
            return {path: moved}
        if spec.version == "commit":
            first = self._plain("../" + spec.commit_first) if spec.commit_first else None
            last = self._plain("../" + spec.commit_last) if spec.commit_last else None
            out: dict[str, Any] = {}
            for op, val in ops.items():
                if op == "$in":
                    return None
                v = val + shift
                if op in ("$eq", "$gt", "$gte") and last:
                    out.setdefault(last, {})["$gt" if op == "$gt" else "$gte"] = v
                if op in ("$eq", "$lt", "$lte") and first:
                    out.setdefault(first, {})["$lt" if op == "$lt" else "$lte"] = v
            return dict(out, __exact__=False) if out else None
        return None

    def _time(self, ops: dict[str, Any]) -> dict[str, Any] | None:
        path = self.time_path()
        form = self.spec.time_form
        if path is None or set(ops) - {"$eq", "$gt", "$gte", "$lt", "$lte"}:
            return None
        if not all(isinstance(v, datetime) for v in ops.values()):
            return None
        if form == "date":
            return {path: ops}
        bounds: dict[str, Any] = {}
        for op, moment in ops.items():
            if op in ("$eq", "$gt", "$gte"):
                bounds["$gte"] = encode_bound(moment, form, low=True)
            if op in ("$eq", "$lt", "$lte"):
                bounds["$lt"] = encode_bound(moment, form, low=False)
        return {path: bounds, "__exact__": False}


def encode_bound(moment: datetime, form: str, *, low: bool) -> Any:
    """A stored-form bound that every time on that side of ``moment`` passes (widened to the form's precision)."""
    moment = moment.astimezone(UTC)
    if form == "date":
        return moment
    if form == "epoch_s":
        return int(moment.timestamp()) if low else int(moment.timestamp()) + 1
    if form == "epoch_ms":
        return int(moment.timestamp() * 1000) if low else int(moment.timestamp() * 1000) + 1
    second = moment.replace(microsecond=0)
    if form == "objectid":
        return ObjectId.from_datetime(second if low else second + timedelta(seconds=1))
    # ISO text: compared as text to the second (UTC), exact within it by the matcher
    return (second if low else second + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")


class LayoutQuestions:
    """A foreign layout's answers (mixed into ``LayoutStore``); its reads go through the layout."""

    def _mapping(self) -> LayoutMapping:
        found = getattr(self, "_question_mapping", None)
        if found is None:
            found = self._question_mapping = LayoutMapping(self.layout)
        return found

    def _order(self, sort: str) -> tuple[list[tuple[str, int]], Any] | None:
        """The server order and the key that groups documents the server cannot order further, or None."""
        m = self._mapping()
        spec = m.spec
        if sort == "time":
            path = m._document_level(spec.time) if spec.time else None
            if path is None:
                return None
            coarse = (lambda e: e.time.replace(microsecond=0)) if spec.time_form == "iso" else (lambda e: e.time)
            return [(path, ASCENDING), ("_id", ASCENDING)], coarse
        paths = m.stream_paths()
        if paths is None or len(paths) != 1:
            return None
        if spec.version == "field" and m._plain(spec.version_field):
            return [(paths[0], ASCENDING), (m._plain(spec.version_field), ASCENDING), ("_id", ASCENDING)], \
                (lambda e: (e.stream_id, e.version))
        if spec.version == "commit" and (spec.commit_first or spec.commit_last):
            order = m._plain("../" + (spec.commit_first or spec.commit_last))
            if order:
                return [(paths[0], ASCENDING), (order, ASCENDING), ("_id", ASCENDING)], \
                    (lambda e: (e.stream_id, e.version))
        return None

    def _lower_bound(self, sort: str, after: tuple) -> dict[str, Any]:
        m = self._mapping()
        if sort == "time":
            moment = after[1]
            if moment is None:
                return {}
            return {m._document_level(m.spec.time): {"$gte": encode_bound(moment, m.spec.time_form, low=True)}}
        return {m.stream_paths()[0]: {"$gte": after[0]}}

    def _question_events(self, name: str, doc: dict) -> list[Event]:
        from store.layout import decode_commit, decode_event

        if self._mapping().array:
            return decode_commit(doc, self.layout, collection=name)
        return [decode_event(doc, self.layout, collection=name)]

    def _ordered(self, name: str, server: dict, order, coarse, sort: str, checkpoint) -> Iterator[tuple[tuple, Event]]:
        collection = self._db[name]
        cursor = collection.find(server).sort(order).batch_size(500)
        group: list[tuple[tuple, Event]] = []
        current: Any = object()
        scanned = 0
        try:
            for doc in cursor:
                for event in self._question_events(name, doc):
                    key = coarse(event)
                    if group and key != current:
                        group.sort(key=lambda item: item[0])
                        yield from group
                        group = []
                    current = key
                    group.append((sort_key(event, sort), event))
                scanned += 1
                if checkpoint is not None and scanned % 500 == 0:
                    checkpoint(scanned, 0)
            group.sort(key=lambda item: item[0])
            yield from group
        finally:
            cursor.close()

    def search(self, query, *, sort="time", after=None, limit=100, checkpoint=None) -> SearchPage:
        m = self._mapping()
        ordered = self._order(sort)
        if ordered is None or m.spec.version == "none":
            return super().search(query, sort=sort, after=after, limit=limit, checkpoint=checkpoint)
        order, coarse = ordered
        server, _, _ = m.pushdown(query)
        if after is not None:
            server = _and([server, self._lower_bound(sort, tuple(after))])
        test = compile_query(query)
        with self._errors("search events"):
            streams = [self._ordered(n, server, order, coarse, sort, checkpoint) for n in self.collections()]
            merged = heapq.merge(*streams, key=lambda item: item[0]) if len(streams) > 1 else streams[0]
            wanted = (e for key, e in merged if (after is None or key > tuple(after)) and test(event_view(e)))
            events = list(islice(wanted, max(0, limit)))
            for stream in streams:
                stream.close()
        more = len(events) == limit and limit > 0
        return SearchPage(events, sort_key(events[-1], sort) if more else None)

    def count_events(self, query, *, checkpoint=None) -> int:
        m = self._mapping()
        if m.spec.version == "none":  # numbered by the store, not the documents: the slow way
            return super().count_events(query, checkpoint=checkpoint)
        server, exact, _ = m.pushdown(query)
        with self._errors("count events"):
            if exact:
                return sum(self._db[n].count_documents(server) for n in self.collections())
            test = compile_query(query)
            total = sum(self._db[n].count_documents(server) for n in self.collections())
            found = scanned = 0
            for name in self.collections():
                for doc in self._db[name].find(server, batch_size=1000):
                    found += sum(1 for e in self._question_events(name, doc) if test(event_view(e)))
                    scanned += 1
                    if checkpoint is not None and scanned % 500 == 0:
                        checkpoint(scanned, total)
        return found

    def search_plan(self, query) -> SearchPlan:
        m = self._mapping()
        server, exact, left = m.pushdown(query)
        names = self.collections()
        notes = []
        if left:
            encodings = {"data": m.spec.payload_encoding, "metadata": m.spec.metadata_encoding}
            fields = sorted({p if p.startswith("$") else p.split(".")[0] if p.split(".")[0] in encodings else p for p in left})
            why = ", ".join(f"{f} (kept as {encodings[f]} text)" if encodings.get(f, "bson") != "bson" else f for f in fields)
            with self._errors("count candidates"):
                scanned = sum(self._db[n].count_documents(server) for n in names)
            notes.append(f"the {self.layout.name} layout cannot run the condition on {why} on the server: "
                         f"EventLens filters the events itself, scanning {scanned:,} documents of {', '.join(names)}")
        if self._order("time") is None:
            notes.append(f"the {self.layout.name} layout's times cannot be ordered on the server: each page "
                         "reads every stream")
        return SearchPlan("; ".join(notes))

    # -- traces ---------------------------------------------------------------------------------------------
    def _ids(self, name: str, doc: dict) -> list[Traced]:
        """The events of a document with the ids the layout (or the usual names) gives them."""
        from store.layout import MISSING, Source, _plan, event_source

        m = self._mapping()
        spec = m.spec
        events = self._question_events(name, doc)
        parent = event_source(doc, spec)
        plan = _plan(spec)
        elements = None
        if m.array:
            from store.layout import commit_elements

            elements, _ = commit_elements(parent, spec)
        out = []
        for i, event in enumerate(events):
            own = parent
            if elements is not None and i < len(elements) and isinstance(elements[i], Mapping):
                own = Source(elements[i], plan.own, plan.roles)

            def raw(path: str) -> Any:
                if not path:
                    return None
                source, inner = (parent, path[3:]) if path.startswith("../") else (own, path)
                value = source.get(inner)
                return None if value is MISSING else value

            meta = event.metadata if isinstance(event.metadata, Mapping) else {}
            correlation = raw(spec.correlation_id) if spec.correlation_id else _first(meta, CORRELATION_KEYS)
            causation = raw(spec.causation_id) if spec.causation_id else _first(meta, ("causation_id", "causationId",
                                                                                        "$causationId"))
            if spec.event_id:
                event_id = raw(spec.event_id)
            else:
                event_id = _first(meta, EVENT_ID_KEYS)
                if event_id is None:
                    event_id = raw("eventIdentifier")
                if event_id is None and not m.array:
                    event_id = doc.get("_id")
            out.append(Traced(event, event_id, correlation, causation))
        return out

    def _correlation_filter(self, origin: Traced) -> tuple[dict[str, Any], str]:
        """A server filter for the documents that may share the origin's correlation id, and a note."""
        m = self._mapping()
        spec = m.spec
        value = origin.correlation_id
        if spec.correlation_id:
            path = m._plain(spec.correlation_id)
            holder = spec.correlation_id
        else:
            key = first_of(origin.event.metadata, CORRELATION_KEYS)[0]
            holder = f"{spec.metadata}.{key}" if spec.metadata else key
            path = m._plain(holder) if spec.metadata_encoding == "bson" else None
        if path is not None:
            served = any(_served(self._db[n], path) for n in self.collections())
            note = "" if served else (f"no index on {path}: createIndex({{{json.dumps(path)}: 1}}) on "
                                      f"{', '.join(self.collections())} would serve this lookup (it scanned)")
            return _and([dict(spec.filter), {path: value}]), note
        # kept in encoded text: the id's JSON text inside it is a filter every match passes
        text_field = holder.split(".")[0]
        base = f"{spec.events_field}.{text_field}" if m.array and not holder.startswith("../") else text_field.lstrip("./")
        if isinstance(value, str):
            literal = re.escape(json.dumps(value))
            return (_and([dict(spec.filter), {"$or": [{base: {"$regex": literal}}, {holder.replace("../", ""): value}]}]),
                    f"the {self.layout.name} layout keeps {holder} in encoded text: no index can serve the lookup; "
                    "the server searches the text and EventLens checks each match")
        return dict(spec.filter), f"the {self.layout.name} layout keeps {holder} in encoded text: every document was read"

    def correlated(self, stream_id, version, *, checkpoint=None) -> Correlated | None:
        if self._mapping().spec.version == "none":  # numbered by the store: read stream by stream
            return super().correlated(stream_id, version, checkpoint=checkpoint)
        origin_event = next((e for b in self.read(stream_id, from_version=version, to_version=version)
                             for e in b if e.version == version), None)
        if origin_event is None:
            return None
        origin = self._traced(origin_event)
        if origin.correlation_id is None:
            return Correlated(origin, [origin])
        server, note = self._correlation_filter(origin)
        found: list[Traced] = []
        with self._errors("trace events"):
            for name in self.collections():
                for doc in self._db[name].find(server, batch_size=500):
                    found += [t for t in self._ids(name, doc) if str(t.correlation_id) == str(origin.correlation_id)]
        return Correlated(origin, found, note)

    def _traced(self, event: Event) -> Traced:
        """The ids of one event, found again through its document."""
        server, _, _ = self._mapping().pushdown({"stream_id": event.stream_id, "version": event.version})
        for name in self.collections():
            for doc in self._db[name].find(server):
                for t in self._ids(name, doc):
                    if t.event.stream_id == event.stream_id and t.event.version == event.version:
                        return Traced(event, t.event_id, t.correlation_id, t.causation_id)
        return default_ids(event)


def _first(meta: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    found = first_of(meta, keys)
    return found[1] if found else None


def layout_statistics(store, checkpoint=None) -> list[TypeStatistics]:
    totals = Accumulator()
    for info, events in store._every_event(checkpoint):
        for e in events:
            totals.add(e.stream_type or info.stream_type, e.stream_id, e.type, e.time)
    return totals.result()


__all__ = ["MongoQuestions", "LayoutQuestions", "LayoutMapping", "native_filter", "keyset", "FIELDS"]
