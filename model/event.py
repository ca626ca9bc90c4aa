"""Values that flow between the store, the model and the UI."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Mapping

EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded fact in a stream. ``version`` is 1-based and contiguous within its stream.

    ``time`` is timezone-aware UTC, whatever the layout stored, or None when the store keeps no
    time for its events (a layout without times: only versions place them). ``problems`` lists what the
    store could not decode for this event (a payload that is not JSON, a missing field, ...):
    the event is still shown, located, instead of breaking the whole stream.
    """

    stream_id: str
    version: int
    type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]
    time: datetime | None
    stream_type: str = ""
    problems: tuple[str, ...] = ()

    def __init__(
        self,
        stream_id: str,
        version: int,
        type: str,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
        time: datetime | None,
        stream_type: str = "",
        problems: tuple[str, ...] = (),
    ):
        # The frozen dataclass's own __init__ sets each field with object.__setattr__, which
        # looks the name up on the class first: 2.3 us an event, a fifth of loading a stream.
        # The slots' setters (bound below) skip the lookup and halve it. Everything else
        # (frozen assignment, ==, hash, repr, replace) stays the dataclass's own.
        _set_stream_id(self, stream_id)
        _set_version(self, version)
        _set_type(self, type)
        _set_data(self, data)
        _set_metadata(self, metadata)
        _set_time(self, time)
        _set_stream_type(self, stream_type)
        _set_problems(self, problems)


# The slot descriptors of the final class (slots=True makes a new class, so bind them after it).
(_set_stream_id, _set_version, _set_type, _set_data, _set_metadata, _set_time, _set_stream_type,
 _set_problems) = (Event.__dict__[f.name].__set__ for f in fields(Event))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the store gives it its version and, when ``time`` is None, the time."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """A stream as the stream list shows it, from the events themselves.

    ``catalogued_version`` is the head EventLens's own stream catalogue records when it
    disagrees with the events (0 when the catalogue lacks the stream); None when it agrees or
    when the store has no catalogue at all.
    """

    stream_id: str
    stream_type: str
    events: int
    first_version: int
    last_version: int
    first_time: datetime | None
    last_time: datetime | None
    catalogued_version: int | None = None


@dataclass(frozen=True, slots=True)
class ReducerId:
    """Names the reducer that produced a state: snapshots are only reused by the same one."""

    name: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a stream after its event ``version``.

    ``foreign`` marks a snapshot that another tool wrote (issue: layouts): it is listed and
    verified, but reconstruction starts from it only when the user says it matches the reducer.
    """

    stream_id: str
    version: int
    state: Mapping[str, Any]
    reducer: ReducerId
    created_at: datetime
    created_by: str = ""
    foreign: bool = False
