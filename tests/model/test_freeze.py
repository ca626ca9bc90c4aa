"""Frozen values: persistent FrozenMap and FrozenList for states, read-only FrozenDict for payloads."""
import copy
import json
import pickle
import random
from collections.abc import Mapping, Sequence

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.freeze import (
    SMALL_MAP,
    TRACE_LIMIT,
    FrozenDict,
    FrozenError,
    FrozenList,
    FrozenMap,
    ThawedDict,
    changed_keys,
    freeze,
    freeze_each,
    is_frozen,
    settle,
    thaw,
)

MAP_MUTATIONS = [
    lambda d: d.__setitem__("x", 1),
    lambda d: d.__delitem__("a"),
    lambda d: d.update(x=1),
    lambda d: d.pop("a"),
    lambda d: d.popitem(),
    lambda d: d.clear(),
    lambda d: d.setdefault("x", 1),
    lambda d: d.__ior__({"x": 1}),
]
LIST_MUTATIONS = [
    lambda l: l.__setitem__(0, 1),
    lambda l: l.__delitem__(0),
    lambda l: l.append(1),
    lambda l: l.extend([1]),
    lambda l: l.insert(0, 1),
    lambda l: l.remove(1),
    lambda l: l.pop(),
    lambda l: l.clear(),
    lambda l: l.sort(),
    lambda l: l.reverse(),
    lambda l: l.__iadd__([1]),
    lambda l: l.__imul__(2),
]
BIG = SMALL_MAP * 3  # a FrozenMap this large holds a trie, not a dict


def big_state(n=BIG):
    return freeze({f"k{i}": i for i in range(n)})


@pytest.mark.parametrize("size", [2, BIG])
@pytest.mark.parametrize("mutate", MAP_MUTATIONS)
def test_frozen_map_refuses_every_mutation(mutate, size):
    m = freeze({"a": 1, "b": [1, 2], **{f"k{i}": i for i in range(size)}})
    before = thaw(m)
    with pytest.raises(FrozenError):
        mutate(m)
    assert m == before


@pytest.mark.parametrize("mutate", MAP_MUTATIONS)
def test_frozen_dict_payloads_refuse_every_mutation(mutate):
    d = freeze_each([{"a": 1, "b": [1, 2]}])[0]
    assert type(d) is FrozenDict
    with pytest.raises(FrozenError):
        mutate(d)
    assert d == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize("size", [3, 100])
@pytest.mark.parametrize("mutate", LIST_MUTATIONS)
def test_frozen_list_refuses_every_mutation(mutate, size):
    l = freeze([1, *range(2, size + 1)])
    with pytest.raises(FrozenError):
        mutate(l)
    assert l == [1, *range(2, size + 1)]


def test_augmented_assignment_on_a_nested_value_is_refused():
    state = freeze({"tags": ["a"], "seen": {"x": 1}})
    tags, seen = state["tags"], state["seen"]
    with pytest.raises(FrozenError):
        tags += ["b"]
    with pytest.raises(FrozenError):
        seen |= {"y": 2}
    assert state == {"tags": ["a"], "seen": {"x": 1}}


def test_freeze_converts_nested_values_and_tuples():
    value = freeze({"a": [{"b": (1, 2)}], "c": "x"})
    assert type(value) is FrozenMap
    assert type(value["a"]) is FrozenList
    assert type(value["a"][0]) is FrozenMap
    assert type(value["a"][0]["b"]) is FrozenList
    assert value == {"a": [{"b": [1, 2]}], "c": "x"}


def test_frozen_values_are_mappings_and_sequences_equal_to_plain_ones():
    for state in (freeze({"a": 1, "l": [1, {"b": None}]}), big_state()):
        plain = thaw(state)
        assert isinstance(state, Mapping) and not isinstance(state, dict)
        assert state == plain and plain == state and not (state != plain)
        assert state != {**plain, "extra": 1} and state != [1]
        assert dict(state) == plain and {**state} == plain
    items = freeze([1, [2, 3], {"x": 4}])
    assert isinstance(items, Sequence) and not isinstance(items, list)
    assert items == [1, [2, 3], {"x": 4}] and [1, [2, 3], {"x": 4}] == items
    assert items != (1, [2, 3], {"x": 4})  # a list, as before: never equal to a tuple
    assert freeze([1, 2]) < [1, 3] and freeze([2]) > freeze([1, 5])


