"""Filling a layout's stream list cache from the server, and keeping it up to date.

**A build** reads every document once, as ``LayoutStore`` always did (a ``$group`` with
``$min``/``$max`` where the server has them, else a scan projecting only the fields the list
needs), with progress and cancellation between batches, into a new cache file.

**A refresh** reads only what changed where the layout allows it: documents are immutable once
written (every shape but ``stream``, whose documents grow in place) and each collection's
``_id`` increases as they are written (ObjectIds, or a tool's integer checkpoint such as
NEventStore's or EventFlow's). Writers are not perfectly ordered (ObjectIds come from the
clients' clocks, checkpoints from concurrent commits), so a refresh reads again from a stretch
before the newest ``_id`` it saw (``SLACK`` for ObjectIds, ``SEQUENCE_SLACK`` for integers)
and skips the documents of that stretch it already counted, whose ids the cache remembers.
Then it checks the count: the documents the cache accounts for must lie between the
collection's count before the refresh and after it. A count outside (a document written far
below the newest, or one deleted) rebuilds the whole list; so does a layout without such an
``_id``. ``quick`` asks only what is cheap, and only where it is: on MongoDB a collection's
count comes from its metadata (``$collStats``), so when every collection holds as many
documents as at the last look nothing was added and nothing is read, and otherwise only the
new documents are. FerretDB v1 on PostgreSQL answers ``$collStats`` with PostgreSQL's estimate
(-1 before its first ANALYZE) and counts exactly only by reading every document, so there a
quick look reads nothing and the list keeps its age.

**The first page without a cache** (``IndexPages``): where the stream id is one field with an
index of its own first (and every id in it has one BSON type, so the index order is the
order of its values), and the server says by ``explain`` that it walks that index, pages of
stream ids sorted by id come from a skip scan of the index (each step asks for the ids after
the last one seen), the statistics of the rows on the page from their own documents, and the
total from a distinct count of the index. FerretDB v1 scans for every query (its ``explain``
says so), so there the first page waits for the build.
"""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from model.errors import CancelledError
from model.event import StreamInfo
from model.ports import CatalogueState
from store.catalogue_cache import Build, CatalogueCache, Meta, _short, now
from store.layout import _plan, join_stream_id
from store.mongo import collection_count

if TYPE_CHECKING:
    from store.layout_store import LayoutStore, _Entry

#: How far behind the newest ObjectId seen a document may still be written (clocks, transactions).
SLACK = timedelta(minutes=2)
#: The same for integer checkpoints: how many below the newest may still be committed later.
SEQUENCE_SLACK = 10_000
#: Streams kept in memory during a build before they are merged into the file.
FLUSH_STREAMS = 200_000
#: Documents between two progress reports and cancellation checks.
CHECK_EVERY = 1_000

Progress = Callable[[int, int, str], None]


def id_kind(value: Any) -> str:
    """"objectid" or "int" for an ``_id`` that grows as documents are written; "" for any other."""
    if isinstance(value, ObjectId):
        return "objectid"
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"
    return ""


def window_start(id_type: str, newest: Any) -> Any:
    """The lowest ``_id`` a document written after ``newest`` may still carry."""
    if id_type == "objectid":
        return ObjectId.from_datetime(newest.generation_time - SLACK)
    return newest - SEQUENCE_SLACK


@dataclass
class Outcome:
    """What an update did: ``changed`` when the list is not what it was; ``note`` one line or ""."""

    changed: bool = False
    rebuilt: bool = False
    documents: int = 0  # documents read
    note: str = ""
    verified: bool = True  # False: the list was left as it was, not checked against the store


class _Watch:
    """Per document of a scan: counting, progress, cancellation, the ``_id``s to remember."""

    def __init__(self, sync: "Sync", name: str, known: set[Any] | None = None, id_type: str | None = None):
        self.sync, self.name = sync, name
        self.known = known or set()
        self.docs = 0
        self.id_type = id_type  # None: not known yet; "": mixed or not increasing
        self.newest: Any = None
        self.ids: dict[Any, None] = {}  # ids near the newest (pruned as it moves on)
        self._pruned_at: Any = None

    def __call__(self, doc: Any) -> bool:
        ident = doc.get("_id")
        if ident in self.known:
            return False  # counted by the last build or refresh
        self.docs += 1
        self.sync.tick()
        id_type = id_kind(ident)
        if self.id_type is None:
            self.id_type = id_type
        elif id_type != self.id_type:
            self.id_type = ""
        if self.id_type:
            if self.newest is None or ident > self.newest:
                self.newest = ident
            self.ids[ident] = None
            if self.docs % 50_000 == 0:
                self._prune()
        return True

    def _prune(self) -> None:
        if not self.id_type or self.newest is None or self.newest == self._pruned_at:
            return
        bound = window_start(self.id_type, self.newest)
        self.ids = {i: None for i in self.ids if not i < bound}
        self._pruned_at = self.newest

    def window(self) -> tuple[set[Any], Any]:
        """The ids to remember (those of the last stretch) and the start of that stretch."""
        if not self.id_type or self.newest is None:
            return set(), None
        bound = window_start(self.id_type, self.newest)
        return {i for i in self.ids if not i < bound}, bound


