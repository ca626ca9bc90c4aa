"""Errors that users see: each carries one clear line, never a traceback."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class EventLensError(Exception):
    """Base of every expected failure; ``str(error)`` is the one line shown to the user."""

    def __str__(self) -> str:
        # Stream ids, event types and field names come from the data: a newline in one of
        # them must not break the one-line message (or forge a second line in a log).
        return _CONTROL.sub(" ", super().__str__())


class ConflictError(EventLensError):
    """An append expected a stream version that is no longer the stream's version."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None):
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        found = "" if actual is None else f", but it is at version {actual}"
        super().__init__(f"conflict on stream {stream_id!r}: expected version {expected}{found}; nothing was written")


class StreamNotFound(EventLensError):
    def __init__(self, stream_id: str):
        self.stream_id = stream_id
        super().__init__(f"stream {stream_id!r} does not exist")


class VersionError(EventLensError):
    """A version that does not follow the previous one in a stream."""

    def __init__(self, stream_id: str, expected: int, found: object):
        self.stream_id, self.expected, self.found = stream_id, expected, found
        super().__init__(f"stream {stream_id!r}: expected version {expected}, found {found!r}")


class ReducerError(EventLensError):
    """A reducer raised, returned a non-mapping, mutated its input, or ran too long."""

    def __init__(self, stream_id: str, version: int, event_type: str, reason: str):
        self.stream_id, self.version, self.event_type, self.reason = stream_id, version, event_type, reason
        super().__init__(f"reducer failed on stream {stream_id!r} at version {version} ({event_type}): {reason}")


class ReducerLoadError(EventLensError):
    """A reducer file that cannot be loaded."""


class ReadOnlyError(EventLensError):
    def __init__(self, what: str = "write"):
        super().__init__(f"read-only connection: refused to {what}")


class StoreError(EventLensError):
    """The store failed: the server is down, refused the login, timed out, or holds bad data."""


class StoreNotFound(StoreError):
    """A store that does not exist where it was named (and was not to be created)."""

    def __init__(self, where: str, hint: str = ""):
        self.where = where
        super().__init__(f"no embedded store at {where}" + (f" ({hint})" if hint else ""))


class UsageError(EventLensError):
    """A request that cannot mean anything: a malformed moment, pattern, query, sort key or address (CLI exit 2)."""


class StoreUnavailable(StoreError):
    """The server cannot be reached or stopped answering."""


class LoginRefused(StoreError):
    """The server refused the credentials or the user lacks a permission."""


class LayoutError(EventLensError):
    """A layout file that is invalid, or a layout that does not fit the documents."""


class CancelledError(EventLensError):
    def __init__(self, what: str = "operation"):
        super().__init__(f"{what} cancelled")