def test_reading_a_frozen_map_as_a_dict():
    for state in (freeze({"a": 1, "b": 2}), big_state().merge(a=1, b=2)):
        assert state["a"] == 1 and state.get("b") == 2 and state.get("zz") is None and state.get("zz", 0) == 0
        assert "a" in state and "zz" not in state
        with pytest.raises(KeyError):
            state["zz"]
        assert len(state) == len(list(state)) == len(state.keys()) == len(state.items())
        assert list(state.items()) == list(zip(state.keys(), state.values()))
        assert ("a", 1) in state.items() and 2 in state.values() and state.keys() >= {"a", "b"}
        copied = state.copy()
        assert type(copied) is dict and copied == state
        copied["a"] = 5  # the plain copy is the reducer's own to change
        assert state["a"] == 1


def test_persistent_map_changes_return_new_maps_and_share_the_rest():
    for old in (freeze({"big": {"n": list(range(100))}, "x": 1}), big_state().set("big", {"n": [1]}).set("x", 1)):
        new = old.set("x", 2)
        assert new["x"] == 2 and old["x"] == 1
        assert new["big"] is old["big"]
        assert old.delete("x") == {k: v for k, v in old.items() if k != "x"} and "x" in old
        assert (old | {"y": [1]})["y"] == [1] and type((old | {"y": [1]})["y"]) is FrozenList
        assert old.merge({"x": 3}, z=4)["z"] == 4 and old.merge([("x", 5)])["x"] == 5
        assert old.merge({}) is old
        with pytest.raises(KeyError):
            old.delete("no such key")
        assert ({"x": 0, "first": True} | old)["x"] == 1  # the right side wins, as for dicts
        assert list({"first": True} | old)[0] == "first"


def test_set_and_merge_freeze_the_values_they_add():
    state = freeze({"a": 1}).set("l", [1, [2]]).merge({"d": {"e": [3]}})
    assert type(state["l"]) is FrozenList and type(state["l"][1]) is FrozenList
    assert type(state["d"]) is FrozenMap and type(state["d"]["e"]) is FrozenList
    with pytest.raises(FrozenError):
        state["d"]["e"].append(4)


def test_keys_keep_the_order_they_were_first_set_in():
    small = freeze({"b": 1, "a": 2}).set("c", 3)
    assert list(small) == ["b", "a", "c"]
    keys = [f"k{i}" for i in range(BIG)]
    random.Random(4).shuffle(keys)
    state = FrozenMap()
    for key in keys:
        state = state.set(key, 1)  # grows past SMALL_MAP into a trie on the way
    assert list(state) == keys and list(state.values()) == [1] * BIG
    state = state.merge({keys[0]: 2, "new": 3})  # an existing key keeps its place
    assert list(state) == keys + ["new"]
    assert list(state.delete(keys[5])) == keys[:5] + keys[6:] + ["new"]


def test_a_large_map_survives_deletes_revivals_and_branches():
    rng = random.Random(3)
    state, plain, kept = big_state(), thaw(big_state()), []
    for step in range(3000):
        roll = rng.random()
        if roll < 0.05 and kept:
            state, plain = rng.choice(kept)  # derive again from an older value (a checkpoint)
            plain = dict(plain)
        elif roll < 0.45:
            key = f"k{rng.randrange(BIG * 2)}"
            state, plain[key] = state.set(key, step), step
        elif roll < 0.6:
            update = {f"k{rng.randrange(BIG * 2)}": step for _ in range(rng.choice([1, 3, 70]))}
            state = state.merge(FrozenDict(update) if rng.random() < 0.5 else update)
            plain.update(update)
        elif plain:
            key = rng.choice(list(plain))
            state = state.delete(key)
            del plain[key]
        if rng.random() < 0.5:
            settle(state)
        if rng.random() < 0.05:
            kept.append((state, dict(plain)))
    for value, expected in kept + [(state, plain)]:
        assert value == expected and len(value) == len(expected)
        assert sorted(value, key=str) == sorted(expected, key=str) and len(set(value)) == len(value)


