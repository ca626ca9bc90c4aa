"""Stream ids in natural order from a catalogue an earlier EventLens wrote, without sort keys.

The embedded file is made as that version left it (no ``sort_key`` column, the old indexes);
the MongoDB catalogue documents lack their ``sort_key`` field. Both list in natural order;
writing brings them up to date, and only EventLens's own tables and documents change.
"""
from __future__ import annotations

import sqlite3

from model.event import NewEvent
from store.embedded import EmbeddedStore
from store.mongo import MongoStore

IDS = ("acct-10", "acct-9", "acct-100", "acct-1")
NATURAL = ["acct-1", "acct-9", "acct-10", "acct-100"]
OLD_INDEXES = {"streams_by_type": "stream_type", "streams_by_version": "version",
               "streams_by_first_time": "first_time", "streams_by_last_time": "last_time"}


def ids(infos) -> list[str]:
    return [i.stream_id for i in infos]


def fill(store) -> None:
    for stream_id in IDS:
        store.append(stream_id, [NewEvent("Opened", {"id": stream_id})], 0, stream_type="acct")


def make_older_file(path) -> None:
    """A store as an EventLens before natural order left it: streams without sort_key, the old indexes."""
    with EmbeddedStore(path) as store:
        fill(store)
    db = sqlite3.connect(path)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'streams' "
                              "AND name LIKE 'streams_by_%'").fetchall():
        db.execute(f"DROP INDEX {name}")
    db.execute("ALTER TABLE streams DROP COLUMN sort_key")
    for name, column in OLD_INDEXES.items():
        db.execute(f"CREATE INDEX {name} ON streams ({column}, stream_id)")
    db.commit()
    db.close()


def stream_columns(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(streams)")}


def test_an_older_embedded_file_lists_in_natural_order_read_only_and_unchanged(tmp_path):
    path = tmp_path / "older.sqlite"
    make_older_file(path)
    before = path.read_bytes()
    with EmbeddedStore(path, read_only=True) as store:
        assert store.coverage().complete
        assert ids(store.streams()) == NATURAL
        assert ids(store.streams(sort="stream_type", descending=True)) == NATURAL[::-1]
        assert ids(store.streams(after=NATURAL[2])) == NATURAL[3:]  # keyset on the key computed on the fly
    assert path.read_bytes() == before and "sort_key" not in stream_columns(path)


def test_opening_an_older_embedded_file_writable_adds_the_sort_key_and_its_index(tmp_path):
    path = tmp_path / "older.sqlite"
    make_older_file(path)
    with sqlite3.connect(path) as db:
        events_before = db.execute("SELECT * FROM events ORDER BY stream_id, version").fetchall()
    with EmbeddedStore(path) as store:
        assert ids(store.streams()) == NATURAL
        store.append("acct-2", [NewEvent("Opened")], 0, stream_type="acct")
        assert ids(store.streams(limit=3)) == ["acct-1", "acct-2", "acct-9"]
    with sqlite3.connect(path) as db:
        plan = " ".join(str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT stream_id FROM streams "
                                                   "ORDER BY sort_key, stream_id LIMIT 3"))
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        keys = db.execute("SELECT count(*) FROM streams WHERE sort_key IS NULL").fetchone()[0]
        events_after = db.execute("SELECT * FROM events WHERE stream_id != 'acct-2' "
                                  "ORDER BY stream_id, version").fetchall()
    assert "streams_by_key" in plan and keys == 0
    assert not indexes & set(OLD_INDEXES)
    assert events_after == events_before


def test_a_mongo_catalogue_without_sort_keys_lists_in_natural_order_until_a_rebuild_adds_them(
        mongo_uri, mongo_db_name, mongo_client):
    with MongoStore(mongo_uri, mongo_db_name) as store:
        fill(store)
    streams = mongo_client[mongo_db_name]["streams"]
    events = mongo_client[mongo_db_name]["events"]
    streams.update_many({}, {"$unset": {"sort_key": ""}})  # as an EventLens before natural order wrote them
    events_before = list(events.find({}).sort("_id"))
    with MongoStore(mongo_uri, mongo_db_name, read_only=True) as store:
        assert store.coverage().complete
        assert ids(store.streams()) == NATURAL
        assert ids(store.streams(sort="events", descending=True, offset=1, limit=2)) == NATURAL[::-1][1:3]
        assert ids(store.streams(match="acct-1")) == ["acct-1", "acct-10", "acct-100"]
        assert ids(store.streams(after=NATURAL[2], descending=True)) == NATURAL[:2][::-1]  # sorted here, then after
    with MongoStore(mongo_uri, mongo_db_name) as store:
        store.rebuild_catalogue()
        assert ids(store.streams()) == NATURAL
    assert streams.count_documents({"sort_key": {"$exists": False}}) == 0
    assert list(events.find({}).sort("_id")) == events_before


def test_a_filtered_page_from_the_walk_of_the_natural_index_is_the_page_of_every_match(tmp_path, monkeypatch):
    """A pattern's page in id order comes from the first streams of the natural index when they hold
    enough matches, else from every match sorted: the same page either way."""
    import store.embedded as embedded

    with EmbeddedStore(tmp_path / "s.sqlite") as store:
        for n in (1, 2, 3, 10, 11, 12, 20, 100, 101, 110, 1000, 1234):
            for prefix in ("acct", "user"):
                store.append(f"{prefix}-{n}", [NewEvent("Opened", {})], 0, stream_type=prefix)
        asks = [dict(match=m, limit=limit, offset=offset, descending=descending, **extra)
                for m in ("acct-1*", "*-1?", "user-1", "re:^acct-1\\d$", "acct-7*")
                for limit, offset in ((3, 0), (2, 2), (100, 0))
                for descending in (False, True)
                for extra in ({}, {"after": "acct-11"}, {"type": "acct"})]
        every = {}
        monkeypatch.setattr(embedded, "WALK_ROWS", 0)  # no walk: every match read and sorted
        for i, ask in enumerate(asks):
            every[i] = ids(store.streams(**ask))
        for walk in (4, 1_000):  # a walk too short for some pages, and one over every stream
            monkeypatch.setattr(embedded, "WALK_ROWS", walk)
            for i, ask in enumerate(asks):
                assert ids(store.streams(**ask)) == every[i], (walk, ask)
        assert every[0] == ["acct-1", "acct-10", "acct-11"]  # natural order, not text order
