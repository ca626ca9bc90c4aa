"""The MongoDB store on the native layout (see docs/architecture.md, "Append protocol").

``events`` is the truth. ``streams`` is EventLens's catalogue of its own appends: it makes the
stream list index-backed and is the commit point of an append, but it never hides an event.
Reads are not cut at a catalogued head, and when the check made at connect finds that the
catalogue does not account for every event (another writer's, or no catalogue at all), the
stream list is read from ``events`` itself through the layout machinery, and ``coverage()``
says so. Reading never writes.

The check compares the ``events`` count (``$collStats``: the collection's metadata) with the
events the catalogue accounts for (one ``$group`` summing its heads) plus those of EventLens
writes still journaled. The sum is derived from the heads rather than kept in a counter
document because FerretDB v1 loses concurrent updates of one document (measured: four
threads doing 50 ``$inc`` each left 50, not 200); the head moves themselves are safe, as the
unique index lets only one writer reach them for a given version.

Append protocol without transactions (standalone servers, FerretDB):

1. Read the stream's head in ``streams``, then the events above it. The real head is the
   highest version among them that is not an EventLens write still journaled (another
   writer's events count); if it is not ``expected_version``: conflict, nothing written.
2. Journal the write: one document of its own in ``eventlens_meta`` with its write id, the
   stream, the head it starts from and the versions it takes.
3. ``insert_many`` the events. Their ObjectIds are the write id (a time and 5 random bytes)
   followed by a 3-byte counter, so EventLens's own unfinished documents are known by ``_id``
   alone. The unique (stream_id, version) index lets one racing writer win; a loser deletes
   what it inserted (by those ids) and gets a conflict.
4. Move the head, only from the version read in 1: the commit point.
5. Delete the journal document.

A journaled write above its stream's head is in flight (readers stop before it) or, once
older than ORPHAN_GRACE, dead (readers skip it): the next append to that stream deletes its
documents by their ``_id`` range and nothing else. A document that is not journaled is never
deleted or changed. With transactions (replica sets, mongos) steps 1, 3 and 4 run in one
transaction and nothing is journaled.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import logging
import os
import socket
import struct
import time
from itertools import islice, repeat
from typing import Any, Iterable, Iterator, Mapping, Sequence

from bson import Code, Decimal128, MaxKey, MinKey, ObjectId
from bson.errors import BSONError
from bson.raw_bson import RawBSONDocument
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    InvalidURI,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from model.errors import (
    ConflictError,
    EventLensError,
    LoginRefused,
    StoreError,
    StoreUnavailable,
    UsageError,
)
from model.event import EMPTY, Event, NewEvent, ReducerId, Snapshot, StreamInfo
from model.freeze import LIST_TYPES, freeze_each
from model.patterns import parse_pattern
from model.ports import IndexBatch, PayloadBatch, STREAM_SORTS, Capabilities, CatalogueRebuild, Coverage, EventStore, StoreSize
from store.codec import CODEC_OPTIONS, CodecError
from store.natural import check_after, follows, natural_key
from store.search import MongoQuestions
from store.packing import BsonPayloads, index_batch, raw_payload
from store.uri import host_ports
from store.uri import hosts as uri_hosts
from store.uri import redact, redact_text

UTC = _dt.timezone.utc
#: What the index and the payload reads project (the journal check needs ``_id`` and ``version``).
_INDEX_FIELDS = {"version": 1, "type": 1, "recorded_at": 1, "stream_type": 1}
_PAYLOAD_FIELDS = {"version": 1, "data": 1, "metadata": 1}
_RAW = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)
log = logging.getLogger(__name__)
#: A journaled write younger than this may belong to a writer between its steps; older, it is dead.
ORPHAN_GRACE = 60.0
#: EventLens's own bookkeeping: the journal of appends not yet settled, one document each.
META = "eventlens_meta"
_WRITE = "write"  # the ``kind`` of a journal document
#: The counter in an event's ObjectId numbers the events of one append.
MAX_EVENTS_PER_APPEND = 2**24 - 1

_SORT_FIELDS = {"stream_id": "_id", "stream_type": "stream_type", "events": "version",
                "first_time": "first_time", "last_time": "last_time"}
_AUTH_FAILED, _UNAUTHORIZED = 18, 13
_DUPLICATE_KEY = 11000
_NAMESPACE_NOT_FOUND = 26
REBUILD_COMMAND = "`eventlens catalogue rebuild`"


# -- the write journal ---------------------------------------------------------------------


def _new_write_id() -> bytes:
    """Nine bytes naming one append: when it began (the ObjectId's time) and 5 random bytes."""
    return struct.pack(">I", int(time.time())) + os.urandom(5)


def _event_id(write: bytes, index: int) -> ObjectId:
    return ObjectId(write + index.to_bytes(3, "big"))


def _ids_of(write_key: str) -> dict[str, ObjectId]:
    """A query on ``_id`` that matches exactly the documents of one write."""
    write = bytes.fromhex(write_key)
    return {"$gte": ObjectId(write + b"\0\0\0"), "$lte": ObjectId(write + b"\xff\xff\xff")}


def _write_of(doc_id: Any) -> str | None:
    return doc_id.binary[:9].hex() if isinstance(doc_id, ObjectId) else None


@dataclasses.dataclass(frozen=True, slots=True)
class _Write:
    """A journaled append: the head it started from, the versions it takes, the documents it left."""

    key: str
    stream_id: str
    head: int
    first: int
    last: int
    n: int

    @property
    def dead(self) -> bool:
        return time.time() - int(self.key[:8], 16) > ORPHAN_GRACE


class _Journal:
    """EventLens's appends not yet settled, from their journal documents."""

    def __init__(self, docs: Iterable[Mapping[str, Any]]):
        self.writes: dict[str, _Write] = {}
        for doc in docs:
            key = str(doc.get("_id", ""))[len(_WRITE) + 1:]
            if isinstance(doc.get("stream_id"), str) and len(key) == 18:
                self.writes[key] = _Write(key, doc["stream_id"], _whole(doc.get("head")), _whole(doc.get("first")),
                                          _whole(doc.get("last")), _whole(doc.get("n")))

    def write_of(self, stream_id: str, doc: Mapping[str, Any]) -> _Write | None:
        write = self.writes.get(_write_of(doc.get("_id")))  # type: ignore[arg-type]
        return write if write is not None and write.stream_id == stream_id else None

    def unsettled(self, stream_id: str, head: int) -> list[_Write]:
        """This stream's writes whose documents are above ``head``: not committed."""
        return [w for w in self.writes.values() if w.stream_id == stream_id and w.first > head]


def _journal_id(key: str) -> str:
    return f"{_WRITE}:{key}"


def _whole(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _number(value: Any) -> float | None:
    """A version as a comparable number; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal128):
        with contextlib.suppress(ArithmeticError, ValueError):
            return float(value.to_decimal())
    return None


def _excluding(writes: Iterable[_Write]) -> dict[str, Any]:
    """A filter that leaves out the documents of ``writes``."""
    ranges = [{"_id": _ids_of(w.key)} for w in writes]
    return {"$nor": ranges} if ranges else {}


def collection_count(collection: Collection, session=None) -> int:
    """How many documents a collection holds, from its metadata where the server keeps it (0 when it does not exist).

    ``$collStats`` answers from the collection's metadata on MongoDB and with one SQL count on
    FerretDB, where ``count`` would decode every document.
    """
    try:
        rows = list(collection.aggregate([{"$collStats": {"count": {}}}], session=session))
        return sum(_whole(row.get("count")) for row in rows)
    except OperationFailure as error:
        if error.code == _NAMESPACE_NOT_FOUND:
            return 0
        if error.code in (_AUTH_FAILED, _UNAUTHORIZED):
            raise
        return collection.estimated_document_count()


class MongoStore(MongoQuestions, EventStore):
    """An event store in a MongoDB database (or FerretDB) using the native layout."""

    def __init__(
        self,
        client_or_uri: MongoClient | str,
        db_name: str,
        *,
        read_only: bool = False,
        timeout_s: float = 10.0,
        **client_options: Any,
    ):
        self.read_only = read_only
        self.timeout_s = timeout_s
        self.db_name = db_name
        if isinstance(client_or_uri, str):
            self._uri = client_or_uri
            self._hosts = uri_hosts(client_or_uri)
            self._client = _client(client_or_uri, timeout_s, client_options)
            self._owns_client = True
        else:
            self._client = client_or_uri
            self._hosts = ",".join(f"{h}:{p}" for h, p in client_or_uri.topology_description.server_descriptions())
            self._uri = f"mongodb://{self._hosts}/"
            self._owns_client = False
        self._db: Database = self._client.get_database(db_name, codec_options=CODEC_OPTIONS)
        self._events: Collection = self._db["events"]
        self._streams: Collection = self._db["streams"]
        self._snapshots: Collection = self._db["snapshots"]
        self._meta: Collection = self._db[META]
        self._indexed = False
        self._all_keyed: bool | None = None
        self._listing_cache: tuple[Any, dict[str, Mapping[str, Any]]] | None = None
        try:
            with self._errors("connect"):
                hello = self._db.command("hello")
                build = self._client.admin.command("buildInfo")
            #: FerretDB v1 drops the connection on some BSON types; we refuse them first, with a located error.
            self.ferretdb = "ferretdbVersion" in build
            self.server_version = build.get("ferretdbVersion") or build.get("version", "")
            # Transactions need a replica set or a mongos; FerretDB v1 and standalone servers have neither.
            replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
            self.capabilities = Capabilities(transactions=replicated, change_streams=replicated,
                                             writable=not read_only)
            self._coverage, self._has_catalogue = self._check_coverage()
        except BaseException:
            self.close()
            raise
        if read_only:
            self._warn_if_unindexed()

    # -- identity and errors -----------------------------------------------------
    def describe(self) -> str:
        return f"{redact(self._uri)} database {self.db_name}" + (" (read-only)" if self.read_only else "")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _errors(self, what: str):
        return translate_errors(what, self._hosts, self.db_name, self.timeout_s)

    def _warn_if_unindexed(self) -> None:
        """A read-only store never creates indexes; it says when reads will scan (a store another tool made)."""
        with contextlib.suppress(PyMongoError):
            keys = [list(i["key"])[:2] for i in self._events.list_indexes()]
            if keys and ["stream_id", "version"] not in keys:  # no keys at all: no events collection
                log.warning("%s: collection 'events' has no (stream_id, version) index; reads will scan it "
                            "(a read-only connection does not create indexes)", self.describe())

    def _ensure_indexes(self) -> None:
        """Create the layout's indexes and the catalogue document before the first write (reads need neither)."""
        if self._indexed:
            return
        with self._errors("create indexes"):
            self._events.create_index([("stream_id", ASCENDING), ("version", ASCENDING)],
                                      unique=True, name="stream_version")
            self._events.create_index([("stream_id", ASCENDING), ("recorded_at", ASCENDING), ("version", ASCENDING)],
                                      name="stream_time")
            self._snapshots.create_index(
                [("stream_id", ASCENDING), ("version", ASCENDING), ("reducer.name", ASCENDING),
                 ("reducer.fingerprint", ASCENDING)], unique=True, name="stream_version_reducer")
            self._streams.create_index([("sort_key", ASCENDING), ("_id", ASCENDING)], name="sort_key_id")
            for field in ("stream_type", "version", "first_time", "last_time"):
                self._streams.create_index([(field, ASCENDING), ("sort_key", ASCENDING), ("_id", ASCENDING)],
                                           name=f"{field}_sort_key_id")
            self._streams.create_index([("first_version", ASCENDING)], sparse=True, name="first_version")
        self._indexed = True

    def _catalogued(self) -> tuple[int, int]:
        """(events, streams) the ``streams`` catalogue accounts for, summed from its heads.

        One accumulator per ``$group``: FerretDB v1 gets every accumulator after the first
        wrong (a second ``$sum`` comes back 0), and evaluates no expressions in them.
        """
        events = 0
        for row in self._streams.aggregate([{"$group": {"_id": "$first_version", "heads": {"$sum": "$version"}}}]):
            events += _whole(row.get("heads"))
            first = _whole(row.get("_id"))
            if first > 1:  # streams another writer began above version 1 (rare): their earlier versions are not there
                events -= (first - 1) * self._streams.count_documents({"first_version": row["_id"]})
        return events, collection_count(self._streams)

    # -- coverage ----------------------------------------------------------------
    def _journal(self, session=None, stream_id: str | None = None) -> _Journal:
        query: dict[str, Any] = {"kind": _WRITE}
        if stream_id is not None:
            query["stream_id"] = stream_id
        try:
            return _Journal(list(self._meta.find(query, session=session)))
        except OperationFailure as error:
            if error.code != _UNAUTHORIZED or session is not None:
                raise
            return _Journal(())  # a role that may not read EventLens's bookkeeping sees every event as committed

    def _pending(self, journal: _Journal) -> int:
        """Documents of journaled writes above their stream's head (in flight, or dead and not yet removed)."""
        streams = {w.stream_id for w in journal.writes.values() if w.n}
        if not streams:
            return 0
        heads = {d["_id"]: _head_of(d) for d in self._streams.find({"_id": {"$in": sorted(streams)}}, {"version": 1})}
        return sum(w.n for w in journal.writes.values() if w.first > heads.get(w.stream_id, 0))

    def _check_coverage(self) -> tuple[Coverage, bool]:
        """Does the catalogue account for every event? The events count, the heads summed, the journal."""
        try:
            with self._errors("check the stream catalogue"):
                for _ in range(3):  # an append between the reads below can make them disagree for a moment
                    events = collection_count(self._events)
                    pending = self._pending(self._journal())
                    catalogued, streams = self._catalogued()
                    if events == catalogued + pending:
                        break
        except LoginRefused as refused:
            # Said when something is read; until then the stream list is taken from the events.
            return Coverage(False, f"the stream catalogue could not be checked ({refused}): the stream list is "
                                   "read from the events collection"), False
        has_catalogue = streams > 0
        if events == catalogued + pending:
            return Coverage(True, "", events, catalogued), has_catalogue
        if not has_catalogue:
            message = (f"database {self.db_name!r} has no EventLens stream catalogue ({events:,} events): "
                       f"the stream list is read from the events collection; {REBUILD_COMMAND} builds one")
        else:
            state = "behind the events" if events > catalogued + pending else "ahead of the events"
            being_written = f", {pending:,} being written" if pending else ""
            message = (f"the stream catalogue is {state} ({events:,} events, {catalogued:,} catalogued"
                       f"{being_written}): the stream list is read from the events collection; "
                       f"{REBUILD_COMMAND} brings it up to date")
        return Coverage(False, message, events, catalogued), has_catalogue

    def coverage(self) -> Coverage:
        """Whether the stream catalogue covered every event when last checked (at connect, or ``refresh``)."""
        return self._coverage

    def refresh(self) -> None:
        """Check the catalogue against the events again and forget the stream list read from them."""
        self._listing_cache = None
        self._all_keyed = None
        self._coverage, self._has_catalogue = self._check_coverage()

    def _trusts_heads(self) -> bool:
        # Where no index serves "the highest version of a stream" (FerretDB v1 scans the
        # collection for it), a connection trusts a catalogue that covered every event at connect.
        return self.ferretdb and self._coverage.complete

    # -- the stream list read from the events ------------------------------------
    def _events_source(self, extra_filter: Mapping[str, Any]):
        """A reader of ``events`` through the layout machinery (the ``eventlens`` preset), filtered."""
        from store.layout import load_layout
        from store.layout_store import LayoutStore

        layout = load_layout("eventlens")
        events = dataclasses.replace(layout.events, filter=dict(extra_filter))
        return LayoutStore(self._client, self.db_name, dataclasses.replace(layout, events=events),
                           read_only=True, owns_client=False)

    def _listing(self) -> tuple[Any, dict[str, Mapping[str, Any]]]:
        """The stream list from ``events`` (kept until the next own write or ``refresh``) and the catalogue beside it."""
        if self._listing_cache is None:
            with self._errors("list streams"):
                heads = {d["_id"]: d for d in self._streams.find({}, {"version": 1, "stream_type": 1, "first_version": 1})}
                journal = self._journal()
            hidden = [w for w in journal.writes.values() if w.first > _head_of(heads.get(w.stream_id))]
            self._listing_cache = (self._events_source(_excluding(hidden)), heads)
        return self._listing_cache

    def _annotated(self, info: StreamInfo, doc: Mapping[str, Any] | None) -> StreamInfo:
        """``info`` from the events, with the catalogue's head where it disagrees."""
        if doc is None:
            catalogued = 0 if self._has_catalogue else None
        else:
            head = _head_of(doc)
            catalogued = None if head == info.last_version else head
        stream_type = info.stream_type or (doc.get("stream_type") if doc is not None else "") or ""
        if catalogued is None and stream_type == info.stream_type:
            return info
        return dataclasses.replace(info, stream_type=stream_type, catalogued_version=catalogued)

    # -- writing -----------------------------------------------------------------
    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int, *, stream_type: str = ""
    ) -> int:
        self._refuse_if_read_only(f"append to stream {stream_id!r}")
        if not isinstance(stream_id, str):
            raise TypeError("stream_id must be a string")
        events = list(events)
        if len(events) > MAX_EVENTS_PER_APPEND:
            raise UsageError(f"append at most {MAX_EVENTS_PER_APPEND:,} events at once, not {len(events):,}")
        self._ensure_indexes()
        with self._errors(f"append to stream {stream_id!r}"):
            try:
                if self.capabilities.transactions:
                    with self._client.start_session() as session:
                        return session.with_transaction(
                            lambda s: self._append(stream_id, events, expected_version, stream_type, s))
                return self._append(stream_id, events, expected_version, stream_type, None)
            finally:
                self._listing_cache = None  # the stream list read from the events no longer holds

    def _append(self, stream_id: str, events: list[NewEvent], expected: int, stream_type: str, session) -> int:
        head_doc = self._streams.find_one({"_id": stream_id}, session=session)
        head = _head_of(head_doc)
        actual, top, emptied = self._real_head(stream_id, head, session)
        if actual != expected:
            raise ConflictError(stream_id, expected, actual)
        if not events:
            return actual
        if self.ferretdb:
            for i, e in enumerate(events, start=expected + 1):
                _refuse_unsupported(stream_id, i, "data", e.data)
                _refuse_unsupported(stream_id, i, "metadata", e.metadata)
        resolved_type = ((head_doc.get("stream_type") if head_doc else None) or (top.get("stream_type") if top else None)
                or stream_type)
        resolved_type = resolved_type if isinstance(resolved_type, str) else stream_type
        write = _new_write_id()
        now = _dt.datetime.now(UTC)
        docs = [
            {"_id": _event_id(write, i), "stream_id": stream_id, "stream_type": resolved_type, "version": expected + 1 + i,
             "type": e.type, "data": _mapping(e.data), "metadata": _mapping(e.metadata),
             "recorded_at": now if e.time is None else _aware(e.time)}
            for i, e in enumerate(events)
        ]
        new_version = expected + len(docs)
        key = write.hex()
        if session is None:
            self._meta.insert_one({"_id": _journal_id(key), "kind": _WRITE, "stream_id": stream_id, "head": head,
                                   "first": expected + 1, "last": new_version, "n": len(docs)})
        try:
            self._events.insert_many(docs, ordered=True, session=session)
        except BulkWriteError as error:
            # The unique (stream_id, version) index let another writer win; an ordered insert
            # stops at the first failure, and we remove anything of ours it wrote before that.
            if session is None:
                self._discard(stream_id, key, inserted=bool(error.details.get("nInserted")))
            if all(e.get("code") == _DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise ConflictError(stream_id, expected, self._real_head_quietly(stream_id, session)) from None
            raise
        except DuplicateKeyError:
            if session is None:
                self._discard(stream_id, key, inserted=False)
            raise ConflictError(stream_id, expected, self._real_head_quietly(stream_id, session)) from None
        first_time, first_version = docs[0]["recorded_at"], 1
        if head_doc is not None:
            first_time = head_doc.get("first_time")
        elif actual:  # another writer's stream, catalogued from its first event on
            first_time, first_version = self._first_event(stream_id, session)
        try:
            committed = self._advance_head(stream_id, resolved_type, head_doc is not None, head, new_version, first_time,
                                           docs[-1]["recorded_at"], first_version, session)
        except BaseException:
            if session is None:
                self._discard(stream_id, key, inserted=True)  # best effort: if this fails too, it is cleaned later
            raise
        if not committed:
            if session is None:
                self._discard(stream_id, key, inserted=True)
            raise ConflictError(stream_id, expected)
        if session is None:
            self._settle(key, stream_id, new_version, emptied)
        self._has_catalogue = True
        self._coverage = _counted(self._coverage, len(docs), new_version - head)
        return new_version

    def _real_head(self, stream_id: str, head: int, session) -> tuple[int, Mapping[str, Any] | None, set[str]]:
        """The stream's version: its catalogued head, or another writer's events above it.

        Also returns that highest other writer's document, and the journal entries emptied here.

        Writes of ours still journaled do not count (in flight: our insert will meet them on the
        unique index); dead ones are removed here, before they would block the stream.
        """
        journal: _Journal | None = None
        dead: dict[str, _Write] = {}
        actual, top = head, None
        cursor = (self._events.find({"stream_id": stream_id, "version": {"$gt": head}},
                                    {"_id": 1, "version": 1, "stream_type": 1}, session=session)
                  .sort("version", DESCENDING).batch_size(64))
        with contextlib.closing(cursor):
            for doc in cursor:
                journal = journal or self._journal(session, stream_id)  # read after the events: see read()
                write = journal.write_of(stream_id, doc)
                if write is not None:
                    if write.dead and session is None:
                        dead[write.key] = write
                    continue
                version = _number(doc.get("version"))
                if version is not None:
                    actual, top = int(version), doc
                    break
        if dead:
            self._remove_dead(stream_id, head, dead.values())
        return actual, top, set(dead)

    def _real_head_quietly(self, stream_id: str, session) -> int | None:
        """For a conflict's message: None when it cannot be read."""
        try:
            return self._real_head(stream_id, self._head_quietly(stream_id, session), session)[0]
        except PyMongoError:
            return None

    def _head_quietly(self, stream_id: str, session) -> int:
        return _head_of(self._streams.find_one({"_id": stream_id}, {"version": 1}, session=session))

    def _first_event(self, stream_id: str, session) -> tuple[Any, int]:
        """(time, version) of a stream's lowest version."""
        doc = self._events.find_one({"stream_id": stream_id, "version": {"$gte": 1}}, {"recorded_at": 1, "version": 1},
                                    sort=[("version", ASCENDING)], session=session)
        return (doc.get("recorded_at"), int(_number(doc.get("version")) or 1)) if doc else (None, 1)

    def _advance_head(self, stream_id, stream_type, exists, expected, new_version, first_time, last_time, first_version,
                      session) -> bool:
        """Step 4, the commit point: move the head only if it is still where we read it."""
        if not exists:
            doc = {"_id": stream_id, "stream_type": stream_type, "version": new_version,
                   "first_time": first_time, "last_time": last_time, "sort_key": natural_key(stream_id)}
            if first_version != 1:
                doc["first_version"] = first_version
            try:
                self._streams.insert_one(doc, session=session)
            except DuplicateKeyError:
                return False
            return True
        result = self._streams.update_one(
            {"_id": stream_id, "version": expected},
            {"$set": {"version": new_version, "last_time": last_time}}, session=session)
        return result.matched_count == 1

    def _settle(self, key: str, stream_id: str, head: int, emptied: set[str]) -> None:
        """Step 5: drop the journal entry; then the stream's dead entries that hide nothing any more.

        Best effort: the append is committed already. A dead entry at or below the head was
        committed before a crash, or left nothing (a crash before its insert); an emptied one
        goes one append after its documents did, so a reader that saw them still finds it.
        """
        with contextlib.suppress(PyMongoError):
            self._meta.delete_one({"_id": _journal_id(key)})
            stale = [w for w in self._journal(stream_id=stream_id).writes.values()
                     if w.dead and (w.n == 0 or w.last <= head) and w.key not in emptied]
            if stale:
                self._meta.delete_many({"_id": {"$in": [_journal_id(w.key) for w in stale]}})

    def _discard(self, stream_id: str, key: str, *, inserted: bool) -> None:
        """Remove what one of our writes inserted, by its ids, and mark its journal entry empty."""
        with contextlib.suppress(PyMongoError):
            if not inserted:
                self._meta.delete_one({"_id": _journal_id(key)})
                return
            self._events.delete_many({"stream_id": stream_id, "_id": _ids_of(key)})
            # Kept, emptied, until a later append drops it: a reader that saw these documents
            # before they went still finds them journaled and does not show them.
            self._meta.update_one({"_id": _journal_id(key)}, {"$set": {"n": 0}})

    def _remove_dead(self, stream_id: str, head: int, writes: Iterable[_Write]) -> None:
        """Delete the documents of our own writes that died between their insert and their head move."""
        for write in writes:
            removed = self._events.delete_many(
                {"stream_id": stream_id, "_id": _ids_of(write.key), "version": {"$gt": head}}).deleted_count
            self._meta.update_one({"_id": _journal_id(write.key)}, {"$set": {"n": 0}})
            log.info("%s: removed %d events of an unfinished append to %r (versions %d-%d)",
                     self.describe(), removed, stream_id, write.first, write.last)

    def save_snapshot(self, snapshot: Snapshot) -> bool:
        self._refuse_if_read_only(f"save a snapshot of stream {snapshot.stream_id!r}")
        self._ensure_indexes()
        if self.ferretdb:
            _refuse_unsupported(snapshot.stream_id, snapshot.version, "state", snapshot.state)
        doc = {
            "stream_id": snapshot.stream_id, "version": snapshot.version, "state": _mapping(snapshot.state),
            "reducer": {"name": snapshot.reducer.name, "fingerprint": snapshot.reducer.fingerprint},
            "created_at": _aware(snapshot.created_at), "created_by": snapshot.created_by,
        }
        with self._errors(f"save a snapshot of stream {snapshot.stream_id!r}"):
            try:
                self._snapshots.insert_one(doc)
            except DuplicateKeyError:
                return False
            except BSONError as error:
                raise CodecError(f"stream {snapshot.stream_id!r} version {snapshot.version}: "
                                 f"cannot store snapshot state: {error}") from None
        return True

    def rebuild_catalogue(self, progress=None) -> CatalogueRebuild:
        """Bring the ``streams`` catalogue up to date from ``events``; writes only EventLens's own collections.

        ``progress(done, total)`` counts streams. Appends by other EventLens writers meanwhile
        stay correct: each catalogue entry changes only from the version read, so when both
        touch one, the writer gets a conflict (its events are removed, nothing else).
        """
        self._refuse_if_read_only("rebuild the stream catalogue")
        self._ensure_indexes()
        self._listing_cache = None
        with self._errors("rebuild the stream catalogue"):
            source, heads = self._listing()
            infos = {i.stream_id: i for i in source.streams(limit=2**62)}
            total, done = len(infos), 0
            added = updated = removed = 0
            for stream_id, info in infos.items():
                old = heads.get(stream_id)
                wanted = {"stream_type": info.stream_type or (old or {}).get("stream_type") or "",
                          "version": info.last_version, "first_time": info.first_time, "last_time": info.last_time,
                          "sort_key": natural_key(stream_id)}
                if old is None:
                    try:
                        self._streams.insert_one({"_id": stream_id, **wanted, **_first_version(info)})
                        added += 1
                    except DuplicateKeyError:  # an append made it meanwhile: leave it, it is newer
                        pass
                else:
                    current = self._streams.find_one({"_id": stream_id})
                    if current is not None and _catalogue_differs(current, wanted, info):
                        update: dict[str, Any] = {"$set": {**wanted, **_first_version(info)}}
                        if "first_version" in current and info.first_version == 1:
                            update["$unset"] = {"first_version": ""}
                        if self._streams.update_one({"_id": stream_id, "version": current.get("version")},
                                                    update).matched_count:
                            updated += 1
                done += 1
                if progress is not None:
                    progress(done, total)
            for stream_id, old in heads.items():
                if stream_id not in infos:  # no events at all: nothing for the catalogue to list
                    removed += self._streams.delete_one({"_id": stream_id, "version": old.get("version")}).deleted_count
            events = sum(i.events for i in infos.values())
        self.refresh()
        if progress is not None and not total:
            progress(0, 0)
        return CatalogueRebuild(streams=len(infos), events=events, added=added, updated=updated, removed=removed)

    # -- reading -----------------------------------------------------------------
    def _head(self, stream_id: str) -> int:
        _require_id(stream_id)
        with self._errors(f"read stream {stream_id!r}"):
            return _head_of(self._streams.find_one({"_id": stream_id}, {"version": 1}))

    def read(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        since: _dt.datetime | None = None,
        until: _dt.datetime | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[Event]]:
        """A stream's events as ``events`` holds them; only an EventLens write not yet committed is left out.

        Not cut at the catalogued head: another writer's events above it are read too.
        """
        for docs in self._documents(stream_id, from_version, to_version, batch_size, since=since, until=until):
            yield _events(stream_id, docs)

    def read_index(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                   batch_size: int = 50_000) -> Iterator[IndexBatch]:
        """Versions, times and types only: the same read, projected."""
        for docs in self._documents(stream_id, from_version, to_version, batch_size, projection=_INDEX_FIELDS):
            yield index_batch([d.get("version") for d in docs], [d.get("recorded_at") for d in docs],
                              [d.get("type") for d in docs], [d.get("stream_type") for d in docs])

    def read_payloads(self, stream_id: str, *, from_version: int = 1, to_version: int | None = None,
                      batch_size: int = 10_000) -> Iterator[PayloadBatch]:
        """Payloads as the server's BSON bytes (raw documents), decoded only when a loaded stream asks."""
        for docs in self._documents(stream_id, from_version, to_version, batch_size, projection=_PAYLOAD_FIELDS,
                                    raw=True):
            datas, metas, problems = [], [], {}
            for i, doc in enumerate(docs):
                data, data_problems = raw_payload(doc.get("data"), "data")
                meta, meta_problems = raw_payload(doc.get("metadata"), "metadata")
                datas.append(data)
                metas.append(meta)
                if data_problems or meta_problems:
                    problems[i] = data_problems + meta_problems
            yield BsonPayloads(int(_number(docs[0].get("version")) or 0), datas, metas, problems)

    def _documents(self, stream_id: str, from_version: int, to_version: int | None, batch_size: int, *,
                   since: _dt.datetime | None = None, until: _dt.datetime | None = None,
                   projection: Mapping[str, int] | None = None, raw: bool = False) -> Iterator[list[Any]]:
        """The stream's committed documents in version order, in batches (raw BSON documents when ``raw``).

        The head is read first, the events next and the journal last, so a document seen above the
        head either belongs to a write journaled before it was seen, or is not ours.
        """
        head = self._head(stream_id)
        first = max(from_version, 1)
        if to_version is not None and to_version < first:
            return
        versions: dict[str, Any] = {"$gte": first}
        if to_version is not None:
            versions["$lte"] = to_version
        query: dict[str, Any] = {"stream_id": stream_id, "version": versions}
        if since is not None or until is not None:
            query["recorded_at"] = {}
            if since is not None:
                query["recorded_at"]["$gte"] = _aware(since)
            if until is not None:
                query["recorded_at"]["$lte"] = _aware(until)
        batch_size = max(1, batch_size)
        journal: _Journal | None = None
        collection = self._events.with_options(codec_options=_RAW) if raw else self._events
        with self._errors(f"read stream {stream_id!r}"):
            cursor = collection.find(query, projection).sort("version", ASCENDING).batch_size(batch_size)
            try:
                while True:
                    docs = list(islice(cursor, batch_size))
                    if not docs:
                        return
                    more = len(docs) == batch_size
                    if (_number(docs[-1].get("version")) or 0) > head:  # sorted: the last is the highest
                        # Reloaded after each batch that holds documents it does not know: a write
                        # journaled since the last load may have put them there.
                        if journal is None or any(journal.write_of(stream_id, d) is None for d in docs
                                                  if (_number(d.get("version")) or 0) > head):
                            journal = self._journal(stream_id=stream_id)
                        docs, stopped = _committed(stream_id, docs, head, journal)
                        more = more and not stopped
                    if docs:
                        yield docs
                    if not more:
                        return
            finally:
                cursor.close()

    def stream(self, stream_id: str) -> StreamInfo | None:
        """The stream's summary from its events; the catalogue's head where it agrees with them (index-backed)."""
        _require_id(stream_id)
        with self._errors(f"read stream {stream_id!r}"):
            doc = self._streams.find_one({"_id": stream_id})
            if doc is not None and (self._trusts_heads() or self._agrees(stream_id, doc)):
                return _info(doc)
            if doc is None and self._events.find_one({"stream_id": stream_id}, {"_id": 1}) is None:
                return None
            journal = self._journal(stream_id=stream_id)
            source = self._events_source({"stream_id": stream_id,
                                          **_excluding(journal.unsettled(stream_id, _head_of(doc)))})
            info = source.stream(stream_id)
        return None if info is None else self._annotated(info, doc)

    def _agrees(self, stream_id: str, doc: Mapping[str, Any]) -> bool:
        """Do the catalogued first and last versions bound the stream's events? Two lookups in the (stream_id, version) index."""
        head, first = _head_of(doc), _whole(doc.get("first_version")) or 1
        bottom = self._events.find_one({"stream_id": stream_id, "version": {"$gte": 1}}, {"version": 1},
                                       sort=[("version", ASCENDING)])
        if bottom is None or _number(bottom.get("version")) != first:
            return False
        top = self._events.find_one({"stream_id": stream_id, "version": {"$gte": max(head, 1)}},
                                    {"_id": 1, "version": 1}, sort=[("version", DESCENDING)])
        if top is None:
            return False
        version = _number(top.get("version"))
        if version == head:
            return True
        if version is not None and version > head and self._journal(stream_id=stream_id).write_of(stream_id, top):
            # Our own write above the head, not committed: the head agrees if its event is there.
            return self._events.find_one({"stream_id": stream_id, "version": head}, {"_id": 1}) is not None
        return False

    @staticmethod
    def _filter(type: str | None, match: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if type is not None:
            query["stream_type"] = {"$eq": str(type)}  # $eq: a value, never an operator
        if match:
            # text matches literally (re.escaped), globs and regexes as model.patterns reads them
            pattern = parse_pattern(str(match))
            query["_id"] = {"$regex": pattern.regex, "$options": "i"} if pattern.ignore_case else {"$regex": pattern.regex}
        return query

    def streams(
        self,
        *,
        type: str | None = None,
        match: str | None = None,
        sort: str = "stream_id",
        descending: bool = False,
        offset: int = 0,
        limit: int = 100,
        after: str | None = None,
    ) -> list[StreamInfo]:
        if sort not in STREAM_SORTS:
            raise UsageError(f"unknown stream sort {sort!r}; use one of {', '.join(STREAM_SORTS)}")
        check_after(after, sort)
        if limit <= 0:
            return []
        if not self._coverage.complete:
            source, heads = self._listing()
            with self._errors("list streams"):
                page = source.streams(type=type, match=None if match is None else str(match), sort=sort,
                                      descending=descending, offset=offset, limit=limit, after=after)
            return [self._annotated(i, heads.get(i.stream_id)) for i in page]
        order = DESCENDING if descending else ASCENDING
        field = _SORT_FIELDS[sort]
        keys = ([] if field == "_id" else [(field, order)]) + [("sort_key", order), ("_id", order)]
        with self._errors("list streams"):
            if not self._keyed():
                return self._sorted_here(type, match, field, descending, offset, limit, after)
            query = self._filter(type, match)
            if after is not None:  # keyset: the (sort_key, _id) index entered at the key
                beyond, key = ("$lt" if descending else "$gt"), natural_key(str(after))
                query = {"$and": [query, {"$or": [{"sort_key": {beyond: key}},
                                                  {"sort_key": key, "_id": {beyond: str(after)}}]}]}
            docs = list(self._streams.find(query).sort(keys).skip(max(0, offset)).limit(limit))
        return [_info(d) for d in docs]

    def _keyed(self) -> bool:
        """Does every catalogue document carry its natural sort key? (Those of an earlier EventLens do not.)"""
        if self._all_keyed is None:
            self._all_keyed = self._streams.find_one({"sort_key": {"$exists": False}}, {"_id": 1}) is None
        return self._all_keyed

    def _sorted_here(self, type, match, field, descending, offset, limit, after=None) -> list[StreamInfo]:
        """A page in natural order from a catalogue without sort keys: every match read and sorted here."""
        beyond = follows(after, descending)
        docs = [d for d in self._streams.find(self._filter(type, match)) if beyond(str(d["_id"]))]

        def key(doc):
            value = doc.get(field) if field != "_id" else None
            return (value is None, value if value is not None else 0, natural_key(str(doc["_id"])), str(doc["_id"]))

        try:
            docs.sort(key=key, reverse=descending)
        except TypeError:  # values of mixed types another writer left: the id order alone
            docs.sort(key=lambda d: key(d)[2:], reverse=descending)
        return [_info(d) for d in docs[max(0, offset): max(0, offset) + limit]]

    def count_streams(self, *, type: str | None = None, match: str | None = None) -> int:
        if not self._coverage.complete:
            with self._errors("count streams"):
                return self._listing()[0].count_streams(type=type, match=None if match is None else str(match))
        with self._errors("count streams"):
            return self._streams.count_documents(self._filter(type, match))

    def stream_types(self) -> list[str]:
        if not self._coverage.complete:
            with self._errors("list stream types"):
                return self._listing()[0].stream_types()
        with self._errors("list stream types"):
            return sorted(t for t in self._streams.distinct("stream_type") if isinstance(t, str))

    def version_at(self, stream_id: str, moment: _dt.datetime) -> int:
        head = self._head(stream_id)
        journal: _Journal | None = None
        with self._errors(f"read stream {stream_id!r}"):
            cursor = (self._events.find({"stream_id": stream_id, "recorded_at": {"$lte": _aware(moment)}},
                                        {"_id": 1, "version": 1})
                      .sort([("recorded_at", DESCENDING), ("version", DESCENDING)]).batch_size(16))
            with contextlib.closing(cursor):
                for doc in cursor:
                    version = _number(doc.get("version"))
                    if version is None:
                        continue
                    if version > head:
                        journal = journal or self._journal(stream_id=stream_id)
                        if journal.write_of(stream_id, doc) is not None:
                            continue  # ours, not committed
                    return int(version)
        return 0

    def snapshots(self, stream_id: str) -> list[Snapshot]:
        _require_id(stream_id)
        with self._errors(f"list snapshots of stream {stream_id!r}"):
            docs = list(self._snapshots.find({"stream_id": stream_id}).sort([("version", ASCENDING),
                                                                            ("created_at", ASCENDING)]))
        return [_snapshot(d) for d in docs]

    def latest_snapshot(self, stream_id: str, *, at_or_before: int, reducer: ReducerId) -> Snapshot | None:
        _require_id(stream_id)
        with self._errors(f"read snapshots of stream {stream_id!r}"):
            doc = self._snapshots.find_one(
                {"stream_id": stream_id, "version": {"$lte": at_or_before},
                 "reducer.name": reducer.name, "reducer.fingerprint": reducer.fingerprint},
                sort=[("version", DESCENDING)],
            )
        return _snapshot(doc) if doc else None

    def watch(self, stream_id: str, after_version: int, *, timeout: float = 1.0) -> list[Event]:
        """New events after ``after_version``: a change stream on the stream's head where the
        server offers one (replica sets), otherwise one poll."""
        events = super().watch(stream_id, after_version, timeout=timeout)
        if events or not self.capabilities.change_streams:
            return events
        # The head moves last (the commit point), so waiting on it never shows a half-written batch;
        # a commit between the read above and opening the stream is found by the caller's next call.
        pipeline = [{"$match": {"documentKey._id": stream_id}}]
        with self._errors(f"follow stream {stream_id!r}"):
            with self._streams.watch(pipeline, max_await_time_ms=max(1, int(timeout * 1000))) as changes:
                if changes.try_next() is None:
                    return []
        return super().watch(stream_id, after_version, timeout=timeout)

    def size(self) -> StoreSize:
        with self._errors("count the store"):
            events = collection_count(self._events) - self._pending(self._journal())
            snapshots = collection_count(self._snapshots)
            streams = (collection_count(self._streams) if self._coverage.complete
                       else self._listing()[0].count_streams())
        on_disk = None
        with contextlib.suppress(PyMongoError):
            stats = self._db.command("dbStats")
            on_disk = int(stats.get("storageSize") or stats.get("dataSize") or 0) or None
        return StoreSize(streams=streams, events=max(0, events), snapshots=snapshots, bytes=on_disk)


def _counted(coverage: Coverage, events: int, catalogued: int) -> Coverage:
    """``coverage`` after an append of our own: the counts move; whether it is complete is for the next check."""
    if coverage.events is None or coverage.catalogued is None:
        return coverage
    return dataclasses.replace(coverage, events=coverage.events + events, catalogued=coverage.catalogued + catalogued)


def _committed(stream_id: str, docs: list[dict], head: int, journal: _Journal) -> tuple[list[dict], bool]:
    """The documents a reader shows: none of a journaled write above the head.

    A write in flight ends the read before it (what follows is not committed either); a dead
    one is skipped (its documents are removed by the next append).
    """
    out = []
    for doc in docs:
        if (_number(doc.get("version")) or 0) > head:
            write = journal.write_of(stream_id, doc)
            if write is not None:
                if write.dead:
                    continue
                return out, True
        out.append(doc)
    return out, False


def _head_of(doc: Mapping[str, Any] | None) -> int:
    return _whole(doc.get("version")) if doc else 0


def _first_version(info: StreamInfo) -> dict[str, int]:
    """A stream that does not start at version 1 keeps its first version in the catalogue."""
    return {"first_version": info.first_version} if info.first_version not in (0, 1) else {}


def _catalogue_differs(current: Mapping[str, Any], wanted: Mapping[str, Any], info: StreamInfo) -> bool:
    if any(current.get(k) != v for k, v in wanted.items()):
        return True
    return (_whole(current.get("first_version")) or 1) != (info.first_version or 1)


@contextlib.contextmanager
def translate_errors(what: str, hosts: str, db_name: str, timeout_s: float) -> Iterator[None]:
    """Turn driver errors into the one-line errors users see (hosts only, never a password)."""
    try:
        yield
    except EventLensError:
        raise
    except OperationFailure as error:
        if error.code == _AUTH_FAILED:
            raise LoginRefused(f"login refused by MongoDB at {hosts}") from None
        if error.code == _UNAUTHORIZED:
            raise LoginRefused(f"not authorized to {what} on database {db_name!r} at {hosts}") from None
        if isinstance(error, ExecutionTimeout) or error.code == 50:
            raise StoreUnavailable(f"MongoDB at {hosts} timed out after {timeout_s:g}s ({what})") from None
        raise StoreError(f"{what} failed on MongoDB at {hosts}: {_short(error)}") from None
    except (ConnectionFailure, WTimeoutError) as error:  # includes AutoReconnect, NetworkTimeout, ServerSelection
        raise StoreUnavailable(
            f"MongoDB at {hosts} is unreachable or stopped answering "
            f"(within {timeout_s:g}s, {what}): {_short(error)}"
        ) from None
    except (BSONError, InvalidURI, ConfigurationError) as error:
        raise StoreError(f"{what} failed on MongoDB at {hosts}: {_short(error)}") from None
    except PyMongoError as error:
        raise StoreError(f"{what} failed on MongoDB at {hosts}: {_short(error)}") from None


#: The least time one operation may take once connected. A sorted read of a big stream can
#: keep a server busy well past the connect timeout before its first batch (FerretDB sorts a
#: 50,000-event stream for ~24 s), and failing that read would make big streams unreadable.
OPERATION_TIMEOUT_FLOOR_S = 300.0


def _client(uri: str, timeout_s: float, options: Mapping[str, Any]) -> MongoClient:
    """A client whose connect and server selection are bounded by ``timeout_s``.

    A server that accepts connections and never answers fails within ``timeout_s``: the
    handshake runs under the connect timeout. Operations on an answering server get at least
    OPERATION_TIMEOUT_FLOOR_S, so a slow big read is not mistaken for a dead server.
    """
    _probe(uri, timeout_s)
    ms = max(1, int(timeout_s * 1000))
    settings = dict(
        serverSelectionTimeoutMS=ms, connectTimeoutMS=ms,
        socketTimeoutMS=max(ms, int(OPERATION_TIMEOUT_FLOOR_S * 1000)),
        tz_aware=True, tzinfo=UTC, uuidRepresentation="standard",
        datetime_conversion="DATETIME_AUTO", appname="EventLens",
    )
    settings.update(options)
    try:
        return MongoClient(uri, **settings)
    except (InvalidURI, ConfigurationError, ValueError, TypeError) as error:
        raise StoreError(f"invalid MongoDB connection string {redact(uri)}: {_short(error)}") from None
    except OSError as error:  # a TLS CA or certificate file that is missing or unreadable
        name = error.filename or "a TLS file"
        raise StoreError(f"cannot read {name} for the connection to {uri_hosts(uri)}: {error.strerror or error}") from None


#: How long the probe waits for one host's TCP handshake before leaving the verdict to the driver.
PROBE_TIMEOUT_S = 2.0


def _probe(uri: str, timeout_s: float) -> None:
    """Fail at once when every host of the URI refuses the connection or does not resolve.

    The driver retries a refused connection until its server selection timeout; the kernel
    answers a TCP connect to a closed port at once. A host that accepts the connection, or
    does not answer within PROBE_TIMEOUT_S, is left to the driver and its timeout.
    """
    targets = host_ports(uri)
    if not targets:
        return
    reasons = []
    for host, port in targets:
        try:
            with socket.create_connection((host, port), timeout=min(timeout_s, PROBE_TIMEOUT_S)):
                return
        except ConnectionRefusedError:
            reasons.append(f"{host}:{port} refused the connection")
        except socket.gaierror:
            reasons.append(f"{host} is not a known host name")
        except OSError as error:
            if isinstance(error, TimeoutError) or error.errno is None:
                return  # slow, not refused: the driver decides within the timeout
            reasons.append(f"{host}:{port}: {error.strerror or error}")
    raise StoreUnavailable(f"MongoDB at {uri_hosts(uri)} is unreachable: {'; '.join(reasons)} "
                           f"(failed at once, without waiting for the {timeout_s:g}s timeout)")


_FERRETDB_UNSUPPORTED = (Decimal128, Code, MinKey, MaxKey)


def _refuse_unsupported(stream_id: str, version: int, field: str, value: Any) -> None:
    """Raise CodecError naming the path of the first value FerretDB v1 cannot store."""
    stack = [(field, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend((f"{path}.{k}", v) for k, v in item.items())
        elif isinstance(item, LIST_TYPES):
            stack.extend((f"{path}.{i}", v) for i, v in enumerate(item))
        elif isinstance(item, _FERRETDB_UNSUPPORTED) or (isinstance(item, float) and item != item):
            what = "NaN" if isinstance(item, float) else type(item).__name__
            raise CodecError(f"stream {stream_id!r} version {version}: field {path}: "
                             f"{what} values cannot be stored on FerretDB v1")


def _require_id(stream_id: Any) -> None:
    """A stream id goes into queries as a value: a dict here would be an operator ({"$gt": ""} reads every stream)."""
    if not isinstance(stream_id, str):
        raise TypeError(f"stream_id must be a string, not {type(stream_id).__name__}")


def _short(error: BaseException) -> str:
    """The first line of a driver message, shortened, with any connection string redacted."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    for cut in (", Timeout:", ", Topology Description:", " (configured timeouts:"):
        text = text.split(cut)[0]
    text = redact_text(text)
    return text if len(text) <= 200 else text[:197] + "..."


def _aware(moment: _dt.datetime) -> _dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else dict(value)


def _events(stream_id: str, docs: list[dict]) -> list[Event]:
    """Events from documents, payloads frozen in bulk; only a document with a missing or mistyped field takes the slow path."""
    rows = []
    append = rows.append
    for doc in docs:
        try:
            data, meta, moment = doc["data"], doc["metadata"], doc["recorded_at"]
            if type(data) is not dict or type(meta) is not dict or type(moment) is not _dt.datetime:
                raise TypeError
            append((doc["version"], doc["type"], data, meta, moment, doc["stream_type"], ()))
        except (KeyError, TypeError):
            e = _located_event(stream_id, doc)
            append((e.version, e.type, e.data, e.metadata, e.time, e.stream_type, e.problems))
    versions, kinds, datas, metas, times, stream_types, problems = zip(*rows)
    return list(map(Event, repeat(stream_id), versions, kinds, freeze_each(list(datas)), freeze_each(list(metas)),
                    times, stream_types, problems))


def _located_event(stream_id: str, doc: Mapping[str, Any]) -> Event:
    """An event from a broken document: what can be read is kept, the rest named in ``problems``."""
    problems = []

    def field(name: str, expected: type, default: Any) -> Any:
        if name not in doc:
            problems.append(f"missing field {name!r}")
            return default
        value = doc[name]
        if not isinstance(value, expected):
            problems.append(f"field {name!r} is {type(value).__name__}, not {expected.__name__}")
            return default
        return value

    version = doc.get("version")
    version = int(version) if isinstance(version, (int, float)) and not isinstance(version, bool) else 0
    time = field("recorded_at", _dt.datetime, _dt.datetime(1970, 1, 1, tzinfo=UTC))
    return Event(
        stream_id=stream_id, version=version, type=field("type", str, ""),
        data=field("data", Mapping, EMPTY), metadata=field("metadata", Mapping, EMPTY),
        time=time, stream_type=doc.get("stream_type") if isinstance(doc.get("stream_type"), str) else "",
        problems=tuple(problems),
    )


def _info(doc: Mapping[str, Any]) -> StreamInfo:
    """A stream from its catalogue document (versions are contiguous from ``first_version``, 1 unless recorded)."""
    version = _whole(doc.get("version"))
    first = (_whole(doc.get("first_version")) or 1) if version else 0
    return StreamInfo(
        stream_id=doc["_id"], stream_type=doc.get("stream_type") or "", events=version - first + 1 if version else 0,
        first_version=first, last_version=version,
        first_time=doc.get("first_time"), last_time=doc.get("last_time"),
    )


def _snapshot(doc: Mapping[str, Any]) -> Snapshot:
    reducer = doc.get("reducer") or {}
    return Snapshot(
        stream_id=doc["stream_id"], version=int(doc["version"]), state=doc.get("state") or {},
        reducer=ReducerId(str(reducer.get("name", "")), str(reducer.get("fingerprint", ""))),
        created_at=doc.get("created_at"), created_by=doc.get("created_by") or "",
    )
