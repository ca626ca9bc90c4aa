"""Documents shaped exactly as each tool writes them, for the layout tests.

Shapes follow the tools' own persistence code: NEventStore.Persistence.MongoDB (MongoFields:
Commits with StreamRevisionFrom/To, Events[{StreamRevision, Payload{Headers, Body}}], snapshots
keyed by _id {BucketId, StreamId, StreamRevision}), the Axon MongoDB extension (EventEntry and
CommitEntry: aggregateIdentifier, type, sequenceNumber, serializedPayload, payloadType,
payloadRevision, serializedMetaData, eventIdentifier, timestamp as Instant text;
first/lastSequenceNumber, first/lastTimestamp and events for a commit) and EventFlow.MongoDB
(MongoDbEventDataModel: _id global sequence, BatchId, AggregateId, AggregateName,
AggregateSequenceNumber, Data and Metadata as JSON text).
"""
from __future__ import annotations

import json
import struct
import uuid
from datetime import datetime, timedelta, timezone

from bson import Binary, Int64, ObjectId

UTC = timezone.utc
T0 = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def oid(moment: datetime, n: int) -> ObjectId:
    """An ObjectId made at ``moment`` (seconds), unique by ``n`` as a driver's counter makes it."""
    return ObjectId(struct.pack(">I", int(moment.timestamp())) + b"\x01\x02\x03\x04\x05" + n.to_bytes(3, "big"))


