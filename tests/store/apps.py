"""Another application writing events in EventLens's native shape, straight to the database.

It never touches EventLens's stream catalogue, and its documents are dated (by their ObjectIds)
well before the orphan grace period, like a production history. ``documents()`` returns every
document it wrote, raw, so a test can prove they come out of an EventLens session unchanged.
"""
from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from pathlib import Path

import bson
from bson import ObjectId

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
#: When the application wrote: far older than store.mongo.ORPHAN_GRACE.
WRITTEN = dt.datetime.now(UTC) - dt.timedelta(days=3)


def app_event(stream_id: str, version: int) -> tuple[str, dict, dict, dt.datetime]:
    """(type, data, metadata, time) of the application's event ``version``, the same on every backend."""
    kind = "Opened" if version == 1 else "Changed"
    return kind, {"n": version, "note": f"{stream_id} #{version}"}, {"by": "app"}, T0 + dt.timedelta(minutes=version)


class MongoApp:
    """The application on MongoDB: pymongo inserts into ``events`` and a collection of its own."""

    backend = "mongo"

    def __init__(self, uri: str, db_name: str):
        from pymongo import MongoClient

        self.uri, self.db_name = uri, db_name
        self._client = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
        self._db = self._client[db_name]
        self._ids: list[ObjectId] = []
        self._counter = itertools.count(1)
        self._db.users.insert_one({"_id": "u-1", "name": "Ada", "projection_of": "user-2"})

    @property
    def args(self) -> list[str]:
        return ["--uri", self.uri, "--db", self.db_name]

    def open(self, **options):
        from store.connect import open_store

        return open_store(self.uri, self.db_name, **options)

    def write(self, stream_id: str, stream_type: str, versions) -> None:
        docs = []
        for version in versions:
            kind, data, metadata, moment = app_event(stream_id, version)
            # Dated when the application wrote, unique as its driver would make them.
            oid = ObjectId(ObjectId.from_datetime(WRITTEN).binary[:4] + next(self._counter).to_bytes(8, "big"))
            docs.append({"_id": oid, "stream_id": stream_id, "stream_type": stream_type, "version": version,
                         "type": kind, "data": data, "metadata": metadata, "recorded_at": moment})
        self._db.events.insert_many(docs)
        self._ids.extend(d["_id"] for d in docs)

    def remove(self, stream_id: str, version: int) -> None:
        """Delete one event, whoever wrote it, as an application that prunes its history would."""
        assert self._db.events.delete_one({"stream_id": stream_id, "version": version}).deleted_count == 1

    def documents(self) -> dict:
        """Every document the application wrote, by collection and id, as stored."""
        return {"events": {d["_id"]: d for d in self._db.events.find({"_id": {"$in": self._ids}})},
                "users": {d["_id"]: d for d in self._db.users.find()}}

    def close(self) -> None:
        self._client.close()


class EmbeddedApp:
    """The application on an embedded store file: sqlite3 rows in ``events`` and a table of its own."""

    backend = "embedded"

    def __init__(self, path: Path):
        from store.embedded import EmbeddedStore

        self.path = Path(path)
        EmbeddedStore(self.path, create=True).close()  # the file in EventLens's format, nothing in it
        self._keys: list[tuple[str, int]] = []
        db = self._connect()
        try:
            with db:
                db.execute("CREATE TABLE app_users (id TEXT PRIMARY KEY, name TEXT)")
                db.execute("INSERT INTO app_users VALUES ('u-1', 'Ada')")
        finally:
            db.close()

    def _connect(self):
        return sqlite3.connect(self.path)

    @property
    def args(self) -> list[str]:
        return ["--uri", str(self.path)]

    def open(self, **options):
        from store.connect import open_store

        return open_store(self.path, **options)

    def write(self, stream_id: str, stream_type: str, versions) -> None:
        rows = []
        for version in versions:
            kind, data, metadata, moment = app_event(stream_id, version)
            micros = int((moment - dt.datetime(1970, 1, 1, tzinfo=UTC)) / dt.timedelta(microseconds=1))
            rows.append((stream_id, version, stream_type, kind, bson.encode(data), bson.encode(metadata), micros))
        db = self._connect()
        try:
            with db:
                db.executemany("INSERT INTO events (stream_id, version, stream_type, type, data, metadata, recorded_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        finally:
            db.close()
        self._keys.extend((r[0], r[1]) for r in rows)

    def remove(self, stream_id: str, version: int) -> None:
        """Delete one event, whoever wrote it, as an application that prunes its history would."""
        db = self._connect()
        try:
            with db:
                deleted = db.execute("DELETE FROM events WHERE stream_id = ? AND version = ?", (stream_id, version))
            assert deleted.rowcount == 1
        finally:
            db.close()

    def documents(self) -> dict:
        """Every row the application wrote, by table and key, as stored."""
        db = self._connect()
        try:
            events = {}
            for key in self._keys:
                events[key] = db.execute("SELECT * FROM events WHERE stream_id = ? AND version = ?", key).fetchone()
            users = db.execute("SELECT * FROM app_users ORDER BY id").fetchall()
        finally:
            db.close()
        return {"events": events, "app_users": users}

    def close(self) -> None:
        pass
