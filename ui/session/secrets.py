"""Passwords never reach a message, a title or a file: one place that removes them."""
from __future__ import annotations

from urllib.parse import unquote

from store.uri import redact_text


def secrets_of(uri: str | None) -> list[str]:
    """The password in ``uri`` as written and decoded, longest first, to scrub from any message.

    The user info ends at the last "@", as in ``store.uri``: a password holding an unescaped
    "/" or "@" is still found whole.
    """
    if not uri or "://" not in uri:
        return []
    rest = uri.split("://", 1)[1]
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return []
    raw = rest[:at].split(":", 1)[1]
    return sorted({raw, unquote(raw)} - {""}, key=len, reverse=True)


def scrub(text: str, uri: str | None = None, password: str | None = None) -> str:
    """``text`` with every connection string redacted and the given password (typed, or in ``uri``) removed."""
    text = redact_text(text)
    secrets = set(secrets_of(uri))
    if password:
        secrets.update({password, unquote(password)})
    for secret in sorted(secrets - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
