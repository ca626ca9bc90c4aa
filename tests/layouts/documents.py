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