def test_persistent_list_changes():
    old = freeze(list(range(100)))
    new = old + [100, [101]]
    assert new == list(range(101)) + [[101]] and type(new[-1]) is FrozenList and old == list(range(100))
    assert old.set(50, "x")[50] == "x" and old[50] == 50 and old.set(-1, "y")[-1] == "y"
    assert old.delete(0) == list(range(1, 100)) and len(old) == 100
    assert [0] + freeze([1]) == [0, 1] and type([0] + freeze([1])) is FrozenList
    assert freeze([1]) * 3 == [1, 1, 1] and freeze([1, 2]) + () is not None
    assert old[10:20] == list(range(10, 20)) and type(old[10:20]) is FrozenList and old[::-1][0] == 99
    assert old[-1] == 99 and old.index(7) == 7 and old.count(7) == 1 and 7 in old and 100 not in old
    assert list(reversed(old))[:2] == [99, 98] and old.copy() == list(range(100)) and type(old.copy()) is list
    for bad in (100, -101):
        with pytest.raises(IndexError):
            old[bad]
        with pytest.raises(IndexError):
            old.set(bad, 0)
    assert freeze([]) + [] == [] and len(freeze([])) == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "set", "delete", "branch"]), st.integers(0, 40), st.integers(0, 1200))))
def test_a_frozen_list_reads_as_the_list_it_was_built_like(steps):
    value, plain, kept = freeze([]), [], [(freeze([]), [])]
    for op, count, at in steps:
        if op == "add":
            extra = list(range(at, at + count))
            value, plain = value + extra, plain + extra
        elif op == "set" and plain:
            value = value.set(at % len(plain), -at)
            plain[at % len(plain)] = -at
        elif op == "delete" and plain:
            value = value.delete(at % len(plain))
            del plain[at % len(plain)]
        elif op == "branch":
            value, plain = kept[at % len(kept)]
            plain = list(plain)
        kept.append((value, list(plain)))
    assert value == plain and list(value) == plain and len(value) == len(plain)
    assert all(value[i] == plain[i] for i in range(len(plain)))


def test_changed_keys_name_what_a_derivation_changed_and_stay_sound():
    state = big_state()
    settle(state)
    one = state.set("k1", -1)
    assert changed_keys(state, one) == ("k1",) and changed_keys(one, state) == ("k1",)
    two = one.merge({"k2": -2, "new": 0}).delete("k3")
    assert set(changed_keys(state, two)) == {"k1", "k2", "new", "k3"}
    assert set(changed_keys(one, two)) >= {"k2", "new", "k3"}  # siblings of one origin: a superset
    assert changed_keys(state, FrozenMap(thaw(state))) is None  # no derivation known
    items = freeze(list(range(1000)))
    longer = (items + [1000]).set(5, "five")
    assert set(changed_keys(items, longer)) == {5}  # the item appended lies past the shorter length
    # Whatever the keys say, every other key holds the very same value in both.
    for a, b in [(state, two), (one, two), (items, longer)]:
        keys = set(changed_keys(a, b))
        common = a.keys() & b.keys() if isinstance(a, Mapping) else range(min(len(a), len(b)))
        assert all(a[k] is b[k] for k in common if k not in keys)


def test_a_trace_is_bounded():
    origin = state = big_state()
    settle(origin)
    for i in range(TRACE_LIMIT):
        state = state.set(f"n{i}", i)  # one chain of changes, never settled
    assert len(changed_keys(origin, state)) == TRACE_LIMIT
    assert changed_keys(origin, state.set("one", "more")) is None
    assert state.merge({f"m{i}": i for i in range(TRACE_LIMIT + 1)})._keys is None  # too many to trace


def test_freeze_shares_frozen_parts_and_returns_frozen_values_unchanged():
    old = freeze({"big": {"n": list(range(100))}, "x": 1})
    new = freeze({**old, "x": 2})
    assert new["big"] is old["big"]
    for value in (old, old["big"], old["big"]["n"], freeze_each([{"a": 1}])[0], "s", 1, None):
        assert freeze(value) is value and is_frozen(value)
    assert FrozenMap(old) is old and FrozenList(old["big"]["n"]) is old["big"]["n"]
    assert not is_frozen({"a": 1}) and not is_frozen([1])