def iso(moment: datetime) -> str:
    """Java's Instant.toString(): UTC with a Z and milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- seed (Clojure + monger) -------------------------------------------------------------------

SEED_USERS = {
    # stream id -> [(minute, type, inline fields)]
    "user-1": [(0, "created", {"id": "user-1", "name": "Ada"}), (5, "updated", {"name": "Ada Lovelace"}),
               (9, "updated", {"email": "ada@example.org"}), (20, "deleted", {})],
    "user-2": [(1, "created", {"id": "user-2", "name": "Brian"}), (3, "updated", {"name": "Bryan"})],
    "user-3": [(2, "created", {"id": "user-3", "name": "Cleo"})],
}


def seed_documents() -> tuple[list[dict], list[dict]]:
    """Events (no version, no time: the ObjectId orders and dates them) and snapshots (epoch ms)."""
    events = []
    n = 0
    for stream, history in SEED_USERS.items():
        for minute, kind, fields in history:
            n += 1
            events.append({"_id": oid(at(minute), n), "aggregate-id": stream, "type": kind, **fields})
    snapshots = [
        # taken 30 s after user-1's third event: the state after version 3
        {"_id": oid(at(9.5), 100), "aggregate-id": "user-1",
         "snapshot": {"id": "user-1", "name": "Ada Lovelace", "email": "ada@example.org"},
         "timestamp": int(at(9.5).timestamp() * 1000)},
        # older documents name the stream user-id; taken exactly at version 2's time
        {"_id": oid(at(3), 101), "user-id": "user-2", "snapshot": {"id": "user-2", "name": "Bryan"},
         "timestamp": int(at(3).timestamp() * 1000)},
    ]
    return events, snapshots


# -- NEventStore -------------------------------------------------------------------------------


def nes_commit(checkpoint: int, stream: str, seq: int, first: int, minute: float, bodies: list[dict],
               bucket: str = "default") -> dict:
    events = [
        {"StreamRevision": first + i, "Payload": {"Headers": {"UserId": "admin"}, "Body": body}}
        for i, body in enumerate(bodies)
    ]
    return {
        "_id": Int64(checkpoint), "BucketId": bucket, "StreamId": stream, "CommitSequence": seq,
        "StreamRevisionFrom": first, "StreamRevisionTo": first + len(bodies) - 1,
        "CommitId": Binary(uuid.UUID(int=checkpoint).bytes, 4), "CommitStamp": at(minute),
        "Headers": {"Origin": "test"}, "Events": events, "Dispatched": True,
    }


def neventstore_documents() -> tuple[list[dict], list[dict]]:
    commits = [
        nes_commit(1, "acc-1", 1, 1, 0, [{"_t": "AccountOpened", "Owner": "Ada", "Balance": 0},
                                          {"_t": "MoneyDeposited", "Amount": 100}]),
        nes_commit(2, "acc-2", 1, 1, 1, [{"_t": "AccountOpened", "Owner": "Bob", "Balance": 0}]),
        nes_commit(3, "acc-1", 2, 3, 2, [{"_t": ["DomainEvent", "MoneyWithdrawn"], "Amount": 30}]),
        nes_commit(4, "acc-1", 3, 4, 3, [{"_t": "MoneyDeposited", "Amount": 5},
                                          {"_t": "MoneyDeposited", "Amount": 7},
                                          {"_t": "AccountClosed"}]),
        nes_commit(5, "acc-2", 1, 1, 4, [{"_t": "AccountOpened", "Owner": "Bea"}], bucket="tenant-b"),
        # a deleted stream: NEventStore moves it to the recycle bin bucket
        nes_commit(6, "acc-9", 1, 1, 5, [{"_t": "AccountOpened"}], bucket=":rb"),
    ]
    snapshots = [{"_id": {"BucketId": "default", "StreamId": "acc-1", "StreamRevision": 2},
                  "Payload": {"Owner": "Ada", "Balance": 100}}]
    return commits, snapshots


# -- Axon --------------------------------------------------------------------------------------


def axon_entry(aggregate: str, kind: str, seq: int, minute: float, payload_type: str, payload: dict | str,
               meta: dict | None = None) -> dict:
    return {
        "aggregateIdentifier": aggregate, "type": kind, "sequenceNumber": Int64(seq),
        "serializedPayload": payload if isinstance(payload, str) else json.dumps(payload),
        "timestamp": iso(at(minute)), "payloadType": payload_type, "payloadRevision": None,
        "serializedMetaData": json.dumps(meta or {"traceId": f"t-{aggregate}-{seq}"}),
        "eventIdentifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{aggregate}/{seq}")),
    }


AXON_ORDERS = {
    "order-1": [(0, "com.shop.OrderCreated", {"orderId": "order-1", "items": 2}),
                (1, "com.shop.OrderQuantityChanged", {"items": 3}),
                (2, "com.shop.OrderShipped", {"status": "shipped"})],
    "order-2": [(0.5, "com.shop.OrderCreated", {"orderId": "order-2", "items": 1}),
                (3, "com.shop.OrderCancelled", {})],
}


def axon_documents() -> tuple[list[dict], list[dict]]:
    events = [axon_entry(agg, "Order", seq, minute, ptype, payload)
              for agg, history in AXON_ORDERS.items() for seq, (minute, ptype, payload) in enumerate(history)]
    # Axon's Jackson serializer may store the payload as a subdocument instead of text
    events[1]["serializedPayload"] = {"items": 3}
    snapshots = [axon_entry("order-1", "Order", 1, 1.5, "com.shop.Order", {"orderId": "order-1", "items": 3})]
    return events, snapshots


def axon_commit_documents() -> list[dict]:
    """The document-per-commit form: order-1's first two events in one commit, the rest alone."""
    def commit(agg: str, entries: list[dict]) -> dict:
        first, last = entries[0], entries[-1]
        return {
            "aggregateIdentifier": agg, "sequenceNumber": last["sequenceNumber"],
            "eventIdentifier": last["eventIdentifier"], "lastSequenceNumber": last["sequenceNumber"],
            "firstSequenceNumber": first["sequenceNumber"], "timestamp": first["timestamp"],
            "firstTimestamp": first["timestamp"], "lastTimestamp": last["timestamp"], "type": first["type"],
            "events": entries,
        }

    one = [axon_entry("order-1", "Order", s, m, t, p) for s, (m, t, p) in enumerate(AXON_ORDERS["order-1"])]
    two = [axon_entry("order-2", "Order", s, m, t, p) for s, (m, t, p) in enumerate(AXON_ORDERS["order-2"])]
    return [commit("order-1", one[:2]), commit("order-2", two), commit("order-1", one[2:])]


