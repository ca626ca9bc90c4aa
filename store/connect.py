"""Open the store a URI or a path names: MongoDB (native or a foreign layout) or an embedded file."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from model.errors import LayoutError, StoreError, UsageError
from model.ports import EventSource, EventStore
from store.uri import database, is_mongodb_uri, looks_like_address, redact  # noqa: F401  (redact is part of this module's API)

DEFAULT_DB = "eventlens"
NATIVE_LAYOUT = "eventlens"


def default_store_path() -> Path:
    """The embedded store used when nothing else is named: in ``$EVENTLENS_HOME`` or ~/.local/share/eventlens."""
    home = os.environ.get("EVENTLENS_HOME")
    folder = Path(home).expanduser() if home else Path.home() / ".local" / "share" / "eventlens"
    return folder / "eventlens.sqlite"


def tls_options(
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_allow_invalid_hostnames: bool | None = None,
) -> dict[str, Any]:
    """pymongo client options for the TLS settings the user gave; options in the URI still apply."""
    options: dict[str, Any] = {}
    if tls_ca_file:
        options["tlsCAFile"] = str(tls_ca_file)
    if tls_cert_file:
        options["tlsCertificateKeyFile"] = str(tls_cert_file)
    if tls_allow_invalid_hostnames:  # only when asked: never weakened by default
        options["tlsAllowInvalidHostnames"] = True
    if options:
        options["tls"] = True
    return options


def open_store(
    uri: str | os.PathLike | None = None,
    db: str | None = None,
    *,
    layout: str | os.PathLike | None = None,
    read_only: bool = False,
    timeout_s: float = 10.0,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_allow_invalid_hostnames: bool | None = None,
    create: bool = False,
    catalogue_cache: bool = True,
) -> EventStore:
    """Open a store: a MongoDB URI, an embedded file path, or (None) ``$MONGODB_URI`` else the default file.

    An embedded store file is made only with ``create``; otherwise a missing one is
    StoreNotFound and nothing is created. A server address without its scheme is a UsageError.
    A foreign layout keeps its stream list in a local cache file (``store.catalogue_cache``)
    unless ``catalogue_cache`` is False; read-only connections too (the file is EventLens's own).
    """
    if uri is None:
        uri = os.environ.get("MONGODB_URI") or default_store_path()
    text = os.fspath(uri)
    if is_mongodb_uri(text):
        db_name = db or database(text) or DEFAULT_DB
        options = tls_options(tls_ca_file, tls_cert_file, tls_allow_invalid_hostnames)
        if layout is None or str(layout) == NATIVE_LAYOUT:
            from store.mongo import MongoStore

            return MongoStore(text, db_name, read_only=read_only, timeout_s=timeout_s, **options)
        return _open_layout(text, db_name, layout, read_only, timeout_s, options, catalogue_cache)
    if "://" in text:
        raise StoreError(f"unsupported connection string {redact(text)}: use mongodb:// or mongodb+srv:// or a file path")
    path = Path(text).expanduser()
    if looks_like_address(text) and not path.exists():
        # Without the scheme it would become a file of that name in the working folder.
        raise UsageError(f"{redact_address(text)!r} looks like a server address, not a store file: "
                         f"write it as {redact('mongodb://' + text)}")
    if layout is not None and str(layout) != NATIVE_LAYOUT:
        raise LayoutError("layouts describe MongoDB collections; an embedded store file has the native layout")
    from store.embedded import EmbeddedStore

    return EmbeddedStore(path, read_only=read_only, timeout_s=timeout_s, create=create and not read_only)


def redact_address(text: str) -> str:
    """A scheme-less server address with any password removed, for messages."""
    return redact("mongodb://" + text)[len("mongodb://"):]


def _open_layout(uri: str, db_name: str, layout: Any, read_only: bool, timeout_s: float,
                 options: dict[str, Any], catalogue_cache: bool = True) -> EventStore:
    if importlib.util.find_spec("store.layout_store") is None:
        raise LayoutError("foreign layouts are not available in this build (store.layout_store is missing)")
    from store import layout_store
    from store.layout import Layout, load_layout
    from store.mongo import _client

    # A bad layout file is reported before any connection is tried (the client probes the server).
    chosen = layout if isinstance(layout, Layout) else load_layout(layout)
    client = _client(uri, timeout_s, options)
    cache = None
    if catalogue_cache:
        from store.catalogue_cache import CatalogueCache

        cache = CatalogueCache.for_store(uri, db_name, chosen)  # the key holds the redacted URI only
    try:
        return layout_store.open_layout_store(client, db_name, chosen, read_only=read_only, cache=cache)
    except BaseException:
        client.close()
        raise


def detect_proposal(
    uri: str | None,
    db: str | None = None,
    *,
    timeout_s: float = 10.0,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_allow_invalid_hostnames: bool | None = None,
    native_if_empty: bool = False,
):
    """Detection's Proposal for a MongoDB database (``$MONGODB_URI`` when ``uri`` is None).

    With ``native_if_empty`` a database with EventLens's stream catalogue, or with no
    collections yet, gives None instead (so a new one can be filled). Connection problems
    raise the same one-line errors as opening the store.
    """
    from store.codec import CODEC_OPTIONS
    from store.detect import detect_layout
    from store.mongo import _client, translate_errors
    from store.uri import hosts

    uri = uri or os.environ.get("MONGODB_URI") or ""
    if not is_mongodb_uri(uri):
        raise StoreError("layout detection reads a MongoDB database: give a mongodb:// or mongodb+srv:// URI")
    db_name = db or database(uri) or DEFAULT_DB
    client = _client(uri, timeout_s, tls_options(tls_ca_file, tls_cert_file, tls_allow_invalid_hostnames))
    try:
        with translate_errors("detect the layout", hosts(uri), db_name, timeout_s):
            handle = client.get_database(db_name, codec_options=CODEC_OPTIONS)
            if native_if_empty:
                collections = set(handle.list_collection_names())
                if not collections or {"events", "streams"} <= collections:
                    return None
            return detect_layout(handle)
    finally:
        client.close()


def propose_layout(uri: str, db: str | None = None, **options: Any):
    """What detection says of a MongoDB database named without a layout: None for the native one.

    The Proposal is returned for the caller to use (the CLI when certain) or to show for
    confirmation (the window).
    """
    proposal = detect_proposal(uri, db, native_if_empty=True, **options)
    return None if proposal is None or proposal.preset == NATIVE_LAYOUT else proposal

_SYSTEM_DATABASES = {"admin", "local", "config"}


def databases_with_events(
    uri: str,
    *,
    timeout_s: float = 10.0,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_allow_invalid_hostnames: bool | None = None,
) -> list[str] | None:
    """The databases on the server whose ``events`` collection holds documents, sorted.

    None when the user may not list databases. Connection problems raise the same one-line
    errors as opening the store.
    """
    from pymongo.errors import OperationFailure

    from store.mongo import _client, collection_count, translate_errors
    from store.uri import hosts

    client = _client(uri, timeout_s, tls_options(tls_ca_file, tls_cert_file, tls_allow_invalid_hostnames))
    try:
        with translate_errors("list databases", hosts(uri), "admin", timeout_s):
            try:
                names = client.list_database_names()
            except OperationFailure:
                return None
            found = []
            for name in sorted(set(names) - _SYSTEM_DATABASES):
                try:
                    if collection_count(client[name]["events"]) > 0:
                        found.append(name)
                except OperationFailure:
                    continue  # a database this user may not read
            return found
    finally:
        client.close()


def explain_empty(store: EventSource, uri: str | None = None, *, timeout_s: float = 10.0, **tls: Any) -> str | None:
    """One line saying that ``store`` holds no events, with the server's databases that do; None when it holds some.

    ``uri`` is the MongoDB URI the store was opened from (None for an embedded store). A store
    that cannot count its events cheaply (a foreign layout) is never called empty here.
    """
    events = store.coverage().events
    if events is None or events > 0:
        return None
    if uri is None or not is_mongodb_uri(uri):
        return f"{store.describe()} holds no events"
    db_name = getattr(store, "db_name", None) or database(uri) or DEFAULT_DB
    text = f"database {db_name!r} holds no events"
    others = databases_with_events(uri, timeout_s=timeout_s, **tls)
    if others is None:
        return text
    others = [name for name in others if name != db_name]
    if not others:
        return f"{text}; no database on this server holds events"
    return f"{text}; databases with events on this server: {', '.join(others)}"
