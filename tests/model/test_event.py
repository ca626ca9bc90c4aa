"""Event keeps the frozen dataclass's contract with its faster constructor."""
import dataclasses
import inspect
import pickle
from datetime import datetime, timezone

import pytest

from model.event import Event

T = datetime(2024, 1, 15, tzinfo=timezone.utc)


def test_constructor_takes_every_field_in_order_with_its_default():
    params = list(inspect.signature(Event).parameters.values())
    fields = dataclasses.fields(Event)
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params[6:]] == ["", ()]


def test_fields_positional_and_keyword_are_kept():
    e = Event("s-1", 3, "Opened", {"a": 1}, {"m": 2}, T, "account", ("bad",))
    assert (e.stream_id, e.version, e.type, e.data, e.metadata, e.time, e.stream_type, e.problems) == (
        "s-1", 3, "Opened", {"a": 1}, {"m": 2}, T, "account", ("bad",))
    k = Event(stream_id="s-1", version=3, type="Opened", data={}, metadata={}, time=T)
    assert (k.stream_type, k.problems) == ("", ())
    with pytest.raises(TypeError):
        Event("s-1", 3, "Opened", {}, {}, T, unknown=1)


def test_event_is_frozen_comparable_hashable_and_replaceable():
    e = Event("s-1", 3, "Opened", (), (), T)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.version = 4  # type: ignore[misc]
    same = Event("s-1", 3, "Opened", (), (), T)
    assert e == same and hash(e) == hash(same)
    assert e != dataclasses.replace(e, version=4)
    assert dataclasses.replace(e, version=4).version == 4
    assert repr(e).startswith("Event(stream_id='s-1', version=3, type='Opened'")
    assert pickle.loads(pickle.dumps(e)) == e
