"""The MongoDB store on the native layout (see docs/architecture.md, "Append protocol").

The ``streams`` catalogue is the commit point of an append: events above a stream's head are
never read. With transactions (replica sets, mongos) the insert and the head move commit
together; without them (standalone servers, FerretDB) a crash between the two leaves orphans
above the head, which the next append to that stream removes once they are ORPHAN_GRACE old.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
from itertools import islice
from typing import Any, Iterator, Mapping, Sequence

from bson import Code, Decimal128, MaxKey, MinKey, ObjectId
from bson.errors import BSONError
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

from model.errors import ConflictError, EventLensError, LoginRefused, StoreError, StoreUnavailable
from model.event import EMPTY, Event, NewEvent, ReducerId, Snapshot, StreamInfo
from model.freeze import LIST_TYPES
from model.patterns import parse_pattern
from model.ports import STREAM_SORTS, Capabilities, EventStore, StoreSize
from store.codec import CODEC_OPTIONS, CodecError
from store.search import MongoQuestions
from store.uri import hosts as uri_hosts
from store.uri import redact, redact_text

UTC = _dt.timezone.utc
log = logging.getLogger(__name__)
#: Events above a head younger than this may belong to a writer between its two steps.
ORPHAN_GRACE = 60.0

_SORT_FIELDS = {"stream_id": "_id", "stream_type": "stream_type", "events": "version",
                "first_time": "first_time", "last_time": "last_time"}
_AUTH_FAILED, _UNAUTHORIZED = 18, 13
_DUPLICATE_KEY = 11000


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
        self._indexed = False
        with self._errors("connect"):
            hello = self._db.command("hello")
            build = self._client.admin.command("buildInfo")
        #: FerretDB v1 drops the connection on some BSON types; we refuse them first, with a located error.
        self.ferretdb = "ferretdbVersion" in build
        self.server_version = build.get("ferretdbVersion") or build.get("version", "")
        # Transactions need a replica set or a mongos; FerretDB v1 and standalone servers have neither.
        replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
        self.capabilities = Capabilities(transactions=replicated, change_streams=replicated, writable=not read_only)
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
        """Create the layout's indexes before the first write (reads work without them)."""
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
            for field in ("stream_type", "version", "first_time", "last_time"):
                self._streams.create_index([(field, ASCENDING), ("_id", ASCENDING)], name=f"{field}_id")
        self._indexed = True

    # -- writing -----------------------------------------------------------------
    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int, *, stream_type: str = ""
    ) -> int:
        self._refuse_if_read_only(f"append to stream {stream_id!r}")
        if not isinstance(stream_id, str):
            raise TypeError("stream_id must be a string")
        self._ensure_indexes()
        with self._errors(f"append to stream {stream_id!r}"):
            if self.capabilities.transactions:
                with self._client.start_session() as session:
                    return session.with_transaction(
                        lambda s: self._append(stream_id, events, expected_version, stream_type, s))
            return self._append(stream_id, events, expected_version, stream_type, None)

    def _append(self, stream_id: str, events: Sequence[NewEvent], expected: int, stream_type: str, session) -> int:
        head = self._streams.find_one({"_id": stream_id}, session=session)
        actual = head["version"] if head else 0
        if actual != expected:
            raise ConflictError(stream_id, expected, actual)
        if not events:
            return actual
        if session is None:
            self._remove_orphans(stream_id, expected)
        kind = (head.get("stream_type") if head else None) or stream_type
        if self.ferretdb:
            for i, e in enumerate(events, start=expected + 1):
                _refuse_unsupported(stream_id, i, "data", e.data)
                _refuse_unsupported(stream_id, i, "metadata", e.metadata)
        now = _dt.datetime.now(UTC)
        docs = [
            {"stream_id": stream_id, "stream_type": kind, "version": expected + i, "type": e.type,
             "data": _mapping(e.data), "metadata": _mapping(e.metadata),
             "recorded_at": now if e.time is None else _aware(e.time)}
            for i, e in enumerate(events, start=1)
        ]
        new_version = expected + len(docs)
        try:
            self._events.insert_many(docs, ordered=True, session=session)
        except BulkWriteError as error:
            # The unique (stream_id, version) index let another writer win; an ordered insert
            # stops at the first failure, and we remove anything of ours it wrote before that.
            if session is None and error.details.get("nInserted"):
                self._events.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
            if all(e.get("code") == _DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise ConflictError(stream_id, expected) from None
            raise
        except DuplicateKeyError:
            raise ConflictError(stream_id, expected) from None
        try:
            committed = self._advance_head(stream_id, kind, expected, new_version, docs, session)
        except BaseException:
            if session is None:
                self._discard(docs)  # best effort: if this fails too, the orphans are cleaned later
            raise
        if not committed:
            if session is None:
                self._discard(docs)
            raise ConflictError(stream_id, expected)
        return new_version

    def _advance_head(self, stream_id, kind, expected, new_version, docs, session) -> bool:
        """Step 3, the commit point: move the head only if it is still where we read it."""
        last_time = docs[-1]["recorded_at"]
        if expected == 0:
            try:
                self._streams.insert_one(
                    {"_id": stream_id, "stream_type": kind, "version": new_version,
                     "first_time": docs[0]["recorded_at"], "last_time": last_time}, session=session)
            except DuplicateKeyError:
                return False
            return True
        result = self._streams.update_one(
            {"_id": stream_id, "version": expected},
            {"$set": {"version": new_version, "last_time": last_time}}, session=session)
        return result.matched_count == 1

    def _discard(self, docs: list[dict]) -> None:
        with contextlib.suppress(PyMongoError):
            self._events.delete_many({"_id": {"$in": [d["_id"] for d in docs if "_id" in d]}})

    def _remove_orphans(self, stream_id: str, head: int) -> None:
        """Delete events above the head left by a writer that died between its two steps."""
        cutoff = ObjectId.from_datetime(_dt.datetime.now(UTC) - _dt.timedelta(seconds=ORPHAN_GRACE))
        # The ObjectId is made when the event is written, so it dates the write (recorded_at may be any time).
        if self._events.find_one({"stream_id": stream_id, "version": {"$gt": head}}, {"_id": 1}) is not None:
            self._events.delete_many({"stream_id": stream_id, "version": {"$gt": head}, "_id": {"$lt": cutoff}})

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

    # -- reading -----------------------------------------------------------------
    def _head(self, stream_id: str) -> int:
        _require_id(stream_id)
        with self._errors(f"read stream {stream_id!r}"):
            head = self._streams.find_one({"_id": stream_id}, {"version": 1})
        return int(head["version"]) if head else 0

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
        head = self._head(stream_id)
        last = head if to_version is None else min(to_version, head)
        first = max(from_version, 1)
        if last < first:
            return
        query: dict[str, Any] = {"stream_id": stream_id, "version": {"$gte": first, "$lte": last}}
        if since is not None or until is not None:
            query["recorded_at"] = {}
            if since is not None:
                query["recorded_at"]["$gte"] = _aware(since)
            if until is not None:
                query["recorded_at"]["$lte"] = _aware(until)
        batch_size = max(1, batch_size)
        with self._errors(f"read stream {stream_id!r}"):
            cursor = self._events.find(query).sort("version", ASCENDING).batch_size(batch_size)
            try:
                while True:
                    docs = list(islice(cursor, batch_size))
                    if not docs:
                        return
                    yield _events(stream_id, docs)
                    if len(docs) < batch_size:
                        return
            finally:
                cursor.close()

    def stream(self, stream_id: str) -> StreamInfo | None:
        _require_id(stream_id)
        with self._errors(f"read stream {stream_id!r}"):
            doc = self._streams.find_one({"_id": stream_id})
        return _info(doc) if doc else None

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
    ) -> list[StreamInfo]:
        if sort not in STREAM_SORTS:
            raise ValueError(f"unknown stream sort {sort!r}; use one of {', '.join(STREAM_SORTS)}")
        if limit <= 0:
            return []
        order = DESCENDING if descending else ASCENDING
        field = _SORT_FIELDS[sort]
        keys = [(field, order)] + ([] if field == "_id" else [("_id", order)])
        with self._errors("list streams"):
            docs = list(self._streams.find(self._filter(type, match)).sort(keys).skip(max(0, offset)).limit(limit))
        return [_info(d) for d in docs]

    def count_streams(self, *, type: str | None = None, match: str | None = None) -> int:
        with self._errors("count streams"):
            return self._streams.count_documents(self._filter(type, match))

    def stream_types(self) -> list[str]:
        with self._errors("list stream types"):
            return sorted(t for t in self._streams.distinct("stream_type") if isinstance(t, str))

    def version_at(self, stream_id: str, moment: _dt.datetime) -> int:
        head = self._head(stream_id)
        if not head:
            return 0
        with self._errors(f"read stream {stream_id!r}"):
            doc = self._events.find_one(
                {"stream_id": stream_id, "recorded_at": {"$lte": _aware(moment)}, "version": {"$lte": head}},
                {"version": 1},
                sort=[("recorded_at", DESCENDING), ("version", DESCENDING)],
            )
        return int(doc["version"]) if doc else 0

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
            streams = self._streams.estimated_document_count()
            events = self._events.estimated_document_count()
            snapshots = self._snapshots.estimated_document_count()
        on_disk = None
        with contextlib.suppress(PyMongoError):
            stats = self._db.command("dbStats")
            on_disk = int(stats.get("storageSize") or stats.get("dataSize") or 0) or None
        return StoreSize(streams=streams, events=events, snapshots=snapshots, bytes=on_disk)


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
            kind = "NaN" if isinstance(item, float) else type(item).__name__
            raise CodecError(f"stream {stream_id!r} version {version}: field {path}: "
                             f"{kind} values cannot be stored on FerretDB v1")


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
    """Events from documents; only a document with a missing or mistyped field takes the slow path."""
    out = []
    append = out.append
    for doc in docs:
        try:
            data, meta, time = doc["data"], doc["metadata"], doc["recorded_at"]
            if type(data) is not dict or type(meta) is not dict or type(time) is not _dt.datetime:
                raise TypeError
            append(Event(stream_id, doc["version"], doc["type"], data, meta, time, doc["stream_type"]))
        except (KeyError, TypeError):
            append(_located_event(stream_id, doc))
    return out


def _located_event(stream_id: str, doc: Mapping[str, Any]) -> Event:
    """An event from a broken document: what can be read is kept, the rest named in ``problems``."""
    problems = []

    def field(name: str, kind: type, default: Any) -> Any:
        if name not in doc:
            problems.append(f"missing field {name!r}")
            return default
        value = doc[name]
        if not isinstance(value, kind):
            problems.append(f"field {name!r} is {type(value).__name__}, not {kind.__name__}")
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
    version = int(doc.get("version") or 0)
    return StreamInfo(
        stream_id=doc["_id"], stream_type=doc.get("stream_type") or "", events=version,
        first_version=1 if version else 0, last_version=version,
        first_time=doc.get("first_time"), last_time=doc.get("last_time"),
    )


def _snapshot(doc: Mapping[str, Any]) -> Snapshot:
    reducer = doc.get("reducer") or {}
    return Snapshot(
        stream_id=doc["stream_id"], version=int(doc["version"]), state=doc.get("state") or {},
        reducer=ReducerId(str(reducer.get("name", "")), str(reducer.get("fingerprint", ""))),
        created_at=doc.get("created_at"), created_by=doc.get("created_by") or "",
    )