class Sync:
    """One build or refresh of a LayoutStore's cache."""

    def __init__(self, store: "LayoutStore", cache: CatalogueCache, progress: Progress | None = None,
                 check: Callable[[], None] | None = None, *, metadata_counts: bool = True):
        self.store, self.cache = store, cache
        self.progress, self.check = progress, check
        self.metadata_counts = metadata_counts  # the server's collection counts are exact (MongoDB)
        self.read = 0
        self.total = 0
        self._what = "documents read for the stream list"

    # -- pacing ----------------------------------------------------------------------------------
    def tick(self) -> None:
        self.read += 1
        if self.read % CHECK_EVERY == 0:
            self.between()

    def between(self) -> None:
        if self.store._closed:
            raise CancelledError("building the stream list")
        if self.check is not None:
            self.check()
        if self.progress is not None:
            self.progress(self.read, max(self.total, self.read), self._what)

    # -- what the server holds ---------------------------------------------------------------
    def _collection(self, name: str):
        return self.store._db[name]

    def count(self, name: str) -> int | None:
        """The collection's documents from its metadata (``$collStats``), where that is exact; else None."""
        return collection_count(self._collection(name)) if self.metadata_counts else None

    def expected(self, name: str) -> int:
        """How many documents of the collection the layout reads now (its filter applied), exactly."""
        spec = self.store.layout.events
        if spec.filter or not self.metadata_counts:
            return self._collection(name).count_documents(dict(spec.filter))
        return collection_count(self._collection(name))

    # -- the two ways ----------------------------------------------------------------------------
    def run(self, *, full: bool = False, quick: bool = False) -> Outcome:
        self.between()  # cancelled, or the store closed, before it began
        meta = self.cache.meta
        if full or meta is None:
            note = self.cache.problem
            outcome = self.build()
            outcome.note = note
            return outcome
        return self.refresh(meta, quick=quick)

    def build(self) -> Outcome:
        store = self.store
        store._names = None
        names = store.collections()
        started = now()
        totals = {name: self.count(name) for name in names}
        self.total = sum(max(0, t or 0) for t in totals.values())  # for progress: 0 when unknown
        build = self.cache.build()
        try:
            collections: dict[str, dict[str, Any]] = {}
            recent: dict[str, tuple[set[Any], Any]] = {}
            for name in names:
                info, ids = self._build_collection(name, build)
                info["total"] = totals[name]
                collections[name] = info
                recent[name] = (ids, None)
            self.between()
            # an empty collection does not stand in the way: whatever comes into it is new
            incremental = store.layout.events.shape != "stream" and all(c["kind"] or not c["docs"]
                                                                          for c in collections.values())
            build.finish(Meta(built_at=started, refreshed_at=started, incremental=incremental,
                              collections=collections), recent)
        except BaseException:
            build.abandon()
            raise
        return Outcome(changed=True, rebuilt=True, documents=self.read)

    def _build_collection(self, name: str, build: Build) -> tuple[dict[str, Any], set[Any]]:
        if self.store._can_group() and self._group_works(name):
            return self._grouped(name, build)
        return self._scanned(name, build)

    def _group_works(self, name: str) -> bool:
        """Does the server's ``$group`` take ``$min``? Asked on one document, before anything is read."""
        store = self.store
        if store._group_minmax is None:
            try:
                list(self._collection(name).aggregate([{"$limit": 1}, {"$group": {"_id": None, "v": {"$min": "$_id"}}}]))
                store._group_minmax = True
            except OperationFailure as error:
                if not store._unsupported(error):
                    raise
                store._group_minmax = False  # FerretDB v1: no $min/$max in $group; scan instead
        return bool(store._group_minmax)

    def _grouped(self, name: str, build: Build) -> tuple[dict[str, Any], set[Any]]:
        """``$group`` below the last stretch of ``_id``s (server-side), a scan of the stretch itself."""
        collection = self._collection(name)
        ends = [collection.find_one({}, {"_id": 1}, sort=[("_id", order)]) for order in (ASCENDING, DESCENDING)]
        kinds = {id_kind(e["_id"]) if e else "" for e in ends}
        entries: dict[str, _Entry] = {}
        if ends[0] is None:
            return {"kind": "", "max": None, "docs": 0}, set()
        if len(kinds) != 1 or not next(iter(kinds)):
            self.store._grouped(name, entries)
            docs = sum(e.events for e in entries.values())
            build.merge(entries.values())
            self.read += docs
            return {"kind": "", "max": None, "docs": docs}, set()
        id_type = next(iter(kinds))
        bound = window_start(id_type, ends[1]["_id"])
        self.store._grouped(name, entries, extra={"_id": {"$lt": bound}})
        docs = sum(e.events for e in entries.values())
        self.read += docs
        build.merge(entries.values())
        entries = {}
        watch = _Watch(self, name, id_type=id_type)
        self.store._scanned(name, entries, extra={"_id": {"$gte": bound}}, observe=watch)
        build.merge(entries.values())
        ids, _ = watch.window()
        newest = watch.newest if watch.newest is not None else ends[1]["_id"]
        return {"kind": watch.id_type if watch.docs else id_type, "max": newest, "docs": docs + watch.docs}, ids

    def _scanned(self, name: str, build: Build) -> tuple[dict[str, Any], set[Any]]:
        entries: dict[str, _Entry] = {}
        spec = self.store.layout.events
        counters: dict[str, int] = {}  # versions counted in order: kept across flushes
        watch = _Watch(self, name)

        def observe(doc: Any) -> bool:
            if len(entries) >= FLUSH_STREAMS:
                build.merge(entries.values())
                entries.clear()
            return watch(doc)

        self.store._scanned(name, entries, observe=observe, counters=counters if spec.version == "none" else None)
        build.merge(entries.values())
        ids, _ = watch.window()
        return {"kind": watch.id_type or "", "max": watch.newest, "docs": watch.docs}, ids

    def refresh(self, meta: Meta, *, quick: bool) -> Outcome:
        store = self.store
        store._names = None
        names = store.collections()
        if sorted(names) != sorted(meta.collections):
            return self._rebuilt("the layout's collections changed")
        counts = {name: self.count(name) for name in names}
        started = now()
        if self.metadata_counts and store.layout.events.shape != "stream" \
                and all(counts[n] == meta.collections[n].get("total") for n in names):
            # as many documents as at the last look: nothing was written (documents never change in place)
            meta.refreshed_at = started
            self.cache.touch(meta)
            return Outcome()
        if quick and not (self.metadata_counts and meta.incremental):
            return Outcome(verified=False)  # nothing cheap to ask: the list stays, its age says how old it is
        if not meta.incremental:
            return self._rebuilt("")
        self.total = sum(max(0, (counts[n] or 0) - (meta.collections[n].get("total") or 0)) for n in names)
        self._what = "new documents read for the stream list"
        entries: dict[str, _Entry] = {}
        recent: dict[str, tuple[set[Any], Any]] = {}
        collections = {n: dict(meta.collections[n]) for n in names}
        spec = store.layout.events
        for name in names:
            info = collections[name]
            if self.metadata_counts and counts[name] == info.get("total"):
                continue  # nothing written there since the last look
            id_type, newest = info.get("kind", ""), info.get("max")
            if newest is None:
                # an empty collection when last seen: everything in it is new
                known: set[Any] = set()
                extra: dict[str, Any] | None = None
            else:
                known = self.cache.recent(name)
                extra = {"_id": {"$gte": window_start(id_type, newest)}}
            before = self.expected(name)
            counters = _CachedCounters(self.cache) if spec.version == "none" else None
            watch = _Watch(self, name, known=known, id_type=id_type or None)
            store._scanned(name, entries, extra=extra, observe=watch, counters=counters)
            docs = int(info.get("docs", 0)) + watch.docs
            # more than counted before: the rest must have come while reading (else they were missed)
            after = self.expected(name) if docs != before else docs
            if not before <= docs <= after or (watch.docs and not watch.id_type):
                return self._rebuilt("documents changed below the newest one read")
            if watch.newest is not None and (newest is None or watch.newest > newest):
                newest = watch.newest
            ids, _ = watch.window()
            bound = window_start(watch.id_type or id_type, newest) if newest is not None and (watch.id_type or id_type) else None
            recent[name] = ({i for i in ids if bound is None or not i < bound}, bound)
            info.update(kind=watch.id_type or id_type, max=newest, docs=docs, total=counts[name])
        meta = Meta(built_at=meta.built_at, refreshed_at=started, incremental=True, collections=collections)
        self.cache.apply(entries.values(), meta, recent)
        return Outcome(changed=bool(entries), documents=self.read)

    def _rebuilt(self, why: str) -> Outcome:
        outcome = self.build()
        outcome.note = f"the stream list was read again: {why}" if why else ""
        return outcome