def test_thaw_gives_plain_mutable_values():
    for state in (freeze({"a": [{"b": 1}]}), big_state().set("a", [{"b": 1}])):
        value = thaw(state)
        assert type(value) is dict and type(value["a"]) is list and type(value["a"][0]) is dict
        value["a"][0]["b"] = 2
        assert state["a"] == [{"b": 1}]


@pytest.mark.parametrize("value", [
    freeze({"a": [1, {"b": 2}]}),
    big_state().set("l", list(range(100))),
    freeze(list(range(1000))),
    freeze_each([{"a": {"b": [1]}}])[0],
])
def test_pickle_and_copy_keep_frozen_values(value):
    again = pickle.loads(pickle.dumps(value))
    assert again == value and type(again) is type(value)
    if isinstance(value, Mapping):
        assert list(again) == list(value)
        assert {type(v) for v in again.values()} == {type(v) for v in value.values()}
    assert copy.copy(value) is value
    assert copy.deepcopy(value) is value


def test_frozen_values_encode_as_json_through_the_codec():
    from store.codec import dumps_json, to_jsonable

    value = freeze({"a": [1, 2], "b": None, "c": {"d": (3,)}})
    assert to_jsonable(value) == {"a": [1, 2], "b": None, "c": {"d": [3]}}
    assert orjson.loads(dumps_json(value)) == value
    assert json.loads(dumps_json(big_state())) == thaw(big_state())
    payload = freeze_each([{"a": [1, {"b": 2}]}])[0]
    assert json.loads(json.dumps(payload, default=thaw)) == payload  # a FrozenDict is a dict


@pytest.mark.parametrize("values", [
    [{"a": 1, "b": "x"}, {}, {"c": None, "d": 1.5, "e": b"z", "f": True}],  # all flat: the bulk path
    [{"a": 1}, {"b": [1, {"c": 2}]}, {"d": (3,)}],  # nested: each frozen on its own
    [{"a": 1}, None, 3, [1, [2]], FrozenDict(x=1)],  # not all dicts
    [],
])
def test_freeze_each_freezes_payloads(values):
    frozen = freeze_each(values)
    assert frozen == [freeze(v) for v in values]
    assert all(is_frozen(f) for f in frozen)
    assert [type(f) for f in frozen] == [FrozenDict if isinstance(v, dict) else type(freeze(v)) for v in values]
    with pytest.raises(FrozenError):
        freeze_each([{"a": {"b": 1}}])[0]["a"].set("b", 2).update(b=3)


def test_freeze_each_freezes_fresh_thawed_dicts_in_place():
    flat = [ThawedDict(a=1), ThawedDict(b="x")]
    ids = list(map(id, flat))
    frozen = freeze_each(flat)
    assert list(map(id, frozen)) == ids and {type(f) for f in frozen} == {FrozenDict}
    assert frozen == [{"a": 1}, {"b": "x"}]
    nested = freeze_each([ThawedDict(a=ThawedDict(b=[1])), ThawedDict()])
    assert type(nested[0]) is FrozenDict and type(nested[0]["a"]) is FrozenMap and type(nested[0]["a"]["b"]) is FrozenList
    with pytest.raises(FrozenError):
        frozen[0]["a"] = 2


def test_deriving_many_maps_from_one_copies_nothing_and_keeps_each_order():
    state = big_state()
    siblings = [state.set(f"new-{i}", i) for i in range(100)]  # each after the same keys
    for i, sibling in enumerate(siblings):
        assert list(sibling)[-2:] == [f"k{BIG - 1}", f"new-{i}"] and len(sibling) == BIG + 1
    chain = state
    for i in range(200):  # two derivations from every state: runs chain, then are flattened
        chain.set("discarded", i)
        chain = chain.set(f"kept-{i}", i)
    assert list(chain) == [f"k{i}" for i in range(BIG)] + [f"kept-{i}" for i in range(200)]
    assert chain == {**thaw(state), **{f"kept-{i}": i for i in range(200)}}