# -- EventFlow ---------------------------------------------------------------------------------


def eventflow_event(global_seq: int, aggregate: str, name: str, seq: int, minute: float, event_name: str, data: dict) -> dict:
    moment = at(minute)
    metadata = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00",  # DateTimeOffset, 7 digits
        "aggregate_sequence_number": str(seq), "aggregate_name": name, "aggregate_id": aggregate,
        "event_id": f"event-{uuid.uuid5(uuid.NAMESPACE_URL, aggregate + str(seq))}",
        "timestamp_epoch": str(int(moment.timestamp())), "event_version": "1", "event_name": event_name,
        "batch_id": str(uuid.UUID(int=global_seq)), "source_id": f"command-{global_seq}",
    }
    return {
        "_id": Int64(global_seq), "BatchId": Binary(uuid.UUID(int=global_seq).bytes, 4), "AggregateId": aggregate,
        "AggregateName": name, "Data": json.dumps(data), "Metadata": json.dumps(metadata),
        "AggregateSequenceNumber": seq,
    }


def eventflow_documents() -> tuple[list[dict], list[dict]]:
    events = [
        eventflow_event(1, "thingy-1a", "ThingyAggregate", 1, 0, "ThingyCreated", {"Name": "first"}),
        eventflow_event(2, "thingy-2b", "ThingyAggregate", 1, 1, "ThingyCreated", {"Name": "second"}),
        eventflow_event(3, "thingy-1a", "ThingyAggregate", 2, 2, "ThingyPinged", {"PingId": "p1"}),
        eventflow_event(4, "user-7", "UserAggregate", 1, 3, "UserRegistered", {"Login": "cleo"}),
        eventflow_event(5, "thingy-1a", "ThingyAggregate", 3, 4, "ThingyDeleted", {}),
    ]
    snapshots = [{
        "_id": oid(at(2.5), 1), "AggregateId": "thingy-1a", "AggregateName": "ThingyAggregate",
        "AggregateSequenceNumber": 2, "Data": json.dumps({"Name": "first", "PingId": "p1"}),
        "Metadata": json.dumps({"snapshot_name": "ThingySnapshot", "snapshot_version": "1"}),
    }]
    return events, snapshots


# -- Emmett (@event-driven-io/emmett-mongodb) ------------------------------------------------
# mongoDBEventStore.ts appendToStream: one document per stream, upserted with
# $push {messages: {$each: [{type, data, metadata: {messageId, streamName, streamPosition,
# correlationId, causationId, traceId, spanId, ...}}]}}, $set metadata.updatedAt and
# metadata.streamPosition, $setOnInsert streamName, metadata.streamId/streamType/createdAt;
# positions are BigInt (BSON int64) from 1. Collections: emt:<streamType> by default
# (COLLECTION_PER_STREAM_TYPE), emt:streams for SINGLE_COLLECTION. No message has a time.

EMMETT_STREAMS = {
    # (stream type, id) -> [(type, data)]
    ("shopping_cart", "cart-1"): [("ProductItemAdded", {"productId": "shoes-1", "quantity": 2, "price": 99.99}),
                                  ("ProductItemAdded", {"productId": "hat-7", "quantity": 1, "price": 15}),
                                  ("DiscountApplied", {"percent": 10}),
                                  ("ShoppingCartConfirmed", {"confirmedAt": "2024-03-01T10:00:00.000Z"})],
    ("shopping_cart", "cart-2"): [("ProductItemAdded", {"productId": "socks-3", "quantity": 5, "price": 4.5})],
    ("guest_stay", "stay-9"): [("GuestCheckedIn", {"guestId": "g-1", "room": "101"}),
                               ("GuestCheckedOut", {"guestId": "g-1"})],
}


