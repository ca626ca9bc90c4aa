"""EDN text as Clojure writes it, decoded to plain Python values (keywords become their names)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import edn_format
from edn_format.edn_lex import Keyword, Symbol

from model.errors import StoreError


class EdnError(StoreError):
    """Text that is not EDN."""


def _plain(value: Any) -> Any:
    if isinstance(value, (Keyword, Symbol)):
        return value.name  # :user/name -> "user/name", as Clojure's (name) would not keep the colon
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        items = [_plain(v) for v in value]
        try:
            return sorted(items)  # sets have no order; sorting makes replays comparable
        except TypeError:
            return items
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):  # vectors and lists (ImmutableList)
        return [_plain(v) for v in value]
    return value


def loads_edn(text: str | bytes) -> Any:
    """Decode EDN text into dicts, lists, strings and numbers; raise EdnError with one line."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise EdnError(f"not valid UTF-8 at byte {error.start}") from None
    try:
        return _plain(edn_format.loads(text))
    except RecursionError:
        raise EdnError("EDN nested too deeply to decode") from None
    except Exception as error:  # edn_format raises several unrelated types on bad input
        raise EdnError(f"not valid EDN: {str(error).splitlines()[0][:120] if str(error) else type(error).__name__}") from None
