"""What persists between runs: window geometry, splitter state, recent connections and remembered choices.

Recent connections are stored through ``store.connect.redact``: a password never reaches the
settings file. Tests pass their own ini path so they never touch the user's settings.
"""
from __future__ import annotations

from dataclasses import asdict

from PySide6.QtCore import QByteArray, QSettings

from ui.session.connection import Connection

ORGANISATION = "EventLens"
APPLICATION = "EventLens"
MAX_RECENT = 10


class Settings:
    """QSettings behind a small API; ``path`` redirects to an ini file (tests, portable use)."""

    def __init__(self, path: str | None = None):
        if path:
            self.qsettings = QSettings(path, QSettings.Format.IniFormat)
        else:
            self.qsettings = QSettings(ORGANISATION, APPLICATION)

    # -- remembered choices (the session's Preferences) -------------------------------
    def get(self, key: str) -> str | None:
        value = self.qsettings.value(f"choices/{key}")
        return str(value) if value is not None else None

    def set(self, key: str, value: str) -> None:
        self.qsettings.setValue(f"choices/{key}", value)
        self.qsettings.sync()

    # -- window -----------------------------------------------------------------
    def save_bytes(self, key: str, value: QByteArray) -> None:
        """Store a geometry or splitter state."""
        self.qsettings.setValue(key, value)

    def load_bytes(self, key: str) -> QByteArray | None:
        """A stored geometry or splitter state, or None."""
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- recent connections -------------------------------------------------------
    def recent(self) -> list[Connection]:
        """Recent connections, newest first, without passwords."""
        size = self.qsettings.beginReadArray("recent")
        out = []
        for i in range(size):
            self.qsettings.setArrayIndex(i)
            values = {k: self.qsettings.value(k) for k in self.qsettings.childKeys()}
            out.append(_connection_from(values))
        self.qsettings.endArray()
        return out

    def remember(self, connection: Connection) -> None:
        """Put a connection first in the recent list, its password removed."""
        clean = connection.redacted()
        items = [clean] + [c for c in self.recent() if _key(c) != _key(clean)]
        self.qsettings.beginWriteArray("recent", min(len(items), MAX_RECENT))
        for i, item in enumerate(items[:MAX_RECENT]):
            self.qsettings.setArrayIndex(i)
            for key, value in asdict(item).items():
                if key != "password":
                    self.qsettings.setValue(key, value)
        self.qsettings.endArray()
        self.qsettings.sync()

    def sync(self) -> None:
        """Write pending changes to disk."""
        self.qsettings.sync()


def _key(c: Connection) -> tuple:
    return (c.uri, c.db, c.layout, c.read_only)


def _bool(value: object) -> bool:
    # ini files give strings back
    return value in (True, "true", "True", "1", 1)


def _connection_from(values: dict) -> Connection:
    return Connection(
        uri=str(values.get("uri") or ""),
        db=str(values.get("db") or ""),
        layout=str(values.get("layout") or ""),
        read_only=_bool(values.get("read_only")),
        timeout_s=float(values.get("timeout_s") or 10.0),
        tls_ca_file=str(values.get("tls_ca_file") or ""),
        tls_cert_file=str(values.get("tls_cert_file") or ""),
        tls_allow_invalid_hostnames=_bool(values.get("tls_allow_invalid_hostnames")),
    )