def emmett_stream(stream_type: str, stream_id: str, events: list[tuple[str, dict]], n: int) -> dict:
    name = f"{stream_type}:{stream_id}"
    messages = []
    for position, (kind, data) in enumerate(events, start=1):
        messages.append({"type": kind, "data": data, "metadata": {
            "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{position}")), "streamName": name,
            "streamPosition": Int64(position), "correlationId": str(uuid.UUID(int=n)), "causationId": None,
            "traceId": f"{n:032x}", "spanId": f"{position:016x}"}})
    return {"_id": oid(at(n), n), "streamName": name, "messages": messages,
            "metadata": {"streamId": stream_id, "streamType": stream_type, "streamPosition": Int64(len(events)),
                         "createdAt": at(n), "updatedAt": at(n + len(events))},
            "projections": {}}


def emmett_documents() -> dict[str, list[dict]]:
    """Collection name -> stream documents, as the default COLLECTION_PER_STREAM_TYPE storage writes them."""
    out: dict[str, list[dict]] = {}
    for n, ((stream_type, stream_id), events) in enumerate(EMMETT_STREAMS.items(), start=1):
        out.setdefault(f"emt:{stream_type}", []).append(emmett_stream(stream_type, stream_id, events, n))
    return out


# -- akka-persistence-mongo ------------------------------------------------------------------
# ScalaDriverSerializers.serializeAtom: {_id: ObjectId, pid, from, to, events: [...], v: 1}
# (and _tg when tagged); each event {v: 1, pid, sn, _t: hint, p: payload, ...}: hint "bson" with a
# BSON document, or "ser" with the serialized bytes and _h (class name), _sm (manifest), _si
# (serializer id); then manifest and _w (writer uuid) when set. No event carries a time.
# Suffixed collection names: akka_persistence_journal_<suffix> (MongoPersistence.appendSuffixToName).

AKKA_WRITER = "5e0f4f5e-6a57-4f0b-8f1e-3c1d7f2b9a10"


def akka_event(pid: str, sn: int, payload: dict, cls: str | None) -> dict:
    event: dict = {"v": 1, "pid": pid, "sn": Int64(sn)}
    if cls is None:
        event.update({"_t": "bson", "p": payload})
    else:  # the Jackson JSON serializer's bytes
        event.update({"_t": "ser", "p": Binary(json.dumps(payload, separators=(",", ":")).encode(), 0),
                      "_h": cls, "_sm": cls, "_si": 31})
    event["_w"] = AKKA_WRITER
    return event


def akka_atom(pid: str, first: int, events: list[tuple[dict, str | None]], minute: float, n: int) -> dict:
    return {"_id": oid(at(minute), n), "pid": pid, "from": Int64(first), "to": Int64(first + len(events) - 1),
            "events": [akka_event(pid, first + i, payload, cls) for i, (payload, cls) in enumerate(events)], "v": 1}


def akka_documents() -> dict[str, list[dict]]:
    """A typed entity in the plain journal and classic persistence ids in a suffixed collection."""
    account = "Account|acc-1"
    return {
        "akka_persistence_journal": [
            akka_atom(account, 1, [({"owner": "ada"}, "bank.AccountOpened"), ({"amount": 50}, "bank.Deposited")], 0, 1),
            akka_atom(account, 3, [({"amount": 20}, "bank.Withdrawn")], 2, 2),
        ],
        "akka_persistence_journal_carts": [
            akka_atom("cart-7", 1, [({"kind": "ItemAdded", "item": "pen"}, None)], 1, 3),
            akka_atom("cart-7", 2, [({"kind": "ItemAdded", "item": "ink"}, None), ({"kind": "CheckedOut"}, None)], 3, 4),
        ],
    }


# -- Aett (aett-mongodb, Python) -------------------------------------------------------------
# aett.storage.synchronous.mongodb.CommitStore.commit (aett 3.x): {TenantId, StreamId,
# StreamRevision (the last event's revision), CommitId (text), CommitSequence, CommitStamp
# (epoch seconds), Headers: to_json(headers), Events: to_json([{body, headers: {topic}}]),
# CheckpointToken}; pydantic_core.to_json gives bytes, which pymongo stores as a binary.
# aett-mongodb 1.x (jsonpickle): Headers and Events JSON text, and each event's headers and
# body ({"$type": topic, source, timestamp, version, ...}) JSON text again.


