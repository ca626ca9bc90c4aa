"""open_store picks the backend from the URI or path; redact removes every secret."""
from __future__ import annotations

import pytest

from model.errors import LayoutError, StoreError
from store.connect import default_store_path, open_store, redact, tls_options
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


def test_a_path_opens_an_embedded_store(tmp_path):
    with open_store(tmp_path / "sub" / "e.sqlite") as store:
        assert isinstance(store, EmbeddedStore)
        store.append("s", [], 0)
    with open_store(str(tmp_path / "sub" / "e.sqlite"), read_only=True) as store:
        assert store.read_only


def test_a_missing_file_read_only_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no embedded store"):
        open_store(tmp_path / "absent.sqlite", read_only=True)


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
    with open_store() as store:
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
