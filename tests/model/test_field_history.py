"""field_history over real History objects folded by the default reducer."""
from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from model.errors import CancelledError
from model.event import Event
from model.field_history import MISSING, FieldChange, field_history, same_value, value_at
from model.reducer import default_reducer
from model.loaded import LoadedStream

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def events(*specs: tuple[str, dict]) -> list[Event]:
    return [
        Event("s-1", i, type_, data, {}, T0 + timedelta(minutes=i))
        for i, (type_, data) in enumerate(specs, start=1)
    ]


def history_of(*specs: tuple[str, dict], **kwargs) -> LoadedStream:
    history = LoadedStream("s-1", default_reducer(), **kwargs)
    history.extend(events(*specs))
    return history


def test_creation_changes_and_removal_with_missing():
    history = history_of(
        ("UserCreated", {"id": "u", "name": "Ada"}),
        ("UserUpdated", {"email": "a@x"}),  # name untouched
        ("UserUpdated", {"name": "Grace"}),
        ("UserUpdated", {"name": "Grace"}),  # same value: no change
        ("UserCreated", {"id": "u"}),  # created-like replaces the state: name removed
        ("UserUpdated", {"name": "Hedy"}),
    )
    changes = field_history(history, ("name",))
    assert [(c.version, c.type, c.old, c.new) for c in changes] == [
        (1, "UserCreated", MISSING, "Ada"),
        (3, "UserUpdated", "Ada", "Grace"),
        (5, "UserCreated", "Grace", MISSING),
        (6, "UserUpdated", MISSING, "Hedy"),
    ]
    assert changes[1].time == T0 + timedelta(minutes=3)
    assert isinstance(changes[0], FieldChange)


def test_nested_paths_and_list_indexes():
    history = history_of(
        ("CartCreated", {"items": [{"sku": "a", "qty": 1}]}),
        ("CartChanged", {"items": [{"sku": "a", "qty": 2}]}),
        ("CartChanged", {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}),
        ("CartChanged", {"items": []}),
    )
    assert [(c.version, c.old, c.new) for c in field_history(history, ("items", 0, "qty"))] == [
        (1, MISSING, 1),
        (2, 1, 2),
        (4, 2, MISSING),
    ]
    assert [(c.version, c.old, c.new) for c in field_history(history, ("items", 1, "sku"))] == [
        (3, MISSING, "b"),
        (4, "b", MISSING),
    ]
    # A whole sub-tree as the field: every event that changed anything below it.
    assert [c.version for c in field_history(history, ("items",))] == [1, 2, 3, 4]


def test_type_changes_count_as_changes():
    history = history_of(
        ("ThingCreated", {"n": 1}),
        ("ThingChanged", {"n": 1.0}),
        ("ThingChanged", {"n": True}),
        ("ThingChanged", {"n": True}),
    )
    assert [(c.version, c.new) for c in field_history(history, ("n",))] == [(1, 1), (2, 1.0), (3, True)]


def test_deleted_marks_the_field_deleted():
    history = history_of(("UserCreated", {"name": "Ada"}), ("UserDeleted", {}))
    assert [(c.version, c.old, c.new) for c in field_history(history, ("deleted",))] == [(2, MISSING, True)]


def test_empty_path_is_the_whole_state_and_unknown_path_has_no_changes():
    history = history_of(("UserCreated", {"a": 1}), ("UserUpdated", {"a": 1}), ("UserUpdated", {"b": 2}))
    assert [c.version for c in field_history(history, ())] == [1, 3]
    assert field_history(history, ("nope", 3, "x")) == []


def test_history_after_a_snapshot_starts_from_the_initial_state():
    history = LoadedStream("s-1", default_reducer(), initial_state={"name": "Ada"}, initial_version=10)
    history.extend([Event("s-1", 11, "UserUpdated", {"name": "Bob"}, {}, T0)])
    assert [(c.version, c.old, c.new) for c in field_history(history, ("name",))] == [(11, "Ada", "Bob")]


def test_version_bounds():
    history = history_of(*[("CounterChanged", {"n": i}) for i in range(10)])
    assert [c.version for c in field_history(history, ("n",), from_version=4, to_version=6)] == [4, 5, 6]
    assert field_history(history_of(), ("n",)) == []


