"""How EventLens writes numbers, counts, moments and one-line messages, the same in the window and the CLI."""
from __future__ import annotations

from datetime import datetime, timezone

from model.errors import UsageError

UTC = timezone.utc


def number(n: int | float) -> str:
    """A count with thousands separators: 1,234,567."""
    return f"{n:,}"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``n`` and the noun in the right number: "1 snapshot", "2 snapshots", "1,000 events"."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{number(n)} {word}"


def iso(moment: datetime | None) -> str | None:
    """A moment as ISO-8601 in UTC with a ``Z`` (None stays None); naive datetimes are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def time_text(moment: datetime | None) -> str:
    """A moment as lists show it, to the second in UTC: 2024-01-05 10:00:00 (fractions only when they matter).

    Milliseconds are kept when the moment has them, so two events in one second stay apart.
    """
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    text = moment.isoformat(" ", "seconds")[:19]
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text


def parse_moment(text: str, what: str = "") -> datetime:
    """An ISO-8601 date or time; without a zone it is UTC (stores keep UTC). UsageError when it does not parse."""
    from model.query import parse_moment as parse

    try:
        return parse(text, what or "moment")
    except UsageError as error:
        raise UsageError(str(error) if what else str(error).removeprefix("moment: ")) from None


def one_line(text: str, limit: int = 400) -> str:
    """A message squeezed onto one line: driver errors can span many lines and whole topologies."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def first_line(error: BaseException) -> str:
    """The one line shown for an error: expected failures as they are, others with their type."""
    from model.errors import EventLensError

    text = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, EventLensError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
