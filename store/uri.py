"""MongoDB connection strings: tell them apart from paths, take them apart, and remove secrets."""
from __future__ import annotations

import re
from urllib.parse import unquote

SCHEMES = ("mongodb://", "mongodb+srv://")

# Query options whose values are secrets (AWS session tokens live in authMechanismProperties).
_SECRET_OPTIONS = {"password", "authmechanismproperties", "tlscertificatekeyfilepassword",
                   "sslpemkeypassword", "sslclientcertificatekeypassword"}
_URI_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def is_mongodb_uri(text: str) -> bool:
    """True for ``mongodb://`` and ``mongodb+srv://`` connection strings."""
    return text.lower().startswith(SCHEMES)


def _split(uri: str) -> tuple[str, str, str, str, str]:
    """(scheme://, userinfo, hosts, path, query) of a connection string, without decoding."""
    scheme_end = uri.index("://") + 3
    scheme, rest = uri[:scheme_end], uri[scheme_end:]
    # Userinfo ends at the last "@" (a password with an unescaped "/" or "?" stays in it: redacting
    # too much is safe, too little is not).
    at = rest.rfind("@")
    userinfo, rest = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    hosts, _, path = rest.partition("/")
    return scheme, userinfo, hosts, path, query


def redact(uri: str | None) -> str:
    """``uri`` (any scheme) with its password and secret options removed; a path comes back unchanged."""
    if not uri or "://" not in uri:
        return uri or ""  # a file path: nothing secret in it
    try:
        scheme, userinfo, hosts, path, query = _split(uri)
    except ValueError:
        return "mongodb://(unreadable connection string)"
    user = userinfo.split(":", 1)[0]
    options = []
    for option in query.split("&") if query else []:
        name, sep, value = option.partition("=")
        options.append(f"{name}=***" if sep and name.lower() in _SECRET_OPTIONS else option)
    text = scheme + (f"{user}@" if user else "") + hosts
    if path or options:
        text += "/" + path
    if options:
        text += "?" + "&".join(options)
    return text


def redact_text(text: str) -> str:
    """``text`` with every connection string in it redacted (for error messages from drivers)."""
    return _URI_IN_TEXT.sub(lambda m: redact(m.group(0)), text)


def hosts(uri: str) -> str:
    """The ``host:port`` list of a connection string, as written (no DNS lookup for +srv)."""
    try:
        return _split(uri)[2] or "localhost"
    except ValueError:
        return "(unknown host)"


def database(uri: str) -> str | None:
    """The database named in the connection string's path, if any."""
    try:
        path = _split(uri)[3]
    except ValueError:
        return None
    return unquote(path) or None


# A MongoDB address written without its scheme: [user[:password]@]host[:port][,host[:port]...][/db][?options].
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_ADDRESS = re.compile(rf"^(?:[^@/\s]+@)?{_HOST}:\d{{1,5}}(?:,{_HOST}(?::\d{{1,5}})?)*(?:/[^\s]*)?(?:\?[^\s]*)?$")


def looks_like_address(text: str) -> bool:
    """True for text such as ``localhost:27017`` or ``db.example.net:27017/shop``: a server, not a file."""
    return "://" not in text and bool(_ADDRESS.match(text))


def host_ports(uri: str) -> list[tuple[str, int]] | None:
    """The (host, port) pairs a ``mongodb://`` URI names; None when they cannot be probed directly.

    None for ``mongodb+srv://`` (the hosts come from DNS), Unix socket paths, and connections
    through a proxy.
    """
    if not uri.lower().startswith("mongodb://"):
        return None
    try:
        _, _, text, _, query = _split(uri)
    except ValueError:
        return None
    if "proxyhost=" in query.lower():
        return None
    out = []
    for item in (text or "localhost").split(","):
        item = unquote(item)
        if "/" in item or item.endswith(".sock"):
            return None
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        try:
            out.append((host, int(port) if port else 27017))
        except ValueError:
            return None
    return out
