import copy
import pickle

import pytest

from model.freeze import FrozenDict, FrozenError, FrozenList, freeze, thaw

DICT_MUTATIONS = [
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


@pytest.mark.parametrize("mutate", DICT_MUTATIONS)
def test_frozen_dict_refuses_every_mutation(mutate):
    d = freeze({"a": 1, "b": [1, 2]})
    with pytest.raises(TypeError):
        mutate(d)
    assert d == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize("mutate", LIST_MUTATIONS)
def test_frozen_list_refuses_every_mutation(mutate):
    l = freeze([1, 2, 3])
    with pytest.raises(FrozenError):
        mutate(l)
    assert l == [1, 2, 3]


def test_augmented_assignment_on_a_nested_value_is_refused():
    state = freeze({"tags": ["a"]})
    tags = state["tags"]
    with pytest.raises(TypeError):
        tags += ["b"]
    assert state == {"tags": ["a"]}


def test_freeze_converts_nested_values_and_tuples():
    value = freeze({"a": [{"b": (1, 2)}], "c": "x"})
    assert type(value) is FrozenDict
    assert type(value["a"]) is FrozenList
    assert type(value["a"][0]) is FrozenDict
    assert type(value["a"][0]["b"]) is FrozenList
    assert value == {"a": [{"b": [1, 2]}], "c": "x"}


def test_freeze_shares_frozen_parts():
    old = freeze({"big": {"n": list(range(100))}, "x": 1})
    new = freeze({**old, "x": 2})
    assert new["big"] is old["big"]
    assert freeze(old) is old


def test_thaw_gives_plain_mutable_values():
    value = thaw(freeze({"a": [{"b": 1}]}))
    assert type(value) is dict and type(value["a"]) is list and type(value["a"][0]) is dict
    value["a"][0]["b"] = 2
    assert value == {"a": [{"b": 2}]}


def test_pickle_and_copy_keep_frozen_values():
    value = freeze({"a": [1, {"b": 2}]})
    again = pickle.loads(pickle.dumps(value))
    assert again == value and type(again) is FrozenDict and type(again["a"]) is FrozenList
    assert copy.copy(value) is value
    assert copy.deepcopy(value) is value


def test_frozen_values_equal_plain_ones_and_are_json_encodable():
    import json

    import orjson

    value = freeze({"a": [1, 2], "b": None})
    assert value == {"a": [1, 2], "b": None}
    assert json.loads(json.dumps(value)) == value
    assert orjson.loads(orjson.dumps(value)) == value


@pytest.mark.parametrize("values", [
    [{"a": 1, "b": "x"}, {}, {"c": None, "d": 1.5, "e": b"z", "f": True}],  # all flat: the bulk path
    [{"a": 1}, {"b": [1, {"c": 2}]}, {"d": (3,)}],  # nested: each frozen on its own
    [{"a": 1}, None, 3, [1, [2]], FrozenDict(x=1)],  # not all dicts
    [],
])
def test_freeze_each_is_freeze_of_each(values):
    from model.freeze import freeze_each, is_frozen

    frozen = freeze_each(values)
    assert frozen == [freeze(v) for v in values]
    assert [type(f) for f in frozen] == [type(freeze(v)) for v in values]
    assert all(is_frozen(f) for f in frozen if isinstance(f, (dict, list)))
    with pytest.raises(FrozenError):
        freeze_each([{"a": {"b": 1}}])[0]["a"]["b"] = 2


def test_freeze_each_freezes_fresh_thawed_dicts_in_place():
    from model.freeze import ThawedDict, freeze_each

    flat = [ThawedDict(a=1), ThawedDict(b="x")]
    ids = list(map(id, flat))
    frozen = freeze_each(flat)
    assert list(map(id, frozen)) == ids and {type(f) for f in frozen} == {FrozenDict}
    assert frozen == [{"a": 1}, {"b": "x"}]
    nested = freeze_each([ThawedDict(a=ThawedDict(b=[1])), ThawedDict()])
    assert type(nested[0]) is FrozenDict and type(nested[0]["a"]) is FrozenDict and type(nested[0]["a"]["b"]) is FrozenList
    with pytest.raises(FrozenError):
        frozen[0]["a"] = 2
