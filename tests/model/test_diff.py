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


# -- persistent states: the diff follows their derivation ---------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from model.freeze import SMALL_MAP, FrozenList, changed_keys, settle, thaw  # noqa: E402

keys = st.sampled_from([f"k{i}" for i in range(SMALL_MAP * 3)] + ["l", "m"])
leaf = st.one_of(st.integers(-3, 3), st.just(1.0), st.just(True), st.none(), st.text(max_size=2), st.just(float("nan")))
changes = st.lists(st.one_of(
    st.tuples(st.just("set"), keys, leaf),
    st.tuples(st.just("delete"), keys, st.none()),
    st.tuples(st.just("merge"), st.dictionaries(keys, leaf, max_size=4), st.none()),
    st.tuples(st.just("append"), st.just("l"), st.lists(leaf, max_size=3)),
    st.tuples(st.just("set item"), st.just("l"), st.integers(0, 200)),
    st.tuples(st.just("nested"), st.just("m"), leaf),
    st.tuples(st.just("settle"), st.none(), st.none()),
), max_size=30)


def apply(state, change):
    op, key, value = change
    if op == "set":
        return state.set(key, value)
    if op == "delete":
        return state.delete(key) if key in state else state
    if op == "merge":
        return state.merge(key)
    if op == "append":
        items = state["l"] if isinstance(state.get("l"), FrozenList) else FrozenList()
        return state.set("l", items + value)
    if op == "set item":
        items = state.get("l")
        if isinstance(items, FrozenList) and items:
            return state.set("l", items.set(value % len(items), value))
        return state
    if op == "nested":
        inner = state.get("m") if hasattr(state.get("m"), "set") else freeze({f"n{i}": i for i in range(SMALL_MAP * 2)})
        return state.set("m", inner.set("n1", value))
    settle(state)
    return state


@settings(max_examples=300, deadline=None)
@given(st.booleans(), changes, changes)
def test_the_diff_of_derived_states_is_the_diff_of_their_copies(large, first, second):
    start = freeze({**({f"k{i}": i for i in range(SMALL_MAP * 2)} if large else {"k1": 1}), "l": list(range(100))})
    settle(start)
    a = start
    for change in first:
        a = apply(a, change)
    b = a
    for change in second:
        b = apply(b, change)
    # One derived from the other, and both from a common state: each way round.
    for old, new in ((a, b), (b, a), (start, b), (b, start)):
        assert diff(old, new) == diff(thaw(old), thaw(new))


def test_diff_of_large_states_one_change_apart_compares_only_that_change():
    state = freeze({f"sku-{i}": {"qty": i} for i in range(100_000)})
    settle(state)
    changed = state.set("sku-7", {"qty": -1})
    assert changed_keys(state, changed) == ("sku-7",)
    d = diff(state, changed)
    assert paths(d.changed) == [("sku-7.qty", 7, -1)] and not d.added and not d.removed
    listed = freeze({"items": list(range(100_000))})
    appended = listed.set("items", listed["items"] + ["x"])
    assert paths(diff(listed, appended).added) == [("items[100000]", None, "x")]
    assert paths(diff(appended, listed).removed) == [("items[100000]", "x", None)]
