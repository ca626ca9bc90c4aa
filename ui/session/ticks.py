"""The timeline's axis ticks: whole versions, and times with the context the range needs.

Plain Python, no Qt: the window's view asks for the ticks of the range it shows.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np

UTC = timezone.utc


def version_ticks(x0: float, x1: float, most: int) -> list[int]:
    """Whole-number version ticks between x0 and x1, at most ``most`` of them, on a 1-2-5 step."""
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 < x0 or most < 1:
        return []
    span = max(x1 - x0, 1.0)
    step = 1
    for power in range(0, 19):
        for factor in (1, 2, 5):
            step = factor * 10**power
            if span / step <= most:
                break
        else:
            continue
        break
    first = math.ceil(x0 / step) * step
    return [v for v in range(int(first), int(math.floor(x1)) + 1, step) if v >= 1]


_UNITS = (  # (seconds of a step, label label_unit)
    (1, "second"), (2, "second"), (5, "second"), (15, "second"), (30, "second"),
    (60, "minute"), (120, "minute"), (300, "minute"), (900, "minute"), (1800, "minute"),
    (3600, "hour"), (7200, "hour"), (3 * 3600, "hour"), (6 * 3600, "hour"), (12 * 3600, "hour"),
    (86400, "day"), (2 * 86400, "day"), (7 * 86400, "day"), (14 * 86400, "day"),
)
_MONTH_STEPS = (1, 2, 3, 6)
_YEAR_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def time_ticks(x0: float, x1: float, most: int) -> list[tuple[float, str]]:
    """UTC ticks between epoch seconds x0 and x1 with labels that carry the context the range needs.

    The first tick names the full date; later ticks name what changed (the month and year when
    they change, the day on hour ticks), so a reader never meets a bare day number.
    """
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 <= x0 or most < 1:
        return []
    span = x1 - x0
    moments: list[datetime] = []
    label_unit = "year"
    for seconds, unit in _UNITS:
        if span / seconds <= most:
            label_unit = unit
            start = math.ceil(x0 / seconds) * seconds
            if unit == "day" and seconds >= 7 * 86400:
                start = math.ceil(x0 / 86400) * 86400  # weeks from a day boundary
            moments = [_utc(t) for t in np.arange(start, x1 + 1e-9, seconds)]
            break
    else:
        first, last = _utc(x0), _utc(x1)
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        step = next((m for m in _MONTH_STEPS if months / m <= most), None)
        if step is not None:
            label_unit = "month"
            moments = _month_starts(first, last, step)
        else:
            years = last.year - first.year + 1
            step = next((y for y in _YEAR_STEPS if years / y <= most), _YEAR_STEPS[-1])
            moments = [datetime(y, 1, 1, tzinfo=UTC) for y in range((first.year + step - 1) // step * step,
                                                                    last.year + 1, step) if y >= 1]
    ticks = []
    previous: datetime | None = None
    for moment in moments:
        value = moment.timestamp()
        if value < x0 - 1e-6 or value > x1 + 1e-6:
            continue
        ticks.append((value, _tick_label(moment, previous, label_unit)))
        previous = moment
    return ticks


def _utc(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(seconds))


def _month_starts(first: datetime, last: datetime, step: int) -> list[datetime]:
    index = first.year * 12 + first.month - 1
    if first.day != 1 or first.hour or first.minute or first.second:
        index += 1
    index = (index + step - 1) // step * step
    out = []
    while index <= last.year * 12 + last.month - 1:
        out.append(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC))
        index += step
    return out


def _tick_label(moment: datetime, previous: datetime | None, label_unit: str) -> str:
    if label_unit == "year":
        return f"{moment.year}"
    if label_unit == "month":
        return moment.strftime("%b %Y") if previous is None or previous.year != moment.year else moment.strftime("%b")
    new_year = previous is None or previous.year != moment.year
    date = moment.strftime("%Y-%m-%d") if new_year else moment.strftime("%b %d")
    if label_unit == "day":
        return date
    clock = moment.strftime("%H:%M:%S" if label_unit == "second" else "%H:%M")
    if previous is None or previous.date() != moment.date():
        return f"{date} {clock}"
    return clock


def format_time(seconds: float) -> str:
    """Epoch seconds as a UTC time for labels."""
    try:
        return _utc(seconds).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "?"
