import pytest

from model.diff import Change, diff, format_path
from model.freeze import freeze


def paths(changes):
    return [(format_path(c.path), c.old, c.new) for c in changes]


def test_equal_states_give_an_empty_diff():
    assert diff({"a": [1, {"b": 2}]}, freeze({"a": [1, {"b": 2}]})).is_empty


def test_added_removed_changed_nested():
    d = diff({"a": {"b": 1, "c": 2}, "x": 1}, {"a": {"b": 5, "d": 3}, "y": 2})
    assert paths(d.added) == [("a.d", None, 3), ("y", None, 2)]
    assert paths(d.removed) == [("a.c", 2, None), ("x", 1, None)]
    assert paths(d.changed) == [("a.b", 1, 5)]
    assert not d.is_empty


def test_lists_element_wise_with_tail_added_and_removed():
    d = diff({"l": [1, 2, 3]}, {"l": [1, 9, 3, 4, 5]})
    assert paths(d.changed) == [("l[1]", 2, 9)]
    assert paths(d.added) == [("l[3]", None, 4), ("l[4]", None, 5)]
    d = diff({"l": [1, 2, 3]}, {"l": [1]})
    assert paths(d.removed) == [("l[1]", 2, None), ("l[2]", 3, None)]


@pytest.mark.parametrize("old, new", [(1, True), (1, 1.0), (0, False), ("1", 1), (None, 0), ({}, []), ([1], {"0": 1})])
def test_values_are_compared_by_type_too(old, new):
    assert paths(diff({"v": old}, {"v": new}).changed) == [("v", old, new)]


def test_nan_equals_itself():
    assert diff({"v": float("nan")}, {"v": float("nan")}).is_empty


def test_root_of_different_kinds():
    d = diff({"a": 1}, [1])
    assert d.changed == [Change((), {"a": 1}, [1])]


def test_format_path_quotes_ambiguous_keys():
    assert format_path(("a", "b", 2, "c")) == "a.b[2].c"
    assert format_path(("a.b", "x y", "", "1st")) == '["a.b"]["x y"][""]["1st"]'
    assert format_path((0,)) == "[0]"
    assert format_path(()) == ""


def test_to_dict_with_an_encoder():
    d = diff({"a": 1, "r": "x"}, {"a": 2, "n": [1]})
    assert d.to_dict(lambda v: repr(v)) == {
        "added": [{"path": "n", "value": "[1]"}],
        "removed": [{"path": "r", "value": "'x'"}],
        "changed": [{"path": "a", "old": "1", "new": "2"}],
    }


def test_deeply_nested_states_do_not_overflow():
    old, new = {}, {}
    a, b = old, new
    for _ in range(5000):
        a["n"], b["n"] = {}, {}
        a, b = a["n"], b["n"]
    b["leaf"] = 1
    d = diff(old, new)
    assert len(d.added) == 1 and len(d.added[0].path) == 5001