def test_long_walk_reports_progress_and_can_be_cancelled():
    history = history_of(*[("CounterChanged", {"n": i // 3}) for i in range(10_000)], checkpoint_every=64)
    seen: list[tuple[int, int]] = []
    changes = field_history(history, ("n",), progress=lambda done, total: seen.append((done, total)))
    assert len(changes) == 3334  # 0 appears at v1, then a new value every third event
    assert seen[-1] == (10_000, 10_000) and len(seen) >= 3
    with pytest.raises(CancelledError, match="field history cancelled"):
        field_history(history, ("n",), cancel=lambda: True)


def test_value_helpers():
    assert value_at({"a": [1, {"b": 2}]}, ("a", 1, "b")) == 2
    assert value_at({"a": [1]}, ("a", 5)) is MISSING
    assert value_at({"a": [1]}, ("a", "0")) is MISSING
    assert value_at({"a": "text"}, ("a", 0)) is MISSING
    assert not MISSING and repr(MISSING) == "<missing>"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert same_value(float("nan"), float("nan"))
    assert not same_value({"a": 1}, {"a": True})
    assert same_value([1, {"a": 2}], [1, {"a": 2}])


class OnlyStateAt:
    """The minimal history protocol: no reducer or event list to walk with."""

    def __init__(self, history: LoadedStream):
        self._h = history
        self.first_version, self.last_version = history.first_version, history.last_version

    def state_at(self, version):
        return self._h.state_at(version)

    def event(self, version):
        return self._h.event(version)


def brute_force(history: LoadedStream, path: tuple) -> list[tuple[int, object, object]]:
    """Independent reference: compare the state before and after every event."""
    result = []
    for v in range(history.first_version, history.last_version + 1):
        old, new = value_at(history.state_at(v - 1), path), value_at(history.state_at(v), path)
        if not same_value(old, new):
            result.append((v, old, new))
    return result


@pytest.mark.parametrize("seed", range(5))
def test_walk_agrees_with_state_at_for_every_version(seed):
    import random

    rng = random.Random(seed)
    kinds = ["ThingCreated", "ThingChanged", "ThingChanged", "ThingChanged", "ThingDeleted"]
    specs = []
    for _ in range(400):
        data = {k: rng.choice([0, 1, 1.0, True, "x", None, [1], {"y": 2}]) for k in rng.sample("abc", rng.randint(0, 3))}
        specs.append((rng.choice(kinds), data))
    history = history_of(*specs, checkpoint_every=32)
    for path in [("a",), ("b",), ("deleted",), ("c", "y"), ("a", 0)]:
        walked = [(c.version, c.old, c.new) for c in field_history(history, path)]
        assert walked == brute_force(history, path)
        assert walked == [(c.version, c.old, c.new) for c in field_history(OnlyStateAt(history), path)]


def test_same_value_compares_mappings_and_lists_whatever_their_class():
    from model.freeze import FrozenDict, FrozenList, FrozenMap, freeze, freeze_each

    payload = freeze_each([{"a": 1, "b": [1, 2]}])[0]
    assert type(payload) is FrozenDict
    assert same_value(payload, FrozenMap(payload)) and same_value(FrozenMap(payload), {"a": 1, "b": [1, 2]})
    assert same_value(FrozenList([1, 2]), [1, 2]) and not same_value(FrozenList([1, 2]), [1, 2.0])
    assert not same_value(payload, {"a": True, "b": [1, 2]}) and not same_value(payload, [1])
    big = freeze({f"k{i}": i for i in range(1000)})
    assert same_value(big, big.set("k1", 1)) and not same_value(big, big.set("k1", 1.0))
    assert not same_value(big, big.delete("k1").set("k1000", 999)) and not same_value(big.set("x", 1), big)


def test_field_history_of_a_key_in_a_large_state():
    specs = [("InventoryOpened", {"warehouse": "w"})] + [("StockCounted", {f"sku-{i % 500}": i}) for i in range(1, 3000)]
    history = history_of(*specs, checkpoint_every=100)
    changes = field_history(history, ("sku-7",))
    assert [c.version for c in changes] == [v for v in range(2, 3001) if (v - 1) % 500 == 7]
    assert changes[0].old is MISSING and changes[0].new == 7 and changes[1].old == 7