def aett_body(source: str, minute: float, version: int, fields: dict) -> dict:
    stamp = at(minute).strftime("%Y-%m-%dT%H:%M:%SZ")  # pydantic's JSON for an aware UTC datetime
    return {"source": source, "timestamp": stamp, "correlation_id": None, "version": version, **fields}


def aett_commit(tenant: str, stream: str, revision_before: int, sequence: int, checkpoint: int,
                events: list[tuple[str, float, dict]]) -> dict:
    """aett 3.x: the events as JSON bytes, each {"body": {...}, "headers": {"topic": ...}}."""
    messages = [{"body": aett_body(stream, minute, revision_before + i, fields), "headers": {"topic": topic}}
                for i, (topic, minute, fields) in enumerate(events)]
    compact = (",", ":")
    return {"_id": oid(at(events[-1][1]), checkpoint), "TenantId": tenant, "StreamId": stream,
            "StreamRevision": revision_before + len(events), "CommitId": str(uuid.UUID(int=checkpoint)),
            "CommitSequence": sequence, "CommitStamp": int(at(events[-1][1]).timestamp()),
            "Headers": Binary(json.dumps({}, separators=compact).encode(), 0),
            "Events": Binary(json.dumps(messages, separators=compact).encode(), 0), "CheckpointToken": checkpoint}


def aett1_commit(tenant: str, stream: str, revision_before: int, sequence: int, checkpoint: int,
                 events: list[tuple[str, float, dict]]) -> dict:
    """aett-mongodb 1.x: jsonpickle text all the way down (datetimes as isoformat())."""
    messages = []
    for i, (topic, minute, fields) in enumerate(events):
        body = {"$type": topic, "source": stream, "timestamp": at(minute).isoformat(), "version": revision_before + i, **fields}
        messages.append({"headers": json.dumps({"topic": topic}), "body": json.dumps(body)})
    return {"_id": oid(at(events[-1][1]), checkpoint), "TenantId": tenant, "StreamId": stream,
            "StreamRevision": revision_before + len(events), "CommitId": str(uuid.UUID(int=checkpoint)),
            "CommitSequence": sequence, "CommitStamp": int(at(events[-1][1]).timestamp()),
            "Headers": json.dumps({}), "Events": json.dumps(messages), "CheckpointToken": checkpoint}


def aett_documents() -> tuple[list[dict], list[dict]]:
    commits = [
        aett_commit("shop", "cart-1", 0, 1, 1, [("CartCreated", 0, {"owner": "ada"}), ("ItemAdded", 0, {"sku": "a", "qty": 2})]),
        aett_commit("shop", "cart-2", 0, 1, 2, [("CartCreated", 1, {"owner": "bob"})]),
        aett_commit("shop", "cart-1", 2, 2, 3, [("ItemAdded", 2, {"sku": "b", "qty": 1})]),
        aett1_commit("legacy", "cart-9", 0, 1, 4, [("CartCreated", 3, {"owner": "cleo"}), ("ItemAdded", 4, {"sku": "z", "qty": 3})]),
    ]
    memento = {"id": "cart-1", "version": 2, "payload": {"owner": "ada", "sku": "a", "qty": 2}}
    snapshots = [{"_id": oid(at(1), 50), "TenantId": "shop", "StreamId": "cart-1", "StreamRevision": 2, "CommitSequence": 1,
                  # aett: to_json(memento.model_dump_json()): JSON text, encoded again as a JSON string, as bytes
                  "Payload": Binary(json.dumps(json.dumps(memento, separators=(",", ":"))).encode(), 0),
                  "Headers": Binary(b"{}", 0)}]
    return commits, snapshots