class _CachedCounters(dict):
    """Versions counted in order (``version = "none"``): a stream continues from its cached last version."""

    def __init__(self, cache: CatalogueCache):
        super().__init__()
        self.cache = cache

    def get(self, stream_id: str, default: int = 0) -> int:  # type: ignore[override]
        if stream_id not in self:
            self[stream_id] = self.cache.last_versions([stream_id]).get(stream_id, default)
        return self[stream_id]


# -- the first page, from the stream-id index -----------------------------------------------------


def _index_stages(plan: Any) -> set[str]:
    """The names of the indexes an explain output says a plan walks (classic and slot-based plans)."""
    found: set[str] = set()
    if isinstance(plan, dict):
        if str(plan.get("stage", "")).upper() in ("IXSCAN", "DISTINCT_SCAN", "COUNT_SCAN", "EXPRESS_IXSCAN") \
                and plan.get("indexName"):
            found.add(str(plan["indexName"]))
        for key, value in plan.items():
            if key not in ("rejectedPlans", "allPlansExecution"):
                found |= _index_stages(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _index_stages(value)
    return found


def index_walked(db, command: dict[str, Any]) -> set[str]:
    """The indexes the server says ``command`` (a find) walks, by ``explain``; empty when it scans."""
    try:
        explained = db.command({"explain": command, "verbosity": "queryPlanner"})
    except OperationFailure:
        return set()
    return _index_stages(explained.get("queryPlanner", explained))


class IndexPages:
    """Stream-id pages from the server's index on the one stream-id field, before the cache exists."""

    BATCH = 256  # index keys per step while streams are short
    SMALL_BATCH = 16  # once a step gives few new ids (long streams), fewer keys per step

    def __init__(self, store: "LayoutStore"):
        self.store = store
        self.reason = ""
        self.index: str | None = None
        self.path = ""
        self.collection = ""
        self._walked: dict[bool, list[Any]] = {False: [], True: []}
        self._done: dict[bool, bool] = {False: False, True: False}
        self._batch = self.BATCH
        self.available = self._decide()

    def _decide(self) -> bool:
        store = self.store
        spec = store.layout.events
        if len(spec.stream_id) != 1 or "|" in spec.stream_id[0]:
            self.reason = "the stream id is not one field"
            return False
        path = spec.stream_id[0]
        if any(path == e or path.startswith(e + ".") for e in _plan(spec).own):
            self.reason = "the stream id is inside an encoded field"
            return False
        names = store.collections()
        if len(names) != 1:
            self.reason = "the layout reads several collections"
            return False
        collection = store._db[names[0]]
        index = None
        for name, info in collection.index_information().items():
            keys = info.get("key") or []
            if keys and keys[0][0] == path and keys[0][1] in (1, -1) \
                    and not info.get("sparse") and not info.get("partialFilterExpression") and not info.get("collation"):
                index = name
                break
        if index is None:
            self.reason = f"no index starts with {path!r}"
            return False
        command = {"find": collection.name, "filter": self._query(None, False), "sort": {path: 1},
                   "projection": {path: 1, "_id": 0}, "hint": index, "limit": self.BATCH}
        if index not in index_walked(store._db, command):
            self.reason = "the server does not walk the index for it (it scans)"
            return False
        ends = [collection.find_one({}, {path: 1, "_id": 0}, sort=[(path, order)], hint=index)
                for order in (ASCENDING, DESCENDING)]
        types = {type(_value(e, path)).__name__ for e in ends if e is not None}
        if len(types) > 1 or any(e is not None and not isinstance(_value(e, path), (str, int)) for e in ends):
            self.reason = "the stream ids are of several kinds"
            return False
        self.index, self.path, self.collection = index, path, names[0]
        return True

    def _query(self, after: Any, descending: bool) -> dict[str, Any]:
        spec = self.store.layout.events
        conditions = [dict(spec.filter)] if spec.filter else []
        if after is not None:
            conditions.append({self.store.layout.events.stream_id[0]: {"$lt" if descending else "$gt": after}})
        if not conditions:
            return {}
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    def _walk(self, descending: bool, want: int) -> None:
        walked = self._walked[descending]
        collection = self.store._db[self.collection]
        while len(walked) < want and not self._done[descending]:
            after = walked[-1] if walked else None
            cursor = (collection.find(self._query(after, descending), {self.path: 1, "_id": 0})
                      .sort(self.path, DESCENDING if descending else ASCENDING).hint(self.index).limit(self._batch))
            values = [_value(doc, self.path) for doc in cursor]
            if len(values) < self._batch:
                self._done[descending] = True
            fresh = 0
            for value in values:
                if not walked or value != walked[-1]:
                    walked.append(value)
                    fresh += 1
            self._batch = self.SMALL_BATCH if fresh < 4 else self.BATCH

    def page(self, *, descending: bool, offset: int, limit: int) -> list[StreamInfo]:
        self._walk(descending, offset + limit)
        values = self._walked[descending][max(0, offset): max(0, offset) + max(0, limit)]
        if not values:
            return []
        entries: dict[str, _Entry] = {}
        extra = {self.path: {"$in": values}}
        store = self.store
        if store._can_group() and store._group_minmax is not False:
            try:
                store._grouped(self.collection, entries, extra=extra)
            except OperationFailure as error:
                if not store._unsupported(error):
                    raise
                store._group_minmax = False
                entries = {}
        if not entries:
            store._scanned(self.collection, entries, extra=extra)
        out = []
        for value in values:
            entry = entries.get(join_stream_id([value], store.layout.events.stream_id_separator))
            if entry is not None:
                out.append(entry.info())
        return out

    def count(self) -> int:
        """The number of distinct stream ids, counted on the index."""
        spec = self.store.layout.events
        pipeline: list[dict[str, Any]] = [{"$match": dict(spec.filter)}] if spec.filter else []
        pipeline += [{"$sort": {self.path: 1}}, {"$group": {"_id": f"${self.path}"}}, {"$count": "n"}]
        rows = list(self.store._db[self.collection].aggregate(pipeline, hint=self.index, allowDiskUse=True))
        return int(rows[0]["n"]) if rows else 0


def _value(doc: Any, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value



# -- the LayoutStore's side -------------------------------------------------------------------------


class CachedList:
    """A LayoutStore's stream list kept in a cache file: what the store asks, answered or built here.

    Each method returns None when the file cannot answer (it could not be written: the store
    then keeps its list in memory, as without a cache). Safe to call from two threads (the
    window's worker and a background refresh): one build or refresh runs at a time, and a
    call that needs the list while a build runs waits for it.
    """

    def __init__(self, store: "LayoutStore", cache: CatalogueCache):
        self.store, self.cache = store, cache
        self.usable = True
        self._metadata_counts: bool | None = None  # does the server count from metadata, exactly? (asked once)
        self.note = cache.problem
        self.stale = False  # refresh() asked: the next list call brings the file up to date first
        self.current = False  # checked against the store by this store (so a stream's row can be trusted)
        self.changed = False
        self._lock = threading.Lock()
        self._pages: IndexPages | None = None  # decided on first use

    # -- state ---------------------------------------------------------------------------------
    def state(self) -> CatalogueState:
        values = self.cache.state_values() if self.usable else {"ready": False, "path": str(self.cache.path)}
        index_pages = False
        if not values["ready"] and self.usable:
            index_pages = self.pages() is not None
        return CatalogueState(**values, index_pages=index_pages, note=self.note, changed=self.changed)

    def refresh(self) -> None:
        self.stale, self.current = True, False
        self._pages = None

    # -- building and refreshing -----------------------------------------------------------------
    def update(self, *, full: bool = False, quick: bool = False, progress: Progress | None = None,
               check: Callable[[], None] | None = None) -> CatalogueState:
        if self.usable:
            with self._lock:
                self._sync(full=full, quick=quick, progress=progress, check=check)
        return self.state()

    def _sync(self, *, full: bool = False, quick: bool = False, progress: Progress | None = None,
              check: Callable[[], None] | None = None) -> None:
        store = self.store
        with store._errors("list streams"):
            try:
                outcome = Sync(store, self.cache, progress, check,
                               metadata_counts=self.metadata_counts()).run(full=full, quick=quick)
            except (OSError, sqlite3.Error) as error:
                self.usable = False  # kept in memory for this store's life instead
                self.note = (f"the stream list cache {self.cache.path} cannot be written ({_short(error)}); "
                             "the list is kept in memory")
                return
        self.stale = False
        self.current = self.current or outcome.verified
        self.changed = outcome.changed
        self.note = outcome.note
        if outcome.rebuilt:
            self._pages = None

    def ready(self) -> CatalogueCache | None:
        """The file, up to date as far as refresh() asked; built here when it is not there yet."""
        if self.usable and (self.stale or not self.cache.ready):
            with self._lock:
                if self.usable and (self.stale or not self.cache.ready):  # a build elsewhere may have done it
                    self._sync()
        return self.cache if self.usable and self.cache.ready else None

    def _read(self, read: Callable[[CatalogueCache], Any]) -> tuple[Any] | None:
        """``(read(file),)`` on the ready file; a file that fails to read is built again (with a note)."""
        for _ in range(2):
            cache = self.ready()
            if cache is None:
                return None
            try:
                return (read(cache),)
            except sqlite3.Error as error:
                cache.broken(error)
                self.note = cache.problem
        return None

    def metadata_counts(self) -> bool:
        """Are the server's collection counts exact and cheap? MongoDB's are; FerretDB v1 estimates them."""
        if self._metadata_counts is None:
            try:
                build = self.store._db.client.admin.command("buildInfo")
            except OperationFailure:
                build = {}
            self._metadata_counts = "ferretdbVersion" not in build
        return self._metadata_counts

    # -- answering the store's calls ----------------------------------------------------------------
    def pages(self) -> IndexPages | None:
        """The stream-id index pages where the server serves them (decided once), else None."""
        if self._pages is None:
            with self.store._errors("list streams"):
                self._pages = IndexPages(self.store)
        return self._pages if self._pages.available else None

    def _early(self, type: str | None, match: str | None, sort: str) -> IndexPages | None:
        """Index pages for a request they answer while the file is not built yet (the first page), else None."""
        if not self.usable or self.cache.ready or type is not None or match or sort != "stream_id":
            return None
        return self.pages()

    def page(self, *, type: str | None, match: str | None, sort: str, descending: bool, offset: int,
             limit: int, after: str | None = None) -> list[StreamInfo] | None:
        pages = None if after is not None else self._early(type, match, sort)  # index pages count by offset
        if pages is not None:
            with self.store._errors("list streams"):
                return pages.page(descending=descending, offset=offset, limit=limit)
        found = self._read(lambda c: c.page(type=type, match=match, sort=sort, descending=descending,
                                            offset=offset, limit=limit, after=after))
        return None if found is None else found[0]

    def count(self, *, type: str | None, match: str | None) -> int | None:
        pages = self._early(type, match, "stream_id")
        if pages is not None:
            with self.store._errors("count streams"):
                return pages.count()
        found = self._read(lambda c: c.count(type=type, match=match))
        return None if found is None else found[0]

    def types(self) -> list[str] | None:
        found = self._read(lambda c: c.types())
        return None if found is None else found[0]

    def totals(self) -> tuple[int, int] | None:
        found = self._read(lambda c: c.totals())
        return None if found is None else found[0]

    def known(self, stream_id: str) -> tuple[tuple[Any, ...], list[str]] | None:
        """(raw id values, collections) of a stream in the file, without building anything."""
        if not (self.usable and self.cache.ready):
            return None
        try:
            hit = self.cache.get(stream_id)
        except sqlite3.Error:
            return None
        return None if hit is None else (hit.parts, hit.collections)

    def stream(self, stream_id: str) -> StreamInfo | None:
        """From the file once this store checked it against the server; otherwise (not built or not
        checked yet, refresh() asked, a stream it does not hold) from the stream's own documents.

        What is read here is not written into the file: a refresh counts each document once, from
        what it remembers having read, and a row set from elsewhere would be counted twice.
        """
        cache = self.cache
        if self.usable and cache.ready and self.current and not self.stale:
            try:
                hit = cache.get(stream_id)
            except sqlite3.Error as error:
                cache.broken(error)
                self.note = cache.problem
                hit = None
            if hit is not None:
                return hit.info
        store = self.store
        spec = store.layout.events
        extra = store._id_query(stream_id, spec.stream_id, spec.stream_id_separator, {})
        with store._errors(f"read stream {stream_id!r}"):
            entry = store._build_catalogue(extra).get(stream_id)
        return None if entry is None else entry.info()
