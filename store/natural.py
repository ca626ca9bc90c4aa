"""Natural order for stream ids: ``account-2`` before ``account-10``, as a plain string key.

``natural_key(text)`` is a string whose ordinary (code point) order is the natural order of the
texts: every run of ASCII digits is replaced by its number written with a length prefix, so a
shorter number sorts first and equal lengths compare digit by digit. Everything else is kept
as it is, so the key of text without digits is the text itself, and a digit still sorts
where a digit sorts in plain text (after ``-`` and ``.``, before letters). Code point order is
also SQLite's default (BINARY, byte order of UTF-8) and Python's, so the key can be a column
of a table with an index, or a ``sorted(key=...)``.

Numbers that differ only in leading zeros (``7`` and ``007``) have the same key; sort by
``(natural_key(text), text)`` for a total order.
"""
from __future__ import annotations

import re

from model.errors import UsageError

_DIGITS = re.compile(r"[0-9]+")
#: Numbers up to this many significant digits take a one-digit length prefix ("1".."8");
#: longer ones "9" and a two-digit length. Beyond 99 digits a run is kept as it is.
_SHORT = 8
_LONGEST = 99


def _number(match: re.Match[str]) -> str:
    digits = match.group(0).lstrip("0")
    n = len(digits)
    if n <= _SHORT:
        return f"{n}{digits}"  # "0" (n = 0) -> "0": zero sorts before every other number
    if n <= _LONGEST:
        return f"9{n:02d}{digits}"
    return match.group(0)


def natural_key(text: str) -> str:
    """A key whose plain string order is the natural order of ``text`` (digit runs compared as numbers)."""
    return _DIGITS.sub(_number, text)


def order_key(stream_id: str) -> tuple[str, str]:
    """A stream id's place in the stream list's total order: natural, then the id itself (``7`` before ``007``)."""
    return natural_key(stream_id), stream_id


def check_after(after: str | None, sort: str) -> None:
    """``after`` (keyset paging) follows one stream id in the id order; any other order pages by offset."""
    if after is not None and sort != "stream_id":
        raise UsageError(f"a page after a stream id needs the stream id order, not {sort!r}; page by offset")


def follows(after: str | None, descending: bool):
    """A test of whether a stream id comes after ``after`` in the (possibly descending) id order."""
    if after is None:
        return lambda stream_id: True
    key = order_key(after)
    return (lambda stream_id: order_key(stream_id) < key) if descending else (lambda stream_id: order_key(stream_id) > key)
