"""open_store picks the backend from the URI or path; redact removes every secret."""
from __future__ import annotations

import hashlib
import sqlite3
import time

import pytest

from model.errors import LayoutError, StoreError, StoreNotFound, StoreUnavailable, UsageError
from model.event import NewEvent
from store.connect import (
    databases_with_events,
    default_store_path,
    explain_empty,
    open_store,
    redact,
    tls_options,
)
from store.embedded import EmbeddedStore
from store.mongo import MongoStore


@pytest.mark.parametrize(("uri", "shown"), [
    ("mongodb://alice:pa55@db.example:27017/app?authSource=admin",
     "mongodb://alice@db.example:27017/app?authSource=admin"),
    ("mongodb+srv://alice:pa55@cluster0.example.net/?retryWrites=true",
     "mongodb+srv://alice@cluster0.example.net/?retryWrites=true"),
    ("mongodb://alice:p%40ss/w@rd@h1:1,h2:2/db", "mongodb://alice@h1:1,h2:2/db"),
    ("mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:pa55",
     "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=***"),
    ("mongodb://h/?tls=true&tlsCertificateKeyFilePassword=pa55", "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***"),
    ("mongodb://localhost", "mongodb://localhost"),
    ("/home/me/events.sqlite", "/home/me/events.sqlite"),
])
def test_redact_removes_passwords_and_secret_options(uri, shown):
    assert redact(uri) == shown
    assert "pa55" not in redact(uri) and "w@rd" not in redact(uri)


def test_a_path_opens_an_embedded_store_and_only_create_makes_one(tmp_path):
    path = tmp_path / "sub" / "e.sqlite"
    with pytest.raises(StoreNotFound) as caught:
        open_store(path)
    assert str(path) in str(caught.value) and "nothing was created" in str(caught.value)
    assert not path.parent.exists()  # not even the folder
    with open_store(path, create=True) as store:
        assert isinstance(store, EmbeddedStore)
        store.append("s", [NewEvent("E")], 0)
    with open_store(str(path)) as store:
        assert store.stream("s").last_version == 1
    with open_store(str(path), read_only=True) as store:
        assert store.read_only


def test_a_missing_file_read_only_is_a_clear_error_and_creates_nothing(tmp_path):
    with pytest.raises(StoreNotFound, match="no embedded store"):
        open_store(tmp_path / "absent.sqlite", read_only=True, create=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("address", ["127.0.0.1:27117", "localhost:27017", "db.example.net:27017",
                                     "localhost:27017/shop", "h1:1,h2:2/db"])
def test_a_server_address_without_its_scheme_is_a_usage_error(tmp_path, monkeypatch, address):
    monkeypatch.chdir(tmp_path)
    for create in (False, True):
        with pytest.raises(UsageError) as caught:
            open_store(address, create=create)
        assert f"write it as mongodb://{address}" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no file of that name


def test_an_address_without_its_scheme_never_shows_its_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        open_store("reader:pa55@db.example.net:27017/shop")
    assert "pa55" not in str(caught.value) and "mongodb://reader@db.example.net:27017/shop" in str(caught.value)


def test_a_sqlite_file_that_is_not_an_eventlens_store_is_refused_untouched(tmp_path):
    theirs = tmp_path / "theirs.sqlite"
    db = sqlite3.connect(theirs)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO orders VALUES (1, 9.5)")
    db.commit()
    db.close()
    before = hashlib.sha256(theirs.read_bytes()).hexdigest()
    for create in (False, True):
        with pytest.raises(StoreError, match="not an EventLens store|unsupported store format"):
            open_store(theirs, create=create)
    assert hashlib.sha256(theirs.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.sqlite"]


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        open_store(junk)
    assert "\n" not in str(caught.value)


def test_a_mongodb_uri_opens_the_native_store_with_the_uri_database(mongo_uri, mongo_client):
    uri = mongo_uri.rstrip("/") + "/from_uri_db"
    with open_store(uri) as store:
        assert isinstance(store, MongoStore) and store.db_name == "from_uri_db"
    with open_store(mongo_uri) as store:
        assert store.db_name == "eventlens"
    with open_store(mongo_uri, "named", read_only=True) as store:
        assert store.db_name == "named" and store.read_only
    with open_store(mongo_uri, "x", layout="eventlens") as store:
        assert isinstance(store, MongoStore)


def test_nothing_named_uses_mongodb_uri_then_the_default_file(monkeypatch, tmp_path, mongo_uri):
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert default_store_path() == tmp_path / "home" / "eventlens.sqlite"
    with pytest.raises(StoreNotFound):
        open_store()
    with open_store(create=True) as store:
        assert isinstance(store, EmbeddedStore) and store.path == default_store_path()
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    with open_store() as store:
        assert isinstance(store, MongoStore)


def test_unsupported_schemes_and_layouts_on_files_are_refused(tmp_path):
    with pytest.raises(StoreError) as caught:
        open_store("postgres://u:pa55@h/db")
    assert "pa55" not in str(caught.value)
    with pytest.raises(LayoutError):
        open_store(tmp_path / "e.sqlite", layout="marten.toml")


def test_tls_options_only_when_asked():
    assert tls_options() == {}
    assert tls_options("ca.pem", "me.pem", True) == {
        "tlsCAFile": "ca.pem", "tlsCertificateKeyFile": "me.pem", "tlsAllowInvalidHostnames": True, "tls": True}
    assert "tlsAllowInvalidHostnames" not in tls_options("ca.pem", None, False)


def test_a_refused_connection_fails_in_well_under_a_second(closed_port_uri):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        open_store(closed_port_uri, "db", timeout_s=10)
    assert time.monotonic() - started < 1.0
    assert "refused" in str(caught.value) and "\n" not in str(caught.value)


def test_databases_with_events_and_the_empty_explanation(mongo_uri, mongo_client, mongo_db_name):
    names = [f"{mongo_db_name}_{suffix}" for suffix in ("orders", "audit", "empty")]
    try:
        for name in names[:2]:
            with MongoStore(mongo_uri, name) as store:
                store.append("s-1", [NewEvent("E")], 0)
        mongo_client[names[2]]["events"].insert_one({"x": 1})
        mongo_client[names[2]]["events"].delete_many({})  # the collection exists, empty
        found = databases_with_events(mongo_uri, timeout_s=5)
        assert names[0] in found and names[1] in found and names[2] not in found
        with MongoStore(mongo_uri, names[0]) as full:
            assert explain_empty(full, mongo_uri) is None
        with MongoStore(mongo_uri, names[2], read_only=True) as empty:
            text = explain_empty(empty, mongo_uri, timeout_s=5)
        assert text.startswith(f"database {names[2]!r} holds no events; databases with events on this server: ")
        assert names[0] in text and names[1] in text and "\n" not in text
        with MongoStore(mongo_uri, "no_such_db_here", read_only=True) as missing:
            assert explain_empty(missing, mongo_uri, timeout_s=5).startswith("database 'no_such_db_here' holds no events")
        assert "no_such_db_here" not in mongo_client.list_database_names()  # asking created nothing
    finally:
        for name in names:
            mongo_client.drop_database(name)


def test_an_empty_embedded_store_is_explained(tmp_path):
    with EmbeddedStore(tmp_path / "e.sqlite") as store:
        assert explain_empty(store) == f"embedded store {tmp_path / 'e.sqlite'} holds no events"
        store.append("s", [NewEvent("E")], 0)
        assert explain_empty(store) is None
