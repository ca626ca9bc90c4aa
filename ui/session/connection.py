"""Connecting: where to connect, which layout the database has, and opening the store.

One decision for the window and the command line: a MongoDB database named without a layout
is detected (``store.connect.propose_layout``); EventLens's own layout (or an empty database)
opens directly, any other gives a proposal that the window shows for confirmation and the
command line uses only when detection is certain.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from model.errors import LayoutError
from model.ports import CatalogueState, EventSource, StoreSize
from store.uri import is_mongodb_uri, redact


@dataclass(frozen=True)
class Connection:
    """Where to connect: a MongoDB URI or an embedded store file, with the options the user gave."""

    uri: str = ""  # mongodb://… or a file path; "" = $MONGODB_URI, else the default embedded store
    db: str = ""
    layout: str = ""  # "" = native or detected, a preset name, or a layout file path
    read_only: bool = False
    timeout_s: float = 10.0
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_allow_invalid_hostnames: bool = False
    password: str = ""  # typed in the window, never saved

    @property
    def is_mongo(self) -> bool:
        return is_mongodb_uri(self.uri)

    def full_uri(self) -> str:
        """The URI to open, with a typed password merged in (TLS goes to open_store as options)."""
        if not self.is_mongo:
            return self.uri
        parts = urlsplit(self.uri)
        netloc = parts.netloc
        if self.password and "@" in netloc:
            user = netloc.rsplit("@", 1)[0].split(":", 1)[0]
            netloc = f"{user}:{quote(self.password, safe='')}@{netloc.rsplit('@', 1)[1]}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def redacted(self) -> "Connection":
        """The same connection without any secret, fit to save or show."""
        return replace(self, uri=redact(self.uri) if self.uri else "", password="")

    def label(self) -> str:
        """A one-line name for menus, titles and the recent list (no password)."""
        where = self.redacted().uri or "default embedded store"
        extra = [f"db {self.db}"] if self.db else []
        extra += [f"layout {self.layout}"] if self.layout else []
        extra += ["read-only"] if self.read_only else []
        return where + (f" ({', '.join(extra)})" if extra else "")

    def key(self) -> str:
        """What identifies the store for remembered choices (the reducer in use): no secret in it."""
        return "|".join((self.redacted().uri or "default", self.db, self.layout))

    def embedded_path(self) -> Path | None:
        """The embedded store file this connection names, or None for a MongoDB server."""
        if self.is_mongo:
            return None
        if self.uri:
            return Path(self.uri).expanduser()
        if os.environ.get("MONGODB_URI"):
            return None
        from store.connect import default_store_path

        return default_store_path()

    def tls(self) -> dict[str, Any]:
        return dict(tls_ca_file=self.tls_ca_file or None, tls_cert_file=self.tls_cert_file or None,
                    tls_allow_invalid_hostnames=self.tls_allow_invalid_hostnames or None)

    def open(self, *, layout: Any = None, create: bool = False) -> EventSource:
        """Open the store (``layout`` overrides the connection's own), creating an embedded file only when asked."""
        from store.connect import open_store

        path = self.embedded_path()
        return open_store(self.full_uri() or (str(path) if path is not None else None), self.db or None,
                          layout=layout or self.layout or None, read_only=self.read_only,
                          timeout_s=self.timeout_s, create=create, **self.tls())

    def propose_layout(self):
        """Detection's proposal for a MongoDB database named without a layout; None when it is native."""
        if not self.is_mongo and not (not self.uri and os.environ.get("MONGODB_URI")):
            return None
        if self.layout:
            return None
        from store.connect import propose_layout

        uri = self.full_uri() or os.environ["MONGODB_URI"]
        return propose_layout(uri, self.db or None, timeout_s=self.timeout_s, **self.tls())


def certain_layout(connection: Connection) -> Any:
    """The layout to open with when nobody can be asked (the command line): native, or a certain detection.

    An uncertain detection is a one-line LayoutError naming the fields it could not decide.
    """
    proposal = connection.propose_layout()
    if proposal is None:
        return connection.layout or None
    if not proposal.certain or proposal.layout is None:
        undecided = ", ".join(proposal.undecided_fields) or "unknown"
        name = connection.db or "the database"
        raise LayoutError(f"database {name!r} is not in EventLens's layout and detection is not certain "
                          f"(undecided: {undecided}); give --layout NAME|FILE (see `eventlens layout detect`)")
    return proposal.preset or proposal.layout


def detected_note(connection: Connection, layout: Any) -> str:
    """The note that says which detected layout is used (empty when none was detected)."""
    if layout is None or connection.layout:
        return ""
    name = layout if isinstance(layout, str) else getattr(layout, "name", "custom")
    return f"using the detected layout {name!r} for database {connection.db or 'eventlens'!r}"


@dataclass(frozen=True)
class Opened:
    """A store opened, with what the window shows at once.

    A foreign store whose stream list cache is not built yet opens without waiting for it:
    ``size`` is None and ``stream_types`` empty until the build is done (``Session.size_changed``
    and ``Session.types_changed`` bring them); ``catalogue`` says where the list comes from.
    """

    store: EventSource
    size: StoreSize | None
    stream_types: list[str]
    description: str
    coverage: str  # one line when the store cannot vouch for its stream list, else ""
    seeded: int = 0  # demo events written on a first run
    catalogue: CatalogueState | None = None  # the stream list's local cache, for stores that keep one


@dataclass(frozen=True)
class NeedsLayout:
    """The database is not in EventLens's layout: detection's proposal, to confirm or edit."""

    proposal: Any


@dataclass(frozen=True)
class NeedsFile:
    """The embedded store file does not exist: the user decides whether to create it."""

    path: Path


def coverage_of(store: EventSource) -> str:
    """One line when the store says its stream catalogue does not cover what it holds, else ""."""
    found = store.coverage()
    return "" if found.complete else found.message
