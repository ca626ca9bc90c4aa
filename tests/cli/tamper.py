"""Damage a store behind EventLens's back, the way a bug or a hand edit in the database would."""
from __future__ import annotations

from datetime import datetime, timezone


def _mongo_db(connection):
    from pymongo import MongoClient

    client = MongoClient(connection.uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    return client, client[connection.db]


def insert_tampered_snapshot(connection, stream_id: str, *, version: int, state: dict) -> None:
    """Write a snapshot whose state is wrong, straight into the database, as the generic reducer's."""
    from model.reducer import default_reducer

    reducer = default_reducer().id
    created_at = datetime(2024, 5, 1, tzinfo=timezone.utc)
    if connection.backend == "mongo":
        client, db = _mongo_db(connection)
        try:
            db.snapshots.insert_one({
                "stream_id": stream_id, "version": version, "state": state,
                "reducer": {"name": reducer.name, "fingerprint": reducer.fingerprint},
                "created_at": created_at, "created_by": "mallory",
            })
        finally:
            client.close()
        return
    _embedded_tamper(connection, "snapshot", stream_id, version, state, reducer, created_at)


def delete_event(connection, stream_id: str, *, version: int) -> None:
    """Remove one event in the middle of a stream, leaving a gap the stream catalogue does not know."""
    if connection.backend == "mongo":
        client, db = _mongo_db(connection)
        try:
            assert db.events.delete_one({"stream_id": stream_id, "version": version}).deleted_count == 1
        finally:
            client.close()
        return
    _embedded_tamper(connection, "delete", stream_id, version, None, None, None)


def _embedded_tamper(connection, what, stream_id, version, state, reducer, created_at) -> None:
    """The same damage in the embedded store's SQLite file, with plain SQL."""
    import sqlite3

    import bson

    db = sqlite3.connect(connection.uri)
    try:
        with db:
            if what == "delete":
                deleted = db.execute("DELETE FROM events WHERE stream_id = ? AND version = ?", (stream_id, version))
                assert deleted.rowcount == 1
            else:
                micros = int(created_at.timestamp() * 1_000_000)
                db.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (stream_id, version, reducer.name, reducer.fingerprint, bson.encode(state), micros, "mallory"))
    finally:
        db.close()
